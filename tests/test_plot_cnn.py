"""nnbook.plot.cnn: the convolutional chapter's figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401

from nnbook.plot.cnn import (  # noqa: E402
    plot_accuracy_curves,
    plot_filters_and_maps,
    plot_shifted_maps,
)


def _maps():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 1, 8, 8, generator=g)
    maps = torch.randn(1, 2, 8, 8, generator=g)
    return image, maps, torch.roll(image, 1, dims=3), torch.roll(maps, 1, dims=3)


def test_shifted_maps_draw_two_rows_of_input_and_maps():
    image, maps, shifted, shifted_maps = _maps()
    fig = plot_shifted_maps(image, maps, shifted, shifted_maps)
    assert fig.get_figwidth() <= 7.0
    assert len(fig.axes) == 6
    top, bottom = fig.axes[:3], fig.axes[3:]
    assert [ax.get_title() for ax in top] == [
        "input",
        "horizontal-stroke filter",
        "vertical-stroke filter",
    ]
    assert bottom[0].get_ylabel() == "shifted 3 pixels right"
    assert all(len(ax.images) == 1 for ax in fig.axes)
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)
    np.testing.assert_array_equal(top[0].images[0].get_array(), image[0, 0].numpy())
    np.testing.assert_array_equal(bottom[2].images[0].get_array(), shifted_maps[0, 1].numpy())
    assert top[1].images[0].get_cmap().name == "RdBu_r"
    assert top[0].images[0].get_cmap().name == "gray_r"


def test_shifted_maps_name_filters_as_asked():
    image, maps, shifted, shifted_maps = _maps()
    fig = plot_shifted_maps(
        image, maps, shifted, shifted_maps, filter_names=("a", "b"), shift_label="moved"
    )
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "a", "b"]
    assert fig.axes[3].get_ylabel() == "moved"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"image": "pixels"}, TypeError, r"image must be a tensor, an array or a sequence"),
        ({"image": torch.zeros(8, 8)}, ValueError, r"image must have 4 dimension\(s\), got 2"),
        (
            {"shifted": torch.zeros(1, 3, 8, 8)},
            ValueError,
            r"shifted must have shape \(1, 1, H, W\)",
        ),
        ({"shifted_maps": torch.zeros(1, 3, 8, 8)}, ValueError, r"maps and shifted_maps must both"),
        (
            {"filter_names": ("only one",)},
            ValueError,
            r"filter_names must name each of the 2 filters",
        ),
    ],
)
def test_shifted_maps_reject_bad_arguments(change, error, message):
    image, maps, shifted, shifted_maps = _maps()
    args = {"image": image, "maps": maps, "shifted": shifted, "shifted_maps": shifted_maps}
    args.update(change)
    with pytest.raises(error, match=message):
        plot_shifted_maps(**args)


def test_accuracy_curves_draw_percent_against_epochs_with_markers():
    curves = {"LeNet": [0.9, 0.95, 0.97], "MLP": [0.85, 0.9, 0.93]}
    ax = plot_accuracy_curves(curves, ylabel="test accuracy on MNIST-5k (%)")
    assert ax.figure.get_figwidth() <= 7.0
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [85, 90, 93])
    assert [line.get_marker() for line in ax.lines] == ["o", "s"]
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "test accuracy on MNIST-5k (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["LeNet", "MLP"]


def test_accuracy_curves_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_accuracy_curves({"a": torch.tensor([0.5, 0.6])}, ax) is ax
    assert ax.get_ylabel() == "test accuracy (%)"


@pytest.mark.parametrize(
    ("curves", "ax", "error", "message"),
    [
        ([0.9, 0.95], None, TypeError, r"curves must be a dict, got list"),
        ({}, None, ValueError, r"curves must hold at least one entry"),
        ({"a": []}, None, ValueError, r"curves\['a'\] must hold at least one accuracy"),
        ({"a": [[0.9]]}, None, ValueError, r"curves\['a'\] must have 1 dimension\(s\), got 2"),
        ({"a": [0.9]}, "axes", TypeError, r"ax must be a matplotlib Axes or None, got str"),
    ],
)
def test_accuracy_curves_reject_bad_arguments(curves, ax, error, message):
    with pytest.raises(error, match=message):
        plot_accuracy_curves(curves, ax)


def _network():
    g = torch.Generator().manual_seed(1)
    return (
        torch.rand(28, 28, generator=g),
        torch.randn(6, 5, 5, generator=g),
        torch.rand(6, 28, 28, generator=g),
        torch.rand(8, 10, 10, generator=g),
    )


def test_filters_and_maps_lay_out_the_stages_within_seven_inches():
    digit, filters, first, second = _network()
    fig = plot_filters_and_maps(digit, filters, first, second)
    assert fig.get_figwidth() <= 7.0
    top, bottom = fig.subfigs
    upper, lower = top.axes[:14], bottom.axes[:8]
    bars = [*top.axes[14:], *bottom.axes[8:]]
    assert [ax.get_ylabel() for ax in bars] == ["weight", "activation", "activation"]
    assert [ax.get_title() for ax in upper[:7]] == ["input"] + [f"filter {i}" for i in range(6)]
    assert upper[7].get_ylabel() == "stage 1" and not upper[7].images
    assert lower[0].get_ylabel() == "stage 2"
    assert sum(len(ax.images) for ax in upper) == 1 + 6 + 6
    assert all(len(ax.images) == 1 for ax in lower)
    np.testing.assert_array_equal(upper[3].images[0].get_array(), filters[2].numpy())
    np.testing.assert_array_equal(upper[10].images[0].get_array(), first[2].numpy())
    np.testing.assert_array_equal(lower[5].images[0].get_array(), second[5].numpy())
    assert lower[0].images[0].get_cmap().name == "magma"
    bound = filters.abs().max().item()
    for ax in upper[1:7]:  # one scale for all filters, white at zero
        assert ax.images[0].get_clim() == pytest.approx((-bound, bound))
    for ax, maps in [(upper[8], first), (lower[0], second)]:  # one per stage
        assert ax.images[0].get_clim() == pytest.approx((0.0, maps.max().item()))


def test_filters_and_maps_hide_the_unused_cells_of_the_last_row():
    digit, filters, first, second = _network()
    fig = plot_filters_and_maps(digit, filters, first, second[:5])
    lower = fig.subfigs[1].axes[:8]
    assert [ax.axison for ax in lower] == [True] * 5 + [False] * 3


@pytest.mark.parametrize(
    ("index", "value", "error", "message"),
    [
        (0, torch.zeros(1, 28, 28), ValueError, r"digit must have 2 dimension\(s\), got 3"),
        (1, {"w": 1}, TypeError, r"filters must be a tensor, an array or a sequence"),
        (2, torch.zeros(5, 28, 28), ValueError, r"one map per filter \(6\), got 5"),
        (3, torch.zeros(0, 10, 10), ValueError, r"second_maps must hold at least one map"),
    ],
)
def test_filters_and_maps_reject_bad_arguments(index, value, error, message):
    args = list(_network())
    args[index] = value
    with pytest.raises(error, match=message):
        plot_filters_and_maps(*args)


def test_accuracy_curves_take_another_horizontal_axis():
    curves = {"a": [0.9, 0.8, 0.5], "b": [0.95, 0.9, 0.7]}
    ax = plot_accuracy_curves(curves, x=[0, 2, 4], xlabel="move (pixels)")
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0, 2, 4])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [95, 90, 70])
    assert ax.get_xlabel() == "move (pixels)"
    with pytest.raises(
        ValueError, match=r"curves\['a'\] must hold one accuracy per value of x \(2\), got 3"
    ):
        plot_accuracy_curves(curves, x=[0, 1])
    plt.close("all")


def test_depth_curves_draw_the_means_and_every_seed():
    from nnbook.plot.cnn import plot_depth_curves

    values = np.array([[1.0, 4.0, 16.0], [4.0, 16.0, 64.0]])
    ax = plot_depth_curves([2, 8, 32], {"plain": values}, ylabel="gradient", log=True)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 8.0, 32.0])  # geometric
    assert len(ax.lines) == 3 and ax.get_yscale() == "log"
    ax = plot_depth_curves([2, 8, 32], {"plain": values}, ylabel="loss")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.5, 10.0, 40.0])
    with pytest.raises(ValueError, match=r"one column per depth \(2\), got 3"):
        plot_depth_curves([2, 8], {"plain": values}, ylabel="loss")
    with pytest.raises(ValueError, match="must be positive on a logarithmic axis"):
        plot_depth_curves([2, 8, 32], {"plain": -values}, ylabel="loss", log=True)
    with pytest.raises(TypeError, match="curves must be a dict"):
        plot_depth_curves([2, 8, 32], [values], ylabel="loss")
    plt.close("all")
