"""Samples and references for the contracts of missing features and a new class prior."""

import torch
from helpers import generator, randn

from nnbook.generative import _bayes as bayes

X = randn(12, 3, seed=21)
Y = torch.arange(12) % 3
X_TEST = randn(5, 3, seed=22)
OBSERVED = torch.tensor(
    [
        [True, False, True],
        [False, False, True],
        [True, True, True],
        [False] * 3,
        [True, False, True],
    ]
)
LOG_P = torch.log_softmax(randn(5, 3, seed=23), dim=1)
PRIOR = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
NEW_PRIOR = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)


def _gaussian():
    return bayes.GaussianBayes(reg=0.1).fit(X, Y)


def _marginal_by_torch(model, X, observed):
    """log p(x_o, y = k) row by row, with torch.distributions on the sub-blocks."""
    rows = []
    for x, o in zip(X, observed, strict=True):
        if not o.any():
            rows.append(model.class_prior_.log())
            continue
        normal = torch.distributions.MultivariateNormal(
            model.means_[:, o], model.covariance_[:, o][:, :, o]
        )
        rows.append(model.class_prior_.log() + normal.log_prob(x[o]))
    return torch.stack(rows)


def _shift_with_probabilities(log_proba, prior, new_prior):
    weighted = log_proba.exp() * new_prior / prior
    return (weighted / weighted.sum(dim=1, keepdim=True)).log()


MEAN = randn(3, seed=24)
COV = torch.tensor([[2.0, 0.6, -0.3], [0.6, 1.5, 0.2], [-0.3, 0.2, 1.0]], dtype=torch.float64)


def _impute_by_precision(X, observed, mean, covariance):
    """mu_m - (Lambda_mm)^-1 Lambda_mo (x_o - mu_o), row by row, Lambda = Sigma^-1."""
    precision = torch.linalg.inv(covariance)
    out = X.clone()
    for i, o in enumerate(observed):
        m = ~o
        if m.any():
            gain = torch.linalg.solve(precision[m][:, m], precision[m][:, o])
            out[i, m] = mean[m] - gain @ (X[i, o] - mean[o])
    return out


G = "nnbook.generative."
SAMPLES = {
    G + "marginal_log_joint": lambda: ((_gaussian(), X_TEST, OBSERVED), {}),
    G + "predict_proba_missing": lambda: ((_gaussian(), X_TEST, OBSERVED), {}),
    G + "refit_proba": lambda: (
        (lambda: bayes.GaussianBayes(reg=0.1), X, Y, X_TEST, OBSERVED),
        {},
    ),
    G + "drop_at_random": lambda: (((4, 3), 0.5), {"generator": generator(0)}),
    G + "shift_prior": lambda: ((LOG_P, PRIOR, NEW_PRIOR), {}),
    G + "impute_conditional_mean": lambda: ((X_TEST, OBSERVED, MEAN, COV), {}),
    G + "label_shift_split": lambda: ((Y, 2, (1, None, 2)), {"generator": generator(0)}),
    G + "estimate_prior": lambda: ((LOG_P, PRIOR), {}),
}

REFERENCES = {
    G + "marginal_log_joint": _marginal_by_torch,
    G + "predict_proba_missing": lambda model, X, observed: torch.softmax(
        _marginal_by_torch(model, X, observed), dim=1
    ),
    G + "refit_proba": lambda make, X, y, X_test, observed: torch.softmax(
        _marginal_by_torch(make().fit(X, y), X_test, observed), dim=1
    ),
    G + "shift_prior": _shift_with_probabilities,
    G + "impute_conditional_mean": _impute_by_precision,
}
