"""Figures of the memory of training and inference: stacked parts and KV-cache curves.

The numbers come from :mod:`nnbook.hardware.memory`; these functions only draw them.
Each takes ``ax=None``, draws on a new figure when no Axes is given, and returns the
Axes it drew on.
"""

from __future__ import annotations

import numpy as np

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["PART_COLORS", "plot_kv_cache", "plot_memory_parts"]

#: The colour of each part of training memory, in stacking order.
PART_COLORS = {
    "weights": "tab:blue",
    "gradients": "tab:orange",
    "optimizer": "tab:green",
    "activations": "tab:red",
}


def plot_memory_parts(bars, ax=None, *, unit=1e9, ylabel="GB"):
    """Stacked bars: the parts of training memory for a few configurations.

    Parameters
    ----------
    bars : dict
        ``{label: {part: bytes}}``; parts are keys of :data:`PART_COLORS` and are
        stacked in that order. Bars are drawn left to right in the dict's order.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6.4 × 3 inch figure.
    unit : float, default 1e9
        Bytes per unit of the y axis.
    ylabel : str, default "GB"

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``bars`` is not a dict of dicts.
    ValueError
        If a part is unknown or negative.
    """
    _mapping("bars", bars)
    if not unit > 0:
        raise ValueError(
            f"unit must be a positive number of bytes, got {unit!r}"
        )
    for label, parts in bars.items():
        _mapping(f"bars[{label!r}]", parts)
        unknown = set(parts) - set(PART_COLORS)
        if unknown:
            raise ValueError(
                f"bars[{label!r}] must have parts among {', '.join(PART_COLORS)}, "
                f"got {', '.join(sorted(map(str, unknown)))}"
            )
        values = _array(f"bars[{label!r}]", list(parts.values()), ndim=1)
        if not (values >= 0).all():
            raise ValueError(
                f"bars[{label!r}] must hold bytes of at least 0, got {dict(parts)}"
            )
    ax = _axes(ax, (6.4, 3))
    x = np.arange(len(bars))
    bottom = np.zeros(len(bars))
    for part, color in PART_COLORS.items():
        heights = np.array([bars[k].get(part, 0) / unit for k in bars])
        if heights.any():
            ax.bar(x, heights, 0.6, bottom=bottom, color=color, label=part)
        bottom += heights
    ax.set_xticks(x, list(bars), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_kv_cache(contexts, curves, ax=None, *, levels=None, unit=1e9):
    """KV-cache bytes against context length, on log-log axes.

    Parameters
    ----------
    contexts : sequence of float
        Context lengths in tokens, shape ``(K,)``, all positive.
    curves : dict
        ``{label: bytes}``, each a sequence of shape ``(K,)``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6.4 × 3 inch figure.
    levels : dict, optional
        ``{label: bytes}``: horizontal dotted lines, such as the weights' size.
    unit : float, default 1e9
        Bytes per unit of the y axis (GB by default).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``curves`` or ``levels`` is not a dict.
    ValueError
        If a curve does not match ``contexts`` or a value is not positive.
    """
    x = _array("contexts", contexts, ndim=1)
    if not (x > 0).all():
        raise ValueError(
            f"contexts must be positive token counts, got {x.tolist()}"
        )
    _mapping("curves", curves)
    if levels is not None:
        _mapping("levels", levels)
    ax = _axes(ax, (6.4, 3))
    for label, values in curves.items():
        y = _array(f"curves[{label!r}]", values, ndim=1)
        if y.shape != x.shape:
            raise ValueError(
                f"curves[{label!r}] must have shape {x.shape} like contexts, "
                f"got {y.shape}"
            )
        if not (y > 0).all():
            raise ValueError(f"curves[{label!r}] must be positive bytes")
        ax.loglog(x, y / unit, marker="o", ms=3, label=label)
    for k, (label, value) in enumerate((levels or {}).items()):
        ax.axhline(value / unit, ls=":", color=f"C{k}", lw=1)
        ax.annotate(
            label,
            (x[0], value / unit),
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=8,
            color=f"C{k}",
        )
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("GB")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
