"""Samples and references for the contracts of the Bayes error and the exponential family."""

import torch
from helpers import randn

G = "nnbook.generative."

#: Two 2-D Gaussian classes with different covariances and unequal priors.
MEANS = torch.tensor([[0.0, 0.0], [1.5, -0.5]], dtype=torch.float64)
COVS = torch.tensor([[[1.0, 0.3], [0.3, 2.0]], [[2.0, -0.4], [-0.4, 1.0]]], dtype=torch.float64)
PRIORS = torch.tensor([0.4, 0.6], dtype=torch.float64)

#: Three Poisson classes over four counts: natural parameters log(rate), A = sum(rate).
RATES = randn(3, 4, seed=11).exp()
COUNTS = torch.poisson(torch.ones(6, 4, dtype=torch.float64) * 2, torch.Generator().manual_seed(0))
POISSON = (RATES.log(), RATES.sum(1), torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64))


def _poisson_posterior(t, eta, log_partition, priors):
    """Bayes' rule with torch.distributions.Poisson class densities."""
    rates = eta.exp()
    log_joint = torch.distributions.Poisson(rates).log_prob(t[:, None, :]).sum(-1)
    return torch.softmax(log_joint + priors.log(), dim=1)


def _excess_by_distributions(x, prediction, means, covs, priors):
    """The true posterior from torch.distributions.MultivariateNormal, then the mean gap."""
    log_joint = torch.distributions.MultivariateNormal(means, covs).log_prob(x[:, None, :])
    posterior = torch.softmax(log_joint + priors.log(), dim=1)
    chosen = posterior.gather(1, prediction[:, None]).squeeze(1)
    return (posterior.max(dim=1).values - chosen).mean()


POINTS = randn(9, 2, seed=12)
GUESSES = torch.tensor([0, 1, 1, 0, 0, 1, 1, 1, 0])

SAMPLES = {
    G + "bayes_error": lambda: ((MEANS, COVS, PRIORS), {"angles": 1024}),
    G + "excess_error": lambda: ((POINTS, GUESSES, MEANS, COVS, PRIORS), {}),
    G + "exponential_family_logistic": lambda: (POISSON, {}),
    G + "exponential_family_posterior": lambda: ((COUNTS, *POISSON), {}),
}

REFERENCES = {
    G + "excess_error": _excess_by_distributions,
    G + "exponential_family_posterior": _poisson_posterior,
}
