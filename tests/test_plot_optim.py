"""nnbook.plot.optim: what each figure of the optimizers chapter draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401

from nnbook import optim
from nnbook.plot.optim import plot_paths, plot_rate_sweep, plot_seed_bands


def _paths():
    sgd = optim.trajectory(lambda ps: optim.SGD(ps, lr=0.05), optim.quadratic, (1.0, 1.0), 20)
    adam = optim.trajectory(lambda ps: optim.Adam(ps, lr=0.1), optim.quadratic, (1.0, 1.0), 20)
    return {"gradient descent": sgd, "Adam": adam}


def test_paths_draws_contours_one_line_per_path_and_the_marks():
    paths = _paths()
    ax = plot_paths(
        optim.quadratic, paths, (-1.5, 1.5), (-1.0, 1.5), torch.logspace(-2, 1, 6),
        title="bowl", marks=[(0, 0)],
    )  # fmt: skip
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(contours) == 1 and len(contours[0].levels) == 6
    # per path: the line and its end dot; then one star and the start square
    lines = ax.get_lines()
    assert len(lines) == 2 * len(paths) + 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(paths)
    np.testing.assert_allclose(lines[0].get_xydata(), paths["gradient descent"].numpy())
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[-2].get_marker() == "*" and tuple(lines[-2].get_xydata()[0]) == (0, 0)
    assert lines[-1].get_marker() == "s" and tuple(lines[-1].get_xydata()[0]) == (1, 1)
    assert ax.get_xlim() == (-1.5, 1.5) and ax.get_ylim() == (-1.0, 1.5)
    assert ax.get_title() == "bowl"


def test_paths_makes_a_figure_at_most_seven_inches_wide_with_room_for_the_legend():
    ax = plot_paths(optim.quadratic, _paths(), (-1, 1), (-1, 1), [0.1, 1.0])
    fig = ax.figure
    assert fig.get_figwidth() <= 7.0
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x1 <= fig.bbox.x1 + 1  # inside the figure, not cut off
    assert legend.x0 >= ax.get_window_extent().x1  # to the right of the axes


def test_paths_draws_on_the_axes_given():
    _, ax = plt.subplots()
    assert plot_paths(optim.saddle, _paths(), (-1, 1), (-1, 1), [0.0, 0.5], ax) is ax


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"loss": 3}, TypeError, r"loss must be callable, got int"),
        ({"paths": [1, 2]}, TypeError, r"paths must be a dict, got list"),
        ({"paths": {}}, ValueError, r"paths must hold at least one entry"),
        ({"paths": {"a": torch.zeros(5, 3)}}, ValueError, r"paths\['a'\] must have shape \(T, 2\), got \(5, 3\)"),
        ({"paths": {"a": "path"}}, TypeError, r"paths\['a'\] must be a tensor.*got str"),
        ({"xlim": (1, -1)}, ValueError, r"xlim must have low < high, got \(1.0, -1.0\)"),
        ({"ylim": 3}, TypeError, r"ylim must be a pair \(low, high\), got 3"),
        ({"levels": []}, ValueError, r"levels must hold at least one value, got none"),
        ({"marks": [(0, 0, 0)]}, ValueError, r"marks\[0\] must be a point \(x, y\), got 3 numbers"),
        ({"ax": "axes"}, TypeError, r"ax must be a matplotlib Axes or None, got str"),
    ],
)  # fmt: skip
def test_paths_rejects_bad_arguments(kwargs, error, message):
    args = {
        "loss": optim.quadratic, "paths": _paths(), "xlim": (-1, 1), "ylim": (-1, 1),
        "levels": [0.1, 1.0], **kwargs,
    }  # fmt: skip
    with pytest.raises(error, match=message):
        plot_paths(**args)


RATES = [1e-3, 1e-2, 1e-1, 1.0]


def test_rate_sweep_draws_one_marked_line_per_optimizer_on_log_axes():
    losses = {"SGD": [2.0, 1.0, 0.1, 2.3], "Adam": [0.5, 0.01, 2.0, 2.3], "RMSprop": [1, 1, 1, 1]}
    ax = plot_rate_sweep(RATES, losses, ylabel="training loss after 10 epochs")
    lines = ax.get_lines()
    assert [line.get_marker() for line in lines] == ["o", "s", "^"]
    np.testing.assert_allclose(lines[1].get_ydata(), losses["Adam"])
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate η"
    assert ax.get_ylabel() == "training loss after 10 epochs"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(losses)
    assert ax.figure.get_figwidth() <= 7.0


@pytest.mark.parametrize(
    ("rates", "losses", "error", "message"),
    [
        ([0.1, -1.0], {"SGD": [1, 2]}, ValueError, r"rates must be positive learning rates, got \[0.1, -1.0\]"),
        (RATES, {"SGD": [1, 2]}, ValueError, r"losses\['SGD'\] must hold one loss per rate \(4\), got 2"),
        (RATES, [1, 2, 3, 4], TypeError, r"losses must be a dict, got list"),
        ("0.1", {"SGD": [1]}, TypeError, r"rates must be a tensor, an array or a sequence of numbers, got str"),
    ],
)  # fmt: skip
def test_rate_sweep_rejects_bad_arguments(rates, losses, error, message):
    with pytest.raises(error, match=message):
        plot_rate_sweep(rates, losses)


def test_seed_bands_draws_the_mean_and_a_band_from_the_lowest_to_the_highest_seed():
    epochs = [0, 1, 2]
    values = torch.tensor([[1.0, 0.5, 0.2], [3.0, 1.5, 0.4]])
    ax = plot_seed_bands(
        {"SGD": (epochs, values), "Adam": (epochs, values / 2)}, log=True, ylabel="loss"
    )
    lines = ax.get_lines()
    assert len(lines) == 2 and len(ax.collections) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [2.0, 1.0, 0.3])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.2) and band[:, 1].max() == pytest.approx(3.0)
    np.testing.assert_allclose(
        ax.collections[1].get_facecolor()[0][:3], matplotlib.colors.to_rgb(lines[1].get_color())
    )
    assert ax.collections[0].get_alpha() == pytest.approx(0.15)
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")


def test_seed_bands_draws_on_the_axes_given_with_a_linear_scale():
    _, ax = plt.subplots()
    out = plot_seed_bands({"a": ([1, 2], [[90.0, 95.0]])}, ax, xlabel="step")
    assert out is ax and ax.get_yscale() == "linear" and ax.get_xlabel() == "step"


@pytest.mark.parametrize(
    ("curves", "kwargs", "error", "message"),
    [
        ({}, {}, ValueError, r"curves must hold at least one entry"),
        ({"a": [1, 2, 3]}, {}, TypeError, r"curves\['a'\] must be a pair \(x, values\)"),
        ({"a": ([1, 2], [[1.0, 2.0, 3.0]])}, {}, ValueError, r"values must have shape \(seeds, 2\), got \(1, 3\)"),
        ({"a": ([1, 2], [1.0, 2.0])}, {}, ValueError, r"curves\['a'\]\[1\] must have 2 dimension\(s\), got 1"),
        ({"a": ([1, 2], [[1.0, 2.0]])}, {"log": "yes"}, TypeError, r"log must be a bool, got str"),
    ],
)  # fmt: skip
def test_seed_bands_rejects_bad_arguments(curves, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_seed_bands(curves, **kwargs)


def test_path_panels_draw_one_path_per_panel_with_equal_aspect():
    from nnbook.plot.optim import plot_path_panels

    paths = _paths() | {
        "momentum": optim.trajectory(
            lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), optim.quadratic, (1.0, 1.0), 20
        )
    }
    fig = plot_path_panels(optim.quadratic, paths, (-1.5, 1.5), (-1.0, 1.5),
                           [0.1, 1.0], marks=[(0, 0)], ncols=2)  # fmt: skip
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(paths)
    assert len(fig.axes) == 4 and not fig.axes[3].get_visible()
    for ax, path in zip(visible, paths.values(), strict=True):
        lines = ax.get_lines()
        assert len(lines) == 4  # the path, its end, the star, the start
        np.testing.assert_allclose(lines[0].get_xydata(), path.numpy())
        assert ax.get_aspect() == 1.0
        assert ax.get_xlim() == (-1.5, 1.5) and ax.get_ylim() == (-1.0, 1.5)
    colors = [ax.get_lines()[0].get_color() for ax in visible]
    assert len(set(colors)) == 3  # the colours plot_paths would give
    assert visible[0].get_ylabel() == r"$\theta_2$" and visible[2].get_ylabel() == r"$\theta_2$"
    assert visible[2].get_xlabel() == r"$\theta_1$" and visible[1].get_xlabel() == r"$\theta_1$"
    assert visible[0].get_xlabel() == ""


@pytest.mark.parametrize(
    ("ncols", "error", "message"),
    [(0, ValueError, "ncols must be at least 1, got 0"),
     (2.0, TypeError, "ncols must be an int, got float")],
)  # fmt: skip
def test_path_panels_errors(ncols, error, message):
    from nnbook.plot.optim import plot_path_panels

    with pytest.raises(error, match=message):
        plot_path_panels(optim.quadratic, _paths(), (-1, 1), (-1, 1), [0.1], ncols=ncols)


def test_paths_have_equal_aspect_and_theta_labels():
    ax = plot_paths(optim.quadratic, _paths(), (-1, 1), (-1, 2), [0.1, 1.0])
    assert ax.get_aspect() == 1.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == (r"$\theta_1$", r"$\theta_2$")


def test_range_test_figure_marks_the_suggestions():
    from nnbook.plot.optim import plot_range_test

    rates = torch.logspace(-3, 0, 40, dtype=torch.float64)
    k = torch.arange(40, dtype=torch.float64)
    test = optim.RangeTest(rates, 2 - torch.tanh((k - 20) / 3) + 0.02 * (k - 30).clamp(min=0) ** 2)
    ax = plot_range_test(test, best=0.05)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), test.losses.numpy())
    np.testing.assert_allclose(lines[1].get_ydata(), test.smoothed().numpy())
    marks = [line.get_xdata()[0] for line in lines[2:]]
    assert marks == pytest.approx([test.steepest(), test.minimum(), 0.05])
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [((["not", "a", "test"],), TypeError, "test must be a RangeTest from lr_range_test, got list"),
     ((None,), TypeError, "got NoneType")],
)  # fmt: skip
def test_range_test_figure_errors(args, error, message):
    from nnbook.plot.optim import plot_range_test

    with pytest.raises(error, match=message):
        plot_range_test(*args)


@pytest.mark.parametrize(("best", "error"), [(0.0, ValueError), ("0.1", TypeError)])
def test_range_test_figure_checks_best(best, error):
    from nnbook.plot.optim import plot_range_test

    test = optim.RangeTest(torch.tensor([0.1, 1.0]), torch.tensor([1.0, 0.5]))
    with pytest.raises(error, match="best"):
        plot_range_test(test, best=best)
