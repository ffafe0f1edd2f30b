"""Figures of the hardware chapter's page on costs: renting against buying, power caps.

Each function draws one figure from numbers computed in the notebook by
:mod:`nnbook.hardware.economics`. A function takes ``ax=None``, draws on a new figure
when no Axes is given, and returns the Axes it drew on.
"""

from __future__ import annotations

import numbers

import numpy as np

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["plot_buy_vs_rent", "plot_power_cap"]


def _same_length(name, values, reference_name, reference):
    if len(values) != len(reference):
        raise ValueError(
            f"{name} must hold one value per entry of {reference_name} "
            f"({len(reference)}), got {len(values)}"
        )


def plot_buy_vs_rent(
    months,
    costs,
    ax=None,
    *,
    breakeven=None,
    scale=1000,
    ylabel="thousand USD",
    title="",
):
    """Cumulative costs against months, one line per way of getting a GPU.

    Parameters
    ----------
    months : sequence of float
        The months since the start, increasing.
    costs : dict
        ``{label: costs}``, the cumulative cost at each month, such as
        ``{"buy": ..., "rent": ...}``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.4 inch figure.
    breakeven : float, optional
        A month drawn as a dotted vertical line, where the lines cross.
    scale : float, default 1000
        The costs are divided by it before they are drawn, so that the axis
        shows thousands rather than numbers such as 70000.
    ylabel : str, default "thousand USD"
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``costs`` is not a dict, a sequence is not made of numbers,
        ``breakeven`` or ``scale`` is not a number, or ``ax`` is not an Axes.
    ValueError
        If ``costs`` is empty, ``months`` is not increasing, a sequence of costs
        does not have one entry per month, or ``scale`` is not positive.
    """
    months = _array("months", months, ndim=1)
    if len(months) < 2 or np.any(np.diff(months) <= 0):
        raise ValueError(
            f"months must hold at least two increasing values, got {months[:5]}"
        )
    _mapping("costs", costs)
    curves = {}
    for label, values in costs.items():
        values = _array(f"costs[{label!r}]", values, ndim=1)
        _same_length(f"costs[{label!r}]", values, "months", months)
        curves[label] = values
    if breakeven is not None and (
        isinstance(breakeven, bool) or not isinstance(breakeven, numbers.Real)
    ):
        raise TypeError(
            f"breakeven must be a number of months or None, "
            f"got {type(breakeven).__name__}"
        )
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a number, got {type(scale).__name__}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    ax = _axes(ax, (6, 3.4))
    for label, values in curves.items():
        ax.plot(months, values / scale, "-", label=label)
    if breakeven is not None and months[0] <= breakeven <= months[-1]:
        ax.axvline(breakeven, color="k", linestyle=":", linewidth=1)
    ax.set(xlabel="months", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax


def plot_power_cap(
    caps, time_ratio, energy_ratio, ax=None, *, server_ratio=None, title=""
):
    """Time and energy of the same work against the power cap, relative to the top cap.

    Parameters
    ----------
    caps : sequence of float
        Power caps in W.
    time_ratio, energy_ratio : sequence of float
        At each cap, the time and the energy of the GPU board divided by those at
        the highest cap.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.4 inch figure.
    server_ratio : sequence of float, optional
        The same ratio for the energy of the whole server, drawn as a third line.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If a sequence is not made of numbers or ``ax`` is not an Axes.
    ValueError
        If the sequences do not have one entry per cap.
    """
    caps = _array("caps", caps, ndim=1)
    time_ratio = _array("time_ratio", time_ratio, ndim=1)
    energy_ratio = _array("energy_ratio", energy_ratio, ndim=1)
    _same_length("time_ratio", time_ratio, "caps", caps)
    _same_length("energy_ratio", energy_ratio, "caps", caps)
    if server_ratio is not None:
        server_ratio = _array("server_ratio", server_ratio, ndim=1)
        _same_length("server_ratio", server_ratio, "caps", caps)
    ax = _axes(ax, (6, 3.4))
    ax.plot(caps, time_ratio, "o-", label="time")
    ax.plot(caps, energy_ratio, "s-", label="energy, GPU board")
    if server_ratio is not None:
        ax.plot(caps, server_ratio, "^--", label="energy, whole server")
    ax.axhline(1.0, color="k", linestyle=":", linewidth=1)
    ax.set(
        xlabel="power cap (W)",
        ylabel="relative to the highest cap",
        title=title,
    )
    ax.legend(fontsize=8)
    return ax
