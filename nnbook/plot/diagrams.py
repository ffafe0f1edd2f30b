r"""The book's diagrams, drawn with matplotlib so that they are tested and look alike.

Every diagram is a function that draws on ``ax`` (a new figure of its natural size, at
most 7 inches wide, when ``ax`` is None) and returns the Axes; ``ax.figure`` is the
figure. The diagrams share one palette: dark navy for data and inputs, orange for
operations and parameters, grey for arrows, and a muted red for the quantities of the
backward pass. Symbols follow the notation of the book's preface. No diagram
has a title: the book's caption says what it shows.

Each drawn element carries a ``gid`` that names its role (``"arrow"``, ``"backward"``,
``"output-cell"``, ...), so that a test can count what was drawn.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.font_manager import FontProperties
from matplotlib.patches import (
    Circle,
    FancyArrowPatch,
    FancyBboxPatch,
    Rectangle,
)
from matplotlib.path import Path
from matplotlib.textpath import text_to_path

from nnbook._validate import number

__all__ = [
    "backprop_graph",
    "conv_channels",
    "conv_window",
    "dense_layer",
    "inception_module",
    "invertible_block",
    "network_diagram",
    "pooling",
    "receptive_field_growth",
    "residual_block",
    "residual_blocks",
    "roofline",
]

NAVY = "#1f3b57"  # data, inputs, states
ORANGE = "#d9822b"  # operations, parameters
GREY = "#8c8c8c"  # arrows
BACKWARD = "#b03a48"  # gradients flowing back
INK = "#1a1a1a"  # text
FONT = 10  # labels
SMALL = 9  # the smallest text any diagram uses

#: The widest figure a diagram makes, in inches: the width of the book's text column.
MAX_WIDTH = 7.0


# --- drawing helpers -------------------------------------------------------------------


def _tint(color, share):
    """``color`` mixed with white, keeping ``share`` of the color."""
    return tuple(1 - (1 - c) * share for c in to_rgb(color))


def _canvas(ax, width, height, left=0.0, bottom=0.0):
    """An Axes whose data coordinates are inches, ``width`` by ``height`` from ``(left, bottom)``."""
    if _checked_ax(ax) is None:
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, left + width)
    ax.set_ylim(bottom, bottom + height)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _checked_ax(ax):
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes or None, got {type(ax).__name__}"
        )
    return ax


def _text(
    ax, xy, s, *, color=INK, fontsize=FONT, ha="center", va="center", **kwargs
):
    return ax.text(
        *xy, s, color=color, fontsize=fontsize, ha=ha, va=va, zorder=4, **kwargs
    )


def _box(
    ax,
    xy,
    w,
    h,
    s="",
    *,
    color=ORANGE,
    share=0.18,
    fontsize=FONT,
    gid="box",
    **kwargs,
):
    """A rounded box centred at ``xy`` (inches), with ``s`` written inside."""
    x, y = xy
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=0.07",
        **_outline(color, share, gid),
        **kwargs,
    )
    return _labelled(ax, patch, xy, s, fontsize)


def _circle(
    ax, xy, r, s="", *, color=ORANGE, share=0.18, fontsize=FONT, gid="node"
):
    patch = Circle(xy, r, **_outline(color, share, gid))
    return _labelled(ax, patch, xy, s, fontsize)


def _outline(color, share, gid):
    """The look of every node: a tinted fill inside an outline of ``color``."""
    return {
        "facecolor": _tint(color, share),
        "edgecolor": color,
        "linewidth": 1.4,
        "zorder": 2,
        "gid": gid,
    }


def _labelled(ax, patch, xy, s, fontsize):
    """Add ``patch`` to ``ax`` and write ``s`` at its centre ``xy``; return the patch."""
    ax.add_patch(patch)
    if s:
        _text(ax, xy, s, fontsize=fontsize)
    return patch


def _arrow(
    ax,
    a=None,
    b=None,
    *,
    path=None,
    A=None,
    B=None,
    color=GREY,
    rad=0.0,
    lw=1.3,
    style="-|>",
    gid="arrow",
    connection=None,
    **kwargs,
):
    """An arrow from ``a`` to ``b`` (or along ``path``), clipped at the patches ``A`` and ``B``."""
    if path is not None:
        arrow = FancyArrowPatch(
            path=Path(path), arrowstyle=style, mutation_scale=11
        )
    else:
        arrow = FancyArrowPatch(
            a,
            b,
            arrowstyle=style,
            mutation_scale=11,
            patchA=A,
            patchB=B,
            shrinkA=0,
            shrinkB=0.5,
            connectionstyle=connection or f"arc3,rad={rad}",
        )
    arrow.set(color=color, linewidth=lw, zorder=1, gid=gid, **kwargs)
    ax.add_patch(arrow)
    return arrow


def _line(ax, points, *, color=GREY, lw=1.3, gid="line"):
    """A polyline without a head, drawn as a patch like the arrows."""
    return _arrow(ax, path=points, style="-", color=color, lw=lw, gid=gid)


def _c(patch):
    """The centre of a Circle or of a box."""
    if isinstance(patch, Circle):
        return patch.center
    return (
        patch.get_x() + patch.get_width() / 2,
        patch.get_y() + patch.get_height() / 2,
    )


def _dot(ax, xy, *, color=GREY):
    ax.add_patch(Circle(xy, 0.035, color=color, zorder=3, gid="junction"))


def _integer(name, x, low, high=None):
    return number(name, x, low=low, high=high, integer=True)


# --- 1. a dense layer, forward and backward -----------------------------------------------

_IN_X, _SUM_X, _G_X, _OUT_X = 1.25, 3.45, 4.7, 5.65
_IN_Y = (3.1, 2.25, 1.4)
_SUM_Y = (2.75, 1.75)
_BIAS_Y = (3.5, 1.0)


def _dense_nodes(ax):
    """The nodes of a layer with 3 inputs and 2 outputs; returns them by role."""
    nodes = {"in": [], "sum": [], "bias": [], "g": [], "out": []}
    for fp, y in enumerate(_IN_Y):
        nodes["in"].append(
            _box(
                ax,
                (_IN_X, y),
                0.8,
                0.42,
                rf"$h^{{(\nu)}}_{{{fp}}}$",
                color=NAVY,
                gid="input",
            )
        )
    for f, (y, yb) in enumerate(zip(_SUM_Y, _BIAS_Y, strict=True)):
        nodes["sum"].append(
            _circle(ax, (_SUM_X, y), 0.24, r"$\Sigma$", fontsize=12, gid="sum")
        )
        nodes["bias"].append(
            _box(
                ax,
                (_SUM_X, yb),
                0.62,
                0.38,
                rf"$b^{{(\nu)}}_{{{f}}}$",
                gid="bias",
            )
        )
        nodes["g"].append(
            _box(ax, (_G_X, y), 0.46, 0.42, "$g$", gid="activation")
        )
        nodes["out"].append(
            _box(
                ax,
                (_OUT_X, y),
                0.9,
                0.42,
                rf"$h^{{(\nu+1)}}_{{{f}}}$",
                color=NAVY,
                gid="output",
            )
        )
    _text(ax, (_IN_X, 3.62), r"layer $\nu$", fontsize=SMALL, color=NAVY)
    _text(ax, (_OUT_X, 3.27), r"layer $\nu+1$", fontsize=SMALL, color=NAVY)
    return nodes


def _dense_forward(ax, nodes, *, color=GREY, labels=True, weights=True):
    for f, s in enumerate(nodes["sum"]):
        if weights:
            for i in nodes["in"]:
                _arrow(ax, _c(i), _c(s), A=i, B=s, color=color, lw=1.1)
        b, g, o = nodes["bias"][f], nodes["g"][f], nodes["out"][f]
        _arrow(ax, _c(b), _c(s), A=b, B=s, color=color)
        _arrow(ax, _c(s), _c(g), A=s, B=g, color=color)
        _arrow(ax, _c(g), _c(o), A=g, B=o, color=color)
        if labels:
            _text(
                ax,
                ((_SUM_X + _G_X) / 2 + 0.05, _SUM_Y[f] + 0.2),
                rf"$a^{{(\nu)}}_{{{f}}}$",
            )
    # Two of the six weights, named on their edges (the top and the bottom edge).
    _text(ax, (2.3, 3.19), r"$\Theta^{(\nu)0}_{0}$", color=ORANGE)
    _text(ax, (2.3, 1.33), r"$\Theta^{(\nu)1}_{2}$", color=ORANGE)


def dense_layer(*, ax=None):
    r"""A dense layer as a computation graph, for one sample.

    Three inputs :math:`h^{(\nu)}_{f'}` feed two weighted sums
    :math:`a^{(\nu)}_f = \sum_{f'} \Theta^{(\nu)f}_{f'} h^{(\nu)}_{f'} + b^{(\nu)}_f`, each
    passed through the activation :math:`g` to give :math:`h^{(\nu+1)}_f`.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; a new 5.85 x 3.85 inch figure when None.

    Returns
    -------
    matplotlib Axes
    """
    ax = _canvas(ax, 5.85, 3.85, left=0.6)
    nodes = _dense_nodes(ax)
    _dense_forward(ax, nodes)
    _text(
        ax,
        (3.5, 0.38),
        r"$a^{(\nu)}_f = \sum_{f'} \Theta^{(\nu)f}_{f'}\, h^{(\nu)}_{f'} + b^{(\nu)}_f,"
        r"\qquad h^{(\nu+1)}_f = g\left(a^{(\nu)}_f\right)$",
    )
    return ax


def backprop_graph(*, ax=None):
    r"""The layer of :func:`dense_layer` with the backward pass drawn over it.

    The forward arrows are faded; the backward quantities flow the other way, in red:
    the gradient :math:`\partial J / \partial h^{(\nu+1)}_f` arrives from the next layer,
    :math:`\delta^{(\nu)}_f = g'(a^{(\nu)}_f)\, \partial J / \partial h^{(\nu+1)}_f` at the
    weighted sums, then :math:`\partial J / \partial h^{(\nu)}_{f'} = \sum_f
    \delta^{(\nu)}_f \Theta^{(\nu)f}_{f'}` leaves for layer :math:`\nu - 1`, and each weight
    receives :math:`\partial J / \partial \Theta^{(\nu)f}_{f'} = \delta^{(\nu)}_f h^{(\nu)}_{f'}`
    (the outer product :math:`\delta h^\top`, summed over the mini-batch).

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; a new 7 x 4.3 inch figure when None.

    Returns
    -------
    matplotlib Axes
    """
    ax = _canvas(ax, 7.0, 4.3, left=-0.35, bottom=-0.45)
    nodes = _dense_nodes(ax)
    # Forward arrows faded; the weights' edges carry the backward arrows instead.
    _dense_forward(ax, nodes, color="#c8c8c8", labels=False, weights=False)
    back = {"color": BACKWARD, "gid": "backward"}
    for f, s in enumerate(nodes["sum"]):
        y = _SUM_Y[f]
        b, g, o = nodes["bias"][f], nodes["g"][f], nodes["out"][f]
        _arrow(ax, (6.62, y), _c(o), B=o, **back)
        _arrow(ax, _c(o), _c(g), A=o, B=g, rad=0.6, **back)
        _arrow(ax, _c(g), _c(s), A=g, B=s, rad=0.3, **back)
        _text(
            ax,
            ((_SUM_X + _G_X) / 2, y + 0.42),
            rf"$\delta^{{(\nu)}}_{{{f}}}$",
            color=BACKWARD,
        )
        _arrow(
            ax,
            (_SUM_X + 0.12, y),
            (_SUM_X + 0.12, _BIAS_Y[f]),
            A=s,
            B=b,
            **back,
        )
        for i in nodes["in"]:
            _arrow(ax, _c(s), _c(i), A=s, B=i, lw=1.1, **back)
    for i in nodes["in"]:
        _arrow(ax, _c(i), (-0.25, _c(i)[1]), A=i, **back)
    _text(
        ax,
        (6.38, 2.25),
        r"$\dfrac{\partial J}{\partial h^{(\nu+1)}_f}$",
        color=BACKWARD,
    )
    _text(
        ax,
        (0.3, 2.68),
        r"$\dfrac{\partial J}{\partial h^{(\nu)}_{f'}}$",
        color=BACKWARD,
    )
    rows = (
        (
            r"$\delta^{(\nu)}_f = g'\left(a^{(\nu)}_f\right)\, \partial J / \partial h^{(\nu+1)}_f$",
            r"$\partial J / \partial h^{(\nu)}_{f'} = \sum_f \delta^{(\nu)}_f\, \Theta^{(\nu)f}_{f'}$",
        ),
        (
            r"$\partial J / \partial \Theta^{(\nu)f}_{f'} = \delta^{(\nu)}_f\, h^{(\nu)}_{f'}$",
            r"$\partial J / \partial b^{(\nu)}_f = \delta^{(\nu)}_f$",
        ),
    )
    for k, (left, right) in enumerate(rows):
        _text(ax, (-0.1, 0.32 - 0.46 * k), left, ha="left", color=BACKWARD)
        _text(ax, (3.6, 0.32 - 0.46 * k), right, ha="left", color=BACKWARD)
    return ax


# --- 2. a convolution window and 3. max pooling -----------------------------------------------


def conv_window(size=5, kernel=3, padding=1, stride=2, *, ax=None):
    r"""A kernel sliding over a padded input, and the output it produces.

    The input of ``size`` :math:`n` is drawn with its ring of ``padding`` :math:`p` zeros
    shaded, the kernel window of ``kernel`` :math:`k` at its first two positions, ``stride``
    :math:`s` apart, and the output grid of side
    :math:`n_{out} = \lfloor (n + 2p - k)/s \rfloor + 1` with the two cells those windows
    produce highlighted. The formula, with the numbers, is written under the grids.

    Parameters
    ----------
    size : int, default 5
        Side :math:`n` of the (square) input, before padding.
    kernel : int, default 3
        Side :math:`k` of the kernel; at most ``size + 2 * padding``.
    padding : int, default 1
        Zeros :math:`p` added on every side; ``size + 2 * padding`` at most 15.
    stride : int, default 2
        Step :math:`s` between neighbouring windows.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is out of range, or the kernel does not fit the padded input.
    """
    n = _integer("size", size, 1)
    k = _integer("kernel", kernel, 1)
    p = _integer("padding", padding, 0)
    s = _integer("stride", stride, 1)
    m = n + 2 * p
    if m > 15:
        raise ValueError(
            f"size + 2 * padding must be at most 15 to be drawn, got {m}"
        )
    if k > m:
        raise ValueError(
            f"kernel must be at most size + 2 * padding = {m}, got {k}"
        )
    out = (m - k) // s + 1
    gap = 1.5
    c = min(
        0.42, (MAX_WIDTH - 0.5 - gap) / (m + out)
    )  # the side of a cell, in inches
    width = 0.25 + m * c + gap + out * c + 0.25
    height = 0.55 + m * c + 1.05
    ax = _canvas(ax, width, height)
    x0, y0 = 0.25, 1.05  # bottom left corner of the input grid
    top = y0 + m * c

    def cell(x, y, i, j, face, gid, edge="white"):
        rect = Rectangle(
            (x + j * c, y + (-(i + 1)) * c),
            c,
            c,
            facecolor=face,
            edgecolor=edge,
            linewidth=1.0,
            zorder=1,
            gid=gid,
        )
        ax.add_patch(rect)
        return rect

    for i in range(m):
        for j in range(m):
            pad = min(i, j) < p or max(i, j) >= p + n
            cell(
                x0,
                top,
                i,
                j,
                "#ebebeb" if pad else _tint(NAVY, 0.3),
                "padding-cell" if pad else "input-cell",
            )
            if pad and c >= 0.3:
                _text(
                    ax,
                    (x0 + (j + 0.5) * c, top - (i + 0.5) * c),
                    "0",
                    color="#808080",
                    fontsize=SMALL,
                )
    positions = [0] if out == 1 else [0, 1]
    styles = (
        {"linestyle": "-", "share": 0.55},
        {"linestyle": "--", "share": 0.3},
    )
    ox, oy_top = (
        x0 + m * c + gap,
        y0 + (m + out) * c / 2,
    )  # output grid, centred vertically
    for i in range(out):
        for j in range(out):
            cell(ox, oy_top, i, j, _tint(NAVY, 0.3), "output-cell")
    for pos, style in zip(positions, styles, strict=False):
        inset = (
            0.04 * pos
        )  # the second window sits a little inside, so both stay visible
        ax.add_patch(
            Rectangle(
                (x0 + pos * s * c + inset, top - k * c + inset),
                k * c - 2 * inset,
                k * c - 2 * inset,
                fill=False,
                edgecolor=ORANGE,
                linewidth=2.4,
                linestyle=style["linestyle"],
                zorder=3,
                gid="window",
            )
        )
        ax.add_patch(
            Rectangle(
                (ox + pos * c, oy_top - c),
                c,
                c,
                facecolor=_tint(ORANGE, style["share"]),
                edgecolor=ORANGE,
                linewidth=2.0,
                linestyle=style["linestyle"],
                zorder=2,
                gid="output-highlight",
            )
        )
    if out > 1:
        _arrow(
            ax,
            (x0, top + 0.17),
            (x0 + s * c, top + 0.17),
            style="<|-|>",
            color=GREY,
            gid="dimension",
        )
        _text(
            ax,
            (x0 + s * c + 0.08, top + 0.2),
            f"$s = {s}$",
            ha="left",
            fontsize=SMALL,
        )
    mid = y0 + m * c / 2
    _arrow(ax, (x0 + m * c + 0.15, mid), (ox - 0.15, mid))
    _text(
        ax,
        (x0 + m * c + gap / 2, mid + 0.22),
        f"kernel $k = {k}$",
        fontsize=SMALL,
    )
    _text(
        ax,
        (x0 + m * c / 2, y0 - 0.25),
        f"input $n = {n}$, padding $p = {p}$",
        fontsize=SMALL,
    )
    _text(
        ax,
        (ox + out * c / 2, oy_top - out * c - 0.25),
        f"output $n_{{out}} = {out}$",
        fontsize=SMALL,
    )
    _text(
        ax,
        (width / 2, 0.32),
        r"$n_{out} = \lfloor (n + 2p - k)/s \rfloor + 1"
        rf" = \lfloor ({n} + {2 * p} - {k})/{s} \rfloor + 1 = {out}$",
    )
    return ax


_POOL_VALUES = ((1, 3, 2, 7), (4, 6, 5, 0), (8, 1, 1, 2), (0, 2, 3, 4))


def pooling(values=None, *, ax=None):
    r"""Max pooling of a 4 x 4 input by 2 x 2 windows with stride 2.

    Each window is tinted in its own colour, its maximum is circled, and the 2 x 2 output
    repeats the colours with the maxima.

    Parameters
    ----------
    values : array_like of shape (4, 4), optional
        The input; a fixed example when None. The first maximum of a window (row by row)
        is the one marked.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if values is None:
        values = np.array(_POOL_VALUES, dtype=float)
    else:
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                f"values must be a 4 x 4 array of numbers, got {type(values).__name__}"
            ) from None
        if values.shape != (4, 4):
            raise ValueError(
                f"values must have shape (4, 4), got {values.shape}"
            )
        if not np.isfinite(values).all():
            raise ValueError("values must be finite, got nan or inf")
    c = 0.5
    width, height = 5.4, 2.75
    ax = _canvas(ax, width, height)
    x0, top = 0.3, 2.45
    ox, otop = 4.1, top - c  # the output grid, centred on the input's height
    faces = (NAVY, ORANGE, ORANGE, NAVY)
    for w, (wi, wj) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        block = values[2 * wi : 2 * wi + 2, 2 * wj : 2 * wj + 2]
        bi, bj = np.unravel_index(int(np.argmax(block)), block.shape)
        for di in range(2):
            for dj in range(2):
                i, j = 2 * wi + di, 2 * wj + dj
                xy = (x0 + j * c, top - (i + 1) * c)
                ax.add_patch(
                    Rectangle(
                        xy,
                        c,
                        c,
                        facecolor=_tint(faces[w], 0.22),
                        edgecolor="white",
                        linewidth=1.0,
                        gid="input-cell",
                    )
                )
                centre = (xy[0] + c / 2, xy[1] + c / 2)
                is_max = (di, dj) == (bi, bj)
                _text(
                    ax,
                    centre,
                    f"{values[i, j]:.3g}",
                    fontsize=11,
                    fontweight="bold" if is_max else "normal",
                )
                if is_max:
                    ax.add_patch(
                        Circle(
                            centre,
                            0.19,
                            fill=False,
                            edgecolor=faces[w],
                            linewidth=1.6,
                            zorder=3,
                            gid="maximum",
                        )
                    )
        ax.add_patch(
            Rectangle(
                (x0 + 2 * wj * c, top - 2 * (wi + 1) * c),
                2 * c,
                2 * c,
                fill=False,
                edgecolor=faces[w],
                linewidth=2.0,
                zorder=3,
                gid="window",
            )
        )
        oxy = (ox + wj * c, otop - (wi + 1) * c)
        ax.add_patch(
            Rectangle(
                oxy,
                c,
                c,
                facecolor=_tint(faces[w], 0.22),
                edgecolor=faces[w],
                linewidth=2.0,
                zorder=2,
                gid="output-cell",
            )
        )
        _text(
            ax,
            (oxy[0] + c / 2, oxy[1] + c / 2),
            f"{block[bi, bj]:.3g}",
            fontsize=11,
            fontweight="bold",
        )
    mid = top - 2 * c
    _arrow(ax, (x0 + 4 * c + 0.2, mid), (ox - 0.2, mid))
    _text(ax, ((x0 + 4 * c + ox) / 2, mid + 0.3), "max pooling", fontsize=SMALL)
    _text(
        ax,
        ((x0 + 4 * c + ox) / 2, mid - 0.3),
        r"$2 \times 2$, stride 2",
        fontsize=SMALL,
    )
    _text(ax, (x0 + 2 * c, 0.2), r"input $4 \times 4$", fontsize=SMALL)
    _text(ax, (ox + c, 0.2), r"output $2 \times 2$", fontsize=SMALL)
    return ax


# --- 4. the residual block ------------------------------------------------------------------


def residual_block(post_activation=None, *, ax=None):
    r"""A residual block: a branch :math:`F(x)` plus the identity shortcut.

    The branch is weight layer, ReLU, weight layer; the shortcut carries :math:`x` around
    it to the addition, which gives :math:`x + F(x)`.

    Parameters
    ----------
    post_activation : str, optional
        The name of a nonlinearity applied after the addition, such as ``"ReLU"`` for
        the original block of He et al. (2016). None (the default) draws none, as in the
        full pre-activation block, where the sum leaves the block unchanged.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if post_activation is not None:
        if not isinstance(post_activation, str):
            raise TypeError(
                f"post_activation must be a str or None, got {type(post_activation).__name__}"
            )
        if not post_activation.strip():
            raise ValueError(
                f"post_activation must be a non-empty name, got {post_activation!r}"
            )
    y = 1.2
    ax = _canvas(ax, 7.0, 2.25)
    # (kind, width, label), placed left to right with equal gaps between them.
    items = [
        ("x", 0.5, "$x$"),
        ("op", 0.85, "weight\nlayer"),
        ("op", 0.7, "ReLU"),
        ("op", 0.85, "weight\nlayer"),
        ("plus", 0.4, "$+$"),
    ]
    exit_length = 1.15 if post_activation is None else 0.5
    if post_activation is not None:
        items.append(
            ("op", max(0.7, 0.1 * len(post_activation) + 0.3), post_activation)
        )
    gap = (MAX_WIDTH - 0.15 - exit_length - sum(w for _, w, _ in items)) / (
        len(items) - 1
    )
    patches, x = [], 0.15
    for kind, w, label in items:
        centre = (x + w / 2, y)
        if kind == "x":
            patches.append(
                _box(ax, centre, w, 0.5, label, color=NAVY, gid="input")
            )
        elif kind == "plus":
            patches.append(
                _circle(ax, centre, w / 2, label, fontsize=13, gid="add")
            )
        else:
            patches.append(
                _box(ax, centre, w, 0.55, label, fontsize=SMALL, gid="layer")
            )
        x += w + gap
    for a, b in zip(patches[:-1], patches[1:], strict=True):
        _arrow(ax, _c(a), _c(b), A=a, B=b)
    _arrow(ax, _c(patches[-1]), (MAX_WIDTH - 0.05, y), A=patches[-1])
    plus = patches[4]
    (xa, _), (xb, _) = _c(patches[0]), _c(plus)
    if post_activation is None:
        _text(ax, ((xb + 0.2 + MAX_WIDTH) / 2, y + 0.22), "$x + F(x)$")
    else:
        _text(ax, ((xb + patches[5].get_x()) / 2, y - 0.42), "$x + F(x)$")
    # The shortcut, over the branch, and the bracket under it.
    _arrow(
        ax,
        path=[(xa, y + 0.25), (xa, y + 0.7), (xb, y + 0.7), (xb, y + 0.2)],
        gid="shortcut",
    )
    _text(
        ax, ((xa + xb) / 2, y + 0.86), "identity shortcut: $x$", fontsize=SMALL
    )
    left, right = (
        patches[1].get_x(),
        patches[3].get_x() + patches[3].get_width(),
    )
    _arrow(
        ax,
        (left, y - 0.47),
        (right, y - 0.47),
        style="|-|,widthA=0.25,widthB=0.25",
        gid="bracket",
        lw=1.1,
    )
    _text(
        ax,
        ((left + right) / 2, y - 0.72),
        "residual branch $F(x)$",
        fontsize=SMALL,
    )
    return ax


# --- 4b. channels, receptive fields, networks, inception, residual units -------------------


#: The most channels that :func:`conv_channels` draws, in and out.
_MAX_CHANNELS = 4
#: The widest input row that :func:`receptive_field_growth` draws, in pixels.
_MAX_PIXELS = 31
#: Inception 3a of GoogLeNet: C_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj.
_INCEPTION_3A = (192, 64, 96, 128, 16, 32, 32)
#: The greys of a frame around a group of boxes, and of a note or a group's title.
_FRAME, _FRAME_EDGE, _NOTE = "#f4f4f4", "#bdbdbd", "#595959"


def _square(ax, xy, side, *, face, edge, gid, zorder=2, lw=1.2):
    """A square of ``side`` with its lower left corner at ``xy``; returns the patch."""
    patch = Rectangle(
        xy,
        side,
        side,
        facecolor=face,
        edgecolor=edge,
        linewidth=lw,
        zorder=zorder,
        gid=gid,
    )
    ax.add_patch(patch)
    return patch


def _stack(ax, xy, side, count, offset, *, faces, edge, gid, grid=0):
    """``count`` squares, each ``offset`` behind and above the one before it.

    Square 0 is in front, its lower left corner at ``xy``; ``grid`` cells a side are ruled
    on each square. Returns the squares, square 0 first.
    """
    squares = []
    for depth, c in enumerate(reversed(range(count))):
        x, y = xy[0] + c * offset, xy[1] + c * offset
        # Each square covers the rulings of the squares behind it.
        z = 2 + 0.01 * depth
        squares.append(
            _square(
                ax, (x, y), side, face=faces[c], edge=edge, gid=gid, zorder=z
            )
        )
        for t in np.arange(1, grid) * side / grid:
            ax.plot(
                [x + t, x + t, np.nan, x, x + side],
                [y, y + side, np.nan, y + t, y + t],
                color=edge,
                lw=0.6,
                zorder=z + 0.005,
                gid="grid",
            )
    return squares[::-1]


def _frame(ax, x0, y0, x1, y1, title=None):
    """A light rounded frame around a group of boxes, with ``title`` above it."""
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.1",
            facecolor=_FRAME,
            edgecolor=_FRAME_EDGE,
            lw=1.1,
            zorder=0,
            gid="frame",
        )
    )
    if title:
        _note(ax, ((x0 + x1) / 2, y1 + 0.13), title)


def _note(ax, xy, s, **kwargs):
    """A small grey italic note, such as the title of a group or a panel."""
    return _text(
        ax, xy, s, color=_NOTE, fontsize=SMALL, style="italic", **kwargs
    )


def _width(s, fontsize=SMALL):
    """The width in inches of the widest line of ``s``, as drawn in the default font."""
    font = FontProperties(size=fontsize)
    return max(
        text_to_path.get_text_width_height_descent(line, font, ismath=False)[0]
        / 72
        for line in s.split("\n")
    )


def conv_channels(c_in=3, c_out=2, *, ax=None):
    r"""The channels of one convolutional layer: every filter spans every input channel.

    Left, the ``c_in`` input maps, stacked. Middle, the ``c_out`` filters :math:`w_o`,
    each a stack of ``c_in`` kernel slices of :math:`3 \times 3`, one per input channel
    (slice :math:`c` has the shade of input map :math:`c`). Right, the ``c_out`` output
    maps: filter :math:`w_o` sums its slices' responses over all channels, adds
    :math:`b_o` and gives output map :math:`o`, as in :eq:`eq-cnn-conv`. The weight
    shape :math:`(C_{out}, C_{in}, k, k)` is written under it with the numbers.

    Parameters
    ----------
    c_in : int, default 3
        Input channels :math:`C_{in}`, from 1 to 4.
    c_out : int, default 2
        Output channels (filters) :math:`C_{out}`, from 1 to 4.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    c_in = _integer("c_in", c_in, 1, _MAX_CHANNELS)
    c_out = _integer("c_out", c_out, 1, _MAX_CHANNELS)
    k, pitch = 3, 1.05  # the kernel side, and the height of one filter's row
    height = max(c_out * pitch, 1.7) + 1.05
    ax = _canvas(ax, MAX_WIDTH, height)
    mid = 1.05 + (height - 1.05) / 2
    faces = [
        _tint(NAVY, 0.12 + 0.43 * c / max(c_in - 1, 1)) for c in range(c_in)
    ]
    # The input maps, and the point their arrows leave from.
    side, offset = 1.0, 0.15
    lift = (c_in - 1) * offset
    x_in = 0.3
    _stack(
        ax,
        (x_in, mid - (side + lift) / 2),
        side,
        c_in,
        offset,
        faces=faces,
        edge=NAVY,
        gid="input-map",
    )
    start = (x_in + side + lift + 0.08, mid)
    # The filters, each a stack of kernel slices, and the map each one produces.
    kside, koffset, x_f, x_out, oside = 0.45, 0.11, 3.05, 5.45, 0.62
    kspan = kside + (c_in - 1) * koffset
    for o in range(c_out):
        y = mid + ((c_out - 1) / 2 - o) * pitch
        slices = _stack(
            ax,
            (x_f - kspan / 2, y - kspan / 2),
            kside,
            c_in,
            koffset,
            faces=faces,
            edge=ORANGE,
            gid="kernel-slice",
            grid=k,
        )
        _arrow(ax, start, _c(slices[0]), B=slices[0])
        right = x_f + kspan / 2
        _text(
            ax, (right + 0.1, y + 0.2), f"$w_{{{o}}}$", ha="left", color=ORANGE
        )
        out = _square(
            ax,
            (x_out - oside / 2, y - oside / 2),
            oside,
            face=_tint(NAVY, 0.3),
            edge=NAVY,
            gid="output-map",
        )
        _text(ax, (x_out, y), f"$o = {o}$", fontsize=SMALL)
        _arrow(ax, (right + 0.08, y), (x_out - oside / 2, y), B=out)
        _text(
            ax,
            ((right + 0.5 + x_out - oside / 2) / 2, y + 0.2),
            rf"sum over $c$, $+\,b_{{{o}}}$",
            fontsize=SMALL,
        )
    _text(
        ax,
        (x_in + (side + lift) / 2, 0.72),
        f"input: $C_{{in}} = {c_in}$ maps",
        fontsize=SMALL,
    )
    _text(
        ax,
        (x_f, 0.72),
        rf"$C_{{out}} = {c_out}$ filters of ${c_in} \times {k} \times {k}$",
        fontsize=SMALL,
    )
    _text(
        ax, (x_out, 0.72), f"output: $C_{{out}} = {c_out}$ maps", fontsize=SMALL
    )
    _text(
        ax,
        (MAX_WIDTH / 2, 0.3),
        r"weights $w$ of shape $(C_{out}, C_{in}, k, k)"
        f" = ({c_out}, {c_in}, {k}, {k})$",
    )
    return ax


def _int_sequence(name, values, low, longest):
    """``values`` as a list of ints of at least ``low``, 1 to ``longest`` of them."""
    if not isinstance(values, tuple | list):
        raise TypeError(
            f"{name} must be a tuple or list of ints, got {type(values).__name__}"
        )
    if not 1 <= len(values) <= longest:
        raise ValueError(
            f"{name} must have 1 to {longest} entries, got {len(values)}"
        )
    return [_integer(f"{name}[{i}]", v, low) for i, v in enumerate(values)]


def _cone(kernels, strides, top):
    """The units of each row under ``top`` output units, and those the middle one reads.

    Rows run from the input up. Unit ``j`` of layer ``l`` reads units ``j s_l`` to
    ``j s_l + k_l - 1`` of layer ``l - 1``.
    """
    counts, cone = [top], [{top // 2}]
    for k, s in zip(kernels[::-1], strides[::-1], strict=True):
        counts.append((counts[-1] - 1) * s + k)
        cone.append({j * s + i for j in cone[-1] for i in range(k)})
    return counts[::-1], cone[::-1]


def receptive_field_growth(kernels=(3, 3, 3), strides=None, *, ax=None):
    r"""The receptive field of one unit, growing layer by layer, in a side view.

    Each row is one layer of a stack of convolutions (or poolings) without padding, the
    input pixels at the bottom. One unit of the top layer is highlighted, and under it,
    layer by layer, the units it depends on, with their connections. Each row is
    labelled with the receptive field :math:`r_\ell` of one of its units, computed by
    :func:`nnbook.cnn.receptive_field`, which implements :eq:`eq-cnn-receptive-field`.

    Parameters
    ----------
    kernels : tuple or list of int, default (3, 3, 3)
        The kernel size :math:`k_\ell` of each layer, first layer first; 1 to 5 layers.
    strides : tuple or list of int, optional
        Their strides :math:`s_\ell`; 1 for every layer when None.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``kernels`` or ``strides`` is not a tuple or list of ints.
    ValueError
        If an entry is below 1, the lengths differ, or the receptive field is wider than
        31 pixels, too wide to draw.
    """
    from nnbook.cnn import receptive_field

    kernels = _int_sequence("kernels", kernels, 1, 5)
    if strides is None:
        strides = [1] * len(kernels)
    strides = _int_sequence("strides", strides, 1, 5)
    if len(strides) != len(kernels):
        raise ValueError(
            f"strides must have one entry per kernel ({len(kernels)}), got {len(strides)}"
        )
    fields = receptive_field(kernels, strides)
    counts, cone = _cone(kernels, strides, 3)
    if counts[0] > _MAX_PIXELS:
        counts, cone = _cone(kernels, strides, 1)
    if counts[0] > _MAX_PIXELS:
        raise ValueError(
            f"kernels and strides must give a receptive field of at most {_MAX_PIXELS} "
            f"pixels to be drawn, got {fields[-1]}"
        )
    rows, pitch, y0 = len(kernels) + 1, 0.62, 1.0
    ax = _canvas(ax, MAX_WIDTH, y0 + (rows - 1) * pitch + 0.45)
    left, right = 1.95, 6.15  # the cells' area
    c = min(0.34, (right - left) / counts[0])
    # Unit j sits over the middle of the first and the last unit it reads.
    xs = [
        list(
            left
            + (right - left - counts[0] * c) / 2
            + (np.arange(counts[0]) + 0.5) * c
        )
    ]
    for k, s, n in zip(kernels, strides, counts[1:], strict=True):
        below = xs[-1]
        xs.append([(below[j * s] + below[j * s + k - 1]) / 2 for j in range(n)])
    side = 0.8 * c
    for row in range(rows):
        y = y0 + row * pitch
        for j, x in enumerate(xs[row]):
            inside = j in cone[row]
            if row == rows - 1 and inside:
                face, gid = ORANGE, "output-unit"
            elif inside:
                face, gid = (
                    _tint(NAVY, 0.6),
                    "field-input" if row == 0 else "field-unit",
                )
            else:
                face, gid = _tint(NAVY, 0.12), "input" if row == 0 else "unit"
            _square(
                ax,
                (x - side / 2, y - side / 2),
                side,
                face=face,
                edge=NAVY,
                gid=gid,
                lw=0.9,
            )
            if row and inside:
                k, s = kernels[row - 1], strides[row - 1]
                for i in range(j * s, j * s + k):
                    _line(
                        ax,
                        [
                            (x, y - side / 2),
                            (xs[row - 1][i], y - pitch + side / 2),
                        ],
                        color=ORANGE,
                        lw=0.9,
                        gid="connection",
                    )
        label = "input pixels"
        if row:
            k, s = kernels[row - 1], strides[row - 1]
            label = f"layer {row}: $k = {k}$, $s = {s}$"
        _text(ax, (0.1, y), label, ha="left", fontsize=SMALL)
        r = fields[row - 1] if row else 1
        _text(ax, (6.35, y), f"$r_{{{row}}} = {r}$", ha="left", fontsize=SMALL)
    _text(
        ax,
        (MAX_WIDTH / 2, 0.35),
        r"$r_\ell = r_{\ell-1} + (k_\ell - 1)\, {\prod}_{m < \ell}\, s_m,"
        r" \qquad r_0 = 1$",
    )
    return ax


#: The networks that :func:`network_diagram` draws: the model's constructor and input.
_NETWORKS = {
    "lenet": ("LeNet5", (1, 1, 28, 28)),
    "vgg16": ("vgg16", (1, 3, 224, 224)),
}


def _network_groups(name):
    """The boxes of a network, read from the real model run on the meta device.

    Returns a list of groups ``(title, boxes, vertical)``, each box a ``(label, shape)``.
    The ``features`` stage is cut after every max pooling into stages of equal
    convolutions plus the pooling; layers that keep the shape (ReLU, dropout) are left out.
    """
    import torch
    from torch import nn

    from nnbook import cnn

    factory, input_shape = _NETWORKS[name]
    with torch.device("meta"):
        model = getattr(cnn, factory)()
        x = torch.empty(input_shape)
    groups, stages = [(None, [("input", _shape(x))], False)], 0
    for stage_name, stage in model.named_children():
        layers = stage if isinstance(stage, nn.Sequential) else [stage]
        boxes, convs = [], []
        for layer in layers:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):
                if convs and layer.kernel_size != convs[0][0].kernel_size:
                    boxes.append(_conv_box(convs))
                    convs = []
                convs.append((layer, _shape(x)))
                continue
            if convs and not isinstance(
                layer, nn.ReLU | nn.Identity | nn.BatchNorm2d
            ):
                boxes.append(_conv_box(convs))
                convs = []
            if isinstance(layer, nn.MaxPool2d):
                k = layer.kernel_size
                boxes.append((f"max pool {k}×{k}", _shape(x)))
                stages += 1
                groups.append((f"stage {stages}", boxes, True))
                boxes = []
            elif isinstance(layer, nn.AdaptiveAvgPool2d):
                boxes.append(("adaptive\navg pool", _shape(x)))
            elif isinstance(layer, nn.Flatten):
                boxes.append(("flatten", _shape(x)))
            elif isinstance(layer, nn.Linear):
                boxes.append((f"fc {layer.out_features}", _shape(x)))
        if boxes:
            title = stage_name if len(boxes) > 1 else None
            groups.append((title, boxes, False))
    return groups


def _shape(x):
    """The shape of one sample of the batch ``x``, written ``C×H×W``."""
    return "×".join(str(n) for n in x.shape[1:])


def _conv_box(convs):
    """The label of a run of equal convolutions, and the shape after the last one."""
    layer, shape = convs[-1]
    k, c = layer.kernel_size[0], layer.out_channels
    if len(convs) == 1:
        return f"conv {k}×{k}, {c}", shape
    return f"{len(convs)} × conv\n{k}×{k}, {c}", shape


_LINE = 0.16  # the height of a line of SMALL text, in inches
_PAD = 0.06  # between a frame and the boxes inside it
_GAP = 0.26  # between groups, room for an arrow


def _box_size(label, shape):
    """Width and height of the box of a layer: its label's lines, then its shape."""
    return (
        max(_width(label), _width(shape)) + 0.12,
        _LINE * (label.count("\n") + 2) + 0.14,
    )


def _group_size(boxes, vertical):
    """Width and height of a group of boxes, stacked or in a row, with its frame."""
    sizes = [_box_size(*b) for b in boxes]
    if vertical:
        w, h = (
            max(w for w, _ in sizes),
            sum(h for _, h in sizes) + 0.25 * (len(sizes) - 1),
        )
    else:
        w, h = (
            sum(w for w, _ in sizes) + 0.22 * (len(sizes) - 1),
            max(h for _, h in sizes),
        )
    pad = _PAD if len(boxes) > 1 else 0
    return w + 2 * pad, h + 2 * pad


def _network_box(ax, xy, label, shape):
    """A layer's box: its type above, its output shape below in the colour of data."""
    w, h = _box_size(label, shape)
    gid = "input" if label == "input" else "layer"
    patch = _box(
        ax, xy, w, h, color=NAVY if label == "input" else ORANGE, gid=gid
    )
    lines = label.count("\n") + 2
    top = xy[1] + _LINE * lines / 2
    _text(ax, (xy[0], top - _LINE * (lines - 1) / 2), label, fontsize=SMALL)
    _text(
        ax,
        (xy[0], top - _LINE * (lines - 0.5)),
        shape,
        fontsize=SMALL,
        color=NAVY,
    )
    return patch


def _draw_group(ax, x, y, group):
    """Draw ``group`` from ``x`` rightwards, centred on ``y``; return its first and last box."""
    title, boxes, vertical = group
    w, h = _group_size(boxes, vertical)
    if len(boxes) > 1:
        _frame(ax, x, y - h / 2, x + w, y + h / 2, title)
    pad = _PAD if len(boxes) > 1 else 0
    patches = []
    if vertical:
        top = y + h / 2 - pad
        for label, shape in boxes:
            bh = _box_size(label, shape)[1]
            patches.append(
                _network_box(ax, (x + w / 2, top - bh / 2), label, shape)
            )
            top -= bh + 0.25
    else:
        left = x + pad
        for label, shape in boxes:
            bw = _box_size(label, shape)[0]
            patches.append(_network_box(ax, (left + bw / 2, y), label, shape))
            left += bw + 0.22
    for a, b in zip(patches[:-1], patches[1:], strict=True):
        _arrow(ax, _c(a), _c(b), A=a, B=b)
    return patches[0], patches[-1]


def network_diagram(name, *, ax=None):
    r"""A network as a chain of boxes, each a layer with its output shape, grouped by stage.

    The layers and shapes are read from the model itself (:class:`nnbook.cnn.LeNet5`,
    :func:`nnbook.cnn.vgg16`), run on the ``meta`` device, so the drawing cannot disagree
    with the code. The convolutions of a stage and the max pooling that ends it are
    framed together; equal convolutions in a row share one box (VGG-16's 13 convolutions
    are 5 boxes). ReLU and dropout, which keep the shape, are not drawn. The chain runs
    left to right and wraps to a second row when it does not fit 7 inches.

    Parameters
    ----------
    name : {"lenet", "vgg16"}
        LeNet-5 on a 1 x 28 x 28 input, or VGG-16 on a 3 x 224 x 224 input.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in _NETWORKS:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, _NETWORKS))}, got {name!r}"
        )
    groups = _network_groups(name)
    sizes = [_group_size(boxes, vertical) for _, boxes, vertical in groups]
    # Fill rows from the left, between margins that leave room for the wrapping arrow.
    margin, rows = 0.2, [[]]
    for i, (w, _) in enumerate(sizes):
        used = sum(sizes[j][0] + _GAP for j in rows[-1])
        if rows[-1] and used + w > MAX_WIDTH - 2 * margin:
            rows.append([])
        rows[-1].append(i)
    # Room for the groups' titles above each row, between rows, for the note.
    title, gap, note = 0.3, 0.3, 0.45
    heights = [max(sizes[i][1] for i in row) + title for row in rows]
    height = sum(heights) + gap * (len(rows) - 1) + note
    ax = _canvas(ax, MAX_WIDTH, height)
    top, previous = height, None
    for row, row_height in zip(rows, heights, strict=True):
        y = top - title - (row_height - title) / 2
        x = margin
        for i in row:
            first, last = _draw_group(ax, x, y, groups[i])
            if previous is not None and i == row[0]:
                _wrap(ax, previous, first, top + gap / 2, margin / 2)
            elif previous is not None:
                _join(ax, previous, first)
            previous = last
            x += sizes[i][0] + _GAP
        top -= row_height + gap
    _note(
        ax,
        (MAX_WIDTH / 2, 0.22),
        "each conv and each fc layer but the last is followed by a ReLU",
    )
    return ax


def _join(ax, a, b):
    """The arrow from box ``a`` to box ``b`` to its right: straight, or a step."""
    (_, ya), (_, yb) = _c(a), _c(b)
    x0, x1 = a.get_x() + a.get_width(), b.get_x()
    if abs(ya - yb) < 1e-9:
        _arrow(ax, (x0, ya), (x1, yb))
    else:
        middle = (x0 + x1) / 2
        _arrow(ax, path=[(x0, ya), (middle, ya), (middle, yb), (x1, yb)])


def _wrap(ax, a, b, y, x):
    """The arrow from box ``a`` at the end of a row to box ``b`` starting the next one.

    It runs right out of ``a``, down to ``y`` between the rows, left to ``x`` and in to
    ``b`` from the left.
    """
    (_, ya), (_, yb) = _c(a), _c(b)
    x0, x1 = a.get_x() + a.get_width(), b.get_x()
    path = [
        (x0, ya),
        (x0 + 0.15, ya),
        (x0 + 0.15, y),
        (x, y),
        (x, yb),
        (x1, yb),
    ]
    _arrow(ax, path=path)


def _inception_channels():
    """The output channels of each branch of inception 3a, and its output shape.

    Both come from running :class:`nnbook.cnn.Inception` on the ``meta`` device.
    """
    import torch

    from nnbook.cnn import Inception

    with torch.device("meta"):
        module = Inception(*_INCEPTION_3A)
        x = torch.empty(1, _INCEPTION_3A[0], 28, 28)
    return [branch(x).shape[1] for branch in module.branches], module(x).shape


def inception_module(*, ax=None):
    r"""The inception module of GoogLeNet, with dimension reductions, as inception 3a.

    The input feeds four parallel branches: a 1 x 1 convolution; a 1 x 1 reduction then a
    3 x 3 convolution; a 1 x 1 reduction then a 5 x 5 convolution (3 x 3 in torchvision and
    in :class:`nnbook.cnn.Inception`); a 3 x 3 max pooling then a 1 x 1 projection. Their
    maps, of equal height and width, are concatenated along the channels. The numbers are
    those of inception 3a, ``Inception(192, 64, 96, 128, 16, 32, 32)``; the branches' output
    channels and the total are computed by running that module on the ``meta`` device.
    The 1 x 1 reductions and the projection, which cut the channels before the expensive
    windows, are shaded darker.

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj = _INCEPTION_3A
    outs, shape = _inception_channels()
    ax = _canvas(ax, MAX_WIDTH, 4.35)
    xs = (0.95, 2.65, 4.35, 6.05)
    y_in, y_bus, y_low, y_high, y_cat = 0.35, 0.95, 1.55, 2.5, 3.5
    w, h = 1.5, 0.44
    reduce = {"share": 0.45, "gid": "reduce"}
    layer = {"gid": "layer"}
    # (label, style) of each branch, bottom up.
    branches = [
        [(f"1×1 conv, {c1}", layer)],
        [(f"1×1 conv, {c3_reduce}", reduce), (f"3×3 conv, {c3}", layer)],
        [
            (f"1×1 conv, {c5_reduce}", reduce),
            (f"5×5 conv, {c5}\n(3×3 in torchvision)", layer),
        ],
        [("3×3 max pool", {"gid": "pool"}), (f"1×1 conv, {pool_proj}", reduce)],
    ]
    _box(
        ax,
        (MAX_WIDTH / 2, y_in),
        2.3,
        0.42,
        f"input: {c_in}×28×28",
        fontsize=SMALL,
        color=NAVY,
        gid="input",
    )
    concat = _box(ax, (MAX_WIDTH / 2, y_cat), 6.6, 0.44, gid="concat")
    _text(
        ax,
        (MAX_WIDTH / 2, y_cat),
        f"concatenate along channels: {' + '.join(map(str, outs))} = {shape[1]}",
        fontsize=SMALL,
    )
    _line(ax, [(MAX_WIDTH / 2, y_in + 0.21), (MAX_WIDTH / 2, y_bus)])
    _line(ax, [(xs[0], y_bus), (xs[-1], y_bus)])
    _dot(ax, (MAX_WIDTH / 2, y_bus))
    for x, boxes, out in zip(xs, branches, outs, strict=True):
        ys = (y_high,) if len(boxes) == 1 else (y_low, y_high)
        patches = [
            _box(
                ax,
                (x, y),
                w,
                h + 0.12 * label.count("\n"),
                label,
                fontsize=SMALL,
                **style,
            )
            for (label, style), y in zip(boxes, ys, strict=True)
        ]
        if x != xs[0] and x != xs[-1]:
            _dot(ax, (x, y_bus))
        _arrow(ax, (x, y_bus), _c(patches[0]), B=patches[0], gid="split")
        for a, b in zip(patches[:-1], patches[1:], strict=True):
            _arrow(ax, _c(a), _c(b), A=a, B=b)
        _arrow(
            ax,
            _c(patches[-1]),
            (x, y_cat),
            A=patches[-1],
            B=concat,
            gid="merge",
        )
        _text(
            ax,
            (x + 0.1, (y_high + y_cat) / 2),
            str(out),
            ha="left",
            color=NAVY,
            fontsize=SMALL,
        )
    _note(ax, (0.1, y_in), "darker: 1×1 reductions", ha="left")
    _arrow(ax, (MAX_WIDTH / 2, y_cat + 0.22), (MAX_WIDTH / 2, 4.3))
    _text(
        ax,
        (MAX_WIDTH / 2 + 0.1, 4.07),
        "×".join(map(str, shape[1:])),
        ha="left",
        color=NAVY,
        fontsize=SMALL,
    )
    return ax


#: He et al.'s two residual units: the operations before and after the addition.
_RESIDUAL_UNITS = {
    "(a) original": (("conv", "BN", "ReLU", "conv", "BN"), ("ReLU",)),
    "(b) full pre-activation": (
        ("BN", "ReLU", "conv", "BN", "ReLU", "conv"),
        (),
    ),
}


def residual_blocks(*, ax=None):
    r"""Two residual units, one above the other: the original and the full pre-activation.

    (a) The original unit (He et al., 2016a): :math:`x_l \to` conv, BN, ReLU, conv, BN,
    plus the shortcut :math:`x_l`, then ReLU: :math:`x_{l+1} = \mathrm{ReLU}(x_l +
    F(x_l))`. (b) The full pre-activation unit (He et al., 2016b, "Identity mappings in
    deep residual networks"): BN, ReLU, conv, BN, ReLU, conv, plus :math:`x_l`, and
    nothing after the addition: :math:`x_{l+1} = x_l + F(x_l)`, so the shortcut path from
    unit to unit is the identity. The shortcut is drawn thick, in the colour of data; in
    (b) it runs on unchanged to :math:`x_{l+1}`. The two rows are aligned, so the
    operations that moved before the convolutions, and the addition that moved to the
    end, stand out.

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _canvas(ax, MAX_WIDTH, 3.3)
    # Nine places in a row: x_l, six operations and the addition, x_{l+1}.
    slot = (MAX_WIDTH - 0.2) / 9
    for row, (title, (before, after)) in enumerate(_RESIDUAL_UNITS.items()):
        y = 2.4 - 1.7 * row
        _note(ax, (0.1, y + 0.78), title, ha="left")
        centres = [0.1 + slot * (i + 0.5) for i in range(9)]
        x = _box(
            ax, (centres[0], y), 0.55, 0.44, "$x_l$", color=NAVY, gid="input"
        )
        chain = [x]
        for i, op in enumerate(before, start=1):
            chain.append(
                _box(
                    ax,
                    (centres[i], y),
                    0.54,
                    0.42,
                    op,
                    fontsize=SMALL,
                    gid="layer",
                )
            )
        plus = _circle(
            ax, (centres[len(chain)], y), 0.18, "$+$", fontsize=13, gid="add"
        )
        chain.append(plus)
        for op in after:
            centre = (centres[len(chain)], y)
            chain.append(
                _box(ax, centre, 0.54, 0.42, op, fontsize=SMALL, gid="layer")
            )
        out = _box(
            ax,
            (centres[-1], y),
            0.62,
            0.44,
            "$x_{l+1}$",
            color=NAVY,
            gid="output",
        )
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            _arrow(ax, _c(a), _c(b), A=a, B=b)
        identity = {"color": NAVY, "lw": 2.2, "gid": "shortcut"}
        _arrow(
            ax,
            _c(chain[-1]),
            _c(out),
            A=chain[-1],
            B=out,
            **({} if after else identity),
        )
        (xa, _), (xb, _) = _c(x), _c(plus)
        _arrow(
            ax,
            path=[
                (xa, y + 0.22),
                (xa, y + 0.55),
                (xb, y + 0.55),
                (xb, y + 0.18),
            ],
            **identity,
        )
        _text(
            ax,
            ((xa + xb) / 2, y + 0.7),
            "identity shortcut $x_l$",
            fontsize=SMALL,
            color=NAVY,
        )
        formula = (
            r"$x_{l+1} = \mathrm{ReLU}\,(x_l + F(x_l))$"
            if after
            else r"$x_{l+1} = x_l + F(x_l)$"
        )
        _text(
            ax,
            ((centres[1] + centres[len(before)]) / 2, y - 0.45),
            formula,
            fontsize=SMALL,
        )
    return ax


# --- 7. the invertible residual block ---------------------------------------------------------


def invertible_block(*, ax=None):
    r"""An invertible residual block, forward and inverted by fixed-point iteration.

    Top: :math:`y = x + g(x)`, with :math:`\mathrm{Lip}(g) \le c < 1`. Bottom: its inverse,
    the iteration :math:`x_{n+1} = y - g(x_n)` from :math:`x_0 = y`, drawn as a loop, which
    converges to :math:`x` because the map is a contraction.

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _canvas(ax, 7.0, 3.75)
    # Forward.
    yf = 2.8
    _text(
        ax,
        (0.1, 3.55),
        "forward",
        ha="left",
        color="#595959",
        fontsize=SMALL,
        style="italic",
    )
    x = _box(ax, (0.55, yf), 0.5, 0.44, "$x$", color=NAVY, gid="data")
    g = _box(ax, (2.55, yf), 0.6, 0.48, "$g$", gid="residual")
    plus = _circle(ax, (4.2, yf), 0.2, "$+$", fontsize=13, share=0, gid="add")
    y = _box(ax, (5.3, yf), 0.5, 0.44, "$y$", color=NAVY, gid="data")
    _arrow(ax, _c(x), _c(g), A=x, B=g)
    _arrow(ax, _c(g), _c(plus), A=g, B=plus)
    _text(ax, (3.4, yf + 0.2), "$g(x)$")
    _arrow(ax, _c(plus), _c(y), A=plus, B=y)
    _arrow(
        ax,
        path=[
            (0.55, yf + 0.22),
            (0.55, yf + 0.6),
            (4.2, yf + 0.6),
            (4.2, yf + 0.2),
        ],
        gid="shortcut",
    )
    _text(ax, (2.55, yf + 0.75), "identity: $x$", fontsize=SMALL)
    _text(
        ax,
        (2.55, yf - 0.42),
        r"$\mathrm{Lip}(g) \leq c < 1$",
        fontsize=SMALL,
        color=ORANGE,
    )
    _text(ax, (6.35, yf), "$y = x + g(x)$")
    # Inverse.
    yi = 0.95
    _text(
        ax,
        (0.1, 2.1),
        "inverse, by fixed-point iteration",
        ha="left",
        color="#595959",
        fontsize=SMALL,
        style="italic",
    )
    y2 = _box(ax, (0.55, yi), 0.5, 0.44, "$y$", color=NAVY, gid="data")
    xn = _box(ax, (2.05, yi), 0.55, 0.44, "$x_n$", color=NAVY, gid="data")
    g2 = _box(ax, (3.25, yi), 0.6, 0.48, "$g$", gid="residual")
    sub = _circle(ax, (4.6, yi), 0.2, "$+$", fontsize=13, share=0, gid="add")
    out = _box(
        ax,
        (6.27, yi),
        1.2,
        0.5,
        r"$x = \lim_{n \to \infty} x_n$",
        color=NAVY,
        gid="data",
    )
    _arrow(ax, _c(y2), _c(xn), A=y2, B=xn)
    _text(ax, (1.3, yi + 0.2), "$x_0 = y$", fontsize=SMALL)
    _arrow(ax, _c(xn), _c(g2), A=xn, B=g2)
    _arrow(ax, _c(g2), _c(sub), A=g2, B=sub)
    _text(ax, (3.95, yi + 0.2), "$g(x_n)$", fontsize=SMALL)
    _text(ax, (4.33, yi - 0.13), "$-$", fontsize=SMALL)
    # y comes into the sum from below, with a plus sign.
    sb = sub.center[1] - sub.radius
    _arrow(ax, path=[(0.55, yi - 0.22), (0.55, 0.2), (4.6, 0.2), (4.6, sb)])
    _text(ax, (4.72, sb - 0.12), "$+$", fontsize=SMALL)
    # The loop: x_{n+1} goes back to x_n.
    top = yi + 0.72
    _arrow(
        ax,
        path=[(4.6, yi + 0.2), (4.6, top), (2.05, top), (2.05, yi + 0.22)],
        gid="loop",
    )
    _text(
        ax,
        (3.32, top + 0.2),
        r"$x_{n+1} = y - g(x_n)$, then $n \leftarrow n + 1$",
        fontsize=SMALL,
    )
    _arrow(ax, _c(sub), _c(out), A=sub, B=out)
    _text(ax, (5.24, yi - 0.2), "converged", fontsize=SMALL, color="#595959")
    return ax


# --- 8. the roofline --------------------------------------------------------------------------


def _si(value, unit):
    for factor, prefix in (
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
    ):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def roofline(peak_flops=989e12, bandwidth=3.35e12, *, ax=None):
    r"""A schematic roofline: attainable FLOP/s against arithmetic intensity, log-log.

    The roof :math:`\min(P, \beta I)` rises with slope one where memory bandwidth
    :math:`\beta` limits (memory-bound), and is flat at the peak :math:`P` where arithmetic
    limits (compute-bound); the ridge point :math:`I = P / \beta` separates them. The
    defaults are the datasheet figures of an H100 (bf16 dense, HBM3). To place measured
    kernels on the roof of this machine, use
    :func:`nnbook.hardware.roofline.plot_roofline`.

    Parameters
    ----------
    peak_flops : float, default 989e12
        Peak throughput :math:`P`, in FLOP/s.
    bandwidth : float, default 3.35e12
        Memory bandwidth :math:`\beta`, in bytes/s.
    ax : matplotlib Axes, optional
        Where to draw; a new 6 x 3.6 inch figure when None.

    Returns
    -------
    matplotlib Axes
    """
    from nnbook.hardware.roofline import attainable

    for name, value in (("peak_flops", peak_flops), ("bandwidth", bandwidth)):
        number(name, value, low=0, low_open=True)
        if math.isinf(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if _checked_ax(ax) is None:
        _, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    ridge = peak_flops / bandwidth
    lo, hi = ridge / 100, ridge * 100
    xs = np.geomspace(lo, hi, 201)
    roof = np.array([attainable(x, peak_flops, bandwidth) for x in xs])
    ax.axvspan(lo, ridge, color=_tint(NAVY, 0.1), lw=0, gid="memory-bound")
    ax.axvspan(ridge, hi, color=_tint(ORANGE, 0.12), lw=0, gid="compute-bound")
    below = xs <= ridge
    ax.loglog(xs[below], roof[below], color=NAVY, lw=2.2, gid="roof")
    ax.loglog(xs[~below], roof[~below], color=ORANGE, lw=2.2, gid="roof")
    ax.plot([ridge], [peak_flops], "o", color=INK, ms=6, zorder=4, gid="ridge")
    ax.set(xlim=(lo, hi), ylim=(peak_flops / 300, peak_flops * 8))
    ax.set_xlabel("arithmetic intensity $I$ (FLOP/byte)", fontsize=FONT)
    ax.set_ylabel("attainable FLOP/s", fontsize=FONT)
    ax.tick_params(labelsize=SMALL)
    ax.grid(False)
    top = peak_flops * 4
    ax.text(
        math.sqrt(lo * ridge),
        top,
        "memory-bound",
        ha="center",
        va="center",
        color=NAVY,
        fontsize=FONT,
    )
    ax.text(
        math.sqrt(ridge * hi),
        top,
        "compute-bound",
        ha="center",
        va="center",
        color=ORANGE,
        fontsize=FONT,
    )
    ax.text(
        math.sqrt(ridge * hi),
        peak_flops / 1.6,
        f"$P$ = {_si(peak_flops, 'FLOP/s')}",
        ha="center",
        va="top",
        color=INK,
        fontsize=SMALL,
    )
    # The slope label, rotated to the line as drawn (the angle depends on the axes' shape).
    at = ridge / 12
    ax.figure.canvas.draw()
    p0 = ax.transData.transform((at, attainable(at, peak_flops, bandwidth)))
    p1 = ax.transData.transform(
        (at * 2, attainable(at * 2, peak_flops, bandwidth))
    )
    angle = math.degrees(math.atan2(p1[1] - p0[1], p1[0] - p0[0]))
    ax.text(
        at,
        attainable(at, peak_flops, bandwidth) * 1.9,
        rf"$\beta I$ with $\beta$ = "
        f"{_si(bandwidth, 'B/s')}",
        rotation=angle,
        rotation_mode="anchor",
        ha="center",
        va="bottom",
        color=INK,
        fontsize=SMALL,
    )
    ax.annotate(
        rf"ridge point $I = P/\beta \approx {ridge:.3g}$ FLOP/byte",
        (ridge, peak_flops),
        xytext=(ridge * 1.6, peak_flops / 40),
        fontsize=SMALL,
        color=INK,
        ha="left",
        va="center",
        arrowprops={
            "arrowstyle": "-|>",
            "color": GREY,
            "lw": 1.1,
            "shrinkA": 2,
            "shrinkB": 4,
        },
    )
    return ax
