"""Tabular data: two measured features per person, two classes."""

from __future__ import annotations

import torch

from nnbook.contract import Int, contract

__all__ = ["weight_and_foot", "weight_and_foot_parameters"]

#: (means, standard deviations) of (weight in kg, foot length in cm), per class
_CLASSES = (((62.0, 24.0), (9.0, 1.1)), ((78.0, 26.5), (11.0, 1.3)))
_CORRELATION = 0.5


def _covariance(sd):
    return torch.tensor(
        [
            [sd[0] ** 2, _CORRELATION * sd[0] * sd[1]],
            [_CORRELATION * sd[0] * sd[1], sd[1] ** 2],
        ],
        dtype=torch.float64,
    )


def weight_and_foot_parameters():
    """The true class parameters that :func:`weight_and_foot` draws from.

    Returns
    -------
    means : torch.Tensor
        Shape (2, 2), float64: the mean weight and foot length of each class.
    covs : torch.Tensor
        Shape (2, 2, 2), float64: each class's covariance matrix.
    priors : torch.Tensor
        Shape (2,), float64: both classes are drawn equally often, (0.5, 0.5).
    """
    means = torch.tensor([mean for mean, _ in _CLASSES], dtype=torch.float64)
    covs = torch.stack([_covariance(sd) for _, sd in _CLASSES])
    return means, covs, torch.full((2,), 0.5, dtype=torch.float64)


@contract(n_per_class=Int(low=1), seed=Int(low=0))
def weight_and_foot(n_per_class=200, *, seed=0):
    """A synthetic version of the classic example: tell women from men by weight and foot length.

    Each class is a 2-D Gaussian with correlated features (heavier people have longer
    feet). The parameters are illustrative round numbers, not survey statistics:

    =======  ===============  ===================  ===========
    class    weight (kg)      foot length (cm)     correlation
    =======  ===============  ===================  ===========
    0 women  mean 62, sd 9    mean 24.0, sd 1.1    0.5
    1 men    mean 78, sd 11   mean 26.5, sd 1.3    0.5
    =======  ===============  ===================  ===========

    :func:`weight_and_foot_parameters` returns these parameters as tensors.

    Returns
    -------
    X : Tensor of shape (2 n_per_class, 2), float64
        Weight and foot length.
    y : Tensor of shape (2 n_per_class,), int64
    """
    g = torch.Generator().manual_seed(seed)
    parts = []
    for mean, sd in _CLASSES:
        cov = _covariance(sd)
        z = torch.randn(n_per_class, 2, generator=g, dtype=torch.float64)
        parts.append(
            torch.tensor(mean, dtype=torch.float64)
            + z @ torch.linalg.cholesky(cov).T
        )
    return torch.cat(parts), torch.arange(2).repeat_interleave(n_per_class)
