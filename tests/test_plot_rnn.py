"""nnbook.plot.rnn: the recurrent chapter's figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401
from matplotlib.patches import Circle  # noqa: E402

from nnbook.plot.rnn import (  # noqa: E402
    draw_unrolled,
    plot_bit_memory,
    plot_counter_memory,
    plot_gradient_by_lag,
)


def _arrows(ax, color):
    return [
        a
        for a in ax.texts
        if a.arrow_patch is not None
        and matplotlib.colors.same_color(a.arrow_patch.get_edgecolor(), color)
    ]


def test_unrolled_network_has_a_unit_per_layer_and_step_and_two_kinds_of_arrow():
    ax = draw_unrolled(layers=4, steps=8)
    assert ax.figure.get_figwidth() <= 7.0
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 4 * 8
    assert len(_arrows(ax, "tab:blue")) == 3 * 8  # up, from every layer but the top
    assert len(_arrows(ax, "tab:red")) == 2 * 7  # right, from each hidden unit but the last
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "input",
        "hidden 1",
        "hidden 2",
        "output",
    ]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "t=8"
    assert "$W_{hh}$" in ax.get_xlabel()
    assert "feedforward weights" in ax.get_ylabel()


def test_unrolled_network_follows_its_size():
    fig, ax = plt.subplots()
    assert draw_unrolled(ax, layers=3, steps=2) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "hidden 1", "output"]
    assert len(_arrows(ax, "tab:red")) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layers": 1}, ValueError, r"layers must be at least 2, got 1"),
        ({"steps": 0}, ValueError, r"steps must be at least 1, got 0"),
        ({"steps": 2.5}, TypeError, r"steps must be an int, got float"),
        ({"ax": "axes"}, TypeError, r"ax must be a matplotlib Axes or None, got str"),
    ],
)
def test_unrolled_network_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        draw_unrolled(**kwargs)


def test_gradient_by_lag_draws_one_log_line_per_setting():
    curves = {"a": torch.tensor([1.0, 0.5, 0.25]), "b": [1.0, 2.0, 4.0]}
    ax = plot_gradient_by_lag(curves, title="decay", legend_fontsize=8)
    assert ax.figure.get_figwidth() <= 7.0
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1, 2, 4])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "lag k",
        "relative gradient norm",
        "decay",
    )
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]
    assert legend.get_texts()[0].get_fontsize() == 8


def test_gradient_by_lag_can_leave_out_the_legend():
    fig, ax = plt.subplots()
    assert plot_gradient_by_lag({"a": [1.0, 0.1]}, ax, legend=False) is ax
    assert ax.get_legend() is None


@pytest.mark.parametrize(
    ("curves", "error", "message"),
    [
        ([1.0, 0.5], TypeError, r"curves must be a dict, got list"),
        ({}, ValueError, r"curves must hold at least one entry"),
        ({"a": []}, ValueError, r"curves\['a'\] must hold at least one norm"),
        ({"a": "fast"}, TypeError, r"curves\['a'\] must be a tensor, an array or a sequence"),
    ],
)
def test_gradient_by_lag_rejects_bad_curves(curves, error, message):
    with pytest.raises(error, match=message):
        plot_gradient_by_lag(curves)


def _counter(T=7, H=3):
    g = torch.Generator().manual_seed(0)
    count = torch.tensor([1.0, 2, 3, 3, 2, 1, 0])[:T]
    cell = torch.randn(T, H, generator=g)
    cell[:, 1] = -2 * count
    return cell, torch.tanh(cell), count


def test_counter_memory_stacks_two_images_and_the_counting_unit():
    cell, hidden, count = _counter()
    fig = plot_counter_memory(cell, hidden, count, 1, "aaXbbb.", sign=-1)
    assert fig.get_figwidth() <= 7.0
    top, middle, bottom = fig.axes[:3]
    assert len(fig.axes) == 5  # and two colour bars
    assert top.get_title() == "cell state $c_t$ (long-term), each unit scaled"
    assert middle.get_title() == "hidden state $h_t$ (working)"
    sizes = cell.abs().max(dim=0).values
    np.testing.assert_allclose(top.images[0].get_array(), (cell / sizes).numpy().T)
    np.testing.assert_array_equal(middle.images[0].get_array(), hidden.numpy().T)
    assert top.images[0].get_clim() == middle.images[0].get_clim() == (-1, 1)
    labels = [t.get_text() for t in top.get_yticklabels()]
    assert labels[1] == "1 (count): ±6"  # the counting unit, marked, with its largest |c|
    assert labels[0] == f"0: ±{sizes[0]:.2g}"
    assert [t.get_text() for t in middle.get_yticklabels()] == ["0", "1 (count)", "2"]
    assert len(bottom.lines) == 2
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), cell[:, 1].numpy())
    # the count, scaled to the cell state's largest size and drawn with its sign
    np.testing.assert_allclose(bottom.lines[1].get_ydata(), -2 * count.numpy())
    assert [t.get_text() for t in bottom.get_xticklabels()] == list("aaXbbb.")
    labels = [t.get_text() for t in bottom.get_legend().get_texts()]
    assert labels == ["cell state of unit 1", "count (scaled, same sign)"]


def test_counter_memory_keeps_a_small_unit_visible_beside_a_drifting_one():
    steps = torch.arange(9, dtype=torch.float64)
    count = torch.tensor([1.0, 2, 3, 4, 4, 3, 2, 1, 0])
    cell = torch.stack([0.5 * count, 15 * steps / 8, torch.zeros(9)], dim=1)
    fig = plot_counter_memory(cell, torch.tanh(cell), count, 0, "aaaaXbbbb")
    image = fig.axes[0].images[0].get_array()
    assert image[0].max() == image[1].max() == 1.0  # each on its own scale
    np.testing.assert_array_equal(image[2], 0.0)  # a silent unit stays at zero
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["0 (count): ±2", "1: ±15", "2: ±0"]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"hidden": torch.zeros(7, 4)}, ValueError, r"cell and hidden must have the same shape"),
        ({"count": torch.zeros(6)}, ValueError, r"count the length T"),
        ({"unit": 3}, ValueError, r"unit must be below the 3 units of cell, got 3"),
        ({"unit": 1.0}, TypeError, r"unit must be an int, got float"),
        ({"symbols": "aaX"}, ValueError, r"symbols must hold one symbol per step \(7\), got 3"),
        ({"sign": 0.5}, ValueError, r"sign must be \+1 or -1, got 0.5"),
    ],
)
def test_counter_memory_rejects_bad_arguments(change, error, message):
    cell, hidden, count = _counter()
    args = {"cell": cell, "hidden": hidden, "count": count, "unit": 1, "symbols": "aaXbbb."}
    sign = change.pop("sign", 1.0)
    args.update(change)
    with pytest.raises(error, match=message):
        plot_counter_memory(**args, sign=sign)


def _bits():
    T, N = 6, 4
    steps = torch.arange(T, dtype=torch.float64)[:, None]
    first = torch.tensor([True, True, False, False])
    cell = torch.where(first, 1.0, -1.0) * (1 + steps).expand(T, N)
    gate = torch.full((T, N), 0.8, dtype=torch.float64)
    return cell, gate, torch.tensor([6, 4, 6, 3]), first


def test_bit_memory_draws_each_sequence_to_its_length_and_names_each_kind_once():
    cell, gate, lengths, first = _bits()
    fig = plot_bit_memory(cell, gate, lengths, first, 2)
    assert fig.get_figwidth() <= 7.0
    top, bottom = fig.axes
    assert top.get_position().y0 > bottom.get_position().y1  # stacked
    assert len(top.lines) == 4 + 1  # and the line at zero
    assert len(bottom.lines) == 4
    assert [len(line.get_ydata()) for line in bottom.lines] == [6, 4, 6, 3]
    assert [line.get_linestyle() for line in bottom.lines] == ["-", "-", "--", "--"]
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["A…", "B…"]
    assert top.get_title() == "cell state of unit 2"
    assert bottom.get_title() == "input gate of unit 2"
    assert bottom.get_ylim() == (0, 1)


@pytest.mark.parametrize(
    ("index", "value", "error", "message"),
    [
        (1, torch.zeros(6, 3), ValueError, r"cell and gate must have the same shape"),
        (2, torch.tensor([6, 4, 7, 3]), ValueError, r"lengths must lie between 1 and 6"),
        (3, "AABB", TypeError, r"first_kind must be a tensor, an array or a sequence"),
        (4, "2", TypeError, r"unit must be an int, got str"),
    ],
)
def test_bit_memory_rejects_bad_arguments(index, value, error, message):
    args = [*_bits(), 2]
    args[index] = value
    with pytest.raises(error, match=message):
        plot_bit_memory(*args)


def test_bit_memory_rejects_names_that_are_not_a_pair():
    with pytest.raises(ValueError, match=r"names must be a pair of str"):
        plot_bit_memory(*_bits(), 2, names="AB…")
