"""Samples and references for the contracts of nnbook.generative, both sides of its chapter."""

import itertools

import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.generative import _bayes as bayes
from nnbook.generative import _discriminative as disc
from nnbook.generative import _rbm as rbm

X = randn(12, 3, seed=1)
Y = torch.arange(12) % 3
V = (randn(6, 4, seed=2) > 0).double()  # 6 binary visible vectors, V = 4
H = (randn(6, 2, seed=3) > 0).double()  # 6 binary hidden vectors, H = 2


def _seeded():
    return torch.Generator().manual_seed(0)


def _naive():
    return bayes.GaussianNaiveBayes().fit(X, Y)


def _gaussian():
    return bayes.GaussianBayes().fit(X, Y)


def _logistic():
    return disc.LogisticRegression().fit(X, Y % 2)


def _rbm():
    """A fitted RBM (H = 2, V = 4) with weights far from zero."""
    model = rbm.BernoulliRBM(2, epochs=1).fit(V)
    model.W_, model.b_, model.c_ = randn(2, 4, seed=4), randn(4, seed=5), randn(2, seed=6)
    return model


def _gan():
    torch.manual_seed(0)
    generator = torch.nn.Linear(1, 1).double()
    discriminator = torch.nn.Sequential(
        torch.nn.Linear(1, 4), torch.nn.LeakyReLU(0.2), torch.nn.Linear(4, 1)
    ).double()
    real = lambda n, g: 3 + 0.5 * torch.randn(n, 1, generator=g)  # noqa: E731
    return (generator, discriminator, real), {"latent_dim": 1, "steps": 2, "batch_size": 8}


def _densities():
    g = _seeded()
    return (
        torch.rand(5, generator=g, dtype=torch.float64) + 0.1,
        torch.rand(5, generator=g, dtype=torch.float64) + 0.1,
    ), {}


G = "nnbook.generative."
SAMPLES = {
    # discriminative
    G + "logistic_gradient": lambda: (
        (X, (Y % 2).double(), randn(3, seed=7), 0.3),
        {"C": 2.0},
    ),
    G + "_Regression.fit": lambda: ((disc.LogisticRegression(), X, Y % 2), {}),
    G + "LogisticRegression.decision_function": lambda: ((_logistic(), X), {}),
    G + "SoftmaxRegression.fit": lambda: ((disc.SoftmaxRegression(), X, Y), {}),
    # bayes
    G + "_Generative.log_joint": lambda: ((_naive(), X), {}),
    G + "GaussianNaiveBayes.fit": lambda: ((bayes.GaussianNaiveBayes(), X, Y), {}),
    G + "GaussianNaiveBayes.sample": lambda: ((_naive(), 5), {"generator": _seeded()}),
    G + "GaussianBayes.fit": lambda: ((bayes.GaussianBayes(), X, Y), {}),
    G + "GaussianBayes.sample": lambda: ((_gaussian(), 5), {"generator": _seeded()}),
    # gan
    G + "train_gan": _gan,
    G + "optimal_discriminator": _densities,
    # rbm
    G + "BernoulliRBM.energy": lambda: ((_rbm(), V, H), {}),
    G + "BernoulliRBM.h_given_v": lambda: ((_rbm(), V), {}),
    G + "BernoulliRBM.v_given_h": lambda: ((_rbm(), H), {}),
    G + "BernoulliRBM.free_energy": lambda: ((_rbm(), V), {}),
    G + "BernoulliRBM.log_likelihood": lambda: ((_rbm(), V), {}),
    G + "BernoulliRBM.gibbs": lambda: ((_rbm(), V, 2), {"generator": _seeded()}),
    G + "BernoulliRBM.sample": lambda: ((_rbm(), 3), {"steps": 2, "generator": _seeded()}),
    G + "BernoulliRBM.fit": lambda: ((rbm.BernoulliRBM(2, epochs=1), V), {}),
    G + "BernoulliRBM.partial_fit": lambda: ((_rbm(), V), {}),
    G + "BernoulliRBM.transform": lambda: ((_rbm(), V), {}),
    G + "binary_states": lambda: ((3,), {"dtype": torch.float64}),
}


def _gradient_by_autograd(X, y, w, b, C):
    w = w.clone().requires_grad_()
    loss = F.binary_cross_entropy_with_logits(X @ w + b, y, reduction="sum")
    (dw,) = torch.autograd.grad(loss + (w**2).sum() / (2 * C), w)
    return dw


def _states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def _energies(model, v, h):
    """``E(v_a, h_b)`` for every row ``v_a`` of v and every row ``h_b`` of h, by einsum."""
    return (
        -(v @ model.b_)[:, None]
        - (h @ model.c_)[None, :]
        - torch.einsum("bh,hv,av->ab", h, model.W_, v)
    )


def _h_given_v(model, v):
    """``p(h | v)`` as the weighted mean of every hidden state."""
    hs = _states(model.W_.shape[0])
    return torch.softmax(-_energies(model, v, hs), dim=1) @ hs


def _v_given_h(model, h):
    vs = _states(model.W_.shape[1])
    return torch.softmax(-_energies(model, vs, h), dim=0).T @ vs


def _free_energy(model, v):
    return -torch.logsumexp(-_energies(model, v, _states(model.W_.shape[0])), dim=1)


def _log_likelihood(model, X):
    """The mean ``log p(v)``, every joint state of the model enumerated."""
    log_z = torch.logsumexp(
        -_energies(model, _states(X.shape[1]), _states(model.W_.shape[0])).flatten(), dim=0
    )
    return (-_free_energy(model, X) - log_z).mean().item()


def _naive_log_joint(model, X):
    normal = torch.distributions.Normal(model.theta_, model.var_.sqrt())
    return model.class_prior_.log() + normal.log_prob(X[:, None, :]).sum(dim=2)


#: The reference each function is compared with, given the same call.
REFERENCES = {
    G + "logistic_gradient": _gradient_by_autograd,
    G + "optimal_discriminator": lambda p_data, p_g: torch.sigmoid(p_data.log() - p_g.log()),
    G + "_Generative.log_joint": _naive_log_joint,
    G + "BernoulliRBM.energy": lambda model, v, h: _energies(model, v, h).diagonal(),
    G + "BernoulliRBM.h_given_v": _h_given_v,
    G + "BernoulliRBM.v_given_h": _v_given_h,
    G + "BernoulliRBM.free_energy": _free_energy,
    G + "BernoulliRBM.log_likelihood": _log_likelihood,
    G + "binary_states": lambda n, dtype: _states(n).to(dtype),
}
