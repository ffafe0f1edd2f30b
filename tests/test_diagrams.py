"""The book's diagrams: what each one draws, how it is laid out, and its argument errors."""

import io
import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import close_figures  # noqa: E402, F401
from matplotlib.colors import same_color  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from nnbook.plot import diagrams  # noqa: E402
from nnbook.plot.diagrams import (  # noqa: E402
    BACKWARD,
    GREY,
    NAVY,
    ORANGE,
    backprop_graph,
    conv_window,
    dense_layer,
    invertible_block,
    lstm_cell,
    pooling,
    residual_block,
    rnn_unrolled,
    roofline,
)

DRAWINGS = {
    "dense_layer": dense_layer,
    "backprop_graph": backprop_graph,
    "conv_window": conv_window,
    "conv_window_no_padding": lambda: conv_window(7, 3, 0, 1),
    "conv_window_one_output": lambda: conv_window(4, 4, 0, 1),
    "conv_window_large": lambda: conv_window(11, 5, 2, 3),
    "pooling": pooling,
    "residual_block": residual_block,
    "residual_block_relu": lambda: residual_block("ReLU"),
    "rnn_unrolled": rnn_unrolled,
    "rnn_unrolled_1": lambda: rnn_unrolled(1),
    "rnn_unrolled_4": lambda: rnn_unrolled(4),
    "lstm_cell": lstm_cell,
    "invertible_block": invertible_block,
    "roofline": roofline,
    "roofline_cpu": lambda: roofline(1e11, 2e10),
}


def texts(ax):
    return [t.get_text() for t in ax.texts]


def drawn(ax, gid, kind=None):
    """The patches of ``ax`` whose gid is ``gid`` (and of type ``kind``)."""
    return [p for p in ax.patches if p.get_gid() == gid and (kind is None or isinstance(p, kind))]


def centre(rect):
    return rect.get_x() + rect.get_width() / 2, rect.get_y() + rect.get_height() / 2


# --- what every diagram shares -----------------------------------------------------------


@pytest.mark.parametrize("name", DRAWINGS)
def test_layout_fits_the_page_and_no_texts_collide(name):
    ax = DRAWINGS[name]()
    fig = ax.figure
    assert fig.get_figwidth() <= diagrams.MAX_WIDTH
    assert ax.get_title() == "" and fig.get_suptitle() == ""  # the caption is the book's
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    shown = [t for t in ax.texts if t.get_text().strip()]
    assert shown
    boxes = []
    for t in shown:
        assert t.get_fontsize() >= 9, t.get_text()
        box = Text.get_window_extent(t, renderer)  # an annotation's text, not its arrow
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, t.get_text()
        assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, t.get_text()
        boxes.append(box.shrunk(0.97, 0.9))  # the boxes are a little larger than the ink
    for (a, ta), (b, tb) in itertools.combinations(zip(boxes, shown, strict=True), 2):
        assert not a.overlaps(b), (ta.get_text(), tb.get_text())
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        assert label.get_fontsize() >= 9


@pytest.mark.parametrize("name", ["dense_layer", "conv_window", "lstm_cell", "roofline"])
def test_drawing_is_deterministic(name):
    images = []
    for _ in range(2):
        ax = DRAWINGS[name]()
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=60, metadata={"Software": None})
        images.append(buffer.getvalue())
        plt.close(ax.figure)
    assert images[0] == images[1]


@pytest.mark.parametrize(
    "draw",
    [
        dense_layer,
        backprop_graph,
        conv_window,
        pooling,
        residual_block,
        rnn_unrolled,
        lstm_cell,
        invertible_block,
        roofline,
    ],
)
def test_draws_on_a_given_axes(draw):
    fig, ax = plt.subplots(figsize=(4, 3))
    assert draw(ax=ax) is ax
    assert len(fig.axes) == 1 and (ax.patches or ax.lines)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got int"):
        draw(ax=3)


# --- 1. the dense layer, forward and backward ----------------------------------------------


@pytest.mark.fnn
def test_dense_layer_is_the_weighted_sum_and_the_activation():
    ax = dense_layer()
    shown = texts(ax)
    for fp in range(3):
        assert rf"$h^{{(\nu)}}_{{{fp}}}$" in shown
    for f in range(2):
        assert rf"$a^{{(\nu)}}_{{{f}}}$" in shown and rf"$b^{{(\nu)}}_{{{f}}}$" in shown
        assert rf"$h^{{(\nu+1)}}_{{{f}}}$" in shown
    assert shown.count("$g$") == 2 and shown.count(r"$\Sigma$") == 2
    assert any(r"\sum_{f'} \Theta^{(\nu)f}_{f'}" in s for s in shown)
    assert r"$\Theta^{(\nu)0}_{0}$" in shown
    # 3 x 2 weights, 2 biases, 2 sums into g, 2 activations out: all forward, all grey.
    arrows = drawn(ax, "arrow", FancyArrowPatch)
    assert len(arrows) == 12
    assert all(same_color(a.get_edgecolor(), GREY) for a in arrows)
    assert all(
        same_color(p.get_edgecolor(), NAVY) for p in drawn(ax, "input") + drawn(ax, "output")
    )
    assert all(same_color(p.get_edgecolor(), ORANGE) for p in drawn(ax, "bias") + drawn(ax, "sum"))


@pytest.mark.fnn
def test_backprop_graph_reverses_the_arrows_in_another_colour():
    ax = backprop_graph()
    backward = drawn(ax, "backward", FancyArrowPatch)
    # 2 gradients in, 2 through g, 2 deltas, 2 to the biases, 6 to the inputs, 3 out.
    assert len(backward) == 17
    assert all(same_color(a.get_edgecolor(), BACKWARD) for a in backward)
    forward = drawn(ax, "arrow", FancyArrowPatch)
    assert len(forward) == 6  # the weights' edges carry the backward arrows only
    assert not any(same_color(a.get_edgecolor(), BACKWARD) for a in forward)
    shown = texts(ax)
    assert r"$\delta^{(\nu)}_{0}$" in shown and r"$\delta^{(\nu)}_{1}$" in shown
    joined = " ".join(shown)
    assert (
        r"\partial J / \partial \Theta^{(\nu)f}_{f'} = \delta^{(\nu)}_f\, h^{(\nu)}_{f'}" in joined
    )
    assert r"\delta^{(\nu)}_f = g'\left(a^{(\nu)}_f\right)" in joined
    assert r"\sum_f \delta^{(\nu)}_f\, \Theta^{(\nu)f}_{f'}" in joined
    # The backward arrows run right to left: they start right of where they end.
    for arrow in backward:
        (xa, ya), (xb, yb) = arrow._posA_posB
        assert xb < xa or abs(xb - xa) < 0.2


# --- 2. the convolution window and 3. pooling ---------------------------------------------------


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("size", "kernel", "padding", "stride"),
    [(5, 3, 1, 2), (7, 3, 0, 1), (4, 4, 0, 1), (11, 5, 2, 3), (6, 2, 3, 4), (1, 1, 0, 1)],
)
def test_conv_window_output_size_and_cells(size, kernel, padding, stride):
    ax = conv_window(size, kernel, padding, stride)
    out = (size + 2 * padding - kernel) // stride + 1
    assert len(drawn(ax, "output-cell", Rectangle)) == out**2
    assert len(drawn(ax, "input-cell", Rectangle)) == size**2
    assert len(drawn(ax, "padding-cell", Rectangle)) == (size + 2 * padding) ** 2 - size**2
    windows = sorted(drawn(ax, "window", Rectangle), key=Rectangle.get_x)
    highlighted = sorted(drawn(ax, "output-highlight", Rectangle), key=Rectangle.get_x)
    assert len(windows) == len(highlighted) == min(out, 2)
    cell = drawn(ax, "input-cell", Rectangle)[0].get_width()
    assert windows[0].get_width() == pytest.approx(kernel * cell)
    if out > 1:  # the second window is one stride to the right, the output cell one cell
        inset = (windows[0].get_width() - windows[1].get_width()) / 2
        assert windows[1].get_x() - inset - windows[0].get_x() == pytest.approx(stride * cell)
        assert highlighted[1].get_x() - highlighted[0].get_x() == pytest.approx(cell)
        assert f"$s = {stride}$" in texts(ax)
    formula = [t for t in texts(ax) if r"\lfloor" in t]
    assert len(formula) == 1
    assert formula[0].endswith(
        rf"= \lfloor ({size} + {2 * padding} - {kernel})/{stride} \rfloor + 1 = {out}$"
    )
    assert f"output $n_{{out}} = {out}$" in texts(ax)


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"size": 2.5}, TypeError, "size must be an int, got float"),
        ({"size": True}, TypeError, "size must be an int, got bool"),
        ({"kernel": "3"}, TypeError, "kernel must be an int, got str"),
        ({"stride": float("nan")}, TypeError, "stride must be an int, got float"),
        ({"size": 0}, ValueError, r"size must be in \[1, inf\], got 0"),
        ({"padding": -1}, ValueError, r"padding must be in \[0, inf\], got -1"),
        ({"stride": 0}, ValueError, r"stride must be in \[1, inf\], got 0"),
        ({"kernel": 0}, ValueError, r"kernel must be in \[1, inf\], got 0"),
        ({"kernel": 8}, ValueError, r"kernel must be at most size \+ 2 \* padding = 7, got 8"),
        ({"size": 14}, ValueError, r"size \+ 2 \* padding must be at most 15 .*, got 16"),
    ],
)
def test_conv_window_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        conv_window(**kwargs)


@pytest.mark.cnn
@pytest.mark.parametrize("values", [None, np.arange(16.0).reshape(4, 4)[::-1], [[5] * 4] * 4])
def test_pooling_marks_the_maximum_of_each_window(values):
    ax = pooling(values)
    grid = np.array(diagrams._POOL_VALUES if values is None else values, dtype=float)
    maxima = drawn(ax, "maximum", Circle)
    windows = drawn(ax, "window", Rectangle)
    outputs = drawn(ax, "output-cell", Rectangle)
    assert len(maxima) == len(windows) == len(outputs) == 4
    assert len(drawn(ax, "input-cell", Rectangle)) == 16
    by_position = {t.get_position(): t for t in ax.texts}
    for circle in maxima:
        # The circled number is the largest of the window that holds it.
        mark = by_position[tuple(circle.center)]
        assert mark.get_fontweight() == "bold"
        window = next(w for w in windows if w.contains_point(ax.transData.transform(circle.center)))
        inside = [
            float(t.get_text())
            for t in ax.texts
            if t.get_text().replace(".", "").isdigit()
            and window.contains_point(ax.transData.transform(t.get_position()))
        ]
        assert len(inside) == 4 and float(mark.get_text()) == max(inside)
        assert same_color(circle.get_edgecolor(), window.get_edgecolor())
    pooled = grid.reshape(2, 2, 2, 2).max(axis=(1, 3))
    shown = sorted(float(by_position[centre(r)].get_text()) for r in outputs)
    assert shown == sorted(pooled.ravel())


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ("abc", TypeError, "values must be a 4 x 4 array of numbers, got str"),
        (np.zeros((3, 4)), ValueError, r"values must have shape \(4, 4\), got \(3, 4\)"),
        (np.full((4, 4), np.nan), ValueError, "values must be finite, got nan or inf"),
    ],
)
def test_pooling_errors(values, error, message):
    with pytest.raises(error, match=message):
        pooling(values)


# --- 4. the residual block -------------------------------------------------------------------


@pytest.mark.cnn
@pytest.mark.parametrize("post", [None, "ReLU"])
def test_residual_block_adds_the_identity(post):
    ax = residual_block(post)
    shown = texts(ax)
    assert "$x + F(x)$" in shown and "residual branch $F(x)$" in shown
    assert "identity shortcut: $x$" in shown
    assert shown.count("weight\nlayer") == 2
    assert shown.count("ReLU") == (1 if post is None else 2)
    assert len(drawn(ax, "layer")) == (3 if post is None else 4)
    assert len(drawn(ax, "add", Circle)) == 1
    assert len(drawn(ax, "arrow", FancyArrowPatch)) == (5 if post is None else 6)
    # The shortcut leaves x and ends on the addition.
    (shortcut,) = drawn(ax, "shortcut", FancyArrowPatch)
    (x,) = drawn(ax, "input")
    (add,) = drawn(ax, "add")
    span = shortcut.get_path().get_extents()
    assert span.x0 <= centre(x)[0] + 0.01 and span.x1 >= add.center[0] - 0.01
    if post is not None:  # the nonlinearity comes after the addition
        last = max(drawn(ax, "layer"), key=lambda p: p.get_x())
        assert last.get_x() > add.center[0]


@pytest.mark.cnn
def test_residual_block_errors():
    with pytest.raises(TypeError, match="post_activation must be a str or None, got int"):
        residual_block(1)
    with pytest.raises(ValueError, match="post_activation must be a non-empty name, got ' '"):
        residual_block(" ")


# --- 5. the unrolled RNN and 6. the LSTM -------------------------------------------------------


@pytest.mark.rnn
@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_rnn_unrolled_shares_its_weights(steps):
    ax = rnn_unrolled(steps)
    shown = texts(ax)
    for t in ["t", *range(1, steps + 1)]:
        assert {f"$x_{{{t}}}$", f"$h_{{{t}}}$", f"$y_{{{t}}}$"} <= set(shown)
    assert f"$x_{{{steps + 1}}}$" not in shown and "$h_0$" in shown and "$=$" in shown
    # One label per arrow: the folded cell's three, and three per unrolled step.
    for weight in ("$W_{hh}$", "$W_{ih}$", "$W_{hy}$"):
        assert shown.count(weight) == steps + 1
    assert len(drawn(ax, "arrow", FancyArrowPatch)) == 3 + 3 * steps
    assert len(drawn(ax, "cell")) == steps + 1


@pytest.mark.rnn
@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [
        (0, ValueError, r"steps must be in \[1, 4\], got 0"),
        (5, ValueError, r"steps must be in \[1, 4\], got 5"),
        (2.0, TypeError, "steps must be an int, got float"),
        ("3", TypeError, "steps must be an int, got str"),
        (float("nan"), TypeError, "steps must be an int, got float"),
    ],
)
def test_rnn_unrolled_errors(steps, error, message):
    with pytest.raises(error, match=message):
        rnn_unrolled(steps)


@pytest.mark.rnn
def test_lstm_cell_has_the_gates_and_the_cell_state():
    ax = lstm_cell()
    shown = texts(ax)
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "$[h_{t-1}, x_t]$"):
        assert label in shown
    for gate in ("$f_t$", "$i_t$", "$g_t$", "$o_t$"):
        assert shown.count(gate) == 1
    gates = drawn(ax, "gate")
    assert len(gates) == 4
    inside = [t.get_text() for t in ax.texts for g in gates if t.get_position() == centre(g)]
    assert sorted(inside) == sorted([r"$\sigma$"] * 3 + [r"$\tanh$"])
    pointwise = drawn(ax, "pointwise", Circle)
    ops = sorted(t.get_text() for t in ax.texts for c in pointwise if t.get_position() == c.center)
    assert ops == ["$+$", r"$\times$", r"$\times$", r"$\times$"]
    assert len(drawn(ax, "pointwise")) == 5  # and the tanh of the cell state
    arrows = drawn(ax, "arrow", FancyArrowPatch)
    assert len(arrows) == 16
    cell_state = [a for a in arrows if a.get_linewidth() > 2]
    assert len(cell_state) == 3 and all(same_color(a.get_edgecolor(), NAVY) for a in cell_state)


# --- 7. the invertible block ---------------------------------------------------------------


@pytest.mark.invertible
def test_invertible_block_forward_and_fixed_point_loop():
    ax = invertible_block()
    shown = texts(ax)
    assert "$y = x + g(x)$" in shown
    assert r"$\mathrm{Lip}(g) \leq c < 1$" in shown
    assert "$x_0 = y$" in shown and r"$x = \lim_{n \to \infty} x_n$" in shown
    assert any("$x_{n+1} = y - g(x_n)$" in s for s in shown)
    assert len(drawn(ax, "residual")) == 2 and len(drawn(ax, "add", Circle)) == 2
    # The loop runs from the sum back to x_n, over the g box between them.
    (loop,) = drawn(ax, "loop", FancyArrowPatch)
    (where,) = [t.get_position() for t in ax.texts if t.get_text() == "$x_n$"]
    (xn,) = [p for p in drawn(ax, "data") if centre(p) == where]
    add = min(drawn(ax, "add", Circle), key=lambda c: c.center[1])
    span = loop.get_path().get_extents()
    assert span.x0 <= centre(xn)[0] + 0.1 and span.x1 >= add.center[0] - 0.1
    assert span.y1 > add.center[1] + add.radius
    assert len(drawn(ax, "shortcut", FancyArrowPatch)) == 1


# --- 8. the roofline ---------------------------------------------------------------------------


@pytest.mark.hardware
@pytest.mark.parametrize(("peak", "bandwidth"), [(989e12, 3.35e12), (1e11, 2e10)])
def test_roofline_marks_the_ridge(peak, bandwidth):
    ax = roofline(peak, bandwidth)
    ridge = peak / bandwidth
    assert ax.get_xscale() == ax.get_yscale() == "log"
    roof = [line for line in ax.lines if line.get_gid() == "roof"]
    assert len(roof) == 2
    memory, compute = sorted(roof, key=lambda line: line.get_xdata()[0])
    xs, ys = memory.get_xdata(), memory.get_ydata()
    assert np.allclose(ys, bandwidth * xs) and xs.max() <= ridge
    assert np.allclose(compute.get_ydata(), peak) and compute.get_xdata().min() >= ridge
    (point,) = [line for line in ax.lines if line.get_gid() == "ridge"]
    assert point.get_xdata()[0] == pytest.approx(ridge)
    assert point.get_ydata()[0] == pytest.approx(peak)
    shown = " ".join(texts(ax))
    assert "memory-bound" in shown and "compute-bound" in shown
    assert f"{ridge:.3g}$ FLOP/byte" in shown
    assert "FLOP/byte" in ax.get_xlabel() and "FLOP/s" in ax.get_ylabel()


@pytest.mark.hardware
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"peak_flops": 0}, ValueError, r"peak_flops must be in \(0, inf\], got 0"),
        ({"bandwidth": -1.0}, ValueError, r"bandwidth must be in \(0, inf\], got -1.0"),
        ({"peak_flops": float("nan")}, ValueError, "peak_flops must be a number, got nan"),
        ({"bandwidth": float("inf")}, ValueError, "bandwidth must be finite, got inf"),
        ({"peak_flops": "1e12"}, TypeError, "peak_flops must be a real number, got str"),
    ],
)
def test_roofline_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        roofline(**kwargs)
