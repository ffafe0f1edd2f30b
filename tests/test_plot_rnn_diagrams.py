"""nnbook.plot.rnn_diagrams: the LSTM and GRU cells draw their gates and their states."""

import io
import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from helpers import close_figures  # noqa: E402, F401
from matplotlib.colors import same_color  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from nnbook.plot import diagrams  # noqa: E402
from nnbook.plot.diagrams import NAVY  # noqa: E402
from nnbook.plot.rnn_diagrams import gru_cell_diagram, lstm_cell_diagram  # noqa: E402

pytestmark = pytest.mark.rnn

DRAWINGS = {"lstm": lstm_cell_diagram, "gru": gru_cell_diagram}


def texts(ax):
    return [t.get_text() for t in ax.texts]


def drawn(ax, gid, kind=None):
    """The patches of ``ax`` whose gid is ``gid`` (and of type ``kind``)."""
    return [p for p in ax.patches if p.get_gid() == gid and (kind is None or isinstance(p, kind))]


def centre(patch):
    if isinstance(patch, Circle):
        return patch.center
    return patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2


def written_in(ax, patches):
    """The texts written at the centre of each of ``patches``, sorted."""
    return sorted(t.get_text() for t in ax.texts for p in patches if t.get_position() == centre(p))


def thick(ax):
    """The arrows of the state that runs through the cell."""
    return [a for a in drawn(ax, "arrow", FancyArrowPatch) if a.get_linewidth() > 2]


@pytest.mark.parametrize("name", DRAWINGS)
def test_layout_fits_the_page_and_no_texts_collide(name):
    ax = DRAWINGS[name]()
    fig = ax.figure
    assert fig.get_figwidth() <= diagrams.MAX_WIDTH
    assert ax.get_title() == "" and fig.get_suptitle() == ""  # the caption is the book's
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    shown = [t for t in ax.texts if t.get_text().strip()]
    boxes = []
    for t in shown:
        assert t.get_fontsize() >= 9, t.get_text()
        box = Text.get_window_extent(t, renderer)
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, t.get_text()
        assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, t.get_text()
        boxes.append(box.shrunk(0.97, 0.9))
    for (a, ta), (b, tb) in itertools.combinations(zip(boxes, shown, strict=True), 2):
        assert not a.overlaps(b), (ta.get_text(), tb.get_text())


@pytest.mark.parametrize("name", DRAWINGS)
def test_drawing_is_deterministic(name):
    images = []
    for _ in range(2):
        ax = DRAWINGS[name]()
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=60, metadata={"Software": None})
        images.append(buffer.getvalue())
        plt.close(ax.figure)
    assert images[0] == images[1]


@pytest.mark.parametrize("name", DRAWINGS)
def test_draws_on_a_given_axes_and_rejects_anything_else(name):
    fig, ax = plt.subplots(figsize=(4, 3))
    assert DRAWINGS[name](ax=ax) is ax
    assert len(fig.axes) == 1
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got Figure"):
        DRAWINGS[name](ax=fig)


def test_lstm_cell_has_four_gates_and_the_cell_state_along_the_top():
    ax = lstm_cell_diagram()
    shown = texts(ax)
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "$[h_{t-1}, x_t]$"):
        assert shown.count(label) == 1, label
    for gate in ("$f_t$", "$i_t$", "$g_t$", "$o_t$"):
        assert shown.count(gate) == 1, gate
    gates = drawn(ax, "gate")
    assert written_in(ax, gates) == sorted([r"$\sigma$"] * 3 + [r"$\tanh$"])
    # the gates, left to right in the order f, i, g, o: sigma, sigma, tanh, sigma
    by_x = sorted(gates, key=lambda g: centre(g)[0])
    assert [written_in(ax, [g])[0] for g in by_x] == [
        r"$\sigma$",
        r"$\sigma$",
        r"$\tanh$",
        r"$\sigma$",
    ]
    circles = drawn(ax, "pointwise", Circle)
    assert written_in(ax, circles) == ["$+$", r"$\times$", r"$\times$", r"$\times$"]
    assert written_in(ax, drawn(ax, "pointwise")) == sorted(
        ["$+$", r"$\tanh$"] + [r"$\times$"] * 3
    )  # and the tanh of the cell state
    assert len(drawn(ax, "arrow", FancyArrowPatch)) == 16
    state = thick(ax)
    assert len(state) == 3 and all(same_color(a.get_edgecolor(), NAVY) for a in state)
    # the cell state runs along the top: every thick arrow lies above every gate
    top_of_gates = max(g.get_y() + g.get_height() for g in gates)
    assert all(a.get_path().get_extents().y0 > top_of_gates for a in state)
    # forget (a product) comes before the write (a sum) along the cell state
    (plus,) = [c for c in circles if written_in(ax, [c]) == ["$+$"]]
    on_top = [c for c in circles if c.center[1] == plus.center[1]]
    assert [written_in(ax, [c])[0] for c in sorted(on_top, key=lambda c: c.center[0])] == [
        r"$\times$",
        "$+$",
    ]


def test_gru_cell_has_two_gates_a_candidate_and_the_state_along_the_top():
    ax = gru_cell_diagram()
    shown = texts(ax)
    for label in ("$h_{t-1}$", "$h_t$", "$x_t$", "$[h_{t-1}, x_t]$", "$z_t$", "$r_t$", "$n_t$"):
        assert shown.count(label) == 1, label
    assert "$c_t$" not in shown  # a GRU has a single state
    gates = drawn(ax, "gate")
    assert written_in(ax, gates) == sorted([r"$\sigma$"] * 2 + [r"$\tanh$"])
    circles = drawn(ax, "pointwise", Circle)
    assert written_in(ax, circles) == sorted(["$+$", "$1-$", r"$\times$", r"$\times$"])
    assert len(drawn(ax, "pointwise")) == 4
    assert len(drawn(ax, "arrow", FancyArrowPatch)) == 13
    state = thick(ax)
    assert len(state) == 3 and all(same_color(a.get_edgecolor(), NAVY) for a in state)
    # the reset gate feeds the candidate's layer, not the state
    (r_label,) = [t for t in ax.texts if t.get_text() == "$r_t$"]
    (tanh,) = [g for g in gates if written_in(ax, [g]) == [r"$\tanh$"]]
    assert r_label.get_position()[0] < centre(tanh)[0]
    # 1 - z weights the candidate: the 1- circle lies on the way from z to the candidate
    (one_minus,) = [c for c in circles if written_in(ax, [c]) == ["$1-$"]]
    (z_gate,) = [g for g in gates if centre(g)[0] < one_minus.center[0] - 0.5]
    assert centre(z_gate)[0] < one_minus.center[0] < centre(tanh)[0]
