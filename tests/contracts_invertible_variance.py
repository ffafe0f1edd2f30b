"""Samples and references for the contracts of the estimators' variance (nnbook.invertible)."""

import torch
from helpers import randn

from nnbook.invertible import _blocks as blocks

P = "nnbook.invertible."


def _block():
    """An invertible residual block with Lip < 1, in float64 and eval mode."""
    torch.manual_seed(0)
    return blocks.InvertibleResidualBlock(blocks.mlp_block(2, 8, coeff=0.7)).double().eval()


def _hutchinson(A, probe):
    """The Gaussian variance as |A|_F^2 + tr(A^2), the diagonal taken out for signs."""
    variance = (A**2).sum() + torch.trace(A @ A)
    if probe == "rademacher":
        variance = variance - 2 * (A.diagonal() ** 2).sum()
    return variance


def _roulette(deltas, p, exact_terms):
    """The double sum of Delta_j Delta_k (1 / q_min(j,k) - 1), term by term."""
    K = len(deltas)
    q = [(1 - p) ** max(0, k - exact_terms) for k in range(1, K + 1)]
    total = torch.zeros(deltas.shape[1:], dtype=deltas.dtype)
    for j in range(K):
        for k in range(K):
            total = total + deltas[j] * deltas[k] * (1 / q[min(j, k)] - 1)
    return total


SAMPLES = {
    P + "hutchinson_variance": lambda: ((randn(4, 4), "rademacher"), {}),
    P + "roulette_variance": lambda: ((randn(6, 3),), {"p": 0.4, "exact_terms": 2}),
    P + "roulette_neumann_logdet": lambda: (
        (_block(), randn(4, 2, seed=1)),
        {"generator": torch.Generator().manual_seed(0)},
    ),
}

REFERENCES = {
    P + "hutchinson_variance": _hutchinson,
    P + "roulette_variance": _roulette,
}
