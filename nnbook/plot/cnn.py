"""Figures of the convolutional chapter: feature maps, learned filters and accuracy curves.

Each function draws one figure of a section of the chapter from the tensors that the
section computed; the experiment itself stays in the notebook. A function that draws on
one Axes takes ``ax=None`` and returns the Axes; one that lays out a grid of images makes
its own Figure and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes

__all__ = [
    "plot_accuracy_curves",
    "plot_depth_curves",
    "plot_filters_and_maps",
    "plot_shifted_maps",
]


def _bare(ax):
    """Remove the ticks of an Axes that shows an image."""
    ax.set_xticks([])
    ax.set_yticks([])


def plot_shifted_maps(
    image,
    maps,
    shifted,
    shifted_maps,
    *,
    filter_names=("horizontal-stroke filter", "vertical-stroke filter"),
    shift_label="shifted 3 pixels right",
):
    """A grid of an image and its feature maps, above the same for the shifted image.

    Parameters
    ----------
    image, shifted : tensor or array of shape (1, 1, H, W)
        The input of the convolution, and the same input shifted.
    maps, shifted_maps : tensor or array of shape (1, F, H_out, W_out)
        The feature maps the F filters make of ``image`` and of ``shifted``.
    filter_names : sequence of str, default ("horizontal-stroke filter", "vertical-stroke filter")
        The titles of the map columns, one per filter.
    shift_label : str, default "shifted 3 pixels right"
        The label of the lower row.

    Returns
    -------
    matplotlib Figure
        Two rows of 1 + F images, 7 inches wide: the input in grey, each feature map on
        a red-blue scale.

    Raises
    ------
    TypeError
        If an image or map is not a tensor, an array or a sequence of numbers.
    ValueError
        If an image or map has the wrong shape, or ``filter_names`` does not name every
        filter.
    """
    images = {"image": image, "shifted": shifted}
    images = {name: _array(name, x, ndim=4) for name, x in images.items()}
    for name, x in images.items():
        if x.shape[:2] != (1, 1):
            raise ValueError(
                f"{name} must have shape (1, 1, H, W), got {x.shape}"
            )
    all_maps = {"maps": maps, "shifted_maps": shifted_maps}
    all_maps = {name: _array(name, x, ndim=4) for name, x in all_maps.items()}
    if (
        all_maps["maps"].shape != all_maps["shifted_maps"].shape
        or len(all_maps["maps"]) != 1
    ):
        shapes = {name: x.shape for name, x in all_maps.items()}
        raise ValueError(
            f"maps and shifted_maps must both have shape (1, F, H, W), got {shapes}"
        )
    n_filters = all_maps["maps"].shape[1]
    if isinstance(filter_names, str) or len(filter_names) != n_filters:
        raise ValueError(
            f"filter_names must name each of the {n_filters} filters, got {filter_names!r}"
        )
    fig, axes = plt.subplots(2, 1 + n_filters, figsize=(7, 5))
    rows = [
        (images["image"], all_maps["maps"]),
        (images["shifted"], all_maps["shifted_maps"]),
    ]
    for row, (x, m) in enumerate(rows):
        axes[row, 0].imshow(x[0, 0], cmap="gray_r")
        for k in range(n_filters):
            axes[row, k + 1].imshow(m[0, k], cmap="RdBu_r")
    for ax, title in zip(axes[0], ["input", *filter_names], strict=True):
        ax.set_title(title, fontsize=10)
    axes[1, 0].set_ylabel(shift_label)
    for ax in axes.flat:
        _bare(ax)
    return fig


def plot_accuracy_curves(
    curves, ax=None, *, ylabel="test accuracy (%)", x=None, xlabel="epoch"
):
    """Test accuracy after every epoch, in percent, one line with markers per model.

    With ``x`` and ``xlabel``, the accuracies are plotted against another quantity,
    such as how far the test images were moved.

    Parameters
    ----------
    curves : dict
        ``{label: accuracies}``: for each model, its accuracy (a fraction between 0 and
        1) after epochs 1, 2, ...
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.5 inch figure.
    ylabel : str, default "test accuracy (%)"
        The label of the vertical axis.
    x : sequence of float, optional
        The horizontal positions of the accuracies; by default the epochs 1, 2, ...
        It must be as long as every entry of ``curves``.
    xlabel : str, default "epoch"
        The label of the horizontal axis.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``curves`` is not a dict or an entry is not a sequence of numbers.
    ValueError
        If ``curves`` or one of its entries is empty, or ``x`` is not as long as an
        entry.
    """
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a dict, got {type(curves).__name__}")
    if not curves:
        raise ValueError(
            "curves must hold at least one entry, got an empty dict"
        )
    arrays = {
        label: _array(f"curves[{label!r}]", c, ndim=1)
        for label, c in curves.items()
    }
    for label, c in arrays.items():
        if len(c) == 0:
            raise ValueError(
                f"curves[{label!r}] must hold at least one accuracy, got none"
            )
    if x is not None:
        x = _array("x", x, ndim=1)
        for label, c in arrays.items():
            if len(c) != len(x):
                raise ValueError(
                    f"curves[{label!r}] must hold one accuracy per value of x "
                    f"({len(x)}), got {len(c)}"
                )
    ax = _axes(ax, (6, 3.5))
    markers = ["o-", "s-", "^-", "D-", "v-"]
    for k, (label, c) in enumerate(arrays.items()):
        ax.plot(
            np.arange(1, len(c) + 1) if x is None else x,
            100 * c,
            markers[k % len(markers)],
            label=label,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_filters_and_maps(digit, filters, first_maps, second_maps):
    """A digit, the filters of a first convolution, and the maps of two stages.

    The upper part has one column per filter: the filter above the map it makes of the
    digit, with the digit itself in a first column. The lower part shows the maps of the
    second stage, four to a row.

    Parameters
    ----------
    digit : tensor or array of shape (H, W)
        The input image.
    filters : tensor or array of shape (F, k, k)
        The first layer's filters (one input channel).
    first_maps : tensor or array of shape (F, H1, W1)
        The first stage's feature maps of ``digit``, one per filter.
    second_maps : tensor or array of shape (G, H2, W2)
        The second stage's maps to show.

    Returns
    -------
    matplotlib Figure
        7 inches wide. The digit is drawn in grey. The filters share one red-blue
        scale, symmetric about zero so that white is a zero weight; each stage's maps
        share one ``magma`` scale from zero (or their minimum, if negative) to their
        maximum, so that maps of a stage can be compared. Each scale has a colour bar.

    Raises
    ------
    TypeError
        If an argument is not a tensor, an array or a sequence of numbers.
    ValueError
        If an argument has the wrong number of dimensions, or ``first_maps`` does not
        hold one map per filter.
    """
    digit = _array("digit", digit, ndim=2)
    filters = _array("filters", filters, ndim=3)
    first_maps = _array("first_maps", first_maps, ndim=3)
    second_maps = _array("second_maps", second_maps, ndim=3)
    n_filters = len(filters)
    if len(first_maps) != n_filters:
        raise ValueError(
            f"first_maps must hold one map per filter ({n_filters}), got {len(first_maps)}"
        )
    if len(second_maps) == 0:
        raise ValueError("second_maps must hold at least one map, got none")
    columns = 4
    rows = -(-len(second_maps) // columns)
    fig = plt.figure(figsize=(7, 2.4 + 1.35 * rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.4, 1.35 * rows])
    upper = top.subplots(2, 1 + n_filters)
    lower = np.atleast_2d(bottom.subplots(rows, columns))
    for ax in [*upper.flat, *lower.flat]:
        _bare(ax)
    upper[0, 0].imshow(digit, cmap="gray_r")
    upper[0, 0].set_title("input")
    bound = float(np.abs(filters).max()) or 1.0  # white is zero
    weights = {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    stage1, stage2 = _shared_scale(first_maps), _shared_scale(second_maps)
    for i in range(n_filters):
        image = upper[0, i + 1].imshow(filters[i], **weights)
        upper[0, i + 1].set_title(f"filter {i}")
        maps = upper[1, i + 1].imshow(first_maps[i], **stage1)
    top.colorbar(image, ax=upper[0, 1:], label="weight", shrink=0.9)
    top.colorbar(maps, ax=upper[1, 1:], label="activation", shrink=0.9)
    upper[1, 0].set_ylabel("stage 1")
    for spine in upper[1, 0].spines.values():
        spine.set_visible(False)
    for ax, m in zip(lower.flat, second_maps, strict=False):
        maps = ax.imshow(m, **stage2)
    bottom.colorbar(maps, ax=lower, label="activation", shrink=0.6)
    for ax in list(lower.flat)[len(second_maps) :]:
        ax.axis("off")
    lower[0, 0].set_ylabel("stage 2")
    return fig


def _shared_scale(maps):
    """One ``magma`` scale for a stage's maps: from zero, or below, to their maximum."""
    low, high = min(0.0, float(maps.min())), float(maps.max())
    return {
        "cmap": "magma",
        "vmin": low,
        "vmax": high if high > low else low + 1.0,
    }


def plot_depth_curves(depths, curves, ax=None, *, ylabel, log=False):
    """A measurement against depth: one line per network, the mean over seeds.

    Each seed's value is a small dot, so that the spread over seeds is visible, and the
    line joins the means.

    Parameters
    ----------
    depths : sequence of float
        The depths measured, the horizontal axis.
    curves : dict
        ``{label: values}``, where ``values`` has one row per seed and one column per
        depth.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.5 inch figure.
    ylabel : str
        The label of the vertical axis.
    log : bool, default False
        A logarithmic vertical axis (the mean is then the geometric mean).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``curves`` is not a dict or an entry is not an array of numbers.
    ValueError
        If ``curves`` is empty, an entry does not have one column per depth, or, with
        ``log``, holds a value that is not positive.
    """
    depths = _array("depths", depths, ndim=1)
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a dict, got {type(curves).__name__}")
    if not curves:
        raise ValueError(
            "curves must hold at least one entry, got an empty dict"
        )
    ax = _axes(ax, (6, 3.5))
    markers = ["o-", "s-", "^-", "D-"]
    for k, (label, values) in enumerate(curves.items()):
        values = _array(f"curves[{label!r}]", values, ndim=2)
        if values.shape[1] != len(depths):
            raise ValueError(
                f"curves[{label!r}] must have one column per depth ({len(depths)}), "
                f"got {values.shape[1]}"
            )
        if log and (values <= 0).any():
            raise ValueError(
                f"curves[{label!r}] must be positive on a logarithmic axis"
            )
        mean = np.exp(np.log(values).mean(0)) if log else values.mean(0)
        (line,) = ax.plot(depths, mean, markers[k % len(markers)], label=label)
        for row in values:
            ax.plot(depths, row, ".", color=line.get_color(), alpha=0.5)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("depth (convolutions between stem and head)")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
