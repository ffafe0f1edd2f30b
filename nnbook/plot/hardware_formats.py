"""Figures of the number formats: the error that each format leaves in a computation.

The errors themselves are computed in the notebook with :mod:`nnbook.hardware.formats`;
this module only draws them.
"""

from __future__ import annotations

import numbers

import numpy as np

from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["plot_format_errors"]


def _errors(name, pair):
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValueError(
            f"errors[{name!r}] must be a pair (weights, product), got {pair!r:.60}"
        )
    for value in pair:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"errors[{name!r}] must hold numbers, got {type(value).__name__}"
            )
        if not value > 0:
            raise ValueError(
                f"errors[{name!r}] must hold relative errors above 0, got {value!r}"
            )
    return float(pair[0]), float(pair[1])


def plot_format_errors(
    errors, ax=None, *, labels=("weight matrix", "matrix product")
):
    """Dots for the relative errors of each number format, on a log scale.

    Dots, not bars: on a log axis the length of a bar depends on where the axis
    happens to start.

    Parameters
    ----------
    errors : dict
        ``{format name: (error of the weights, error of the product)}``, relative
        errors above 0; the first entry is the top row.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6.4 × 4.2 inch figure.
    labels : tuple, default ("weight matrix", "matrix product")
        The legend entries of the two dots of each format.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``errors`` is not a dict, holds something other than numbers, or ``ax``
        is not an Axes.
    ValueError
        If ``errors`` is empty or holds a value that is not a pair of positive numbers.
    """
    _mapping("errors", errors)
    values = np.array([_errors(name, pair) for name, pair in errors.items()])
    ax = _axes(ax, (6.4, 4.2))
    y = np.arange(len(errors))[::-1]
    offset = 0.15
    ax.plot(values[:, 0], y + offset, "o", color="tab:blue", label=labels[0])
    ax.plot(values[:, 1], y - offset, "s", color="tab:orange", label=labels[1])
    ax.set_xscale("log")
    ax.set_yticks(y, list(errors))
    ax.set_xlabel("relative error (Frobenius norm)")
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False
    )
    ax.grid(axis="both", which="major", alpha=0.3)
    return ax
