"""Comparing two learning curves measured on the same splits: the paired difference.

When two classifiers are trained on the same training sets and scored on the same test
sets, their errors on one split move together: a split with a hard test set is hard for
both. The question "which model is ahead?" is then a question about the per-split
difference, whose spread is much smaller than the spread of either error.
"""

from __future__ import annotations

import torch

from nnbook.contract import Real, Tensor, contract

__all__ = ["paired_difference"]


def _check_splits(errors_a, errors_b):
    """Raise ValueError unless there are at least 2 splits and no NaN."""
    if errors_a.shape[0] < 2:
        raise ValueError(
            "errors_a must hold at least 2 splits (rows), "
            f"got {errors_a.shape[0]}"
        )
    for name, errors in (("errors_a", errors_a), ("errors_b", errors_b)):
        if torch.isnan(errors).any():
            count = int(torch.isnan(errors).sum())
            raise ValueError(f"{name} must hold no NaN, got {count} NaN values")


@contract(
    "eq-gd-paired-se",
    reference="scipy.stats.ttest_rel",
    errors_a=Tensor("S", "M"),
    errors_b=Tensor("S", "M"),
    ratio=Real(low=0),
)
def paired_difference(errors_a, errors_b, ratio=0.0):
    r"""Mean and standard error of a paired difference, equation :eq:`eq-gd-paired-se`.

    Parameters
    ----------
    errors_a, errors_b : torch.Tensor
        Shape (S, M): the test error of two models on each of S splits (rows) at each
        of M training-set sizes (columns), both models scored on the same splits.
        S is at least 2.
    ratio : float, default 0.0
        :math:`N_\text{test} / N_\text{train}`, the numbers of test and training
        examples, for the correction of Nadeau and Bengio (2003), which widens the
        standard error of splits that reuse one dataset; 0 gives the plain
        standard error.

    Returns
    -------
    mean : torch.Tensor
        Shape (M,): the mean over the splits of ``errors_a - errors_b``.
    se : torch.Tensor
        Shape (M,): its standard error. With ``ratio=0``, the sample standard
        deviation of the S differences (divisor S - 1) divided by :math:`\sqrt{S}`.

    Notes
    -----
    With :math:`d_{s,m} = e^a_{s,m} - e^b_{s,m}`,

    .. math::
        \bar d_m = \frac{1}{S} \sum_{s=1}^{S} d_{s,m}, \qquad
        \widehat{\mathrm{se}}_m
        = \sqrt{\Bigl(\frac{1}{S} + r\Bigr)
          \frac{1}{S - 1} \sum_{s=1}^{S} (d_{s,m} - \bar d_m)^2},

    where :math:`r` is ``ratio``. With :math:`r = 0` the standard error treats the S
    splits as independent draws. Splits that share their examples are not, and the
    plain standard error is then too small; :math:`r = N_\text{test} / N_\text{train}`
    is the heuristic correction of Nadeau and Bengio, derived for repeated random
    train/test splits of one dataset.
    """
    _check_splits(errors_a, errors_b)
    d = errors_a - errors_b  # (S, M)
    S = d.shape[0]
    mean = d.mean(dim=0)  # (M,)
    variance = ((d - mean) ** 2).sum(dim=0) / (S - 1)  # (M,), sample variance
    se = ((1 / S + ratio) * variance).sqrt()  # (M,)
    return mean, se
