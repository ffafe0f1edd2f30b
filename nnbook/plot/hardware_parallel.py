"""Figures of the hardware chapter's page on more than one device.

A function takes ``ax=None``, draws on a new figure when no Axes is given, and returns
the Axes it drew on. The numbers come from the notebook.
"""

from __future__ import annotations

import numbers

import numpy as np

from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["plot_allreduce_bars"]


def plot_allreduce_bars(seconds, ax=None, *, title=""):
    """Horizontal bars of all-reduce times, in milliseconds on a logarithmic axis.

    Parameters
    ----------
    seconds : dict
        ``{group: {label: seconds}}``: one colour per group (such as "8 GPUs, one
        node"), one bar per label, in the order given, top to bottom. Each bar is
        annotated with its time.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure 7 inches wide and at least 4 high,
        a third of an inch more per bar beyond nine.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``seconds`` or one of its groups is not a dict, a time is not a number, or
        ``ax`` is not an Axes.
    ValueError
        If ``seconds`` or a group is empty, or a time is not positive.
    """
    _mapping("seconds", seconds)
    bars = []
    for group, times in seconds.items():
        _mapping(f"seconds[{group!r}]", times)
        for label, value in times.items():
            name = f"seconds[{group!r}][{label!r}]"
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"{name} must be a number of seconds, got {type(value).__name__}"
                )
            if not value > 0:
                raise ValueError(
                    f"{name} must be a positive time, got {value!r}"
                )
            bars.append((group, label, float(value)))
    # a new figure grows with the number of bars, a third of an inch each
    ax = _axes(ax, (7, max(4.0, 0.33 * len(bars) + 1)))
    colours = dict(
        zip(
            seconds,
            ("tab:blue", "tab:orange", "tab:green", "tab:red"),
            strict=False,
        )
    )
    rows = np.arange(len(bars))[::-1]
    legend = set()
    for row, (group, _, value) in zip(rows, bars, strict=True):
        ax.barh(
            row,
            value * 1e3,
            color=colours.get(group, "tab:gray"),
            label=None if group in legend else group,
        )
        legend.add(group)
        ax.annotate(
            f"{value * 1e3:.3g} ms",
            (value * 1e3, row),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(rows, [label for _, label, _ in bars], fontsize=8)
    ax.set_xscale("log")
    # a bar on a log axis starts at the left edge: put it a decade below the shortest
    shortest = min(value for _, _, value in bars) * 1e3
    longest = max(value for _, _, value in bars) * 1e3
    ax.set_xlim(10 ** np.floor(np.log10(shortest)), longest * 4)
    ax.set(xlabel="ms per all-reduce (log scale)", title=title)
    ax.legend(fontsize=8, loc="best")
    return ax
