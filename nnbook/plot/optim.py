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

__all__ = [
    "plot_path_panels",
    "plot_paths",
    "plot_range_test",
    "plot_rate_sweep",
    "plot_seed_bands",
]


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
    right of the axes, and both axes have the same scale, so that angles and
    distances are drawn true. :func:`plot_path_panels` draws one panel per path
    instead, so that no path hides another.

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
    field = _Field(loss, paths, xlim, ylim, levels, marks)
    ax = _axes(ax, (7, 4.4), layout="constrained")
    field.draw(ax, list(field.paths), title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    return ax


def plot_path_panels(loss, paths, xlim, ylim, levels, *, marks=(), ncols=4):
    r"""One small panel per optimizer: the same contours, one path in each.

    The panels share their axes, labelled :math:`\theta_1` and :math:`\theta_2` on
    the outer panels, and have equal aspect. Each path keeps the colour it would have
    in :func:`plot_paths`; start, end and ``marks`` are drawn as there.

    Parameters
    ----------
    loss, paths, xlim, ylim, levels, marks
        As for :func:`plot_paths`.
    ncols : int, default 4
        Panels per row; unused panels of the last row are hidden.

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    TypeError
        As for :func:`plot_paths`, or if ``ncols`` is not an int.
    ValueError
        As for :func:`plot_paths`, or if ``ncols`` is below 1.
    """
    if isinstance(ncols, bool) or not isinstance(ncols, int):
        raise TypeError(f"ncols must be an int, got {type(ncols).__name__}")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    field = _Field(loss, paths, xlim, ylim, levels, marks)
    names = list(field.paths)
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    width = 7.0 / 4 * ncols
    (x0, x1), (y0, y1) = field.xlim, field.ylim
    height = width / ncols * (y1 - y0) / (x1 - x0) * nrows
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width, height + 0.45 * nrows),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(names):
            ax.set_visible(False)
            continue
        field.draw(ax, [names[i]], names[i], labels=False)
        if i % ncols == 0:
            ax.set_ylabel(r"$\theta_2$")
        if i + ncols >= len(names):
            ax.set_xlabel(r"$\theta_1$")
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig


class _Field:
    """The checked inputs of a path figure, and the contours they define."""

    def __init__(self, loss, paths, xlim, ylim, levels, marks):
        if not callable(loss):
            raise TypeError(f"loss must be callable, got {type(loss).__name__}")
        _mapping("paths", paths)
        self.paths = {}
        for name, path in paths.items():
            array = _array(f"paths[{name!r}]", path, ndim=2)
            if array.shape[1] != 2 or len(array) == 0:
                raise ValueError(
                    f"paths[{name!r}] must have shape (T, 2), got {array.shape}"
                )
            self.paths[name] = array
        self.xlim, self.ylim = _limits("xlim", xlim), _limits("ylim", ylim)
        self.levels = _array("levels", levels, ndim=1)
        if len(self.levels) == 0:
            raise ValueError("levels must hold at least one value, got none")
        self.marks = [
            _array(f"marks[{i}]", point, ndim=1)
            for i, point in enumerate(marks)
        ]
        for i, point in enumerate(self.marks):
            if len(point) != 2:
                raise ValueError(
                    f"marks[{i}] must be a point (x, y), got {len(point)} numbers"
                )
        self.x, self.y = torch.meshgrid(
            torch.linspace(*self.xlim, 300),
            torch.linspace(*self.ylim, 300),
            indexing="xy",
        )
        self.values = loss(torch.stack([self.x, self.y], dim=-1))
        self.colors = dict(
            zip(self.paths, plt.cm.tab10.colors * len(self.paths), strict=False)
        )

    def draw(self, ax, names, title, labels=True):
        ax.contour(
            self.x,
            self.y,
            self.values,
            levels=self.levels,
            colors="0.75",
            linewidths=0.7,
        )
        for name in names:
            path, color = self.paths[name], self.colors[name]
            ax.plot(
                path[:, 0], path[:, 1], "-", color=color, lw=1.4, label=name
            )
            ax.plot(path[-1, 0], path[-1, 1], "o", color=color, ms=4)
        for point in self.marks:
            ax.plot(*point, "k*", ms=10)
        start = next(iter(self.paths.values()))[0]
        ax.plot(start[0], start[1], "ks", ms=5)
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_aspect("equal")
        if labels:
            ax.set_title(title)
            ax.set_xlabel(r"$\theta_1$")
            ax.set_ylabel(r"$\theta_2$")
        else:
            ax.set_title(title, fontsize=10)
        ax.grid(False)


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


def plot_range_test(test, ax=None, *, best=None, beta=None):
    """A learning-rate range test: the loss against the rate, raw and smoothed.

    Vertical lines mark the rate where the smoothed loss falls fastest
    (``test.steepest``), the rate where it is lowest (``test.minimum``) and, when
    given, a rate found otherwise (``best``). The rate axis is logarithmic.

    Parameters
    ----------
    test : nnbook.optim.RangeTest
        What :func:`nnbook.optim.lr_range_test` returned.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 5 × 3.5 inch figure.
    best : float, optional
        A rate to compare with, such as the best of a sweep.
    beta : float, optional
        The smoothing of :meth:`~nnbook.optim.RangeTest.smoothed`; by default the
        test's own.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``test`` is not a RangeTest, ``best`` is not a number, or ``ax`` is not an
        Axes.
    ValueError
        If ``best`` is not positive.
    """
    from nnbook.optim import RangeTest

    if not isinstance(test, RangeTest):
        raise TypeError(
            f"test must be a RangeTest from lr_range_test, got {type(test).__name__}"
        )
    if best is not None:
        if isinstance(best, bool) or not isinstance(best, int | float):
            raise TypeError(f"best must be a number, got {type(best).__name__}")
        if not best > 0:
            raise ValueError(f"best must be a positive rate, got {best}")
    ax = _axes(ax, (5, 3.5))
    rates = test.rates.cpu().numpy()
    ax.plot(
        rates,
        test.losses.cpu().numpy(),
        color="0.75",
        lw=0.8,
        label="mini-batch",
    )
    ax.plot(
        rates, test.smoothed(beta).cpu().numpy(), color="C0", label="smoothed"
    )
    marks = [
        (test.steepest(beta), "C1", "--", "steepest"),
        (test.minimum(beta), "C3", "--", "minimum"),
    ]
    if best is not None:
        marks.append((best, "k", ":", "sweep's best"))
    for rate, colour, style, label in marks:
        ax.axvline(rate, color=colour, ls=style, lw=1.2, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    return ax
