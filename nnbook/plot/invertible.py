"""Figures of the invertible-ResNet chapter.

An activation with its slope, the error of the fixed-point inverse against Banach's bound,
the training curves of a flow, fixed-point residuals block by block, and the fitted
densities of the 2-D experiment (:mod:`nnbook.invertible`). Every function draws
data that the notebook computed; none of them trains or evaluates a model, except
:func:`draw_toy_densities`, which evaluates the trained flows on a grid and samples them.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from nnbook.invertible import _toy as toy
from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "draw_activation_and_slope",
    "draw_banach_errors",
    "draw_fixed_point_residuals",
    "draw_learning_curves",
    "draw_toy_densities",
    "draw_training_histories",
]


def _length(name, value):
    """The length of a sequence or 1-D array, with a TypeError for anything else."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        raise TypeError(
            f"{name} must be a sequence of numbers, got {type(value).__name__}"
        )
    return len(value)


def draw_activation_and_slope(
    x, curves, *, title="LipSwish", slope_title="its derivative, never above 1"
):
    """Two stacked panels: a family of activations above, their derivatives below.

    Parameters
    ----------
    x : sequence of float or 1-D tensor
        The inputs, shared by every curve.
    curves : dict
        Legend label -> ``(values, slopes)``, each as long as ``x``.
    title, slope_title : str
        The titles of the upper and the lower panel.

    Returns
    -------
    matplotlib Figure
        With two Axes, sharing the x axis; the legend is on the lower one.

    Raises
    ------
    TypeError
        If ``x`` or a curve is not a sequence, ``curves`` is not a dict, or an entry is
        not a tuple or list.
    ValueError
        If ``curves`` is empty, an entry does not hold two curves, or a curve's length
        differs from that of ``x``.
    """
    n = _length("x", x)
    for label, pair in _mapping("curves", curves).items():
        if not isinstance(pair, Sequence):
            raise TypeError(
                f"curves[{label!r}] must be a pair (values, slopes), got {type(pair).__name__}"
            )
        if len(pair) != 2:
            raise ValueError(
                f"curves[{label!r}] must be a pair (values, slopes), got {len(pair)} items"
            )
        for part, values in zip(("values", "slopes"), pair, strict=True):
            if _length(f"curves[{label!r}] {part}", values) != n:
                raise ValueError(
                    f"curves[{label!r}] {part} must have len(x) = {n} entries, got {len(values)}"
                )
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 5), sharex=True)
    for label, (values, slopes) in curves.items():
        top.plot(x, values, label=label)
        bottom.plot(x, slopes, label=label)
    top.set(title=title)
    bottom.set(title=slope_title, xlabel="x")
    bottom.legend()
    fig.tight_layout()
    return fig


def draw_banach_errors(errors, bounds, ax=None):
    r"""The error of a fixed-point iteration (solid) and Banach's bound on it (dotted).

    Parameters
    ----------
    errors : dict
        Contraction constant :math:`c` -> the errors :math:`\lVert x_n - x^* \rVert` for
        :math:`n = 0, 1, \dots`, drawn on a log scale.
    bounds : dict
        The same keys -> the a-priori bounds at the same :math:`n`, drawn dotted in the
        colour of the matching error.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 x 3.6 inch figure.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``errors`` or ``bounds`` is not a dict.
    ValueError
        If either is empty, their keys differ, or an error curve and its bound differ in
        length.
    """
    _mapping("errors", errors)
    _mapping("bounds", bounds)
    if set(errors) != set(bounds):
        raise ValueError(
            f"bounds must have the keys of errors, {sorted(errors)}, got {sorted(bounds)}"
        )
    for c, curve in errors.items():
        if _length(f"errors[{c}]", curve) != _length(f"bounds[{c}]", bounds[c]):
            raise ValueError(
                f"bounds[{c}] must be as long as errors[{c}] ({len(curve)}), got {len(bounds[c])}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for c, curve in errors.items():
        steps = range(len(curve))
        line = ax.semilogy(steps, curve, label=f"c = {c}")[0]
        ax.semilogy(steps, bounds[c], ":", color=line.get_color())
    ax.set(
        xlabel="iteration n",
        ylabel="$|x_n - x^*|$",
        ylim=(1e-16, 1e3),
        title="measured (solid) and Banach bound (dotted)",
    )
    ax.legend()
    return ax


def draw_training_histories(runs, entropy):
    """One panel per training run: training loss and true test NLL against the step.

    Parameters
    ----------
    runs : dict
        Panel title -> history, a dict with the lists ``"step"``, ``"train"`` (the loss
        as the training estimated it) and ``"test"`` (the exact test NLL).
    entropy : float
        The entropy of the data, drawn as a dashed line in every panel: no true
        negative log-likelihood can lie below it.

    Returns
    -------
    matplotlib Figure
        The panels stacked, sharing both axes; the legend is on the first.

    Raises
    ------
    TypeError
        If ``runs`` or a history is not a dict, or ``entropy`` is not a number.
    ValueError
        If ``runs`` is empty, or a history lacks a key or has lists of unequal length.
    """
    _mapping("runs", runs)
    if isinstance(entropy, bool) or not isinstance(entropy, int | float):
        raise TypeError(
            f"entropy must be a number, got {type(entropy).__name__}"
        )
    for title, history in runs.items():
        _mapping(f"runs[{title!r}]", history)
        missing = {"step", "train", "test"} - set(history)
        if missing:
            raise ValueError(
                f"runs[{title!r}] must have the keys step, train and test, got {sorted(history)}"
            )
        lengths = {
            key: _length(f"runs[{title!r}][{key!r}]", history[key])
            for key in ("step", "train", "test")
        }
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"runs[{title!r}] must have step, train and test of equal length, got {lengths}"
            )
    fig, axes = plt.subplots(
        len(runs),
        1,
        figsize=(6.5, 2.8 * len(runs)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    axes = axes[:, 0]
    for ax, (title, history) in zip(axes, runs.items(), strict=True):
        ax.plot(
            history["step"],
            history["train"],
            "o-",
            label="training loss (as estimated)",
        )
        ax.plot(
            history["step"],
            history["test"],
            "s-",
            label="true test NLL (exact log-det)",
        )
        ax.axhline(
            entropy,
            color="k",
            ls="--",
            label="entropy of the data (lower bound)",
        )
        ax.set(title=title, ylabel="nats per point")
    axes[-1].set_xlabel("training step")
    axes[0].legend()
    fig.tight_layout()
    return fig


def draw_fixed_point_residuals(curves):
    r"""One panel per model: the residual of the fixed-point iteration, one line per block.

    Parameters
    ----------
    curves : dict
        Panel title -> one sequence of residuals per block, indexed by the iteration
        :math:`n = 0, 1, \dots`, drawn on a log scale.

    Returns
    -------
    matplotlib Figure
        The panels stacked, sharing both axes; the legend is on the last.

    Raises
    ------
    TypeError
        If ``curves`` is not a dict, or an entry is not a sequence of sequences.
    ValueError
        If ``curves`` is empty, or a model has no blocks.
    """
    for title, blocks in _mapping("curves", curves).items():
        if _length(f"curves[{title!r}]", blocks) == 0:
            raise ValueError(
                f"curves[{title!r}] must hold one curve per block, got none"
            )
        for k, residuals in enumerate(blocks):
            _length(f"curves[{title!r}][{k}]", residuals)
    fig, axes = plt.subplots(
        len(curves),
        1,
        figsize=(6.5, 2.9 * len(curves)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    axes = axes[:, 0]
    for ax, (title, blocks) in zip(axes, curves.items(), strict=True):
        for k, residuals in enumerate(blocks, start=1):
            ax.semilogy(
                range(len(residuals)), residuals, "o-", ms=3, label=f"block {k}"
            )
        ax.set(title=title, ylabel="largest |x_n + g(x_n) - y|")
    axes[-1].set_xlabel("fixed-point iteration n")
    axes[-1].legend(loc="upper left", ncols=2)
    fig.tight_layout()
    return fig


def draw_toy_densities(result, *, n_samples=1000):
    """The 2-D density experiment as a grid of 2 rows: densities above, samples below.

    The upper row shows the true density and each flow's density on one colour scale;
    the lower row shows samples of each flow, drawn through its inverse, under its
    density. The panels are those of :func:`nnbook.invertible.plot_toy_row`, restacked
    to fit the text column.

    Parameters
    ----------
    result : nnbook.invertible.ToyResult or nnbook.invertible.FlowComparison
        The trained flows and the name of the data set, from
        :func:`nnbook.invertible.run_toy` or :func:`nnbook.invertible.compare_flows`.
    n_samples : int, default 1000
        Samples drawn from each flow.

    Returns
    -------
    matplotlib Figure
        With 2 (1 + m) Axes for m flows; the lower-left one is switched off and holds a
        note: the name of the data set, and that the samples are drawn through the
        flows' inverses.

    Raises
    ------
    TypeError
        If ``result`` is not a ``ToyResult`` or ``FlowComparison``, or ``n_samples`` is
        not an int.
    ValueError
        If the data set has no plot limits, ``result`` holds fewer than two or more
        than four flows, or ``n_samples`` is below 1.
    """
    if not isinstance(result, toy.ToyResult | toy.FlowComparison):
        raise TypeError(
            "result must be a ToyResult from run_toy or a FlowComparison, "
            f"got {type(result).__name__}"
        )
    if result.name not in toy.PLOT_LIMITS:
        raise ValueError(
            f"result.name must be one of {sorted(toy.PLOT_LIMITS)}, got {result.name!r}"
        )
    if not 2 <= len(result.flows) <= 4:
        raise ValueError(
            f"result.flows must hold 2 to 4 flows, got {len(result.flows)}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int):
        raise TypeError(
            f"n_samples must be an int, got {type(n_samples).__name__}"
        )
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    m = len(result.flows)
    fig, grid = plt.subplots(2, 1 + m, figsize=(2.05 * (1 + m), 4.6))
    panels = [*grid[0], *grid[1, 1:]]
    toy.plot_toy_row(panels, result, n_samples=n_samples)
    titles = ["true density", *(f"{label}" for label in result.flows)]
    titles += [f"{label} samples" for label in result.flows]
    for ax, text in zip(panels, titles, strict=True):
        ax.set_title(text, fontsize=9)
    note = grid[
        1, 0
    ]  # the free place names the data set and says how samples are drawn
    note.axis("off")
    note.text(
        0.5,
        0.62,
        result.name,
        ha="center",
        va="center",
        fontweight="bold",
        transform=note.transAxes,
    )
    note.text(
        0.5,
        0.38,
        "densities above;\nsamples below,\ndrawn through each\nflow's inverse",
        ha="center",
        va="center",
        transform=note.transAxes,
    )
    fig.tight_layout(h_pad=1.5)
    return fig


def draw_learning_curves(result, ax=None):
    """The gap to the entropy against training steps, per flow: mean over seeds, and its range.

    Each point is a flow's training loss averaged over a window of steps
    (``result.window``) minus the entropy; the batches are fresh from the true density,
    so it estimates the gap of the model at that point of training. The line is the
    mean over the seeds, the band spans their minimum and maximum. A dashed grey line
    marks the gap of the best single Gaussian (``result.baseline``, mean over the
    seeds), where the flows roughly start. A curve that still falls at its right end
    has not converged.

    Parameters
    ----------
    result : nnbook.invertible.FlowComparison
        From :func:`nnbook.invertible.compare_flows`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when left out.

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    TypeError
        If ``result`` is not a ``FlowComparison``.
    """
    if not isinstance(result, toy.FlowComparison):
        raise TypeError(
            f"result must be a FlowComparison, got {type(result).__name__}"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.4))
    else:
        fig = ax.figure
    for label, curves in result.curves.items():
        gaps = curves - result.entropy
        steps = result.window * (np.arange(gaps.shape[1]) + 1)
        (line,) = ax.plot(steps, gaps.mean(axis=0), label=label)
        ax.fill_between(
            steps,
            gaps.min(axis=0),
            gaps.max(axis=0),
            alpha=0.2,
            color=line.get_color(),
        )
    ax.axhline(
        float(np.mean(result.baseline)),
        color="grey",
        linestyle="--",
        linewidth=1,
        label="single Gaussian",
    )
    ax.set(
        xlabel="training step",
        ylabel="NLL minus entropy (nats)",
        title=f"{result.name}: {len(result.seeds)} seeds, mean and range",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
