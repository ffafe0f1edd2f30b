"""Figures of the Bayes error: the true boundary, and each model's error against the floor."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["draw_bayes_boundary", "draw_errors_against_floor"]


def draw_bayes_boundary(gx, gy, means, covs, priors, ax=None, **style):
    r"""Draw the boundary of the Bayes classifier of known Gaussian classes.

    The boundary separates the regions where different classes have the largest
    :math:`\pi_k \, \mathcal{N}(x; \mu_k, \Sigma_k)`; it is drawn as a dashed black
    contour of the label map on the grid.

    Parameters
    ----------
    gx, gy : numpy.ndarray
        Grid coordinates of shape (H, W), as returned by ``numpy.meshgrid``.
    means : torch.Tensor
        Class means, shape (K, 2).
    covs : torch.Tensor
        Class covariances, shape (K, 2, 2).
    priors : torch.Tensor
        Class priors, shape (K,).
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.
    **style
        Passed to ``ax.contour`` (default: black, dashed, width 1.5).

    Returns
    -------
    matplotlib Axes
    """
    gx, gy = np.asarray(gx), np.asarray(gy)
    if gx.ndim != 2 or gx.shape != gy.shape:
        raise ValueError(
            "gx and gy must be 2-D grids of one shape, "
            f"got {gx.shape} and {gy.shape}"
        )
    if means.ndim != 2 or means.shape[1] != 2:
        raise ValueError(
            f"means must have shape (K, 2), got {tuple(means.shape)}"
        )
    points = torch.as_tensor(
        np.column_stack([gx.ravel(), gy.ravel()]), dtype=means.dtype
    )
    density = torch.distributions.MultivariateNormal(means, covs)
    scores = density.log_prob(points[:, None, :]) + priors.log()
    label = scores.argmax(dim=1).reshape(gx.shape).numpy()
    ax = ax or plt.gca()
    style = {"colors": "black", "linestyles": "--", "linewidths": 1.5} | style
    ax.contour(gx, gy, label, levels=np.arange(len(means) - 1) + 0.5, **style)
    return ax


def draw_errors_against_floor(errors, floor, ax=None):
    """Each model's error, one dot per training draw, with the Bayes error as a line.

    Parameters
    ----------
    errors : mapping of str to sequence of float
        For each model (drawn top to bottom in order), its error (a fraction) after
        each training draw.
    floor : float
        The Bayes error (a fraction), drawn as a dashed vertical line.
    ax : matplotlib Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(errors, Mapping) or not errors:
        raise TypeError(
            "errors must be a non-empty mapping of model names to errors, "
            f"got {type(errors).__name__}"
        )
    if isinstance(floor, bool) or not isinstance(floor, int | float):
        raise TypeError(f"floor must be a float, got {type(floor).__name__}")
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must be an error in [0, 1], got {floor}")
    rows = {}
    for name, values in errors.items():
        if isinstance(values, str) or not isinstance(
            values, Sequence | np.ndarray
        ):
            raise TypeError(
                f"errors[{name!r}] must be a sequence of floats, got {type(values).__name__}"
            )
        values = np.asarray(values, dtype=float)
        if (
            values.ndim != 1
            or len(values) == 0
            or not np.isfinite(values).all()
        ):
            raise ValueError(
                f"errors[{name!r}] must be a non-empty list of finite errors, got {values}"
            )
        rows[name] = values
    ax = ax or plt.gca()
    for i, values in enumerate(rows.values()):
        ax.scatter(
            100 * values,
            np.full(len(values), i),
            s=14,
            alpha=0.6,
            color="tab:blue",
        )
        ax.plot(
            100 * values.mean(), i, "|", color="black", markersize=14, mew=2
        )
    ax.axvline(
        100 * floor, color="tab:red", linestyle="--", label="Bayes error"
    )
    ax.set_yticks(range(len(rows)), list(rows))
    ax.invert_yaxis()
    right = 100 * max(v.max() for v in rows.values())
    ax.set_xlim(
        100 * floor - 0.05 * (right - 100 * floor) - 0.1, math.ceil(right + 0.5)
    )
    ax.set_xlabel("error (%): dots one training draw each, bars the mean")
    ax.legend(loc="lower right")
    return ax
