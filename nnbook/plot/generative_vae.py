"""Figures of the variational autoencoder: points coloured by their code, and the codes.

Each function draws what the notebook computed and computes nothing of its own except
the prior's density, drawn for comparison.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from nnbook.plot.generative import _array

__all__ = ["draw_coloured_points", "draw_code_histogram"]


def _limit(limit) -> float:
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise TypeError(f"limit must be a number, got {type(limit).__name__}")
    if not limit > 0:
        raise ValueError(f"limit must be positive, got {limit}")
    return float(limit)


def draw_coloured_points(
    points, values, ax=None, *, title="", limit=3.0, size=3, background=None
):
    """Two-dimensional points coloured by one number each, such as their latent code.

    Parameters
    ----------
    points : array or Tensor of shape (n, 2)
    values : array or Tensor of shape (n,)
        The colour of each point, on the "viridis" scale.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    title : str, default ""
    limit : float, default 3.0
        Both axes run from ``-limit`` to ``limit``, at equal scale.
    size : float, default 3
        The marker size.
    background : array or Tensor of shape (m, 2), optional
        Points drawn first in light grey, such as the data under a curve.

    Returns
    -------
    matplotlib PathCollection
        The coloured points, for a colour bar.
    """
    points, values = _array("points", points), _array("values", values)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if values.shape != (len(points),):
        raise ValueError(
            f"values must have shape ({len(points)},), one per point, got {values.shape}"
        )
    limit = _limit(limit)
    ax = ax or plt.gca()
    if background is not None:
        background = _array("background", background)
        if background.ndim != 2 or background.shape[1] != 2:
            raise ValueError(
                f"background must have shape (m, 2), got {background.shape}"
            )
        ax.scatter(*background.T, s=2, color="0.8")
    dots = ax.scatter(*points.T, c=values, s=size, cmap="viridis")
    ax.set_title(title)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    return dots


def draw_code_histogram(codes, ax=None, *, title="", bins=40, label="codes"):
    """A density histogram of one-dimensional codes, with the prior N(0, 1) over it.

    Parameters
    ----------
    codes : array or Tensor of shape (n,)
        For example the encoder's means of the held-out data.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    title : str, default ""
    bins : int, default 40
    label : str, default "codes"
        The histogram's entry in the legend, such as "code means".

    Returns
    -------
    matplotlib Axes
    """
    codes = _array("codes", codes)
    if codes.ndim != 1:
        raise ValueError(f"codes must have shape (n,), got {codes.shape}")
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"bins must be an int, got {type(bins).__name__}")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    ax = ax or plt.gca()
    ax.hist(
        codes,
        bins=bins,
        density=True,
        color="tab:blue",
        alpha=0.6,
        label=label,
    )
    grid = np.linspace(-3.5, 3.5, 200)
    prior = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    ax.plot(grid, prior, color="black", label="prior N(0, 1)")
    ax.set(title=title, xlabel="z", xlim=(-3.5, 3.5))
    ax.legend(loc="upper right", fontsize="small")
    return ax
