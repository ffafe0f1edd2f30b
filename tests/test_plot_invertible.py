"""The figures of the invertible-ResNet chapter (nnbook.plot.invertible), drawn with Agg."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401

from nnbook.invertible import _toy as toy
from nnbook.plot.invertible import (  # noqa: E402
    draw_activation_and_slope,
    draw_banach_errors,
    draw_fixed_point_residuals,
    draw_toy_densities,
    draw_training_histories,
)


def _labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


# draw_activation_and_slope


def test_activation_and_slope_draws_one_line_per_curve_in_each_panel():
    x = torch.linspace(-3, 3, 50)
    curves = {
        "beta = 1": (torch.tanh(x), 1 - torch.tanh(x) ** 2),
        "beta = 2": (torch.tanh(2 * x), 2 * (1 - torch.tanh(2 * x) ** 2)),
    }
    fig = draw_activation_and_slope(x, curves)
    top, bottom = fig.axes
    assert len(top.get_lines()) == len(bottom.get_lines()) == 2
    assert top.get_title() == "LipSwish"
    assert bottom.get_title() == "its derivative, never above 1"
    assert bottom.get_xlabel() == "x"
    assert _labels(bottom) == ["beta = 1", "beta = 2"]
    assert top.get_legend() is None
    assert fig.get_figwidth() <= 7.0
    assert fig.get_figheight() > fig.get_figwidth() / 2  # stacked, not side by side


def test_activation_and_slope_rejects_bad_curves():
    x = [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match=r"curves must be a dict, got list"):
        draw_activation_and_slope(x, [([0, 1, 2], [1, 1, 1])])
    with pytest.raises(ValueError, match=r"curves must hold at least one entry"):
        draw_activation_and_slope(x, {})
    with pytest.raises(TypeError, match=r"curves\['a'\] must be a pair .*got int"):
        draw_activation_and_slope(x, {"a": 3})
    with pytest.raises(ValueError, match=r"curves\['a'\] must be a pair .*got 3 items"):
        draw_activation_and_slope(x, {"a": (x, x, x)})
    with pytest.raises(
        ValueError, match=r"curves\['a'\] slopes must have len\(x\) = 3 entries, got 2"
    ):
        draw_activation_and_slope(x, {"a": (x, [1.0, 1.0])})
    with pytest.raises(TypeError, match=r"x must be a sequence of numbers, got float"):
        draw_activation_and_slope(1.0, {"a": (x, x)})


# draw_banach_errors


def test_banach_errors_draw_a_solid_error_and_a_dotted_bound_per_constant():
    errors = {0.5: [1.0, 0.5, 0.25], 0.9: [1.0, 0.9, 0.81]}
    bounds = {0.5: [2.0, 1.0, 0.5], 0.9: [10.0, 9.0, 8.1]}
    ax = draw_banach_errors(errors, bounds)
    lines = ax.get_lines()
    assert len(lines) == 4
    assert [line.get_linestyle() for line in lines] == ["-", ":", "-", ":"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert _labels(ax) == ["c = 0.5", "c = 0.9"]
    assert ax.get_yscale() == "log"
    assert ax.get_ylim() == pytest.approx((1e-16, 1e3))
    assert ax.get_xlabel() == "iteration n"
    assert ax.get_title() == "measured (solid) and Banach bound (dotted)"
    assert tuple(ax.figure.get_size_inches()) == (6, 3.6)


def test_banach_errors_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    assert draw_banach_errors({0.5: [1.0, 0.5]}, {0.5: [2.0, 1.0]}, ax=ax) is ax
    assert len(ax.get_lines()) == 2


def test_banach_errors_reject_mismatched_inputs():
    with pytest.raises(TypeError, match=r"errors must be a dict, got list"):
        draw_banach_errors([1.0], {0.5: [1.0]})
    with pytest.raises(
        ValueError, match=r"bounds must have the keys of errors, \[0.5\], got \[0.9\]"
    ):
        draw_banach_errors({0.5: [1.0]}, {0.9: [1.0]})
    with pytest.raises(
        ValueError, match=r"bounds\[0.5\] must be as long as errors\[0.5\] \(2\), got 1"
    ):
        draw_banach_errors({0.5: [1.0, 0.5]}, {0.5: [1.0]})


# draw_training_histories


def _history(train):
    return {"step": [100, 200, 300], "train": train, "test": [2.8, 2.9, 3.0]}


def test_training_histories_stack_one_panel_per_run():
    runs = {"truncated": _history([2.5, 1.0, 0.4]), "roulette": _history([2.8, 2.7, 2.6])}
    fig = draw_training_histories(runs, 1.48)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["truncated", "roulette"]
    for ax in axes:
        assert len(ax.get_lines()) == 3  # training loss, test NLL, entropy
        assert ax.get_lines()[2].get_ydata()[0] == pytest.approx(1.48)
        assert ax.get_ylabel() == "nats per point"
    assert axes[-1].get_xlabel() == "training step"
    assert _labels(axes[0]) == [
        "training loss (as estimated)",
        "true test NLL (exact log-det)",
        "entropy of the data (lower bound)",
    ]
    assert axes[1].get_legend() is None
    assert fig.get_figwidth() <= 7.0


def test_training_histories_reject_bad_runs():
    with pytest.raises(TypeError, match=r"runs must be a dict, got list"):
        draw_training_histories([_history([1, 2, 3])], 1.0)
    with pytest.raises(TypeError, match=r"entropy must be a number, got str"):
        draw_training_histories({"a": _history([1, 2, 3])}, "1.48")
    with pytest.raises(
        ValueError, match=r"runs\['a'\] must have the keys step, train and test, got \['step'\]"
    ):
        draw_training_histories({"a": {"step": [1]}}, 1.0)
    with pytest.raises(
        ValueError, match=r"runs\['a'\] must have step, train and test of equal length"
    ):
        draw_training_histories({"a": _history([1, 2])}, 1.0)


# draw_fixed_point_residuals


def test_fixed_point_residuals_draw_one_line_per_block():
    curves = {
        "i-ResNet": [[1.0, 0.1, 0.01], [2.0, 0.2, 0.02]],
        "plain": [[1.0, 10.0, 100.0], [1.0, 1.0, 1.0]],
    }
    fig = draw_fixed_point_residuals(curves)
    top, bottom = fig.axes
    assert top.get_title() == "i-ResNet" and bottom.get_title() == "plain"
    assert len(top.get_lines()) == len(bottom.get_lines()) == 2
    assert top.get_yscale() == "log"
    assert bottom.get_xlabel() == "fixed-point iteration n"
    assert _labels(bottom) == ["block 1", "block 2"]
    assert fig.get_figwidth() <= 7.0


def test_fixed_point_residuals_reject_bad_curves():
    with pytest.raises(TypeError, match=r"curves must be a dict, got tuple"):
        draw_fixed_point_residuals(([1.0],))
    with pytest.raises(ValueError, match=r"curves\['a'\] must hold one curve per block, got none"):
        draw_fixed_point_residuals({"a": []})
    with pytest.raises(
        TypeError, match=r"curves\['a'\]\[0\] must be a sequence of numbers, got float"
    ):
        draw_fixed_point_residuals({"a": [1.0]})


# draw_toy_densities


@pytest.fixture(scope="module")
def untrained_result():
    """A ToyResult with untrained flows: enough to check the layout."""
    flows = toy.make_toy_flows(seed=0)
    return toy.ToyResult("moons", 0, flows, 1.46, {}, {}, {})


def test_toy_densities_restack_the_five_panels_into_a_grid(untrained_result):
    fig = draw_toy_densities(untrained_result, n_samples=50)
    assert fig.get_figwidth() <= 7.1  # 2.05 inches per column
    axes = fig.axes
    assert len(axes) == 6
    titles = [ax.get_title() for ax in axes]
    assert titles == [
        "true density",
        "i-ResNet",
        "coupling",
        "",
        "i-ResNet samples",
        "coupling samples",
    ]
    assert [len(ax.get_images()) for ax in axes] == [1, 1, 1, 0, 0, 0]
    assert [len(ax.collections) for ax in axes[4:]] == [1, 1]
    assert len(axes[4].collections[0].get_offsets()) == 50
    note = axes[3]
    assert not note.axison
    assert "moons" in [text.get_text() for text in note.texts]
    # the samples sit under their own flow's density
    for density, samples in ((axes[1], axes[4]), (axes[2], axes[5])):
        assert density.get_position().x0 == pytest.approx(samples.get_position().x0, abs=0.02)


def test_toy_densities_reject_bad_arguments(untrained_result):
    with pytest.raises(
        TypeError, match=r"result must be a ToyResult from run_toy or a FlowComparison, got dict"
    ):
        draw_toy_densities({})
    with pytest.raises(TypeError, match=r"n_samples must be an int, got float"):
        draw_toy_densities(untrained_result, n_samples=10.0)
    with pytest.raises(ValueError, match=r"n_samples must be at least 1, got 0"):
        draw_toy_densities(untrained_result, n_samples=0)
    unknown = toy.ToyResult("circles", 0, untrained_result.flows, 1.0, {}, {}, {})
    with pytest.raises(ValueError, match=r"result.name must be one of .*got 'circles'"):
        draw_toy_densities(unknown)
    one = toy.ToyResult(
        "moons", 0, {"coupling": untrained_result.flows["coupling"]}, 1.0, {}, {}, {}
    )
    with pytest.raises(ValueError, match=r"result.flows must hold 2 to 4 flows, got 1"):
        draw_toy_densities(one)
