"""Learning curves with their spread, and the paired difference of two of them.

Two figures of the Ng and Jordan section: the mean test error of each model over the
random splits with a band of one standard error, and the per-split difference of two
models with an interval around it. Each function draws what the notebook computed.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from nnbook.plot._checks import array, axes, mapping

__all__ = ["draw_learning_bands", "draw_paired_differences"]


def _sizes(sizes):
    sizes = array("sizes", sizes, ndim=1)
    if len(sizes) == 0 or (sizes <= 0).any():
        raise ValueError(
            f"sizes must be a non-empty list of positive sizes, got {sizes}"
        )
    return sizes


def _labelled(ax, ylabel, title):
    """``ax`` with a log axis of training-set sizes, ``ylabel`` and ``title``."""
    ax.set_xscale("log")
    ax.set_xlabel("training examples m")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def draw_learning_bands(sizes, errors, ax=None, *, title="", dashed=()):
    """Mean test error in percent over the splits, with a band of one standard error.

    Parameters
    ----------
    sizes : sequence of int
        The M training-set sizes :math:`m`, drawn on a log axis.
    errors : dict
        For each model (a name), its test errors (fractions) as an array of shape
        (S, M): one row per random split, S at least 2.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.
    title : str, default ""
    dashed : collection of str, default ()
        Models drawn with a dashed line; the others are solid.

    Returns
    -------
    matplotlib Axes
    """
    sizes = _sizes(sizes)
    mapping("errors", errors)
    if isinstance(dashed, str) or not isinstance(dashed, Collection):
        raise TypeError(
            f"dashed must be a collection of model names, got {dashed!r}"
        )
    unknown = set(dashed) - set(errors)
    if unknown:
        raise ValueError(
            f"dashed must name models in errors, got {sorted(unknown)}"
        )
    ax = axes(ax, (4, 3))
    for name, e in errors.items():
        e = array(f"errors[{name!r}]", e, ndim=2)
        if e.shape[1] != len(sizes) or e.shape[0] < 2:
            raise ValueError(
                f"errors[{name!r}] must have shape (S >= 2, {len(sizes)}), "
                f"got {e.shape}"
            )
        mean = 100 * e.mean(axis=0)
        se = 100 * e.std(axis=0, ddof=1) / np.sqrt(e.shape[0])
        style = "--" if name in dashed else "-"
        (line,) = ax.plot(
            sizes, mean, style, marker="o", markersize=3, label=name
        )
        ax.fill_between(
            sizes, mean - se, mean + se, color=line.get_color(), alpha=0.2
        )
    return _labelled(ax, "test error (%)", title)


def draw_paired_differences(sizes, mean, se, ax=None, *, title="", z=2.0):
    """A paired difference of errors in percentage points, with bars of ``z`` standard errors.

    Parameters
    ----------
    sizes : sequence of int
        The M training-set sizes :math:`m`, drawn on a log axis.
    mean, se : sequence of float
        Shape (M,): the mean difference of the two models' errors (fractions) and its
        standard error, as :func:`nnbook.generative.paired_difference` returns them.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.
    title : str, default ""
    z : float, default 2.0
        Half-width of each bar, in standard errors.

    Returns
    -------
    matplotlib Axes
    """
    sizes = _sizes(sizes)
    mean = array("mean", mean, ndim=1)
    se = array("se", se, ndim=1)
    for name, value in (("mean", mean), ("se", se)):
        if value.shape != sizes.shape:
            raise ValueError(
                f"{name} must have shape {sizes.shape} like sizes, got {value.shape}"
            )
    if (se < 0).any() or np.isnan(se).any():
        raise ValueError(f"se must hold standard errors >= 0, got {se}")
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0:
        raise ValueError(f"z must be a positive number, got {z!r}")
    ax = axes(ax, (4, 3))
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.errorbar(
        sizes, 100 * mean, yerr=100 * z * se, fmt="o", markersize=4, capsize=3
    )
    return _labelled(ax, "difference (points)", title)
