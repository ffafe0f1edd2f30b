"""Figures of the diagnostics of a trained i-ResNet.

The largest Jacobian norm of every block against its Lipschitz bound, the eigenvalues of
the Jacobians in the complex plane with the disk the bound allows, and the singular
values of :math:`I + J_g` against the interval :math:`[1 - L, 1 + L]`. Every function
draws numbers that the notebook computed (:mod:`nnbook.invertible`); none evaluates a
model.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "draw_block_norms",
    "draw_eigenvalues",
    "draw_singular_values",
]


def _positive(name, value):
    """A finite positive float, or a TypeError / ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def draw_block_norms(norms, bound, ax=None):
    r"""Grouped bars: per block, the largest :math:`\lVert J_g \rVert_2` found, for each model, under the bound.

    Parameters
    ----------
    norms : dict
        Legend label -> one number per block (all of the same length).
    bound : float
        The Lipschitz bound of every block, drawn as a dashed line.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 x 3.2 inch figure.

    Returns
    -------
    matplotlib Axes
    """
    _mapping("norms", norms)
    bound = _positive("bound", bound)
    lengths = {len(v) for v in norms.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"norms must have one number per block for every label, got lengths {sorted(lengths)}"
        )
    (n_blocks,) = lengths
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.8 / len(norms)
    for k, (label, values) in enumerate(norms.items()):
        positions = np.arange(n_blocks) + (k - (len(norms) - 1) / 2) * width
        ax.bar(positions, [float(v) for v in values], width, label=label)
    ax.axhline(bound, color="black", linestyle="--", label=f"bound {bound:.3f}")
    ax.set(
        xticks=range(n_blocks),
        xticklabels=[f"block {b + 1}" for b in range(n_blocks)],
        ylabel="largest $\\|J_g\\|_2$ found",
        ylim=(0, 1.4),
    )
    ax.legend(loc="upper left", ncol=3, fontsize="small")
    return ax


def draw_eigenvalues(eigenvalues, radius):
    """One panel per model: the eigenvalues of :math:`J_g` in the complex plane, and the disk of radius ``radius``.

    Parameters
    ----------
    eigenvalues : dict
        Panel title -> a complex tensor of eigenvalues (any shape, flattened).
    radius : float
        The Lipschitz bound: no eigenvalue lies outside the disk of this radius.

    Returns
    -------
    matplotlib Figure
    """
    _mapping("eigenvalues", eigenvalues)
    radius = _positive("radius", radius)
    for label, values in eigenvalues.items():
        if not isinstance(values, torch.Tensor):
            raise TypeError(
                f"eigenvalues[{label!r}] must be a torch.Tensor, got {type(values).__name__}"
            )
    fig, axes = plt.subplots(
        1,
        len(eigenvalues),
        figsize=(3.2 * len(eigenvalues), 3.2),
        squeeze=False,
    )
    angle = np.linspace(0, 2 * np.pi, 200)
    for ax, (label, values) in zip(axes[0], eigenvalues.items(), strict=True):
        values = values.flatten()
        ax.plot(radius * np.cos(angle), radius * np.sin(angle), "k--", lw=1)
        ax.plot(values.real.numpy(), values.imag.numpy(), ".", markersize=2)
        ax.set(
            title=label,
            xlabel="real part",
            xlim=(-1.05 * radius, 1.05 * radius),
            ylim=(-1.05 * radius, 1.05 * radius),
            aspect="equal",
        )
    axes[0][0].set_ylabel("imaginary part")
    fig.tight_layout()
    return fig


def draw_singular_values(singular_values, lipschitz, ax=None):
    """Histograms of the singular values of :math:`I + J_g`, with the interval :math:`[1 - L, 1 + L]` that holds them.

    Parameters
    ----------
    singular_values : dict
        Legend label -> a tensor of singular values (any shape, flattened).
    lipschitz : float
        The bound :math:`L`, in (0, 1).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    _mapping("singular_values", singular_values)
    L = _positive("lipschitz", lipschitz)
    if L >= 1:
        raise ValueError(f"lipschitz must be below 1, got {L}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    bins = np.linspace(1 - L, 1 + L, 61)
    for label, values in singular_values.items():
        if not isinstance(values, torch.Tensor):
            raise TypeError(
                f"singular_values[{label!r}] must be a torch.Tensor, got {type(values).__name__}"
            )
        ax.hist(values.flatten().numpy(), bins=bins, alpha=0.6, label=label)
    for edge in (1 - L, 1 + L):
        ax.axvline(edge, color="black", linestyle="--")
    ax.set(xlabel="singular value of $I + J_g$", ylabel="count", yscale="log")
    ax.legend(fontsize="small")
    return ax
