"""Figures of the generative and discriminative chapter.

Class densities with a Bayes boundary, the decision regions of a two-class classifier,
mosaics and grids of small images, a two-dimensional point cloud, the two losses of a
GAN, and learning curves against the training-set size. Each function draws what the
notebook computed and computes nothing of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "draw_class_densities",
    "draw_decision_regions",
    "draw_digit_mosaic",
    "draw_gan_losses",
    "draw_learning_curves",
    "draw_point_cloud",
    "image_grid",
]

#: Background colours of the two decision regions: class 0 (red), class 1 (blue).
REGION_COLOURS = ("#f4c7c3", "#c6dbef")


def _array(name, x) -> np.ndarray:
    """``x`` as a float NumPy array; a tensor may live on any device or need a gradient."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray | list | tuple):
        array = np.asarray(x)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold numbers, got dtype {array.dtype}"
            )
        return array
    raise TypeError(
        f"{name} must be an array or a tensor, got {type(x).__name__}"
    )


def _grid(gx, gy) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = _array("gx", gx), _array("gy", gy)
    if gx.ndim != 2:
        raise ValueError(
            f"gx must be a 2-D grid from np.meshgrid, got shape {gx.shape}"
        )
    if gy.shape != gx.shape:
        raise ValueError(
            f"gy must have the shape of gx, {gx.shape}, got {gy.shape}"
        )
    return gx, gy


def _check_shape(name, x, shape) -> None:
    if x.shape != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)}, got {x.shape}"
        )


def _positive_int(name, x) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    if x < 1:
        raise ValueError(f"{name} must be at least 1, got {x}")
    return int(x)


def draw_class_densities(
    gx,
    gy,
    joint,
    decision,
    ax=None,
    *,
    levels=6,
    linewidths=None,
    cmaps=("Reds", "Blues"),
):
    r"""Contours of each class's weighted density and the boundary between the classes.

    Parameters
    ----------
    gx, gy : array or Tensor of shape (rows, columns)
        The grid, as ``np.meshgrid`` returns it.
    joint : array or Tensor of shape (rows, columns, K)
        :math:`p(y = k)\, p(x \mid y = k)` at every grid point, one slice per class.
    decision : array or Tensor of shape (rows, columns)
        The predicted class (0 or 1) at every grid point. The boundary is its contour at
        0.5, drawn as a thick black line.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    levels : int, default 6
        Number of contour levels of each density.
    linewidths : float, optional
        Width of the density contours; matplotlib's default when None.
    cmaps : sequence of str, default ("Reds", "Blues")
        One colour map per class, so ``K`` is ``len(cmaps)``.

    Returns
    -------
    matplotlib Axes
    """
    gx, gy = _grid(gx, gy)
    if isinstance(cmaps, str) or not isinstance(cmaps, Sequence):
        raise TypeError(
            f"cmaps must be a sequence of colour-map names, got {cmaps!r}"
        )
    joint = _array("joint", joint)
    _check_shape("joint", joint, (*gx.shape, len(cmaps)))
    decision = _array("decision", decision)
    _check_shape("decision", decision, gx.shape)
    levels = _positive_int("levels", levels)
    ax = ax or plt.gca()
    for k, cmap in enumerate(cmaps):
        ax.contour(
            gx,
            gy,
            joint[..., k],
            levels=levels,
            cmap=cmap,
            linewidths=linewidths,
        )
    ax.contour(gx, gy, decision, levels=[0.5], colors="k", linewidths=2)
    return ax


def draw_decision_regions(gx, gy, region, X, y, ax=None, *, alpha=None, s=4):
    """The two regions of a two-class classifier, shaded, with the data on top.

    Class 0 is red and class 1 blue, in the background and in the points alike.

    Parameters
    ----------
    gx, gy : array or Tensor of shape (rows, columns)
        The grid, as ``np.meshgrid`` returns it.
    region : array or Tensor of shape (rows, columns)
        The predicted class, 0 or 1, at every grid point.
    X : array or Tensor of shape (n, 2)
        The points to draw.
    y : array or Tensor of shape (n,)
        Their classes, 0 or 1.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    alpha : float, optional
        Opacity of the points.
    s : float, default 4
        Size of the points.

    Returns
    -------
    matplotlib Axes
    """
    gx, gy = _grid(gx, gy)
    region = _array("region", region)
    _check_shape("region", region, gx.shape)
    X, y = _array("X", X), _array("y", y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    _check_shape("y", y, (len(X),))
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y must hold the classes 0 and 1, got {np.unique(y).tolist()}"
        )
    ax = ax or plt.gca()
    ax.contourf(
        gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=list(REGION_COLOURS)
    )
    ax.scatter(
        *X.T, c=np.where(y == 1, "tab:blue", "tab:red"), s=s, alpha=alpha
    )
    return ax


def draw_digit_mosaic(
    samples, ax=None, *, rows=10, image_shape=(8, 8), title=""
):
    """Small images tiled row by row, with a blank line between neighbours.

    Parameters
    ----------
    samples : array or Tensor of shape (rows * columns, height * width)
        The images, flattened, in reading order: the first ``columns`` make the top row.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    rows : int, default 10
        Number of rows of the mosaic, for example one per class.
    image_shape : tuple of int, default (8, 8)
        Height and width of one image.
    title : str, default ""

    Returns
    -------
    matplotlib Axes
    """
    samples = _array("samples", samples)
    rows = _positive_int("rows", rows)
    height, width = (_positive_int("image_shape", n) for n in image_shape)
    if samples.ndim != 2 or samples.shape[1] != height * width:
        raise ValueError(
            f"samples must have shape (n, {height * width}) for {height}x{width} images, "
            f"got {samples.shape}"
        )
    if len(samples) % rows:
        raise ValueError(f"the {len(samples)} samples do not fill {rows} rows")
    columns = len(samples) // rows
    tiles = np.pad(samples.reshape(-1, height, width), ((0, 0), (0, 1), (0, 1)))
    mosaic = (
        tiles.reshape(rows, columns, height + 1, width + 1)
        .transpose(0, 2, 1, 3)
        .reshape(rows * (height + 1), columns * (width + 1))
    )
    ax = ax or plt.gca()
    ax.imshow(mosaic, cmap="gray_r")
    ax.set(title=title, xticks=[], yticks=[])
    return ax


def image_grid(
    images, rows, columns, *, image_shape=(8, 8), row_titles=None, figsize=None
):
    """A new figure with one small image per Axes, in a grid without axes or ticks.

    Parameters
    ----------
    images : array or Tensor of shape (rows * columns, height * width)
        The images, flattened, in reading order.
    rows, columns : int
        The grid.
    image_shape : tuple of int, default (8, 8)
        Height and width of one image.
    row_titles : mapping of int to str, optional
        A title written above the first image of a row, aligned left, for example
        ``{0: "data", 1: "samples"}``.
    figsize : tuple of float, optional
        Passed to ``plt.subplots``.

    Returns
    -------
    matplotlib Figure
    """
    images = _array("images", images)
    rows, columns = (
        _positive_int("rows", rows),
        _positive_int("columns", columns),
    )
    height, width = (_positive_int("image_shape", n) for n in image_shape)
    _check_shape("images", images, (rows * columns, height * width))
    row_titles = {} if row_titles is None else row_titles
    if not isinstance(row_titles, Mapping):
        raise TypeError(
            f"row_titles must be a mapping, got {type(row_titles).__name__}"
        )
    if not set(row_titles) <= set(range(rows)):
        raise ValueError(
            f"row_titles must name rows 0 to {rows - 1}, got {sorted(row_titles)}"
        )
    fig, axes = plt.subplots(rows, columns, figsize=figsize, squeeze=False)
    for ax, image in zip(axes.flat, images, strict=True):
        ax.imshow(image.reshape(height, width), cmap="gray_r")
        ax.axis("off")
    for row, text in row_titles.items():
        axes[row, 0].set_title(text, loc="left")
    return fig


def draw_point_cloud(points, ax=None, *, title="", color=None, limit=3.0):
    """A scatter plot of two-dimensional samples, in a square window around the origin.

    Parameters
    ----------
    points : array or Tensor of shape (n, 2)
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    title : str, default ""
    color : str, optional
        Colour of the points; the first colour of the cycle when None.
    limit : float, default 3.0
        Both axes run from ``-limit`` to ``limit``, at equal scale.

    Returns
    -------
    matplotlib Axes
    """
    points = _array("points", points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise TypeError(f"limit must be a number, got {type(limit).__name__}")
    if not limit > 0:
        raise ValueError(f"limit must be positive, got {limit}")
    ax = ax or plt.gca()
    ax.scatter(*points.T, s=2, alpha=0.4, color=color)
    ax.set_title(title)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    return ax


def draw_gan_losses(history, ax=None):
    """The discriminator's and the generator's loss at every training step.

    Parameters
    ----------
    history : mapping
        With the keys ``"discriminator"`` and ``"generator"``, each a sequence of
        losses, as :func:`nnbook.generative.train_gan` returns it.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(history, Mapping):
        raise TypeError(
            f"history must be a mapping, got {type(history).__name__}"
        )
    missing = {"discriminator", "generator"} - set(history)
    if missing:
        raise ValueError(
            f"history must have the keys 'discriminator' and 'generator', got {sorted(history)}"
        )
    ax = ax or plt.gca()
    for name in ("discriminator", "generator"):
        ax.plot(history[name], lw=0.5, label=name)
    ax.set(xlabel="step", ylabel="loss")
    ax.legend()
    return ax


def draw_learning_curves(sizes, curves, ax=None, *, title="", dashed=()):
    """Test error in percent against the number of training examples, on a log axis.

    Parameters
    ----------
    sizes : sequence of int
        The training-set sizes :math:`m`.
    curves : mapping of str to sequence of float
        For each model, its mean test error (a fraction) at each size.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    title : str, default ""
    dashed : collection of str, default ()
        Models drawn with a dashed line; the others are solid.

    Returns
    -------
    matplotlib Axes
    """
    sizes = _array("sizes", sizes)
    if sizes.ndim != 1 or len(sizes) == 0 or (sizes <= 0).any():
        raise ValueError(
            f"sizes must be a non-empty list of positive sizes, got {sizes}"
        )
    if not isinstance(curves, Mapping):
        raise TypeError(
            f"curves must be a mapping of names to errors, got {type(curves).__name__}"
        )
    if isinstance(dashed, str) or not isinstance(dashed, Collection):
        raise TypeError(
            f"dashed must be a collection of model names, got {dashed!r}"
        )
    unknown = set(dashed) - set(curves)
    if unknown:
        raise ValueError(
            f"dashed must name models in curves, got {sorted(unknown)}"
        )
    ax = ax or plt.gca()
    for name, curve in curves.items():
        curve = _array(f"curves[{name!r}]", curve)
        _check_shape(f"curves[{name!r}]", curve, sizes.shape)
        style = "--" if name in dashed else "-"
        ax.plot(sizes, 100 * curve, style, marker="o", markersize=3, label=name)
    ax.set(
        xscale="log",
        xlabel="training examples m",
        ylabel="test error (%)",
        title=title,
    )
    return ax
