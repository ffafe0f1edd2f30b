"""nnbook.plot.fnn: the feedforward chapter's figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401

from nnbook.plot.fnn import (  # noqa: E402
    plot_confusion_matrix,
    plot_digit_grid,
    plot_fit_and_loss,
    plot_layer_spread,
    plot_loss_and_accuracy,
    plot_loss_curves,
    plot_matching_runs,
    plot_weight_histograms,
)
from nnbook.train import History  # noqa: E402


def _history(n_epochs, start=2.0):
    epochs = list(range(n_epochs + 1))
    return History(
        epoch=epochs,
        seconds=[0.1 * e for e in epochs],
        train_loss=[start / (1 + e) for e in epochs],
        test_accuracy=[0.8 + 0.15 * e / max(n_epochs, 1) for e in epochs],
    )


STATS = {
    ("tanh", "glorot_normal"): ([1.0, 0.8, 0.6], [1e-3, 1e-3, 1e-3]),
    ("relu", "he_normal"): ([1.0, 1.0, 1.0], [2e-3, 2e-3, 2e-3]),
    ("sigmoid", "glorot_normal"): ([0.5, 0.4, 0.3], [1e-7, 1e-5, 1e-3]),
}


def test_layer_spread_stacks_two_log_panels_with_one_line_per_pair():
    fig = plot_layer_spread(STATS)
    top, bottom = fig.axes
    assert fig.get_figwidth() <= 7.0
    assert top.get_position().y0 > bottom.get_position().y1  # stacked, not side by side
    assert len(top.lines) == len(bottom.lines) == 3
    assert top.get_yscale() == bottom.get_yscale() == "log"
    assert top.get_title() == "forward: std of the activations"
    assert bottom.get_title() == "backward: std of the weight gradients"
    assert bottom.get_xlabel() == "hidden layer ν"
    assert top.get_legend() is None and len(fig.legends) == 1  # one legend for both
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["tanh, glorot_normal", "relu, he_normal", "sigmoid, glorot_normal"]
    styles = [line.get_linestyle() for line in top.lines]
    assert styles == ["--", "-", ":"]
    np.testing.assert_array_equal(top.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(bottom.lines[2].get_ydata(), [1e-7, 1e-5, 1e-3])


@pytest.mark.parametrize(
    ("stats", "error", "message"),
    [
        ([1, 2], TypeError, r"stats must be a dict, got list"),
        ({}, ValueError, r"stats must hold at least one entry"),
        ({"tanh": ([1.0], [1.0])}, TypeError, r"stats keys must be \(activation, scheme\) pairs"),
        ({("a", "b"): [1.0]}, TypeError, r"must be a pair \(h_std, grad_std\)"),
        (
            {("a", "b"): ([1.0, 2.0], [1.0])},
            ValueError,
            r"one entry per layer, got lengths \[1, 2\]",
        ),
    ],
)
def test_layer_spread_rejects_bad_stats(stats, error, message):
    with pytest.raises(error, match=message):
        plot_layer_spread(stats)


def test_fit_and_loss_shows_data_fit_truth_and_a_log_loss():
    x = torch.linspace(-3, 3, 50, dtype=torch.float64).unsqueeze(1)
    fig = plot_fit_and_loss(x, torch.sin(x) + 0.1, torch.sin(x), torch.sin(x), [1.0, 0.1, 0.01])
    top, bottom = fig.axes
    assert fig.get_figwidth() <= 7.0
    assert top.get_position().y0 > bottom.get_position().y1
    assert len(top.collections) == 1  # the data
    assert len(top.collections[0].get_offsets()) == 50
    assert len(top.lines) == 2  # the fit and the truth
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["data", "network", "sin x"]
    assert bottom.get_yscale() == "log"
    assert bottom.get_xlabel() == "gradient step"
    assert bottom.get_ylabel() == "J (MSE)"
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), [1.0, 0.1, 0.01])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"x": "abc"},
            TypeError,
            r"x must be a tensor, an array or a sequence of numbers, got str",
        ),
        ({"fitted": np.zeros(4)}, ValueError, r"must have the same length, got \{"),
        (
            {"y": np.zeros((5, 2))},
            ValueError,
            r"y must have shape \(T,\) or \(T, 1\), got \(5, 2\)",
        ),
        ({"losses": []}, ValueError, r"losses must hold at least one value"),
    ],
)
def test_fit_and_loss_rejects_bad_input(kwargs, error, message):
    args = {"x": np.zeros(5), "y": np.zeros(5), "fitted": np.zeros(5), "truth": np.zeros(5)}
    args["losses"] = [1.0]
    args.update(kwargs)
    with pytest.raises(error, match=message):
        plot_fit_and_loss(**args)


def test_weight_histograms_clip_and_count_every_weight():
    weights = {"small": torch.zeros(3, 4, dtype=torch.float64), "large": np.full(12, 3.0)}
    ax = plot_weight_histograms(weights, bins=10, xlabel="first-layer weight")
    assert ax.figure.get_figwidth() == 7
    assert len(ax.patches) == 2  # one step outline per set
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "first-layer weight"
    assert ax.get_ylabel() == "count"
    # The large weights are clipped into the last bin, which ends at +0.5.
    outline = ax.patches[1].get_xy()
    assert outline[:, 0].max() == pytest.approx(0.5)
    assert outline[:, 1].max() == pytest.approx(12)


def test_weight_histograms_default_label_and_given_axes():
    fig, ax = plt.subplots()
    assert plot_weight_histograms({"w": [0.1, -0.2]}, ax, clip=0.25) is ax
    assert ax.get_xlabel() == "weight (clipped to ±0.25)"


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"weights": [1.0]}, TypeError, r"weights must be a dict, got list"),
        ({"weights": {}}, ValueError, r"weights must hold at least one entry"),
        ({"clip": "1"}, TypeError, r"clip must be a number, got str"),
        ({"clip": 0.0}, ValueError, r"clip must be positive, got 0.0"),
        ({"bins": 2.5}, TypeError, r"bins must be an int, got float"),
        ({"bins": 0}, ValueError, r"bins must be at least 1, got 0"),
        ({"ax": "here"}, TypeError, r"ax must be a matplotlib Axes or None, got str"),
    ],
)
def test_weight_histograms_reject_bad_arguments(args, error, message):
    kwargs = {"weights": {"w": [0.0]}, **args}
    with pytest.raises(error, match=message):
        plot_weight_histograms(**kwargs)


def test_loss_curves_mark_short_runs_and_follow_the_chosen_axis():
    histories = {"long": _history(30), "short": _history(2)}
    ax = plot_loss_curves(histories, "seconds", xlabel="time (s)")
    assert ax.figure.get_size_inches().tolist() == [6, 3.6]
    long_line, short_line = ax.lines
    assert long_line.get_marker() in ("None", None, "")
    assert short_line.get_marker() == "o"
    np.testing.assert_allclose(short_line.get_xdata(), [0.0, 0.1, 0.2])
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "training loss J"
    assert ax.get_xscale() == "linear" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["long", "short"]


def test_loss_curves_log_x_is_symlog():
    ax = plot_loss_curves({"run": _history(5)}, log_x=True)
    assert ax.get_xscale() == "symlog"
    assert ax.get_xlabel() == "epoch"


@pytest.mark.parametrize(
    ("histories", "x", "error", "message"),
    [
        ({}, "epoch", ValueError, r"histories must hold at least one entry"),
        ({"run": _history(3)}, "steps", ValueError, r"x must be 'epoch' or 'seconds', got 'steps'"),
        ({"run": [1, 2]}, "epoch", TypeError, r"must be a History .* got list without epoch"),
    ],
)
def test_loss_curves_reject_bad_arguments(histories, x, error, message):
    with pytest.raises(error, match=message):
        plot_loss_curves(histories, x)


def test_matching_runs_stack_loss_over_accuracy():
    fig = plot_matching_runs(_history(10), _history(10), labels=("ours", "theirs"))
    top, bottom = fig.axes
    assert fig.get_figwidth() <= 7.0
    assert top.get_position().y0 > bottom.get_position().y1
    assert len(top.lines) == len(bottom.lines) == 2
    assert top.get_yscale() == "log"
    assert top.get_ylabel() == "training loss"
    assert bottom.get_ylabel() == "test accuracy (%)"
    assert bottom.get_xlabel() == "epoch"
    assert bottom.get_ylim() == (80, 100)
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["ours", "theirs"]
    assert top.lines[0].get_linewidth() == 4 and top.lines[1].get_linestyle() == "--"
    np.testing.assert_allclose(bottom.lines[0].get_ydata()[[0, -1]], [80.0, 95.0])


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"ours": object()}, TypeError, r"ours must be a History .* got object without epoch"),
        ({"labels": ("one",)}, TypeError, r"labels must be a pair of strings, got \('one',\)"),
    ],
)
def test_matching_runs_reject_bad_arguments(args, error, message):
    kwargs = {"ours": _history(3), "theirs": _history(3), **args}
    with pytest.raises(error, match=message):
        plot_matching_runs(**kwargs)


def test_loss_and_accuracy_share_the_epoch_axis():
    ax, twin = plot_loss_and_accuracy(_history(5))
    assert ax.figure is twin.figure and len(ax.figure.axes) == 2
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "training loss"
    assert twin.get_ylabel() == "test accuracy (%)"
    assert twin.get_ylim() == (80, 100)
    assert len(ax.lines) == len(twin.lines) == 1
    np.testing.assert_allclose(twin.lines[0].get_ydata()[-1], 95.0)


def test_loss_and_accuracy_reject_a_history_without_accuracy():
    with pytest.raises(TypeError, match=r"history must be a History .* without test_accuracy"):
        plot_loss_and_accuracy(type("Partial", (), {"epoch": [0], "train_loss": [1.0]})())


def test_confusion_matrix_writes_every_nonzero_count():
    counts = torch.tensor([[60, 0, 1], [2, 40, 0], [0, 0, 55]])
    ax = plot_confusion_matrix(counts)
    texts = {t.get_text(): t.get_color() for t in ax.texts}
    assert sorted(texts, key=int) == ["1", "2", "40", "55", "60"]
    assert texts["60"] == "white" and texts["40"] == "black"
    assert len(ax.images) == 1
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert list(ax.get_xticks()) == [0, 1, 2]


@pytest.mark.parametrize(
    ("counts", "error", "message"),
    [
        ("counts", TypeError, r"counts must be a tensor, an array or a sequence"),
        (np.zeros(3), ValueError, r"counts must have 2 dimension\(s\), got 1"),
        (np.zeros((2, 3)), ValueError, r"counts must be square \(C, C\), got shape \(2, 3\)"),
        (-np.eye(2), ValueError, r"counts must be non-negative, got a minimum of -1"),
    ],
)
def test_confusion_matrix_rejects_bad_counts(counts, error, message):
    with pytest.raises(error, match=message):
        plot_confusion_matrix(counts)


def test_digit_grid_lays_out_rows_of_titled_images():
    images = torch.rand(8, 16)
    titles = [f"said {k}\nwas {k + 1}" for k in range(8)]
    fig = plot_digit_grid(images, titles, ncols=3)
    assert fig.get_figwidth() == 7.0
    assert len(fig.axes) == 9  # 3 rows of 3, the last cell empty
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 8
    assert drawn[0].images[0].get_array().shape == (4, 4)
    assert [ax.get_title() for ax in drawn] == titles


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"images": np.zeros((2, 5))}, ValueError, r"square number of pixels P, got 5"),
        ({"images": np.zeros((0, 4, 4)), "titles": []}, ValueError, r"with n > 0, got \(0, 4, 4\)"),
        ({"titles": "ab"}, TypeError, r"titles must be a sequence of strings"),
        ({"titles": ["a"]}, ValueError, r"one entry per image \(2\), got 1"),
        ({"ncols": 2.0}, TypeError, r"ncols must be an int, got float"),
        ({"ncols": 0}, ValueError, r"ncols must be at least 1, got 0"),
    ],
)
def test_digit_grid_rejects_bad_arguments(args, error, message):
    kwargs = {"images": np.zeros((2, 4)), "titles": ["a", "b"], **args}
    with pytest.raises(error, match=message):
        plot_digit_grid(**kwargs)
