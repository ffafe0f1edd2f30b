"""Figures of forecasting: a forecast against the observed series and the naive one,
a forecast that leaves the range of its training data, and learning curves.

Each function draws one figure from the numbers that a section computed; the experiment
itself stays in the notebook. A function that draws on one Axes takes ``ax=None`` and
returns the Axes; one that stacks several panels makes its own Figure and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping
from nnbook.plot.rnn import _int

__all__ = ["plot_fit_panels", "plot_forecast", "plot_level_shift"]


def _others(others, length, like):
    """``others`` checked: a dict of 1-D arrays, each of ``length`` values."""
    if others is None:
        return {}
    _mapping("others", others)
    checked = {}
    for name, values in others.items():
        values = _array(f"others[{name!r}]", values, ndim=1)
        if len(values) != length:
            raise ValueError(
                f"others[{name!r}] must have the length of {like} ({length}), "
                f"got {len(values)}"
            )
        checked[str(name)] = values
    return checked


def plot_forecast(
    x,
    observed,
    predicted,
    ax=None,
    *,
    label="LSTM, one year ahead",
    others=None,
    xlabel="year",
    ylabel=None,
    title=None,
):
    """A one-step-ahead forecast against the observed series and the naive forecast.

    The naive forecast repeats the previous observed value, so it starts at the second
    time: the value before the first one is not among the arguments. The naive forecast
    is drawn in the second colour of the cycle and the ``others`` from the third on, the
    colours :func:`plot_level_shift` gives its ``others``.

    Parameters
    ----------
    x : tensor or array of shape (T,)
        The time of each value.
    observed, predicted : tensor or array of shape (T,)
        The series and the model's forecast of each value.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.2 inch figure.
    label : str, default "LSTM, one year ahead"
        The legend's name for the forecast.
    others : dict, optional
        More forecasts of the same values, ``{label: tensor or array of shape (T,)}``,
        drawn dashed after the naive one, such as a linear baseline's.
    xlabel : str, default "year"
    ylabel, title : str, optional

    Returns
    -------
    matplotlib Axes
        The observed series in black, the forecast in the first colour of the cycle, the
        naive forecast dotted.

    Raises
    ------
    TypeError
        If an array argument is not a tensor, an array or a sequence of numbers, or
        ``others`` is not a dict.
    ValueError
        If ``x``, ``observed``, ``predicted`` and the ``others`` differ in length, or
        are empty.
    """
    x = _array("x", x, ndim=1)
    observed = _array("observed", observed, ndim=1)
    predicted = _array("predicted", predicted, ndim=1)
    if not len(x) == len(observed) == len(predicted) or len(x) == 0:
        raise ValueError(
            "x, observed and predicted must have the same, positive length, got "
            f"{len(x)}, {len(observed)} and {len(predicted)}"
        )
    ax = _axes(ax, (7, 3.2))
    ax.plot(x, observed, "k", label="observed")
    ax.plot(x, predicted, label=label)
    ax.plot(x[1:], observed[:-1], ":", color="C1", label="repeat last value")
    for i, (name, values) in enumerate(_others(others, len(x), "x").items()):
        ax.plot(x, values, "--", lw=1, color=f"C{2 + i}", label=name)
    ax.set(xlabel=xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_level_shift(
    series,
    n_train,
    predicted,
    ax=None,
    *,
    label="LSTM, one month ahead",
    others=None,
    xlabel=None,
    ylabel=None,
):
    """A whole series, where its training part ends, and a forecast of its last values.

    Parameters
    ----------
    series : tensor or array of shape (T,)
        The whole series, drawn against its index 0, 1, ...
    n_train : int
        The number of values that train the model; a dashed line marks where they end,
        and a red line the highest of them.
    predicted : tensor or array of shape (P,)
        The forecast of the last P values of the series.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.2 inch figure.
    label : str, default "LSTM, one month ahead"
        The legend's name for the forecast.
    others : dict, optional
        More forecasts of the same P values, ``{label: tensor or array of shape
        (P,)}``, drawn dashed in the third colour of the cycle and on, as in
        :func:`plot_forecast`.
    xlabel, ylabel : str, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``series`` or ``predicted`` is not a tensor, an array or a sequence of numbers,
        ``n_train`` is not an int, or ``others`` is not a dict.
    ValueError
        If ``n_train`` is not between 1 and T, ``predicted`` is longer than the series,
        or one of the ``others`` differs from ``predicted`` in length.
    """
    series = _array("series", series, ndim=1)
    predicted = _array("predicted", predicted, ndim=1)
    n_train = _int("n_train", n_train, 1)
    if n_train > len(series):
        raise ValueError(
            f"n_train must be at most the {len(series)} values, got {n_train}"
        )
    if len(predicted) > len(series):
        raise ValueError(
            f"predicted must not be longer than the series ({len(series)}), got {len(predicted)}"
        )
    ax = _axes(ax, (7, 3.2))
    ax.plot(series, "k", lw=0.8, label="observed")
    ax.axvline(n_train, color="0.5", ls="--")
    ax.axhline(
        series[:n_train].max(),
        color="tab:red",
        lw=0.8,
        label="highest training value",
    )
    start = len(series) - len(predicted)
    ax.plot(np.arange(start, len(series)), predicted, label=label)
    for i, (name, values) in enumerate(
        _others(others, len(predicted), "predicted").items()
    ):
        t = np.arange(start, len(series))
        ax.plot(t, values, "--", lw=1, color=f"C{2 + i}", label=name)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def plot_fit_panels(panels, every=5):
    """Learning curves of several runs per setting, one panel per setting, in a 2 × 2 grid.

    Training losses are blue and validation losses orange, on a shared logarithmic axis;
    the fourth cell of the grid holds the legend.

    Parameters
    ----------
    panels : dict
        ``{title: runs}``, at most three, each a list of ``{"train": losses, "val":
        losses}`` dicts with the losses recorded every ``every`` steps.
    every : int, default 5
        The steps between two recorded losses.

    Returns
    -------
    matplotlib Figure
        7 inches wide; the x axis of each panel is the training step.

    Raises
    ------
    TypeError
        If ``panels`` is not a dict, a run is not a dict with "train" and "val", or
        ``every`` is not an int.
    ValueError
        If ``panels`` is empty or holds more than three settings, a setting has no runs,
        or ``every`` is below 1.
    """
    _mapping("panels", panels)
    if len(panels) > 3:
        raise ValueError(
            f"panels must hold at most 3 settings, got {len(panels)}"
        )
    every = _int("every", every, 1)
    checked = {}
    for title, runs in panels.items():
        if isinstance(runs, (Mapping, str)) or not isinstance(runs, Sequence):
            raise TypeError(
                f"panels[{title!r}] must be a list of runs, got {type(runs).__name__}"
            )
        if not runs:
            raise ValueError(
                f"panels[{title!r}] must hold at least one run, got none"
            )
        for run in runs:
            if not (isinstance(run, Mapping) and {"train", "val"} <= set(run)):
                raise TypeError(
                    f"each run of panels[{title!r}] must be a dict with 'train' and 'val', "
                    f"got {run!r:.60}"
                )
        checked[title] = [
            {
                k: _array(f"a run's {k!r} losses", run[k], ndim=1)
                for k in ("train", "val")
            }
            for run in runs
        ]
    fig, axes = plt.subplots(2, 2, figsize=(7, 5.5), sharey=True)
    for ax, (title, runs) in zip(axes.flat, checked.items(), strict=False):
        for run in runs:
            steps = every * np.arange(1, len(run["train"]) + 1)
            ax.plot(steps, run["train"], color="tab:blue", alpha=0.7)
            ax.plot(steps, run["val"], color="tab:orange", alpha=0.7)
        ax.set(title=title, xlabel="training step", yscale="log")
    for ax in axes[:, 0]:
        ax.set_ylabel("MSE")
    for ax in list(axes.flat)[len(checked) :]:
        ax.axis("off")
    handles = [
        Line2D([], [], color="tab:blue", alpha=0.7, label="training"),
        Line2D([], [], color="tab:orange", alpha=0.7, label="validation"),
    ]
    axes[1, 1].legend(handles=handles, loc="center")
    fig.tight_layout()
    return fig
