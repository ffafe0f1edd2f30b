"""Figures of semi-supervised learning: a few labels among many unlabelled points.

:func:`draw_partially_labelled` draws the unlabelled points in grey, the labelled ones
large and coloured, and the boundaries of several two-class classifiers.
:func:`draw_label_curves` draws test accuracy against the number of labels, with the
spread over repeated splits. They draw what a notebook computed and compute nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from nnbook.plot.generative import _array, _check_shape, _grid

__all__ = ["draw_label_curves", "draw_partially_labelled"]

#: Colours of class 0 and class 1, as elsewhere in the chapter.
CLASS_COLOURS = ("tab:red", "tab:blue")
#: Line styles of the boundaries, in the order they are given.
STYLES = ("--", "-", ":", "-.")


def draw_partially_labelled(gx, gy, X, y, boundaries, ax=None):
    """Unlabelled points (grey), labelled points (large, by class) and boundaries.

    Parameters
    ----------
    gx, gy : numpy.ndarray
        The grid, shape (rows, columns), as ``np.meshgrid`` returns it.
    X : torch.Tensor
        All the points, shape (n, 2); a NumPy array works too.
    y : torch.Tensor
        Shape (n,): labels 0 or 1, or -1 for an unlabelled point.
    boundaries : dict
        For each classifier's name, :math:`p(y = 1 \\mid x)` on the grid, shape
        (rows, columns); its 0.5 contour is
        drawn, in the line style of its position (dashed, solid, dotted, dash-dot).
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib Axes
    """
    gx, gy = _grid(gx, gy)
    X, y = _array("X", X), _array("y", y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    _check_shape("y", y, X.shape[:1])
    if not set(np.unique(y)) <= {-1, 0, 1}:
        raise ValueError(
            f"y must hold -1, 0 or 1, got {sorted(set(np.unique(y)))}"
        )
    if not isinstance(boundaries, Mapping) or len(boundaries) > len(STYLES):
        raise TypeError(
            f"boundaries must be a mapping of at most {len(STYLES)} names to grids, "
            f"got {type(boundaries).__name__}"
        )
    ax = ax or plt.gca()
    free = y == -1
    ax.scatter(*X[free].T, s=4, color="0.6", alpha=0.5, label="unlabelled")
    for k, colour in enumerate(CLASS_COLOURS):
        ax.scatter(
            *X[y == k].T,
            s=60,
            color=colour,
            edgecolor="black",
            zorder=3,
            label=f"labelled, class {k}",
        )
    for (name, p), style in zip(boundaries.items(), STYLES, strict=False):
        p = _array(f"boundaries[{name!r}]", p)
        _check_shape(f"boundaries[{name!r}]", p, gx.shape)
        ax.contour(gx, gy, p, levels=[0.5], colors="black", linestyles=style)
        ax.plot([], [], style, color="black", label=name)  # legend entry
    ax.set(xlim=(gx.min(), gx.max()), ylim=(gy.min(), gy.max()))
    return ax


def draw_label_curves(counts, accuracies, ax=None):
    """Test accuracy against labels per class: the mean, and the range over splits.

    Parameters
    ----------
    counts : list
        Labels per class (ints), on a log axis.
    accuracies : dict
        For each method's name, its test accuracy (a fraction) on every split and
        count, shape (splits, len(counts)).
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib Axes
    """
    counts = _array("counts", counts)
    if counts.ndim != 1 or len(counts) == 0 or (counts <= 0).any():
        raise ValueError(
            f"counts must be a non-empty list of positive ints, got {counts}"
        )
    if not isinstance(accuracies, Mapping):
        raise TypeError(
            f"accuracies must be a mapping of names to arrays, got "
            f"{type(accuracies).__name__}"
        )
    ax = ax or plt.gca()
    for name, acc in accuracies.items():
        acc = 100 * _array(f"accuracies[{name!r}]", acc)
        if acc.ndim != 2 or acc.shape[1] != len(counts):
            raise ValueError(
                f"accuracies[{name!r}] must have shape (splits, {len(counts)}), "
                f"got {acc.shape}"
            )
        (line,) = ax.plot(
            counts, acc.mean(axis=0), marker="o", markersize=3, label=name
        )
        ax.fill_between(
            counts,
            acc.min(axis=0),
            acc.max(axis=0),
            color=line.get_color(),
            alpha=0.2,
        )
    ax.set(xscale="log", xlabel="labels per class", ylabel="test accuracy (%)")
    return ax
