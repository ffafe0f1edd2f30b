"""Figures of the hardware chapter: epoch times, loading losses, all-reduce times, bills.

Each function draws one figure from numbers that the chapter computed or measured; the
computation or measurement itself stays in the notebook. A function takes ``ax=None``,
draws on a new figure when no Axes is given, and returns the Axes it drew on. The
roofline is drawn by :func:`nnbook.hardware.roofline.plot_roofline`.
"""

from __future__ import annotations

import numbers

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "plot_allreduce_times",
    "plot_electricity_bills",
    "plot_epoch_times",
    "plot_loading_loss",
]


def _seconds(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number of seconds, got {type(value).__name__}"
        )
    if not value >= 0:
        raise ValueError(
            f"{name} must be a time of at least 0 seconds, got {value!r}"
        )
    return float(value)


def plot_epoch_times(
    measured,
    predicted=(),
    ax=None,
    *,
    colors=("tab:green", "tab:gray"),
    title="",
):
    """Horizontal bars of measured epoch times, with predicted times as dotted lines.

    Parameters
    ----------
    measured : dict
        ``{name: seconds}``; the first entry is the lowest bar.
    predicted : sequence of float, default ()
        Times that a model predicts, in seconds, each drawn as a vertical dotted line.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 2.4 inch figure.
    colors : sequence of colours, default ("tab:green", "tab:gray")
        The colours of the bars, in the order of ``measured``.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``measured`` is not a dict, a time is not a number, or ``ax`` is not an Axes.
    ValueError
        If ``measured`` is empty, a time is negative, or there are fewer ``colors``
        than bars.
    """
    _mapping("measured", measured)
    times = [
        _seconds(f"measured[{name!r}]", value)
        for name, value in measured.items()
    ]
    lines = [
        _seconds(f"predicted[{i}]", value) for i, value in enumerate(predicted)
    ]
    if isinstance(colors, str) or len(colors) < len(times):
        raise ValueError(
            f"colors must name one colour per bar ({len(times)}), got {colors!r}"
        )
    ax = _axes(ax, (6, 2.4))
    ax.barh(list(measured), times, color=list(colors[: len(times)]))
    for value in lines:
        ax.axvline(value, color="k", ls=":", lw=1)
    ax.set(xlabel="seconds for one epoch", title=title)
    return ax


def plot_allreduce_times(devices, seconds, ax=None, *, title=""):
    """The time of an all-reduce against the number of devices, one line per link.

    Parameters
    ----------
    devices : sequence of int
        The numbers of devices :math:`N`.
    seconds : dict
        ``{link: times}``, the time of one all-reduce in seconds for each entry of
        ``devices``. The y axis shows milliseconds, on a logarithmic scale.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.6 inch figure.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``seconds`` is not a dict, ``devices`` or a sequence of times is not made of
        numbers, or ``ax`` is not an Axes.
    ValueError
        If ``seconds`` is empty, or a sequence of times does not have one entry per
        number of devices or holds a time that is not positive.
    """
    devices = _array("devices", devices, ndim=1)
    _mapping("seconds", seconds)
    curves = {}
    for link, times in seconds.items():
        times = _array(f"seconds[{link!r}]", times, ndim=1)
        if len(times) != len(devices):
            raise ValueError(
                f"seconds[{link!r}] must hold one time per number of devices "
                f"({len(devices)}), got {len(times)}"
            )
        if not (times > 0).all():
            raise ValueError(
                f"seconds[{link!r}] must be positive times, got {times.tolist()}"
            )
        curves[link] = times
    ax = _axes(ax, (6, 3.6))
    for link, times in curves.items():
        ax.semilogy(devices, times * 1e3, "o-", label=link)
    ax.set(xlabel="devices N", ylabel="ms per all-reduce", title=title)
    ax.legend(fontsize=8)
    return ax


def plot_electricity_bills(
    prices, bills, ax=None, *, reference=None, ylabel="EUR", title=""
):
    """Electricity bills against the price per kWh, one line per supply.

    Parameters
    ----------
    prices : sequence of float
        Electricity prices in EUR per kWh.
    bills : dict
        ``{label: bills}``, the bill in EUR at each price.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.4 inch figure.
    reference : pair (label, bills), optional
        A further curve drawn as a black dashed line, such as the bill for the energy
        the GPUs themselves draw.
    ylabel : str, default "EUR"
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``bills`` is not a dict, ``reference`` is not a pair, a sequence is not made
        of numbers, or ``ax`` is not an Axes.
    ValueError
        If ``bills`` is empty, a sequence of bills does not have one entry per price,
        or the label of ``reference`` is also a key of ``bills``.
    """
    prices = _array("prices", prices, ndim=1)
    _mapping("bills", bills)
    curves = dict(bills)
    if reference is not None:
        if not (isinstance(reference, (tuple, list)) and len(reference) == 2):
            raise TypeError(
                f"reference must be a pair (label, bills), got {reference!r:.60}"
            )
        if reference[0] in curves:
            raise ValueError(
                f"reference's label {reference[0]!r} is already a key of bills"
            )
        curves[reference[0]] = reference[1]
    arrays = {}
    for label, values in curves.items():
        values = _array(f"bills[{label!r}]", values, ndim=1)
        if len(values) != len(prices):
            raise ValueError(
                f"bills[{label!r}] must hold one bill per price ({len(prices)}), got {len(values)}"
            )
        arrays[label] = values
    ax = _axes(ax, (6, 3.4))
    for label, values in arrays.items():
        style = (
            "k--" if reference is not None and label == reference[0] else "-"
        )
        ax.plot(prices, values, style, label=label)
    ax.set(xlabel="electricity price (EUR per kWh)", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax


def plot_loading_loss(
    ratios, losses, ax=None, *, claim=None, measured=None, title=""
):
    """The time lost by loading in turn against the ratio of loading to computing.

    Parameters
    ----------
    ratios : sequence of float
        :math:`L / C`, drawn on a logarithmic axis; all above 0.
    losses : sequence of float
        The share of the sequential epoch's time that prefetching saves, one per
        ratio, in [0, 1]; drawn in percent.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.2 inch figure.
    claim : pair of float, optional
        ``(low, high)`` shares that a source claims, drawn as a shaded band.
    measured : dict, optional
        ``{label: (ratio, loss)}``, measured points drawn as markers.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If a sequence is not made of numbers, ``claim`` is not a pair, ``measured``
        is not a dict of pairs, or ``ax`` is not an Axes.
    ValueError
        If ``losses`` has not one entry per ratio, a ratio is not above 0, or a
        loss or a bound of ``claim`` is outside [0, 1].
    """
    ratios = _array("ratios", ratios, ndim=1)
    losses = _array("losses", losses, ndim=1)
    if len(losses) != len(ratios):
        raise ValueError(
            f"losses must hold one loss per ratio ({len(ratios)}), got {len(losses)}"
        )
    if not (ratios > 0).all():
        raise ValueError(f"ratios must all be above 0, got {ratios.min()!r}")
    if not ((losses >= 0) & (losses <= 1)).all():
        raise ValueError("losses must all be in [0, 1], as shares of the time")
    band = None
    if claim is not None:
        if not (isinstance(claim, tuple | list) and len(claim) == 2):
            raise TypeError(
                f"claim must be a pair (low, high), got {claim!r:.60}"
            )
        band = _array("claim", claim, ndim=1)
        if not (0 <= band[0] <= band[1] <= 1):
            raise ValueError(
                f"claim must be (low, high) with 0 <= low <= high <= 1, got {claim!r}"
            )
    points = {}
    if measured is not None:
        _mapping("measured", measured)
        for label, point in measured.items():
            point = _array(f"measured[{label!r}]", point, ndim=1)
            if len(point) != 2:
                raise TypeError(
                    f"measured[{label!r}] must be a pair (ratio, loss), got {point!r}"
                )
            points[label] = point
    ax = _axes(ax, (6, 3.2))
    ax.semilogx(ratios, losses * 100, "k-", label="model, long epoch")
    if band is not None:
        ax.axhspan(
            band[0] * 100,
            band[1] * 100,
            color="tab:orange",
            alpha=0.3,
            label="the source's claim",
        )
    for label, (ratio, loss) in points.items():
        ax.plot([ratio], [loss * 100], "o", color="tab:green", label=label)
    ax.set(
        xlabel="L / C (loading time over computing time)",
        ylabel="% of the time lost",
        title=title,
    )
    ax.legend(fontsize=8)
    return ax
