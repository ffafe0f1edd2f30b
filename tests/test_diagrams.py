"""The book's diagrams: what each one draws, how it is laid out, and its argument errors."""

import functools
import io
import itertools
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401
from matplotlib.colors import same_color  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from nnbook import cnn  # noqa: E402
from nnbook.plot import diagrams  # noqa: E402
from nnbook.plot.diagrams import (  # noqa: E402
    BACKWARD,
    GREY,
    NAVY,
    ORANGE,
    backprop_graph,
    conv_channels,
    conv_window,
    dense_layer,
    inception_module,
    invertible_block,
    network_diagram,
    pooling,
    receptive_field_growth,
    residual_block,
    residual_blocks,
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
    "conv_channels": conv_channels,
    "conv_channels_1_1": lambda: conv_channels(1, 1),
    "conv_channels_4_4": lambda: conv_channels(4, 4),
    "receptive_field_growth": receptive_field_growth,
    "receptive_field_growth_strided": lambda: receptive_field_growth((3, 3, 3), (2, 2, 1)),
    "receptive_field_growth_lenet": lambda: receptive_field_growth([5, 2, 5, 2], [1, 2, 1, 2]),
    "receptive_field_growth_5": lambda: receptive_field_growth((3,) * 5),
    "network_lenet": lambda: network_diagram("lenet"),
    "network_vgg16": lambda: network_diagram("vgg16"),
    "inception_module": inception_module,
    "residual_blocks": residual_blocks,
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


@pytest.mark.parametrize(
    "name",
    ["dense_layer", "conv_window", "residual_blocks", "roofline", "network_vgg16", "conv_channels"],
)
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
        invertible_block,
        roofline,
        conv_channels,
        receptive_field_growth,
        functools.partial(network_diagram, "lenet"),
        inception_module,
        residual_blocks,
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


# --- 4b. channels, receptive fields, networks, inception, residual units -------------------


def labelled(ax, patches):
    """The texts written at the centres of ``patches``, in the order of the patches."""
    out = []
    for p in patches:
        at = p.center if isinstance(p, Circle) else centre(p)
        out.extend(t.get_text() for t in ax.texts if t.get_position() == pytest.approx(at))
    return out


def written_in(ax, patch):
    """The texts written inside ``patch``, top to bottom."""
    x0, y0 = patch.get_x(), patch.get_y()
    x1, y1 = x0 + patch.get_width(), y0 + patch.get_height()
    inside = [
        t for t in ax.texts if x0 < t.get_position()[0] < x1 and y0 < t.get_position()[1] < y1
    ]
    return [t.get_text() for t in sorted(inside, key=lambda t: -t.get_position()[1])]


@pytest.mark.cnn
@pytest.mark.parametrize(("c_in", "c_out"), [(3, 2), (1, 1), (4, 4), (2, 3)])
def test_conv_channels_every_filter_spans_every_input_channel(c_in, c_out):
    ax = conv_channels(c_in, c_out)
    inputs = drawn(ax, "input-map", Rectangle)
    slices = drawn(ax, "kernel-slice", Rectangle)
    outputs = drawn(ax, "output-map", Rectangle)
    assert (len(inputs), len(slices), len(outputs)) == (c_in, c_out * c_in, c_out)
    # Each filter has one slice per input channel, shaded like that channel's map.
    faces = sorted(tuple(p.get_facecolor()) for p in inputs)
    for o in range(c_out):
        own = slices[o * c_in : (o + 1) * c_in]
        assert sorted(tuple(p.get_facecolor()) for p in own) == faces
        assert all(same_color(p.get_edgecolor(), ORANGE) for p in own)
    shown = texts(ax)
    for o in range(c_out):
        assert f"$w_{{{o}}}$" in shown and f"$o = {o}$" in shown
    # One arrow from the input into each filter, one from each filter to its map.
    assert len(drawn(ax, "arrow", FancyArrowPatch)) == 2 * c_out
    (weights,) = [t for t in shown if "(C_{out}, C_{in}, k, k)" in t]
    assert weights.endswith(f"= ({c_out}, {c_in}, 3, 3)$")


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"c_in": 0}, ValueError, r"c_in must be in \[1, 4\], got 0"),
        ({"c_out": 5}, ValueError, r"c_out must be in \[1, 4\], got 5"),
        ({"c_in": 2.0}, TypeError, "c_in must be an int, got float"),
        ({"c_out": "2"}, TypeError, "c_out must be an int, got str"),
    ],
)
def test_conv_channels_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        conv_channels(**kwargs)


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("kernels", "strides"),
    [
        ((3, 3, 3), None),
        ((3, 3, 3), (2, 2, 1)),
        ([5, 2, 5, 2], [1, 2, 1, 2]),
        ((7,), None),
        ((1, 3), (3, 1)),  # a stride larger than the kernel leaves gaps in the field
    ],
)
def test_receptive_field_growth_labels_are_the_library_s(kernels, strides):
    ax = receptive_field_growth(kernels, strides)
    fields = cnn.receptive_field(kernels, strides)
    labels = [re.fullmatch(r"\$r_\{(\d+)\} = (\d+)\$", t) for t in texts(ax)]
    rows = {int(m[1]): int(m[2]) for m in labels if m}
    assert rows == dict(enumerate([1, *fields]))
    # The highlighted input pixels span the field of the one highlighted top unit.
    (top,) = drawn(ax, "output-unit", Rectangle)
    field = sorted(centre(p)[0] for p in drawn(ax, "field-input", Rectangle))
    row = sorted(centre(p)[0] for p in drawn(ax, "input", Rectangle) + drawn(ax, "field-input"))
    pitch = row[1] - row[0]
    assert round((field[-1] - field[0]) / pitch) + 1 == fields[-1]
    assert (field[0] + field[-1]) / 2 == pytest.approx(centre(top)[0])
    if all(s <= k for k, s in zip(kernels, strides or [1] * len(kernels), strict=True)):
        assert len(field) == fields[-1]  # no gaps
    for i, k in enumerate(kernels, start=1):
        assert any(t.startswith(f"layer {i}: $k = {k}$") for t in texts(ax))


@pytest.mark.cnn
def test_receptive_field_growth_connects_each_unit_to_its_window():
    ax = receptive_field_growth((3, 3, 3))
    # 1 top unit, 3 units under it and 5 under those, each with 3 inputs.
    assert len(drawn(ax, "connection", FancyArrowPatch)) == 3 * (1 + 3 + 5)
    assert len(drawn(ax, "field-unit", Rectangle)) == 3 + 5
    assert len(drawn(ax, "field-input", Rectangle)) == 7


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kernels": 3}, TypeError, "kernels must be a tuple or list of ints, got int"),
        ({"kernels": ()}, ValueError, "kernels must have 1 to 5 entries, got 0"),
        ({"kernels": (3,) * 6}, ValueError, "kernels must have 1 to 5 entries, got 6"),
        ({"kernels": (3, 0)}, ValueError, r"kernels\[1\] must be in \[1, inf\], got 0"),
        ({"kernels": (3, 2.5)}, TypeError, r"kernels\[1\] must be an int, got float"),
        ({"strides": "12"}, TypeError, "strides must be a tuple or list of ints, got str"),
        ({"strides": (1, 0, 1)}, ValueError, r"strides\[1\] must be in \[1, inf\], got 0"),
        ({"strides": (1,)}, ValueError, r"strides must have one entry per kernel \(3\), got 1"),
        (
            {"kernels": (11, 11, 11, 11)},
            ValueError,
            "kernels and strides must give a receptive field of at most 31 pixels .*, got 41",
        ),
    ],
)
def test_receptive_field_growth_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        receptive_field_growth(**kwargs)


def _model(name):
    with torch.device("meta"):
        if name == "lenet":
            return cnn.LeNet5(), (1, 1, 28, 28)
        return cnn.vgg16(), (1, 3, 224, 224)


@pytest.mark.cnn
@pytest.mark.parametrize("name", ["lenet", "vgg16"])
def test_network_diagram_shows_the_model_s_shapes(name):
    ax = network_diagram(name)
    shown = texts(ax)
    model, input_shape = _model(name)
    # The shape after every top-level stage of the model is written in a box.
    for _, shape, _ in cnn.summary(model, input_shape):
        assert "×".join(map(str, shape[1:])) in shown
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    pools = [m for m in model.modules() if isinstance(m, torch.nn.MaxPool2d)]
    # Equal convolutions in a row share a box that says how many it holds.
    layers = [written_in(ax, p)[0] for p in drawn(ax, "layer")]  # in the order of the chain
    counts = [int(t.split(" × ")[0]) if " × " in t else 1 for t in layers if "conv" in t]
    assert sum(counts) == len(convs)
    assert layers.count("max pool 2×2") == len(pools)
    assert [t for t in layers if t.startswith("fc ")] == [f"fc {m.out_features}" for m in linears]
    assert len(drawn(ax, "input")) == 1
    # The note is true of the model: a ReLU after every conv and fc but the last.
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == len(convs) + len(linears) - 1
    assert any("followed by a ReLU" in t for t in shown)


@pytest.mark.cnn
def test_network_diagram_lenet_box_by_box():
    ax = network_diagram("lenet")
    boxes = drawn(ax, "input") + drawn(ax, "layer")
    boxes.sort(key=lambda p: (round(centre(p)[0], 6), -centre(p)[1]))
    assert [written_in(ax, p) for p in boxes] == [
        ["input", "1×28×28"],
        ["conv 5×5, 6", "6×28×28"],
        ["max pool 2×2", "6×14×14"],
        ["conv 5×5, 16", "16×10×10"],
        ["max pool 2×2", "16×5×5"],
        ["flatten", "400"],
        ["fc 120", "120"],
        ["fc 84", "84"],
        ["fc 10", "10"],
    ]
    # The shapes are written in the colour of data, the layers' types in ink.
    (shape,) = [t for t in ax.texts if t.get_text() == "16×5×5"]
    assert same_color(shape.get_color(), NAVY)


@pytest.mark.cnn
def test_network_diagram_vgg16_has_five_stages():
    ax = network_diagram("vgg16")
    shown = texts(ax)
    layers = [written_in(ax, p)[0] for p in drawn(ax, "layer")]
    assert [t for t in layers if "conv" in t] == [
        "2 × conv\n3×3, 64",
        "2 × conv\n3×3, 128",
        "3 × conv\n3×3, 256",
        "3 × conv\n3×3, 512",
        "3 × conv\n3×3, 512",
    ]
    for i in range(1, 6):
        assert f"stage {i}" in shown
    assert len(drawn(ax, "frame")) == 6  # five stages and the classifier
    for shape in ("64×224×224", "128×56×56", "512×7×7", "25088", "1000"):
        assert shape in shown


@pytest.mark.cnn
@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (16, TypeError, "name must be a str, got int"),
        ("resnet", ValueError, "name must be one of 'lenet', 'vgg16', got 'resnet'"),
        ("LeNet", ValueError, "name must be one of 'lenet', 'vgg16', got 'LeNet'"),
    ],
)
def test_network_diagram_errors(name, error, message):
    with pytest.raises(error, match=message):
        network_diagram(name)


@pytest.mark.cnn
def test_inception_module_has_four_branches_and_a_concatenation():
    ax = inception_module()
    shown = texts(ax)
    assert len(drawn(ax, "split", FancyArrowPatch)) == 4
    merges = drawn(ax, "merge", FancyArrowPatch)
    assert len(merges) == 4
    (concat,) = drawn(ax, "concat")
    (source,) = drawn(ax, "input")
    assert centre(concat)[1] > centre(source)[1]  # the input at the bottom
    # 1x1; 1x1 reduce, 3x3; 1x1 reduce, "5x5"; pool, 1x1 projection.
    assert len(drawn(ax, "layer")) == 3 and len(drawn(ax, "reduce")) == 3
    assert len(drawn(ax, "pool")) == 1
    assert {"1×1 conv, 64", "1×1 conv, 96", "3×3 conv, 128", "1×1 conv, 16"} <= set(shown)
    assert "5×5 conv, 32\n(3×3 in torchvision)" in shown
    # The channels are those of nnbook's Inception(192, 64, 96, 128, 16, 32, 32).
    with torch.device("meta"):
        module = cnn.Inception(192, 64, 96, 128, 16, 32, 32)
        x = torch.empty(1, 192, 28, 28)
    out = [b(x).shape[1] for b in module.branches]
    assert out == [64, 128, 32, 32]
    total = module(x).shape[1]
    assert f"concatenate along channels: 64 + 128 + 32 + 32 = {total}" in shown
    assert f"{total}×28×28" in shown and "input: 192×28×28" in shown


def _rows(ax):
    """The boxes of each unit of residual_blocks, top row first, left to right."""
    adds = sorted(drawn(ax, "add", Circle), key=lambda c: -c.center[1])
    rows = []
    for add in adds:
        y = add.center[1]
        layers = [p for p in drawn(ax, "layer") if centre(p)[1] == pytest.approx(y)]
        rows.append((add, sorted(layers, key=lambda p: p.get_x())))
    return rows


@pytest.mark.cnn
def test_residual_blocks_original_and_full_pre_activation():
    ax = residual_blocks()
    shown = texts(ax)
    assert "(a) original" in shown and "(b) full pre-activation" in shown
    (a, a_layers), (b, b_layers) = _rows(ax)
    x_a = [p for p in a_layers if p.get_x() < a.center[0]]
    x_b = [p for p in b_layers if p.get_x() < b.center[0]]
    assert labelled(ax, x_a) == ["conv", "BN", "ReLU", "conv", "BN"]
    assert labelled(ax, x_b) == ["BN", "ReLU", "conv", "BN", "ReLU", "conv"]
    # (a) has a ReLU after the addition; (b) has nothing after it.
    assert labelled(ax, [p for p in a_layers if p.get_x() > a.center[0]]) == ["ReLU"]
    assert [p for p in b_layers if p.get_x() > b.center[0]] == []
    assert r"$x_{l+1} = \mathrm{ReLU}\,(x_l + F(x_l))$" in shown
    assert r"$x_{l+1} = x_l + F(x_l)$" in shown
    # The shortcut is drawn thick in the colour of data; in (b) it runs on to x_{l+1}.
    shortcuts = drawn(ax, "shortcut", FancyArrowPatch)
    assert all(same_color(p.get_edgecolor(), NAVY) and p.get_linewidth() > 2 for p in shortcuts)
    above = [p for p in shortcuts if p.get_path().get_extents().y0 > b.center[1] + 0.5]
    assert len(above) == 1 and len(shortcuts) == 3
    assert len(drawn(ax, "input")) == len(drawn(ax, "output")) == 2


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
