"""Drawings of a fully connected network and of an activation with its derivative."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["draw_network", "function_and_derivative"]


def draw_network(sizes, ax=None, *, max_neurons=8, labels=True):
    r"""Draw a fully connected network: one column of neurons per layer.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`F_0, \dots, F_N`. Layers wider than ``max_neurons`` are drawn
        with ``max_neurons`` circles and a vertical ellipsis.
    ax : matplotlib Axes, optional
    labels : bool, default True
        Write the layer index :math:`\nu` and width :math:`F_\nu` under each column.

    Returns
    -------
    matplotlib Axes
    """
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"sizes must hold at least 2 positive widths, got {list(sizes)}"
        )
    ax = ax or plt.gca()
    shown = [min(F, max_neurons) for F in sizes]
    columns = []
    for nu, n in enumerate(shown):
        y = np.linspace(-(n - 1) / 2, (n - 1) / 2, n) if n > 1 else np.zeros(1)
        columns.append((np.full(n, float(nu)), y))
    for (x0, y0), (x1, y1) in zip(columns[:-1], columns[1:], strict=True):
        for a in y0:
            for b in y1:
                ax.plot([x0[0], x1[0]], [a, b], color="0.75", lw=0.6, zorder=1)
    N = len(sizes) - 1
    for nu, (x, y) in enumerate(columns):
        color = "#1f3b57" if nu in (0, N) else "#d9822b"
        ax.scatter(x, y, s=160, color=color, zorder=2, edgecolor="white")
        if sizes[nu] > max_neurons:
            ax.text(x[0] + 0.12, 0, "⋮", fontsize=14, va="center")
        if labels:
            role = "input" if nu == 0 else "output" if nu == N else "hidden"
            ax.text(
                x[0],
                -max(shown) / 2 - 0.9,
                f"ν = {nu}\n{role}\nF = {sizes[nu]}",
                ha="center",
                va="top",
                fontsize=9,
            )
    ax.set_xlim(-0.6, N + 0.6)
    ax.set_ylim(-max(shown) / 2 - 2.6, max(shown) / 2 + 0.6)
    ax.axis("off")
    return ax


def function_and_derivative(a, h, dh, ax=None, *, title=""):
    """Plot an activation and its derivative on one axes (the survey's figures 4.3-4.7)."""
    ax = ax or plt.gca()
    ax.plot(a, h, lw=2, label="g(a)")
    ax.plot(a, dh, lw=2, ls="--", label="g′(a)")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_title(title)
    ax.set_xlabel("a")
    ax.legend(loc="upper left", fontsize=8)
    return ax
