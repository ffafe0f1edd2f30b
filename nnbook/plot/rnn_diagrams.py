r"""Diagrams of the recurrent chapter's cells, drawn by code like the book's other diagrams.

They share the look of :mod:`nnbook.plot.diagrams`: navy for the states and the inputs,
orange for the layers with weights, grey for the arrows. Each function draws on ``ax``
(a new figure at most 7 inches wide when ``ax`` is None) and returns the Axes. Every
drawn element carries a ``gid`` that names its role, so that a test can count what was
drawn:

- ``"gate"``: a layer with weights (a sigmoid or tanh box);
- ``"pointwise"``: an element-wise operation (a circle, or the white tanh box);
- ``"arrow"``: an arrow; the state that runs through the cell is drawn thick and navy;
- ``"junction"``: a dot where a line splits;
- ``"frame"``: the grey outline of the cell.
"""

from __future__ import annotations

from matplotlib.patches import FancyBboxPatch

from nnbook.plot.diagrams import (
    NAVY,
    SMALL,
    _arrow,
    _box,
    _c,
    _canvas,
    _circle,
    _dot,
    _line,
    _text,
)

__all__ = ["gru_cell_diagram", "lstm_cell_diagram"]

#: The radius of the circles of element-wise operations, in inches.
_R = 0.17
#: The heights of the state along the top, the gate boxes, and the input bus.
_TOP, _GATES, _BUS = 2.85, 1.35, 0.72


def _frame(ax, x0, x1):
    """The grey outline of the cell, from ``x0`` to ``x1`` (inches)."""
    ax.add_patch(
        FancyBboxPatch(
            (x0, 0.32),
            x1 - x0,
            2.95,
            boxstyle="round,pad=0,rounding_size=0.15",
            facecolor="#f4f4f4",
            edgecolor="#bdbdbd",
            lw=1.2,
            zorder=0,
            gid="frame",
        )
    )


def _gates(ax, gates):
    """One box per ``(name, x, symbol)`` on the gate row; returns them by name."""
    return {
        name: _box(
            ax, (x, _GATES), 0.58 if "tanh" in s else 0.46, 0.36, s, gid="gate"
        )
        for name, x, s in gates
    }


def _bus(ax, boxes, x_in, end):
    """The input bus :math:`[h_{t-1}, x_t]` under the gates, with a branch into each box.

    ``x_t`` comes up from below at ``x_in``; the bus runs from the left edge to ``end``.
    """
    _line(ax, [(0.1, _BUS), (end, _BUS)], color=NAVY, lw=1.6)
    _text(ax, (0.45, _BUS + 0.2), "$h_{t-1}$", color=NAVY)
    _arrow(ax, (x_in, 0.02), (x_in, _BUS), color=NAVY, lw=1.6)
    _text(ax, (x_in - 0.15, 0.17), "$x_t$", color=NAVY, ha="right")
    for box in boxes:
        x = _c(box)[0]
        _dot(ax, (x, _BUS), color=NAVY)
        _arrow(ax, (x, _BUS), _c(box), B=box)


def _state(ax, start, ops, end):
    """The state along the top: thick navy arrows from ``start`` through ``ops`` to ``end``."""
    points = [start, *ops, end]
    for a, b in zip(points, points[1:], strict=False):
        _arrow(
            ax,
            a if isinstance(a, tuple) else _c(a),
            b if isinstance(b, tuple) else _c(b),
            A=None if isinstance(a, tuple) else a,
            B=None if isinstance(b, tuple) else b,
            lw=2.2,
            color=NAVY,
        )


def lstm_cell_diagram(*, ax=None):
    r"""The LSTM cell: the cell state along the top, the four gates below it.

    The cell state runs :math:`c_{t-1} \to (\times f_t) \to (+\, i_t \odot g_t) \to c_t`
    along the top, drawn thick. The forget, input and output gates :math:`f_t, i_t, o_t`
    (sigmoids) and the candidate :math:`g_t` (tanh) are four layers with weights that
    read :math:`[h_{t-1}, x_t]` from the bus along the bottom. The output is
    :math:`h_t = o_t \odot \tanh c_t`. These are :eq:`eq-lstm-gates`,
    :eq:`eq-lstm-cell` and :eq:`eq-lstm-hidden`.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.55 inch figure.

    Returns
    -------
    matplotlib Axes
        Four ``"gate"`` boxes, five ``"pointwise"`` operations (three products, one
        sum, and the tanh of the cell state) and 16 arrows, three of them the thick
        cell state.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes.
    """
    ax = _canvas(ax, 7.0, 3.55)
    _frame(ax, 0.95, 6.2)
    xf, xi, xg, xo, xt = 2.05, 2.85, 3.55, 4.45, 5.35
    times_f = _circle(ax, (xf, _TOP), _R, r"$\times$", share=0, gid="pointwise")
    plus = _circle(ax, (xg, _TOP), _R, "$+$", share=0, gid="pointwise")
    times_i = _circle(ax, (xg, 2.15), _R, r"$\times$", share=0, gid="pointwise")
    times_o = _circle(
        ax, (xt, _GATES), _R, r"$\times$", share=0, gid="pointwise"
    )
    tanh_c = _box(
        ax, (xt, 2.2), 0.58, 0.34, r"$\tanh$", share=0, gid="pointwise"
    )
    gates = _gates(
        ax,
        [
            ("f", xf, r"$\sigma$"),
            ("i", xi, r"$\sigma$"),
            ("g", xg, r"$\tanh$"),
            ("o", xo, r"$\sigma$"),
        ],
    )
    _state(ax, (0.1, _TOP), [times_f, plus], (6.95, _TOP))
    _text(ax, (0.45, _TOP + 0.2), "$c_{t-1}$", color=NAVY)
    _text(ax, (6.6, _TOP + 0.2), "$c_t$", color=NAVY)
    # Reading the cell state: tanh c_t, gated by o_t, is h_t.
    _dot(ax, (xt, _TOP), color=NAVY)
    _arrow(ax, (xt, _TOP), _c(tanh_c), B=tanh_c)
    _arrow(ax, _c(tanh_c), _c(times_o), A=tanh_c, B=times_o)
    _arrow(ax, _c(gates["o"]), _c(times_o), A=gates["o"], B=times_o)
    _arrow(ax, _c(times_o), (6.95, _GATES), A=times_o, color=NAVY, lw=1.6)
    _text(ax, (6.6, _GATES + 0.2), "$h_t$", color=NAVY)
    # Forgetting and writing.
    _arrow(ax, _c(gates["f"]), _c(times_f), A=gates["f"], B=times_f)
    _arrow(ax, path=[(xi, _GATES + 0.18), (xi, 2.15), (xg - _R, 2.15)])
    _arrow(ax, _c(gates["g"]), _c(times_i), A=gates["g"], B=times_i)
    _arrow(ax, _c(times_i), _c(plus), A=times_i, B=plus)
    _text(ax, (xf - 0.12, 2.1), "$f_t$", ha="right")
    _text(ax, (xi - 0.12, 1.85), "$i_t$", ha="right")
    _text(ax, (xg + 0.12, 1.8), "$g_t$", ha="left")
    _text(ax, ((xo + xt) / 2 - 0.05, _GATES + 0.2), "$o_t$")
    _bus(ax, gates.values(), 1.35, xo)
    _text(
        ax,
        ((xi + xg) / 2, _BUS - 0.2),
        "$[h_{t-1}, x_t]$",
        color=NAVY,
        fontsize=SMALL,
    )
    return ax


def gru_cell_diagram(*, ax=None):
    r"""The GRU cell: the hidden state along the top, the reset and update gates below.

    The hidden state runs :math:`h_{t-1} \to (\times z_t) \to (+\,(1 - z_t) \odot n_t)
    \to h_t` along the top, drawn thick: the update gate :math:`z_t` keeps a share of
    the old state and lets the candidate :math:`n_t` fill the rest,
    :math:`h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}`. The reset gate :math:`r_t`
    enters the candidate's tanh layer, where it scales the part that comes from
    :math:`h_{t-1}`, as in :class:`torch.nn.GRU`:
    :math:`n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))`.
    All three layers read :math:`[h_{t-1}, x_t]` from the bus along the bottom.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; by default a new 5.6 × 3.55 inch figure.

    Returns
    -------
    matplotlib Axes
        Three ``"gate"`` boxes, four ``"pointwise"`` circles (two products, one sum and
        :math:`1 - z_t`) and 13 arrows, three of them the thick hidden state.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes.
    """
    ax = _canvas(ax, 5.6, 3.55)
    _frame(ax, 1.1, 4.55)
    xz, xr, xn = 1.8, 2.8, 3.8
    gates = _gates(
        ax,
        [("z", xz, r"$\sigma$"), ("r", xr, r"$\sigma$"), ("n", xn, r"$\tanh$")],
    )
    times_z = _circle(ax, (xz, _TOP), _R, r"$\times$", share=0, gid="pointwise")
    plus = _circle(ax, (xn, _TOP), _R, "$+$", share=0, gid="pointwise")
    times_n = _circle(ax, (xn, 2.15), _R, r"$\times$", share=0, gid="pointwise")
    one_minus = _circle(ax, (xr, 2.15), 0.2, "$1-$", share=0, gid="pointwise")
    # The hidden state h_{t-1} comes in along the bus and rises to the top.
    _dot(ax, (0.85, _BUS), color=NAVY)
    top = [(0.85, _BUS), (0.85, _TOP), (xz - _R, _TOP)]
    _arrow(ax, path=top, lw=2.2, color=NAVY)
    _state(ax, times_z, [plus], (5.5, _TOP))
    _text(ax, (5.15, _TOP + 0.2), "$h_t$", color=NAVY)
    # The update gate: z_t on the old state, 1 - z_t on the candidate.
    _arrow(ax, _c(gates["z"]), _c(times_z), A=gates["z"], B=times_z)
    _dot(ax, (xz, 2.15))
    _arrow(ax, (xz, 2.15), _c(one_minus), B=one_minus)
    _arrow(ax, _c(one_minus), _c(times_n), A=one_minus, B=times_n)
    _arrow(ax, _c(gates["n"]), _c(times_n), A=gates["n"], B=times_n)
    _arrow(ax, _c(times_n), _c(plus), A=times_n, B=plus)
    _text(ax, (xz - 0.12, 1.85), "$z_t$", ha="right")
    _text(ax, (xn + 0.12, 1.8), "$n_t$", ha="left")
    # The reset gate acts inside the candidate's layer.
    _arrow(ax, _c(gates["r"]), _c(gates["n"]), A=gates["r"], B=gates["n"])
    _text(ax, ((xr + xn) / 2, _GATES + 0.2), "$r_t$")
    _bus(ax, gates.values(), 1.35, xn)
    _text(
        ax,
        ((xr + xn) / 2, _BUS - 0.2),
        "$[h_{t-1}, x_t]$",
        color=NAVY,
        fontsize=SMALL,
    )
    return ax
