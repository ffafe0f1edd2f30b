"""Figures of the estimators' variance in the invertible-ResNet chapter.

The running sample variance of a Russian-roulette estimate, which settles where the
variance is finite and keeps jumping where it is not, and the bias of a truncated
gradient against the number of its terms (:mod:`nnbook.invertible`). Every function
draws data that the notebook computed.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch

from nnbook.plot._checks import mapping as _mapping

__all__ = ["draw_gradient_bias", "draw_running_variance"]


def draw_running_variance(samples, theory=None, ax=None):
    """The sample variance of the first n draws against n, on log-log axes.

    Parameters
    ----------
    samples : dict
        Legend label -> a 1-D tensor of independent draws of an estimate (at least 10).
    theory : dict, optional
        Some of the same labels -> the exact variance, drawn as a dotted line in the
        colour of its curve.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 x 3.6 inch figure.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``samples`` or ``theory`` is not a dict, or a sample is not a 1-D tensor.
    ValueError
        If ``samples`` is empty, a sample has fewer than 10 draws, or ``theory`` names
        a label that ``samples`` lacks.
    """
    _mapping("samples", samples)
    theory = {} if theory is None else theory
    if not isinstance(theory, Mapping):
        raise TypeError(f"theory must be a dict, got {type(theory).__name__}")
    if not set(theory) <= set(samples):
        raise ValueError(
            f"theory must use labels of samples, {sorted(samples)}, got {sorted(theory)}"
        )
    for label, draws in samples.items():
        if not isinstance(draws, torch.Tensor) or draws.ndim != 1:
            raise TypeError(
                f"samples[{label!r}] must be a 1-D tensor, got {type(draws).__name__}"
            )
        if len(draws) < 10:
            raise ValueError(
                f"samples[{label!r}] must hold at least 10 draws, got {len(draws)}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for label, draws in samples.items():
        d = draws.double()
        n = torch.arange(1, len(d) + 1, dtype=d.dtype)
        mean = d.cumsum(0) / n
        variance = ((d**2).cumsum(0) / n - mean**2) * n / (n - 1).clamp(min=1)
        keep = (
            torch.unique(torch.logspace(1, torch.log10(n[-1]), 200).long()) - 1
        )
        line = ax.loglog(n[keep], variance[keep], label=label)[0]
        if label in theory:
            ax.axhline(theory[label], ls=":", color=line.get_color())
    ax.set(xlabel="number of draws n", ylabel="sample variance of n draws")
    ax.legend()
    return ax


def draw_gradient_bias(n_terms, bias, noise=None, ax=None, points=None):
    """The relative bias of a truncated gradient against its number of terms.

    Parameters
    ----------
    n_terms : sequence of int
        The numbers of terms.
    bias : dict
        Legend label -> the relative bias at each entry of ``n_terms`` (positive), on a
        log scale.
    noise : float, optional
        A level to mark with a dashed line, such as the standard error of an unbiased
        estimate averaged over the same number of draws.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 x 3.6 inch figure.
    points : dict, optional
        Legend label -> ``(terms, error)``: single measurements to mark, such as the
        measured error of an unbiased estimate at its expected number of terms.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``bias`` or ``points`` is not a dict.
    ValueError
        If ``bias`` is empty, a curve is not as long as ``n_terms``, or a point is
        not a pair.
    """
    _mapping("bias", bias)
    points = {} if points is None else points
    if not isinstance(points, dict):
        raise TypeError(
            f"points must be a dict label -> (terms, error), got {type(points).__name__}"
        )
    for label, point in points.items():
        if len(point) != 2:
            raise ValueError(
                f"points[{label!r}] must be a pair (terms, error), got {len(point)} values"
            )
    n_terms = list(n_terms)
    for label, curve in bias.items():
        if len(curve) != len(n_terms):
            raise ValueError(
                f"bias[{label!r}] must have one value per entry of n_terms "
                f"({len(n_terms)}), got {len(curve)}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for label, curve in bias.items():
        ax.semilogy(n_terms, [float(b) for b in curve], "o-", label=label)
    if noise is not None:
        ax.axhline(
            float(noise),
            ls="--",
            color="0.4",
            label="noise of the unbiased mean",
        )
    for label, (terms, error) in points.items():
        ax.semilogy([float(terms)], [float(error)], "*", ms=12, label=label)
    ax.set(
        xlabel="terms of the truncated Neumann series", ylabel="relative bias"
    )
    ax.legend()
    return ax
