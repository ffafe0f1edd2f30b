"""Samples and references for the contracts of out-of-distribution detection."""

import numpy as np
import torch
from helpers import randn
from sklearn.metrics import roc_auc_score

from nnbook.generative import _bayes as bayes

X = randn(12, 3, seed=11)
Y = torch.arange(12) % 3


def _gaussian():
    return bayes.GaussianBayes(reg=0.1).fit(X, Y)


def _mixture_log_prob(model, X):
    """``log p(x)`` of the same mixture, built by torch.distributions."""
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=model.class_prior_),
        torch.distributions.MultivariateNormal(model.means_, covariance_matrix=model.covariance_),
    )
    return mixture.log_prob(X)


def _roc_auc(scores_in, scores_out):
    labels = np.r_[np.ones(len(scores_in)), np.zeros(len(scores_out))]
    value = roc_auc_score(labels, torch.cat([scores_in, scores_out]).numpy())
    return torch.tensor(value, dtype=scores_in.dtype)


G = "nnbook.generative."
SAMPLES = {
    G + "log_marginal_likelihood": lambda: ((_gaussian(), randn(5, 3, seed=12)), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    G + "log_marginal_likelihood": _mixture_log_prob,
    G + "auroc": _roc_auc,
}
