"""Figures of pipeline parallelism: a schedule as a Gantt chart, and the bubble against m.

The timelines come from :func:`nnbook.hardware.model_parallel.pipeline_schedule`; the
functions here only draw them. Each takes ``ax=None``, draws on a new figure when no
Axes is given, and returns the Axes it drew on.
"""

from __future__ import annotations

from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["plot_bubble_fractions", "plot_pipeline"]

_COLORS = {"F": "tab:blue", "B": "tab:orange"}


def _timeline(timeline):
    from nnbook.hardware.model_parallel import Task

    if not isinstance(timeline, list):
        raise TypeError(
            f"timeline must be a list of Task, got {type(timeline).__name__}"
        )
    if not timeline or not all(isinstance(t, Task) for t in timeline):
        raise ValueError(
            "timeline must be a non-empty list of Task, as pipeline_schedule "
            f"returns, got {timeline!r:.60}"
        )
    return timeline


def plot_pipeline(
    timeline, ax=None, *, title="", labels=True, legend=True, xlabel="time"
):
    """A pipeline schedule as a Gantt chart: one row per stage, one block per pass.

    Forward passes are blue, backward passes orange, each marked with its micro-batch;
    the grey background that shows through is the bubble, where a stage waits.

    Parameters
    ----------
    timeline : list of Task
        As returned by :func:`nnbook.hardware.model_parallel.pipeline_schedule`.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 x 2 inch figure.
    title : str, default ""
    labels : bool, default True
        Write the micro-batch number (counted from 1) in each block.
    legend : bool, default True
        Draw the legend to the right of the chart.
    xlabel : str, default "time"
        The label of the time axis, with its unit.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``timeline`` is not a list or ``ax`` is not an Axes.
    ValueError
        If ``timeline`` is empty or holds something other than Task.
    """
    timeline = _timeline(timeline)
    ax = _axes(ax, (7, 2))
    stages = 1 + max(t.stage for t in timeline)
    end = max(float(t.end) for t in timeline)
    ax.barh(
        range(stages),
        end,
        left=0,
        height=0.8,
        color="0.85",
        hatch="//",
        edgecolor="0.7",
        linewidth=0,
    )
    for t in timeline:
        width = float(t.end - t.start)
        ax.barh(
            t.stage,
            width,
            left=float(t.start),
            height=0.8,
            color=_COLORS[t.kind],
            edgecolor="white",
            linewidth=0.8,
        )
        if labels:
            ax.text(
                float(t.start) + width / 2,
                t.stage,
                str(t.micro_batch + 1),
                ha="center",
                va="center",
                fontsize=7,
                color="white",
            )
    ax.set_yticks(range(stages), [f"stage {s + 1}" for s in range(stages)])
    ax.set_ylim(stages - 0.5, -0.5)
    ax.set_xlim(0, end)
    ax.set_xlabel(xlabel)
    handles = [
        Patch(color=_COLORS["F"], label="forward"),
        Patch(color=_COLORS["B"], label="backward"),
        Patch(
            facecolor="0.85", hatch="//", edgecolor="0.7", label="idle (bubble)"
        ),
    ]
    if legend:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=8,
            frameon=False,
        )
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return ax


def plot_bubble_fractions(micro_batches, fractions, ax=None, *, title=""):
    """The bubble fraction against the number of micro-batches, one line per pipeline.

    Parameters
    ----------
    micro_batches : sequence of int
        The numbers of micro-batches m on the horizontal axis (logarithmic).
    fractions : dict
        ``{label: fractions}``, each a sequence as long as ``micro_batches``, with
        values between 0 and 1 (drawn in percent).
    ax : matplotlib Axes, optional
        Where to draw; by default a new 5 x 3 inch figure.
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``fractions`` is empty, a sequence has the wrong length, or a value lies
        outside [0, 1].
    """
    m = _array("micro_batches", micro_batches, ndim=1)
    fractions = _mapping("fractions", fractions)
    ax = _axes(ax, (5, 3))
    for label, values in fractions.items():
        y = _array(f"fractions[{label!r}]", values, ndim=1)
        if y.shape != m.shape:
            raise ValueError(
                f"fractions[{label!r}] must have one value per micro-batch count "
                f"({len(m)}), got {len(y)}"
            )
        if not ((y >= 0) & (y <= 1)).all():
            raise ValueError(
                f"fractions[{label!r}] must lie in [0, 1], got {y.min()} to {y.max()}"
            )
        ax.plot(m, 100 * y, marker="o", markersize=3, label=str(label))
    ax.axhline(5, color="0.5", linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(m, [f"{v:g}" for v in m])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("micro-batches per step, m")
    ax.set_ylabel("bubble, % of the step")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
