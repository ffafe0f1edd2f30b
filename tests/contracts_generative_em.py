"""Samples and references for the contracts of semi-supervised EM (nnbook.generative._em)."""

import torch
from helpers import randn
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

from nnbook.generative import _em as em

X = randn(12, 2, seed=1)
LOG_JOINT = randn(12, 3, seed=2)
Y = torch.tensor([0, 1, 2, -1, -1, -1, 0, -1, -1, 1, -1, -1])
R = torch.softmax(randn(12, 3, seed=3), dim=1)


def _responsibilities(log_joint, y):
    """Each row by itself: its one-hot label, or exp(log_joint) normalised."""
    rows = []
    for scores, label in zip(log_joint, y.tolist(), strict=True):
        if label >= 0:
            rows.append(torch.eye(len(scores), dtype=scores.dtype)[label])
        else:
            rows.append(scores.exp() / scores.exp().sum())
    return torch.stack(rows)


def _objective(log_joint, y, lam):
    joint = sum(log_joint[i, k] for i, k in enumerate(y.tolist()) if k >= 0)
    marginal = sum(log_joint[i].exp().sum().log() for i, k in enumerate(y.tolist()) if k < 0)
    return joint + lam * marginal


def _prior(X, R, covariance, reg):
    kind = {"full": "full", "shared": "tied", "diagonal": "diag"}[covariance]
    nk, _, _ = _estimate_gaussian_parameters(X.numpy(), R.numpy(), reg, kind)
    return torch.as_tensor(nk / nk.sum())


G = "nnbook.generative."
SAMPLES = {
    G + "em_responsibilities": lambda: ((LOG_JOINT, Y), {}),
    G + "em_m_step": lambda: ((X, R), {"covariance": "full", "reg": 0.0}),
    G + "em_objective": lambda: ((LOG_JOINT, Y), {"lam": 0.5}),
    G + "SemiSupervisedGaussian.__init__": lambda: ((3,), {}),
    G + "SemiSupervisedGaussian.fit": lambda: (
        (em.SemiSupervisedGaussian(3, reg=0.1, max_iter=3), X, Y),
        {},
    ),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    G + "em_responsibilities": _responsibilities,
    G + "em_objective": _objective,
    G + "em_m_step": _prior,
}
