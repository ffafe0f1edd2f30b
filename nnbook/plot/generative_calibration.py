"""Reliability diagrams: announced probability against observed frequency.

The function draws curves that :func:`nnbook.generative.reliability_curve` computed,
and computes nothing of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

__all__ = ["draw_reliability_diagram"]

_FIELDS = ("confidence", "frequency", "count", "edges")


def _numpy(x) -> np.ndarray:
    return (
        x.detach().cpu().numpy()
        if isinstance(x, torch.Tensor)
        else np.asarray(x)
    )


def draw_reliability_diagram(curves, ax, *, hist_ax=None, log_counts=True):
    """Draw one reliability curve per model, the diagonal, and how many fall in each bin.

    Parameters
    ----------
    curves : dict
        Model name to a :class:`nnbook.generative.ReliabilityCurve` (anything with
        ``confidence``, ``frequency``, ``count`` and ``edges``).
    ax : matplotlib Axes
        Receives the curves, as frequency against mean predicted probability, and the
        dashed diagonal of perfect calibration.
    hist_ax : matplotlib Axes, optional
        Receives, per model, the number of predictions in each bin as outlined bars in
        the model's colour: the histogram of predicted probabilities.
    log_counts : bool, default True
        Put the histogram's counts on a logarithmic axis (an overconfident model piles
        its predictions into the two end bins).

    Returns
    -------
    matplotlib Axes
        ``ax``.
    """
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(
            "curves must be a non-empty dict of name -> ReliabilityCurve, "
            f"got {type(curves).__name__}"
            + (" (empty)" if isinstance(curves, Mapping) else "")
        )
    for name, curve in curves.items():
        missing = [f for f in _FIELDS if not hasattr(curve, f)]
        if missing:
            raise TypeError(
                f"curves[{name!r}] must be a ReliabilityCurve, got "
                f"{type(curve).__name__} without {', '.join(missing)}"
            )
    if not isinstance(log_counts, bool):
        raise TypeError(
            f"log_counts must be a bool, got {type(log_counts).__name__}"
        )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    for name, curve in curves.items():
        (line,) = ax.plot(
            _numpy(curve.confidence),
            _numpy(curve.frequency),
            "o-",
            ms=4,
            label=name,
        )
        if hist_ax is not None:
            edges, count = _numpy(curve.edges), _numpy(curve.count)
            hist_ax.bar(
                edges[:, 0],
                count,
                width=edges[:, 1] - edges[:, 0],
                align="edge",
                fill=False,
                edgecolor=line.get_color(),
                lw=1.5,
                label=name,
            )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="mean predicted probability",
        ylabel="observed frequency",
        aspect="equal",
    )
    ax.legend(loc="upper left", fontsize="small")
    if hist_ax is not None:
        hist_ax.set(xlim=(0, 1), xlabel="predicted probability", ylabel="count")
        if log_counts:
            hist_ax.set_yscale("log")
    return ax
