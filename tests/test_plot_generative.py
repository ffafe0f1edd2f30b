"""nnbook.plot.generative: what each figure of the generative chapter draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401

from nnbook.plot.generative import (
    draw_class_densities,
    draw_decision_regions,
    draw_digit_mosaic,
    draw_gan_losses,
    draw_learning_curves,
    draw_point_cloud,
    image_grid,
)


def _grid(n=30):
    return np.meshgrid(np.linspace(-3, 3, n), np.linspace(-2, 2, n))


def _two_gaussians(gx, gy):
    """Two weighted densities, centred at x = -1 and x = 1, shape (rows, columns, 2)."""
    dens = [np.exp(-((gx - c) ** 2) - gy**2) for c in (-1.0, 1.0)]
    return np.stack([0.5 * d for d in dens], axis=-1)


def test_class_densities_draws_one_contour_set_per_class_and_the_boundary():
    gx, gy = _grid()
    joint = _two_gaussians(gx, gy)
    decision = (joint[..., 1] > joint[..., 0]).astype(float)
    _, ax = plt.subplots()
    out = draw_class_densities(gx, gy, torch.tensor(joint), decision, ax, levels=5)
    assert out is ax
    # matplotlib >= 3.8 adds one ContourSet per call: two densities and one boundary
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(contours) == 3
    assert len(contours[0].levels) >= 4
    assert list(contours[2].levels) == [0.5]
    # the boundary between two equal Gaussians at -1 and 1 is the line x = 0
    boundary = np.concatenate(contours[2].allsegs[0])
    assert np.abs(boundary[:, 0]).max() < 0.25


def test_class_densities_uses_the_current_axes_and_the_widths_given():
    gx, gy = _grid()
    joint = _two_gaussians(gx, gy)
    ax = draw_class_densities(gx, gy, joint, np.zeros(gx.shape), linewidths=0.8)
    assert ax is plt.gca()
    assert np.allclose(ax.collections[0].get_linewidths(), 0.8)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"gx": "grid"}, TypeError, "gx must be an array or a tensor, got str"),
        ({"gx": np.zeros(5)}, ValueError, r"gx must be a 2-D grid .* got shape \(5,\)"),
        ({"gy": np.zeros((3, 3))}, ValueError, r"gy must have the shape of gx"),
        ({"joint": np.zeros((30, 30, 3))}, ValueError, r"joint must have shape \(30, 30, 2\)"),
        ({"decision": np.zeros((2, 2))}, ValueError, r"decision must have shape \(30, 30\)"),
        ({"levels": 0}, ValueError, "levels must be at least 1, got 0"),
        ({"levels": 2.5}, TypeError, "levels must be an int, got float"),
        ({"cmaps": "Reds"}, TypeError, "cmaps must be a sequence of colour-map names"),
    ],
)
def test_class_densities_rejects_bad_arguments(kwargs, error, message):
    gx, gy = _grid()
    args = {"gx": gx, "gy": gy, "joint": _two_gaussians(gx, gy), "decision": np.zeros(gx.shape)}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_class_densities(**args)


def test_decision_regions_shades_two_regions_and_colours_points_by_class():
    gx, gy = _grid()
    region = (gx > 0).astype(int)
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [2.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    _, ax = plt.subplots()
    out = draw_decision_regions(gx, gy, region, X, y, ax, alpha=0.5)
    assert out is ax
    filled, points = ax.collections
    assert list(filled.levels) == [-0.5, 0.5, 1.5]
    assert len(points.get_offsets()) == 3
    colours = points.get_facecolors()
    red, blue = matplotlib.colors.to_rgb("tab:red"), matplotlib.colors.to_rgb("tab:blue")
    assert np.allclose(colours[0, :3], red) and np.allclose(colours[1, :3], blue)
    assert np.allclose(colours[:, 3], 0.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"region": np.zeros((4, 4))}, ValueError, r"region must have shape \(30, 30\)"),
        ({"X": np.zeros((3, 3))}, ValueError, r"X must have shape \(n, 2\), got \(3, 3\)"),
        ({"y": np.zeros(2)}, ValueError, r"y must have shape \(3,\), got \(2,\)"),
        (
            {"y": np.array([0, 1, 2])},
            ValueError,
            r"y must hold the classes 0 and 1, got \[0, 1, 2\]",
        ),
        ({"y": np.array(["a", "b", "c"])}, TypeError, "y must hold numbers, got dtype <U1"),
        ({"X": {1: 2}}, TypeError, "X must be an array or a tensor, got dict"),
    ],
)
def test_decision_regions_rejects_bad_arguments(kwargs, error, message):
    gx, gy = _grid()
    args = {
        "gx": gx,
        "gy": gy,
        "region": np.zeros(gx.shape),
        "X": np.zeros((3, 2)),
        "y": np.zeros(3),
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_decision_regions(**args)


def test_digit_mosaic_tiles_images_with_a_blank_line_between_them():
    samples = torch.arange(6, dtype=torch.float64)[:, None].expand(6, 4) + 1  # 2x2 images
    _, ax = plt.subplots()
    out = draw_digit_mosaic(samples, ax, rows=2, image_shape=(2, 2), title="samples")
    assert out is ax
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (2 * 3, 3 * 3)
    assert mosaic[0, 0] == 1 and mosaic[0, 3] == 2 and mosaic[3, 0] == 4  # reading order
    assert (mosaic[2, :] == 0).all() and (mosaic[:, 2] == 0).all()  # the blank lines
    assert ax.get_title() == "samples"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"samples": np.zeros((6, 5))}, ValueError, r"samples must have shape \(n, 4\) for 2x2"),
        ({"rows": 4}, ValueError, "the 6 samples do not fill 4 rows"),
        ({"rows": 0}, ValueError, "rows must be at least 1, got 0"),
        ({"image_shape": (2.0, 2)}, TypeError, "image_shape must be an int, got float"),
    ],
)
def test_digit_mosaic_rejects_bad_arguments(kwargs, error, message):
    args = {"samples": np.zeros((6, 4)), "rows": 2, "image_shape": (2, 2)}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_digit_mosaic(**args)


def test_image_grid_draws_one_image_per_axes_and_titles_rows():
    images = np.random.default_rng(0).random((8, 4))
    fig = image_grid(images, 2, 4, image_shape=(2, 2), row_titles={1: "samples"}, figsize=(7, 2))
    axes = fig.axes
    assert len(axes) == 8
    assert all(len(ax.images) == 1 and not ax.axison for ax in axes)
    assert np.array_equal(axes[5].images[0].get_array(), images[5].reshape(2, 2))
    assert axes[4].get_title(loc="left") == "samples"
    assert axes[0].get_title(loc="left") == ""
    assert tuple(fig.get_size_inches()) == (7, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"images": np.zeros((7, 4))},
            ValueError,
            r"images must have shape \(8, 4\), got \(7, 4\)",
        ),
        ({"columns": "4"}, TypeError, "columns must be an int, got str"),
        ({"row_titles": ["data"]}, TypeError, "row_titles must be a mapping, got list"),
        ({"row_titles": {2: "x"}}, ValueError, r"row_titles must name rows 0 to 1, got \[2\]"),
    ],
)
def test_image_grid_rejects_bad_arguments(kwargs, error, message):
    args = {"images": np.zeros((8, 4)), "rows": 2, "columns": 4, "image_shape": (2, 2)}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        image_grid(**args)


def test_point_cloud_draws_every_point_in_a_square_window():
    points = torch.randn(50, 2, dtype=torch.float64, requires_grad=True)
    _, ax = plt.subplots()
    out = draw_point_cloud(points, ax, title="GAN samples", color="tab:orange", limit=2.5)
    assert out is ax
    (cloud,) = ax.collections
    assert len(cloud.get_offsets()) == 50
    assert np.allclose(cloud.get_facecolors()[0, :3], matplotlib.colors.to_rgb("tab:orange"))
    assert ax.get_xlim() == (-2.5, 2.5) and ax.get_ylim() == (-2.5, 2.5)
    assert ax.get_aspect() == 1.0
    assert ax.get_title() == "GAN samples"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"points": np.zeros((5, 3))},
            ValueError,
            r"points must have shape \(n, 2\), got \(5, 3\)",
        ),
        ({"limit": 0}, ValueError, "limit must be positive, got 0"),
        ({"limit": "3"}, TypeError, "limit must be a number, got str"),
    ],
)
def test_point_cloud_rejects_bad_arguments(kwargs, error, message):
    args = {"points": np.zeros((5, 2))}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_point_cloud(**args)


def test_gan_losses_draws_two_labelled_curves():
    history = {"discriminator": [1.4, 1.2, 1.1], "generator": [0.7, 0.9, 1.0]}
    _, ax = plt.subplots()
    assert draw_gan_losses(history, ax) is ax
    assert [line.get_label() for line in ax.lines] == ["discriminator", "generator"]
    assert list(ax.lines[1].get_ydata()) == [0.7, 0.9, 1.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["discriminator", "generator"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "loss")


def test_gan_losses_rejects_bad_arguments():
    with pytest.raises(TypeError, match="history must be a mapping, got list"):
        draw_gan_losses([1.0, 2.0])
    with pytest.raises(ValueError, match=r"history must have the keys .* got \['generator'\]"):
        draw_gan_losses({"generator": [1.0]})


def test_learning_curves_draws_each_model_in_percent_on_a_log_axis():
    curves = {"naive Bayes": [0.2, 0.1, 0.05], "per-class": np.array([0.4, 0.2, 0.1])}
    _, ax = plt.subplots()
    out = draw_learning_curves([4, 10, 100], curves, ax, title="iris", dashed={"per-class"})
    assert out is ax
    assert [line.get_label() for line in ax.lines] == ["naive Bayes", "per-class"]
    assert np.allclose(ax.lines[0].get_ydata(), [20, 10, 5])
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    assert ax.get_xscale() == "log" and ax.get_title() == "iris"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("training examples m", "test error (%)")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [4, 0, 10]}, ValueError, "sizes must be a non-empty list of positive sizes"),
        ({"curves": [0.1]}, TypeError, "curves must be a mapping of names to errors, got list"),
        (
            {"curves": {"a": [0.1, 0.2]}},
            ValueError,
            r"curves\['a'\] must have shape \(3,\), got \(2,\)",
        ),
        ({"dashed": "a"}, TypeError, "dashed must be a collection of model names, got 'a'"),
        ({"dashed": ["b"]}, ValueError, r"dashed must name models in curves, got \['b'\]"),
    ],
)
def test_learning_curves_rejects_bad_arguments(kwargs, error, message):
    args = {"sizes": [4, 6, 10], "curves": {"a": [0.3, 0.2, 0.1]}}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_learning_curves(**args)
