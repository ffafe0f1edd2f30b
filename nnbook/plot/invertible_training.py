"""Figures of training flows with different log-determinant estimators.

Training curves over several seeds, the eigenvalues of the Jacobians a trained flow
found, the log-determinant a truncated series charges against the true one, and the
truncation error against the number of terms (:mod:`nnbook.invertible`). Every function
draws data that the notebook computed; none of them trains or evaluates a model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "draw_charge_against_logdet",
    "draw_estimator_histories",
    "draw_jacobian_eigenvalues",
    "draw_truncation_errors",
]


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def _tensor(name, value, ndim):
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}"
        )
    if value.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}"
        )
    return value.detach().cpu()


def _axes(ax):
    if ax is None:
        return plt.subplots(figsize=(4.5, 4))
    return ax.figure, ax


def draw_estimator_histories(runs, entropy):
    """Two panels: the loss each estimator reports, and the exact test NLL, over seeds.

    Parameters
    ----------
    runs : dict
        Estimator name -> list of histories, one per seed, each a dict with the equal
        lists ``"step"``, ``"train"`` and ``"test"`` (as :func:`nnbook.invertible.train_flow`
        returns them). Every history of one estimator has the same steps.
    entropy : float
        The entropy of the data, a dashed line: no true NLL lies below it.

    Returns
    -------
    matplotlib Figure
        The mean over seeds as a line, the range as a band.

    Raises
    ------
    TypeError
        If ``runs`` is not a dict, a history not a dict, or ``entropy`` not a number.
    ValueError
        If ``runs`` is empty, an estimator has no history, or a history lacks a key.
    """
    _mapping("runs", runs)
    entropy = _number("entropy", entropy)
    fig, axes = plt.subplots(1, 2, figsize=(8.2, 3.4), sharex=True, sharey=True)
    for label, histories in runs.items():
        if not isinstance(histories, list | tuple) or not histories:
            raise ValueError(
                f"runs[{label!r}] must be a non-empty list of histories, got {histories!r}"
            )
        for history in histories:
            _mapping(f"runs[{label!r}] history", history)
            missing = {"step", "train", "test"} - set(history)
            if missing:
                raise ValueError(
                    f"runs[{label!r}] histories must have the keys step, train and "
                    f"test, got {sorted(history)}"
                )
        steps = np.asarray(histories[0]["step"])
        for ax, key in zip(axes, ("train", "test"), strict=True):
            values = np.array([h[key] for h in histories])  # (seeds, records)
            (line,) = ax.plot(steps, values.mean(axis=0), label=label)
            ax.fill_between(
                steps,
                values.min(axis=0),
                values.max(axis=0),
                color=line.get_color(),
                alpha=0.2,
            )
    for ax, title in zip(
        axes,
        ("training loss, as the estimator reports it", "true test NLL (exact)"),
        strict=True,
    ):
        ax.axhline(
            entropy, color="k", ls="--", lw=1, label="entropy of the data"
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    axes[0].set_ylabel("nats")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def draw_jacobian_eigenvalues(eigenvalues, bound, ax=None):
    """The eigenvalues of Jacobians in the complex plane, with the unit circle and the Lipschitz bound.

    Parameters
    ----------
    eigenvalues : torch.Tensor
        Shape (n_blocks, N, D), complex: the eigenvalues of :math:`J_g` per block and point.
    bound : float
        A bound on Lip(g): every eigenvalue lies in the disc of this radius.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    TypeError
        If ``eigenvalues`` is not a tensor or ``bound`` is not a number.
    ValueError
        If ``eigenvalues`` does not have 3 dimensions, or ``bound`` is not positive.
    """
    eigenvalues = _tensor("eigenvalues", eigenvalues, 3)
    bound = _number("bound", bound)
    if bound <= 0:
        raise ValueError(f"bound must be positive, got {bound}")
    fig, ax = _axes(ax)
    angle = np.linspace(0, 2 * np.pi, 400)
    ax.plot(
        np.cos(angle), np.sin(angle), color="0.6", lw=1, label="unit circle"
    )
    ax.plot(
        bound * np.cos(angle),
        bound * np.sin(angle),
        "k--",
        lw=1,
        label=f"Lip bound {bound:.2f}",
    )
    for b, values in enumerate(eigenvalues):
        values = values.flatten()
        ax.scatter(
            values.real.numpy(),
            values.imag.numpy(),
            s=4,
            alpha=0.5,
            label=f"block {b + 1}",
        )
    ax.set_aspect("equal")
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def draw_charge_against_logdet(exact, charged, ax=None):
    """Per block, the log-determinant an estimator charges against the true one.

    Parameters
    ----------
    exact : torch.Tensor
        Shape (n_blocks, N): :math:`\\log\\det(I + J_g)` per block and point.
    charged : torch.Tensor
        Shape (n_blocks, N): what the estimator charges at the same points.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure
        One colour per block, and the diagonal where the charge is honest.

    Raises
    ------
    TypeError
        If either is not a tensor.
    ValueError
        If either does not have 2 dimensions, or their shapes differ.
    """
    exact = _tensor("exact", exact, 2)
    charged = _tensor("charged", charged, 2)
    if exact.shape != charged.shape:
        raise ValueError(
            f"charged must have the shape of exact, {tuple(exact.shape)}, "
            f"got {tuple(charged.shape)}"
        )
    fig, ax = _axes(ax)
    for b, (x, y) in enumerate(zip(exact, charged, strict=True)):
        ax.scatter(x.numpy(), y.numpy(), s=4, alpha=0.5, label=f"block {b + 1}")
    low = min(exact.min().item(), charged.min().item())
    high = max(exact.max().item(), charged.max().item())
    ax.plot([low, high], [low, high], "k--", lw=1, label="charge = true")
    ax.set_xlabel(r"true $\log\det(I + J_g)$")
    ax.set_ylabel("charged by the estimator")
    ax.legend(fontsize=7)
    return fig


def draw_truncation_errors(errors, ax=None):
    """The error of the truncated series against the number of terms, on a log scale.

    Parameters
    ----------
    errors : dict
        Curve label -> (n_terms, errors): a sequence of term counts and a sequence of
        positive errors of the same length.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    TypeError
        If ``errors`` is not a dict or an entry is not a pair.
    ValueError
        If ``errors`` is empty or a pair has sequences of unequal length.
    """
    _mapping("errors", errors)
    fig, ax = _axes(ax)
    for label, pair in errors.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(
                f"errors[{label!r}] must be a pair (n_terms, errors), got {pair!r}"
            )
        terms, values = (np.asarray(v, dtype=float) for v in pair)
        if terms.shape != values.shape:
            raise ValueError(
                f"errors[{label!r}] must have n_terms and errors of equal length, "
                f"got {terms.shape} and {values.shape}"
            )
        ax.semilogy(terms, values, "o-", ms=3, label=label)
    ax.set_xlabel("terms of the series")
    ax.set_ylabel(r"mean $|$truncation error$|$ per block (nats)")
    ax.legend(fontsize=8)
    return fig
