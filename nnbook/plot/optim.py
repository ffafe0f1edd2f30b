"""Figures of the optimizers chapter: paths on test functions, sweeps and seed bands.

Each function draws one figure from the numbers that the chapter's experiment computed;
the experiment itself stays in the notebook. A function takes ``ax=None``, draws on a
new figure when no Axes is given, and returns the Axes it drew on.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = ["plot_paths", "plot_rate_sweep", "plot_seed_bands"]


def _limits(name, value):
    if not (isinstance(value, Sequence) and len(value) == 2):
        raise TypeError(f"{name} must be a pair (low, high), got {value!r:.60}")
    low, high = (float(v) for v in value)
    if not low < high:
        raise ValueError(f"{name} must have low < high, got ({low}, {high})")
    return low, high


def plot_paths(loss, paths, xlim, ylim, levels, ax=None, *, title="", marks=()):
    r"""Contour lines of a function of two variables, and optimizer paths across it.

    Each path is a coloured line (colours of the ``tab10`` cycle, in the order of
    ``paths``) that ends in a dot; the common starting point is a black square, and
    every point of ``marks`` (a minimum, say) a black star. The legend sits to the
    right of the axes.

    Parameters
    ----------
    loss : callable
        ``loss(theta)`` for a tensor ``theta`` of shape (..., 2) returns the values of
        the function over the leading dimensions, as the functions of
        :mod:`nnbook.optim` do.
    paths : dict
        ``{name: path}``, each path a tensor or array of shape (T, 2) of the points
        :math:`(\theta_1, \theta_2)` an optimizer visited, the start first.
    xlim, ylim : pair of float
        The ranges of :math:`\theta_1` and :math:`\theta_2` shown; the contours are
        drawn on a 300 × 300 grid over them.
    levels : sequence of float or tensor
        The values of ``loss`` at which contour lines are drawn, increasing.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 4.4 inch figure whose layout makes room for
        the legend.
    title : str, default ""
    marks : sequence of pairs of float, default ()
        Points to mark with a star.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``loss`` is not callable, ``paths`` is not a dict, a path, a limit or a mark
        is not made of numbers, or ``ax`` is not an Axes.
    ValueError
        If ``paths`` is empty, a path does not have shape (T, 2), a limit is not
        increasing or ``levels`` is empty.
    """
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    _mapping("paths", paths)
    arrays = {}
    for name, path in paths.items():
        array = _array(f"paths[{name!r}]", path, ndim=2)
        if array.shape[1] != 2 or len(array) == 0:
            raise ValueError(
                f"paths[{name!r}] must have shape (T, 2), got {array.shape}"
            )
        arrays[name] = array
    xlim, ylim = _limits("xlim", xlim), _limits("ylim", ylim)
    levels = _array("levels", levels, ndim=1)
    if len(levels) == 0:
        raise ValueError("levels must hold at least one value, got none")
    points = [
        _array(f"marks[{i}]", point, ndim=1) for i, point in enumerate(marks)
    ]
    for i, point in enumerate(points):
        if len(point) != 2:
            raise ValueError(
                f"marks[{i}] must be a point (x, y), got {len(point)} numbers"
            )
    ax = _axes(ax, (7, 4.4), layout="constrained")
    x, y = torch.meshgrid(
        torch.linspace(*xlim, 300), torch.linspace(*ylim, 300), indexing="xy"
    )
    values = loss(torch.stack([x, y], dim=-1))
    ax.contour(x, y, values, levels=levels, colors="0.75", linewidths=0.7)
    for (name, path), color in zip(
        arrays.items(), plt.cm.tab10.colors, strict=False
    ):
        ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.4, label=name)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=color, ms=4)
    for point in points:
        ax.plot(*point, "k*", ms=12)
    start = next(iter(arrays.values()))[0]
    ax.plot(start[0], start[1], "ks", ms=6)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    ax.grid(False)
    return ax


def plot_rate_sweep(rates, losses, ax=None, *, ylabel="training loss"):
    """Final losses against the learning rate, one marked line per optimizer, log-log.

    Parameters
    ----------
    rates : sequence of float
        The learning rates tried, positive.
    losses : dict
        ``{name: losses}``, one loss per rate. The markers cycle through circle,
        square, triangles and diamond in the order of ``losses``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 4 inch figure.
    ylabel : str, default "training loss"

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``losses`` is not a dict, ``rates`` or a sequence of losses is not made of
        numbers, or ``ax`` is not an Axes.
    ValueError
        If ``losses`` is empty, a rate is not positive, or a sequence of losses does
        not have one entry per rate.
    """
    rates = _array("rates", rates, ndim=1)
    if len(rates) == 0 or not (rates > 0).all():
        raise ValueError(
            f"rates must be positive learning rates, got {rates.tolist()}"
        )
    _mapping("losses", losses)
    curves = {
        name: _array(f"losses[{name!r}]", curve, ndim=1)
        for name, curve in losses.items()
    }
    for name, curve in curves.items():
        if len(curve) != len(rates):
            raise ValueError(
                f"losses[{name!r}] must hold one loss per rate ({len(rates)}), got {len(curve)}"
            )
    ax = _axes(ax, (7, 4))
    markers = "os^v<>D"
    for i, (name, curve) in enumerate(curves.items()):
        ax.loglog(rates, curve, marker=markers[i % len(markers)], label=name)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel(ylabel)
    ax.legend(ncol=2, fontsize=9)
    return ax


def plot_seed_bands(curves, ax=None, *, log=False, xlabel="epoch", ylabel=None):
    """Curves over several seeds: the mean as a line, the range from best to worst as a band.

    Parameters
    ----------
    curves : dict
        ``{label: (x, values)}``: ``x`` of length T, and ``values`` a tensor or array of
        shape (seeds, T), one row per seed. A band has the colour of its line, at
        opacity 0.15.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 4 inch figure.
    log : bool, default False
        A logarithmic y axis.
    xlabel : str, default "epoch"
    ylabel : str, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``curves`` is not a dict, an entry is not a pair ``(x, values)`` of numbers,
        ``log`` is not a bool, or ``ax`` is not an Axes.
    ValueError
        If ``curves`` is empty or ``values`` does not have shape (seeds, len(x)).
    """
    _mapping("curves", curves)
    if not isinstance(log, bool):
        raise TypeError(f"log must be a bool, got {type(log).__name__}")
    bands = {}
    for label, entry in curves.items():
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise TypeError(
                f"curves[{label!r}] must be a pair (x, values), got {entry!r:.60}"
            )
        x = _array(f"curves[{label!r}][0]", entry[0], ndim=1)
        values = _array(f"curves[{label!r}][1]", entry[1], ndim=2)
        if values.shape[1] != len(x) or values.shape[0] == 0:
            raise ValueError(
                f"curves[{label!r}] values must have shape (seeds, {len(x)}), got {values.shape}"
            )
        bands[label] = (x, values)
    ax = _axes(ax, (7, 4))
    for label, (x, values) in bands.items():
        line = ax.plot(x, values.mean(0), label=label)[0]
        ax.fill_between(
            x,
            values.min(0),
            values.max(0),
            facecolor=line.get_color(),
            alpha=0.15,
        )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax
