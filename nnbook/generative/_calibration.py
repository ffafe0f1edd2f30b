r"""Scores of probabilistic predictions: log-loss, the Brier score and reliability curves.

Accuracy looks only at the most probable class. These scores look at the probabilities
themselves: the log-loss and the Brier score are *proper* scoring rules, minimized in
expectation by the true :math:`p(y \mid x)`, and a reliability curve compares what a
model announces with how often it is right.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook.contract import Instance, Int, Tensor, contract

__all__ = [
    "ReliabilityCurve",
    "brier_score",
    "ece_noise_floor",
    "expected_calibration_error",
    "log_loss",
    "probability_scores",
    "reliability_curve",
    "score_table",
]


def _check_labels(y, n_classes):
    if len(y) and int(y.max()) >= n_classes:
        raise ValueError(
            f"y must hold class indices in [0, {n_classes}), got {int(y.max())}"
        )


def _check_proba(name, proba):
    """Probabilities in [0, 1]; rows of a 2-D tensor sum to 1."""
    if proba.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (n,) or (n, K), got {tuple(proba.shape)}"
        )
    if torch.isnan(proba).any():
        raise ValueError(f"{name} must not contain NaN")
    if len(proba) and (proba.min() < 0 or proba.max() > 1):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in "
            f"[{proba.min().item():.3g}, {proba.max().item():.3g}]"
        )
    if proba.ndim == 2:
        error = (proba.sum(dim=1) - 1).abs().max()
        if error > 1e-6:
            raise ValueError(
                f"{name} must have rows that sum to 1, got a row off by "
                f"{error.item():.3g}"
            )


@contract(
    "eq-gd-log-loss",
    log_proba=Tensor("n", "K"),
    y=Tensor("n", dtype="int", low=0, high="K"),
    reference="sklearn.metrics.log_loss",
)
def log_loss(log_proba, y):
    r"""Mean negative log-likelihood of the true class. Implements :eq:`eq-gd-log-loss`.

    Parameters
    ----------
    log_proba : torch.Tensor
        Shape (n, K): :math:`\log p(y = k \mid x_i)`, as ``predict_log_proba``
        returns. Log-probabilities, not probabilities, so that a probability too
        small for floating point (naive Bayes gives :math:`e^{-2000}`) still costs
        what it should instead of infinity.
    y : torch.Tensor
        Shape (n,), integer class indices in :math:`[0, K)`.

    Returns
    -------
    torch.Tensor
        0-D, the mean :math:`-\log p(y_i \mid x_i)` in nats.

    Notes
    -----
    .. math::
        \mathrm{LL} = -\frac{1}{n} \sum_{i=1}^{n} \log p(y_i \mid x_i)

    scikit-learn's ``log_loss`` takes probabilities and clips them away from 0; the
    two agree wherever no probability of a true class is below the clip.
    """
    if torch.isnan(log_proba).any() or (log_proba > 1e-9).any():
        raise ValueError(
            "log_proba must hold log-probabilities (<= 0, no NaN), got a maximum "
            f"of {log_proba.max().item():.3g}"
        )
    return -log_proba.gather(1, y[:, None]).mean()


@contract(
    "eq-gd-brier",
    proba=Tensor(),
    y=Tensor("n", dtype="int", low=0),
    reference="sklearn.metrics.brier_score_loss",
)
def brier_score(proba, y):
    r"""Mean squared distance between predicted probabilities and the one-hot truth.

    Implements :eq:`eq-gd-brier`.

    Parameters
    ----------
    proba : torch.Tensor
        Shape (n, K), rows :math:`p(y = k \mid x_i)` summing to 1; or shape (n,),
        the probability of class 1 of a two-class problem.
    y : torch.Tensor
        Shape (n,), integer class indices (0 or 1 when ``proba`` is 1-D).

    Returns
    -------
    torch.Tensor
        0-D. With (n, K) probabilities it lies in [0, 2]; with (n,) it is the binary
        score of scikit-learn's ``brier_score_loss``, in [0, 1], which is half the
        two-class value of the (n, K) form.

    Notes
    -----
    .. math::
        \mathrm{BS} = \frac{1}{n} \sum_{i=1}^{n} \sum_{k=1}^{K}
        \bigl(p(y = k \mid x_i) - [y_i = k]\bigr)^2
    """
    _check_proba("proba", proba)
    if proba.shape[0] != len(y):
        raise ValueError(
            f"proba must have n = {len(y)} rows, as y, got {tuple(proba.shape)}"
        )
    if proba.ndim == 1:
        _check_labels(y, 2)
        return ((proba - y.to(proba.dtype)) ** 2).mean()
    _check_labels(y, proba.shape[1])
    onehot = torch.nn.functional.one_hot(y, proba.shape[1]).to(proba.dtype)
    return ((proba - onehot) ** 2).sum(dim=1).mean()


class ReliabilityCurve(NamedTuple):
    """The non-empty bins of a reliability curve, each field of shape (B,)."""

    confidence: torch.Tensor
    """Mean predicted probability in each bin."""
    frequency: torch.Tensor
    """Observed frequency of the event in each bin."""
    count: torch.Tensor
    """Number of predictions in each bin (int64)."""
    edges: torch.Tensor
    """Lower and upper edge of each bin, shape (B, 2)."""


def _event(proba, y):
    """The announced probability and whether the event happened, both (n,)."""
    _check_proba("proba", proba)
    if proba.shape[0] != len(y):
        raise ValueError(
            f"proba must have n = {len(y)} rows, as y, got {tuple(proba.shape)}"
        )
    if proba.ndim == 1:  # P(class 1) against y == 1
        _check_labels(y, 2)
        return proba, (y == 1).to(proba.dtype)
    _check_labels(y, proba.shape[1])
    confidence, predicted = proba.max(dim=1)  # top label against being right
    return confidence, (predicted == y).to(proba.dtype)


@contract(
    "eq-gd-reliability",
    proba=Tensor(),
    y=Tensor("n", dtype="int", low=0),
    n_bins=Int(low=1),
    reference="sklearn.calibration.calibration_curve",
)
def reliability_curve(proba, y, n_bins=10):
    r"""Mean predicted probability against observed frequency, in equal-width bins.

    Implements :eq:`eq-gd-reliability`.

    Parameters
    ----------
    proba : torch.Tensor
        Shape (n,), the probability of class 1 of a two-class problem, compared with
        how often :math:`y = 1`; or shape (n, K), of which the largest probability of
        each row (the *confidence*) is compared with how often the predicted class is
        right (the top-label curve).
    y : torch.Tensor
        Shape (n,), integer class indices.
    n_bins : int, default 10
        Bins of width :math:`1 / \text{n\_bins}` on [0, 1]; a value on an edge goes
        to the lower bin, as in scikit-learn.

    Returns
    -------
    ReliabilityCurve
        ``confidence``, ``frequency`` and ``count`` of the non-empty bins (as
        scikit-learn's ``calibration_curve``, which returns the first two), and
        their ``edges``.

    Notes
    -----
    With :math:`B_b` the predictions whose probability :math:`\hat p_i` falls in bin
    :math:`b` and :math:`o_i` the event (1 if it happened):

    .. math::
        \mathrm{conf}_b = \frac{1}{|B_b|} \sum_{i \in B_b} \hat p_i, \qquad
        \mathrm{freq}_b = \frac{1}{|B_b|} \sum_{i \in B_b} o_i

    A calibrated model has :math:`\mathrm{freq}_b \approx \mathrm{conf}_b` in
    every bin: of the cases announced at 80 %, 80 % happen.
    """
    p, event = _event(proba, y)
    grid = torch.linspace(0, 1, n_bins + 1, dtype=p.dtype)
    bins = torch.searchsorted(grid[1:-1].contiguous(), p.contiguous())
    count = torch.bincount(bins, minlength=n_bins)
    total_p = torch.zeros(n_bins, dtype=p.dtype).index_add_(0, bins, p)
    total_event = torch.zeros(n_bins, dtype=p.dtype).index_add_(0, bins, event)
    full = count > 0
    edges = torch.stack([grid[:-1], grid[1:]], dim=1)
    return ReliabilityCurve(
        total_p[full] / count[full],
        total_event[full] / count[full],
        count[full],
        edges[full],
    )


@contract(
    "eq-gd-ece",
    proba=Tensor(),
    y=Tensor("n", dtype="int", low=0),
    n_bins=Int(low=1),
)
def expected_calibration_error(proba, y, n_bins=10):
    r"""The gap between confidence and frequency, averaged over the bins by their size.

    Implements :eq:`eq-gd-ece`.

    Parameters
    ----------
    proba : torch.Tensor
        Shape (n,) or (n, K), as for :func:`reliability_curve`.
    y : torch.Tensor
        Shape (n,), integer class indices.
    n_bins : int, default 10
        Number of equal-width bins.

    Returns
    -------
    torch.Tensor
        0-D, in [0, 1]; 0 for a model whose every bin is calibrated.

    Notes
    -----
    .. math::
        \mathrm{ECE} = \sum_{b} \frac{|B_b|}{n}
        \bigl| \mathrm{freq}_b - \mathrm{conf}_b \bigr|

    The value depends on the number of bins, and a model can have an ECE of 0 and
    still be useless (always announce the base rate), so it is read beside the
    log-loss and the Brier score, never alone.
    """
    curve = reliability_curve(proba, y, n_bins)
    weight = curve.count.to(curve.confidence.dtype) / len(y)
    return (weight * (curve.frequency - curve.confidence).abs()).sum()


@contract(
    "eq-gd-ece-floor",
    proba=Tensor(),
    n_bins=Int(low=1),
    n_draws=Int(low=1),
    generator=Instance(torch.Generator, optional=True),
)
def ece_noise_floor(proba, n_bins=10, n_draws=200, generator=None):
    r"""The ECE that a perfectly calibrated model gets on the same cases, by resampling.

    Implements :eq:`eq-gd-ece-floor`: the outcomes are drawn from the model's own
    probabilities, so the model is calibrated by construction, and whatever ECE it
    still gets comes from the finite number of cases in each bin (consistency
    resampling).

    Parameters
    ----------
    proba : torch.Tensor
        Shape (n,) or (n, K), as for :func:`expected_calibration_error`. With shape
        (n,) the event is :math:`y = 1`, drawn with probability :math:`\hat p_i`; with
        shape (n, K) it is "the top label is right", drawn with probability equal to
        the row's largest entry.
    n_bins : int, default 10
        Number of equal-width bins, as for the ECE it is compared with.
    n_draws : int, default 200
        Number of resampled sets of outcomes averaged.
    generator : torch.Generator, optional
        Source of the random outcomes.

    Returns
    -------
    torch.Tensor
        0-D, the mean ECE over the draws: the value a calibrated model reaches on
        average with these announcements, the floor a measured ECE is read against.

    Notes
    -----
    With :math:`\tilde o_i \sim \mathrm{Bernoulli}(\hat p_i)` independently:

    .. math::
        \mathrm{ECE}_0 = \mathbb{E}_{\tilde o}\Bigl[\sum_{b} \frac{|B_b|}{n}
        \Bigl| \frac{1}{|B_b|} \sum_{i \in B_b} (\tilde o_i - \hat p_i) \Bigr| \Bigr]

    The binned ECE is biased upward on small samples: even a calibrated model's
    bins miss the diagonal by about :math:`\sqrt{\hat p (1 - \hat p) / |B_b|}`.
    """
    p = _event(proba, torch.zeros(len(proba), dtype=torch.long))[0]
    grid = torch.linspace(0, 1, n_bins + 1, dtype=p.dtype)
    bins = torch.searchsorted(grid[1:-1].contiguous(), p.contiguous())
    u = torch.rand(n_draws, len(p), generator=generator, dtype=p.dtype)
    residual = (u < p).to(p.dtype) - p  # o - p, shape (n_draws, n)
    total = torch.zeros(n_draws, n_bins, dtype=p.dtype).index_add_(
        1, bins, residual
    )
    return (total.abs().sum(dim=1) / max(len(p), 1)).mean()


def probability_scores(log_proba, y, n_bins=10):
    r"""Accuracy, log-loss, Brier score and ECE of a two-class model on one test set.

    Parameters
    ----------
    log_proba : torch.Tensor
        Shape (n, 2), :math:`\log p(y = k \mid x_i)`.
    y : torch.Tensor
        Shape (n,), labels 0 or 1.
    n_bins : int, default 10
        Bins of the ECE, which is taken on :math:`P(y = 1)`.

    Returns
    -------
    dict
        ``accuracy``, ``log-loss`` (:func:`log_loss`), ``Brier`` (the binary form of
        :func:`brier_score`) and ``ECE`` (:func:`expected_calibration_error` on
        :math:`P(y = 1)`), each a float.
    """
    if log_proba.ndim != 2 or log_proba.shape[1] != 2:
        raise ValueError(
            f"log_proba must have shape (n, 2), got {tuple(log_proba.shape)}"
        )
    proba = log_proba.exp()
    return {
        "accuracy": (proba.argmax(dim=1) == y).double().mean().item(),
        "log-loss": log_loss(log_proba, y).item(),
        "Brier": brier_score(proba[:, 1], y).item(),
        "ECE": expected_calibration_error(proba[:, 1], y, n_bins).item(),
    }


def score_table(rows, formats, *, header="model", tags=None, tag_header="kind"):
    """A Markdown table of the mean, smallest and largest value of each score.

    Parameters
    ----------
    rows : dict
        Row name to a dict of column name to the values over repetitions (a
        sequence of floats).
    formats : dict
        Column name to its format specification (``".3f"``, ``".1%"``), in the order
        the columns are shown.
    header : str, default "model"
        Heading of the first column.
    tags : dict, optional
        Row name to a short text, shown in a second column.
    tag_header : str, default "kind"
        Heading of that second column.

    Returns
    -------
    str
        The table in Markdown: each cell reads "mean (smallest to largest)".
    """
    for name, row in rows.items():
        missing = [c for c in formats if c not in row]
        if missing:
            raise ValueError(
                f"rows must have every column of formats, got row {name!r} "
                f"without {missing}"
            )
    heads = [header, *([tag_header] if tags is not None else []), *formats]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for name, row in rows.items():
        cells = [name, *([tags.get(name, "")] if tags is not None else [])]
        for column, fmt in formats.items():
            v = torch.as_tensor(row[column], dtype=torch.float64)
            low, mean, high = v.min().item(), v.mean().item(), v.max().item()
            cells.append(f"{mean:{fmt}} ({low:{fmt}} to {high:{fmt}})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
