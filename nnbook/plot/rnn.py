"""Figures of the recurrent chapter: the unrolled network, gradients over time, LSTM
and LSTM memories (forecasts and learning curves are in
:mod:`nnbook.plot.forecast`).

Each function draws one figure of a section of the chapter from the numbers that the
section computed; the experiment itself stays in the notebook. A function that draws on
one Axes takes ``ax=None`` and returns the Axes; one that stacks several panels makes its
own Figure and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "draw_unrolled",
    "plot_bit_memory",
    "plot_counter_memory",
    "plot_gradient_by_lag",
]


def _int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def draw_unrolled(ax=None, *, layers=4, steps=8):
    """The units of a recurrent network unrolled in time, as a grid of circles and arrows.

    The input layer is at the bottom and the output layer at the top. Blue arrows go up
    from layer to layer within a step (the feedforward weights: :math:`W_{ih}` into each
    hidden layer, and the output layer's own weights at the top), red arrows go right
    from each hidden unit to the same layer at the next step (:math:`W_{hh}`).

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.5 inch figure.
    layers : int, default 4
        The layers in space, input and output included (at least 2).
    steps : int, default 8
        The time steps (at least 1).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``layers`` or ``steps`` is not an int, or ``ax`` is not an Axes.
    ValueError
        If ``layers`` is below 2 or ``steps`` below 1.
    """
    layers = _int("layers", layers, 2)
    steps = _int("steps", steps, 1)
    ax = _axes(ax, (7, 3.5))
    for t in range(steps):
        for layer in range(layers):
            hidden = 0 < layer < layers - 1
            color = "tab:orange" if hidden else "0.75"
            ax.add_patch(plt.Circle((t, layer), 0.22, color=color, zorder=3))
            up = dict(arrowstyle="->", color="tab:blue")
            right = dict(arrowstyle="->", color="tab:red")
            if layer < layers - 1:
                ax.annotate(
                    "", (t, layer + 0.75), (t, layer + 0.25), arrowprops=up
                )
            if hidden and t < steps - 1:
                ax.annotate(
                    "", (t + 0.75, layer), (t + 0.25, layer), arrowprops=right
                )
    ax.set(xlim=(-0.6, steps - 0.4), ylim=(-0.6, layers - 0.4), aspect="equal")
    ax.set_xticks(range(steps), [f"t={t + 1}" for t in range(steps)])
    names = ["input", *(f"hidden {k}" for k in range(1, layers - 1)), "output"]
    ax.set_yticks(range(layers), names)
    ax.set_xlabel("time  →  (recurrent weights $W_{hh}$, red)")
    ax.set_ylabel("space  →  (feedforward weights, blue)")
    for side in ax.spines.values():
        side.set_visible(False)
    return ax


def plot_gradient_by_lag(
    curves, ax=None, *, title=None, legend=True, legend_fontsize=None
):
    """Gradient norms against the lag k, on a logarithmic axis, one line per setting.

    Parameters
    ----------
    curves : dict
        ``{label: norms}``: for each setting, the norm of the gradient that reaches lag
        k = 0, 1, 2, ..., relative to lag 0.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.6 inch figure.
    title : str, optional
        The title of the Axes.
    legend : bool, default True
        Draw a legend of the labels.
    legend_fontsize : float or str, optional
        The legend's font size; by default matplotlib's.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``curves`` is not a dict or an entry is not a sequence of numbers.
    ValueError
        If ``curves`` or one of its entries is empty.
    """
    _mapping("curves", curves)
    arrays = {
        label: _array(f"curves[{label!r}]", c, ndim=1)
        for label, c in curves.items()
    }
    for label, c in arrays.items():
        if len(c) == 0:
            raise ValueError(
                f"curves[{label!r}] must hold at least one norm, got none"
            )
    ax = _axes(ax, (7, 3.6))
    for label, c in arrays.items():
        ax.semilogy(np.arange(len(c)), c, label=label)
    ax.set(xlabel="lag k", ylabel="relative gradient norm")
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=legend_fontsize)
    return ax


def plot_counter_memory(cell, hidden, count, unit, symbols, *, sign=1.0):
    """Three stacked panels: the cell states and hidden states of an LSTM that counts, and
    the cell state of one unit against the count.

    Parameters
    ----------
    cell, hidden : tensor or array of shape (T, H)
        The cell states :math:`c_t` and hidden states :math:`h_t` of one sequence.
    count : tensor or array of shape (T,)
        The count the sequence asks for at every step.
    unit : int
        The unit whose cell state the lowest panel draws.
    symbols : str or sequence of str
        The input symbol of every step, written under the lowest panel.
    sign : float, default 1.0
        The sign the count is drawn with (+1 or -1), so that it runs the same way as the
        unit's cell state; the count is also scaled to the cell state's largest size.

    Returns
    -------
    matplotlib Figure
        The upper two Axes show the states as images (unit against step, red positive,
        blue negative, with a colour bar each). The cell states are scaled unit by unit
        to their own largest size, which the unit's label gives, so that a unit that
        moves between 0 and 2 stays visible next to one that drifts to 15. The hidden
        states keep their own values, on the scale from -1 to 1 that bounds them. The
        label of ``unit`` says "(count)". The lowest Axes shows the cell state
        of ``unit`` with markers and the scaled count dashed.

    Raises
    ------
    TypeError
        If an array argument is not a tensor, an array or a sequence of numbers, or
        ``unit`` is not an int.
    ValueError
        If the shapes disagree, ``unit`` is not a unit of ``cell``, ``symbols`` does not
        hold one symbol per step, or ``sign`` is not +1 or -1.
    """
    cell = _array("cell", cell, ndim=2)
    hidden = _array("hidden", hidden, ndim=2)
    count = _array("count", count, ndim=1)
    if cell.shape != hidden.shape or len(count) != len(cell):
        raise ValueError(
            "cell and hidden must have the same shape (T, H) and count the length T, got "
            f"{cell.shape}, {hidden.shape} and {count.shape}"
        )
    unit = _int("unit", unit, 0)
    if unit >= cell.shape[1]:
        raise ValueError(
            f"unit must be below the {cell.shape[1]} units of cell, got {unit}"
        )
    if len(symbols) != len(cell):
        raise ValueError(
            f"symbols must hold one symbol per step ({len(cell)}), got {len(symbols)}"
        )
    sign = float(sign)
    if sign not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    fig, axes = plt.subplots(3, 1, figsize=(7, 6), sharex=True)
    sizes = np.abs(cell).max(axis=0)  # (H,): each unit's own colour scale
    scaled = cell / np.where(sizes > 0, sizes, 1.0)
    panels = (
        (
            "cell state $c_t$ (long-term), each unit scaled",
            scaled,
            "$c / \\max|c|$",
        ),
        ("hidden state $h_t$ (working)", hidden, "$h$"),
    )
    for ax, (title, values, bar) in zip(axes[:2], panels, strict=True):
        image = ax.imshow(
            values.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1
        )
        ax.set(ylabel="unit", title=title)
        fig.colorbar(image, ax=ax, pad=0.01, label=bar)
    names = [
        f"{u} (count)" if u == unit else f"{u}" for u in range(cell.shape[1])
    ]
    axes[0].set_yticks(
        range(cell.shape[1]),
        [f"{name}: ±{s:.2g}" for name, s in zip(names, sizes, strict=True)],
        fontsize=8,
    )
    axes[1].set_yticks(range(cell.shape[1]), names, fontsize=8)
    for ax in axes[:2]:
        ax.grid(False)
    axes[2].plot(cell[:, unit], marker="o", label=f"cell state of unit {unit}")
    scale = sign * np.abs(cell[:, unit]).max() / count.max()
    axes[2].plot(scale * count, "k--", label="count (scaled, same sign)")
    axes[2].legend(fontsize=8)
    axes[2].set_xticks(range(len(cell)), list(symbols))
    axes[2].set_xlabel("input symbol")
    fig.tight_layout()
    return fig


def plot_bit_memory(
    cell, gate, lengths, first_kind, unit, *, names=("A…", "B…")
):
    """Two stacked panels: one unit's cell state and input gate over the steps of
    several sequences of two kinds.

    Parameters
    ----------
    cell, gate : tensor or array of shape (T, N)
        The unit's cell state and input gate at every step of N sequences.
    lengths : tensor or array of shape (N,)
        How many steps of each sequence to draw.
    first_kind : tensor or array of shape (N,)
        True for a sequence of the first kind (solid, blue), False for the second
        (dashed, red).
    unit : int
        The unit's number, for the titles.
    names : pair of str, default ("A…", "B…")
        The legend's names for the two kinds.

    Returns
    -------
    matplotlib Figure
        The upper Axes shows the cell state with a line at zero and a legend; the lower
        one the input gate, between 0 and 1.

    Raises
    ------
    TypeError
        If an array argument is not a tensor, an array or a sequence of numbers, or
        ``unit`` is not an int.
    ValueError
        If the shapes disagree, a length is not between 1 and T, or ``names`` is not a
        pair.
    """
    cell = _array("cell", cell, ndim=2)
    gate = _array("gate", gate, ndim=2)
    lengths = _array("lengths", lengths, ndim=1)
    first_kind = _array("first_kind", first_kind, ndim=1).astype(bool)
    if (
        cell.shape != gate.shape
        or not len(lengths) == len(first_kind) == cell.shape[1]
    ):
        raise ValueError(
            "cell and gate must have the same shape (T, N), lengths and first_kind the "
            f"length N, got {cell.shape}, {gate.shape}, {lengths.shape} and {first_kind.shape}"
        )
    if lengths.min() < 1 or lengths.max() > len(cell):
        raise ValueError(
            f"lengths must lie between 1 and {len(cell)}, got {lengths.astype(int).tolist()}"
        )
    unit = _int("unit", unit, 0)
    if isinstance(names, str) or len(names) != 2:
        raise ValueError(f"names must be a pair of str, got {names!r}")
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5))
    labelled = set()
    for n, length in enumerate(lengths.astype(int)):
        kind = bool(first_kind[n])
        style, color = ("-", "tab:blue") if kind else ("--", "tab:red")
        label = None if kind in labelled else names[0 if kind else 1]
        labelled.add(kind)
        axes[0].plot(cell[:length, n], style, color=color, label=label)
        axes[1].plot(gate[:length, n], style, color=color)
    axes[0].axhline(0, color="k", lw=0.5)
    axes[0].set(title=f"cell state of unit {unit}", xlabel="step")
    axes[1].set(title=f"input gate of unit {unit}", xlabel="step", ylim=(0, 1))
    axes[0].legend()
    fig.tight_layout()
    return fig
