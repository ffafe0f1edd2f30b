"""Samples and references for the contracts of the variational autoencoder (nnbook.generative)."""

import math

import torch
from helpers import randn

from nnbook.generative import _vae as vae

B, D, L, S = 4, 3, 2, 5
W = randn(D, L, seed=11)


def linear_decoder(z):
    """A linear-Gaussian decoder, x | z ~ N(W z + 0.1, diag(0.3)), for the samples."""
    return z @ W.T + 0.1, torch.full((D,), math.log(0.3), dtype=z.dtype)


def _bound_call():
    return (
        randn(B, D, seed=12),
        randn(B, L, seed=13),
        randn(B, L, seed=14, scale=0.5),
        linear_decoder,
        randn(S, B, L, seed=15),
    ), {}


W1 = randn(D, 1, seed=18)


def linear_decoder_1d(z):
    """A linear-Gaussian decoder with a one-dimensional code, x | z ~ N(W1 z + 0.1, diag(0.3))."""
    return z @ W1.T + 0.1, torch.full((D,), math.log(0.3), dtype=z.dtype)


def _reference_evidence(x, decoder, limit=9.0, points=20_001):
    """The closed form of the linear-Gaussian model: x ~ N(0.1, W1 W1^T + 0.3 I)."""
    cov = W1 @ W1.T + 0.3 * torch.eye(D, dtype=x.dtype)
    mean = torch.full((D,), 0.1, dtype=x.dtype)
    return torch.distributions.MultivariateNormal(mean, cov).log_prob(x)


def _model():
    torch.manual_seed(0)
    return vae.GaussianVAE(D, L, hidden=5)


def _reference_elbo(x, mu, log_var, decoder, eps):
    """The ELBO through torch.distributions: Normal log-densities and kl_divergence."""
    std = (0.5 * log_var).exp()
    q = torch.distributions.Normal(mu, std)
    z = mu + std * eps
    mean, x_log_var = decoder(z)
    likelihood = torch.distributions.Normal(mean, (0.5 * x_log_var).exp())
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, prior).sum(-1)
    return likelihood.log_prob(x).sum(-1).mean(0) - kl


def _reference_iwae(x, mu, log_var, decoder, eps):
    std = (0.5 * log_var).exp()
    q = torch.distributions.Normal(mu, std)
    z = mu + std * eps
    mean, x_log_var = decoder(z)
    likelihood = torch.distributions.Normal(mean, (0.5 * x_log_var).exp())
    log_w = (
        likelihood.log_prob(x).sum(-1)
        + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        - q.log_prob(z).sum(-1)
    )
    return torch.logsumexp(log_w, 0) - math.log(len(eps))


def _kl(mu, log_var):
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(-1)


def _log_density(x, mean, log_var):
    return torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(x).sum(-1)


G = "nnbook.generative."
SAMPLES = {
    G + "elbo": _bound_call,
    G + "iwae_bound": _bound_call,
    G + "GaussianVAE.elbo": lambda: ((_model(), randn(B, D, seed=16), 2), {}),
    G + "GaussianVAE.log_likelihood": lambda: ((_model(), randn(B, D, seed=16), 3), {}),
    G + "GaussianVAE.sample": lambda: ((_model(), 4), {}),
    G + "log_evidence_1d": lambda: (
        (randn(B, D, seed=19), linear_decoder_1d),
        {"limit": 8.0, "points": 4001},
    ),
    G + "train_vae": lambda: ((_model(), randn(20, D, seed=17)), {"steps": 2, "batch_size": 4}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    G + "gaussian_kl": _kl,
    G + "gaussian_log_density": _log_density,
    G + "reparameterize": lambda mu, log_var, eps: mu + log_var.exp().sqrt() * eps,
    G + "elbo": _reference_elbo,
    G + "iwae_bound": _reference_iwae,
    G + "log_evidence_1d": _reference_evidence,
}
