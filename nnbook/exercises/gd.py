"""Exercises of the generative vs discriminative chapter."""

from __future__ import annotations

import math

import torch

from nnbook import _validate as validate
from nnbook import discriminative
from nnbook.check import Case, Exercise, register

__all__ = [
    "bayes_posterior",
    "gaussian_log_likelihood",
    "logistic_gradient",
    "rbm_hidden_probabilities",
]


def _randn(rng, *shape):
    return torch.randn(*shape, generator=rng, dtype=torch.float64)


def _simplex(rng, *shape):
    """Rows of positive numbers summing to 1 along the first dimension."""
    p = torch.rand(*shape, generator=rng, dtype=torch.float64) + 0.05
    return p / p.sum(dim=0)


def _bayes_posterior(prior, likelihood):
    dims = {}
    validate.tensor("prior", prior, shape=("K",), dims=dims)
    validate.tensor("likelihood", likelihood, shape=("K", "M"), dims=dims)
    if abs(prior.sum().item() - 1) > 1e-9 or (prior < 0).any():
        raise ValueError(
            f"prior must be a probability vector (non-negative, sum 1), got sum {prior.sum().item():.4g}"
        )
    joint = prior[:, None] * likelihood
    return joint / joint.sum(dim=0)


bayes_posterior = register(
    Exercise(
        name="gd.bayes_posterior",
        statement=(
            "bayes_posterior(prior, likelihood) takes p(y) of shape (K,) and a table p(x | y) of shape (K, M) "
            "for M discrete values of x, and returns p(y | x), shape (K, M), each column summing to 1; it "
            "raises ValueError when prior is not a probability vector."
        ),
        equation="eq-gd-bayes",
        reference=_bayes_posterior,
        cases=lambda rng: [
            Case(
                "the weight example: 2 classes, 3 weight bands",
                (
                    torch.tensor([0.5, 0.5], dtype=torch.float64),
                    torch.tensor(
                        [[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]], dtype=torch.float64
                    ),
                ),
            ),
            Case(
                "a rare class",
                (
                    torch.tensor([0.99, 0.01], dtype=torch.float64),
                    _simplex(rng, 4, 2).T,
                ),
            ),
            Case(
                "4 classes, 5 values", (_simplex(rng, 4), _simplex(rng, 5, 4).T)
            ),
            Case(
                "bad input: a prior that sums to 1.5",
                (
                    torch.tensor([1.0, 0.5], dtype=torch.float64),
                    _simplex(rng, 3, 2).T,
                ),
            ),
        ],
    )
)


def _gaussian_log_likelihood(X, mean, var):
    dims = {}
    validate.tensor("X", X, shape=("n", "F"), dims=dims)
    validate.tensor("mean", mean, shape=("F",), dims=dims)
    validate.tensor("var", var, shape=("F",), dims=dims)
    if (var <= 0).any():
        raise ValueError(
            f"var must be positive, got a smallest value of {var.min().item():.3g}"
        )
    return -0.5 * (
        math.log(2 * math.pi) + var.log() + (X - mean) ** 2 / var
    ).sum(dim=1)


gaussian_log_likelihood = register(
    Exercise(
        name="gd.gaussian_log_likelihood",
        statement=(
            "gaussian_log_likelihood(X, mean, var) returns log N(x; mean, diag(var)) for every row of X (n, F), "
            "shape (n,): the class-conditional term of naive Bayes; it raises ValueError for a variance <= 0."
        ),
        equation="eq-gd-naive-bayes",
        reference=_gaussian_log_likelihood,
        cases=lambda rng: [
            Case(
                "one feature, standard normal",
                (
                    torch.tensor([[0.0], [1.0], [-2.0]], dtype=torch.float64),
                    torch.zeros(1, dtype=torch.float64),
                    torch.ones(1, dtype=torch.float64),
                ),
            ),
            Case(
                "5 samples, 3 features",
                (
                    _randn(rng, 5, 3),
                    _randn(rng, 3),
                    torch.rand(3, generator=rng).double() + 0.1,
                ),
            ),
            Case(
                "a tiny variance",
                (
                    _randn(rng, 4, 2),
                    torch.zeros(2, dtype=torch.float64),
                    torch.tensor([1e-3, 10.0], dtype=torch.float64),
                ),
            ),
            Case(
                "bad input: a zero variance",
                (
                    _randn(rng, 4, 2),
                    torch.zeros(2, dtype=torch.float64),
                    torch.tensor([1.0, 0.0], dtype=torch.float64),
                ),
            ),
        ],
    )
)


def _logistic_gradient(X, y, w, b, C=math.inf):
    dims = {}
    validate.tensor("X", X, shape=("n", "F"), dims=dims)
    validate.tensor("y", y, shape=("n",), dims=dims)
    validate.tensor("w", w, shape=("F",), dims=dims)
    return discriminative.logistic_gradient(X, y, w, b, C)


logistic_gradient = register(
    Exercise(
        name="gd.logistic_gradient",
        statement=(
            "logistic_gradient(X, y, w, b, C=inf) returns (dw, db), the gradient of the binary cross-entropy "
            "summed over the rows of X plus |w|^2 / (2C); it raises ValueError when w does not match X."
        ),
        equation="eq-gd-logistic-gradient",
        reference=_logistic_gradient,
        cases=lambda rng: [
            Case(
                "no penalty",
                (
                    _randn(rng, 6, 2),
                    torch.tensor([0, 1, 1, 0, 1, 0], dtype=torch.float64),
                    _randn(rng, 2),
                    0.5,
                ),
            ),
            Case(
                "with a penalty, C = 0.1",
                (
                    _randn(rng, 10, 4),
                    (torch.rand(10, generator=rng) < 0.5).double(),
                    _randn(rng, 4),
                    -1.0,
                    0.1,
                ),
            ),
            Case(
                "bad input: w has 3 weights for 2 features",
                (
                    _randn(rng, 5, 2),
                    torch.ones(5, dtype=torch.float64),
                    _randn(rng, 3),
                    0.0,
                ),
            ),
        ],
    )
)


def _rbm_hidden_probabilities(v, W, c):
    dims = {}
    validate.tensor("v", v, shape=("n", "V"), dims=dims)
    validate.tensor("W", W, shape=("H", "V"), dims=dims)
    validate.tensor("c", c, shape=("H",), dims=dims)
    return torch.sigmoid(v @ W.T + c)


rbm_hidden_probabilities = register(
    Exercise(
        name="gd.rbm_hidden_probabilities",
        statement=(
            "rbm_hidden_probabilities(v, W, c) returns p(h_j = 1 | v) = sigmoid(c_j + W_j . v) for every row of "
            "v (n, V), with W of shape (H, V): shape (n, H); it raises ValueError when W does not match v."
        ),
        equation="eq-gd-rbm-conditionals",
        reference=_rbm_hidden_probabilities,
        cases=lambda rng: [
            Case(
                "one visible vector",
                (
                    torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64),
                    _randn(rng, 2, 3),
                    _randn(rng, 2),
                ),
            ),
            Case(
                "a batch of binary vectors",
                (
                    (torch.rand(5, 6, generator=rng) < 0.5).double(),
                    _randn(rng, 4, 6),
                    _randn(rng, 4),
                ),
            ),
            Case(
                "bad input: W for 5 visible units, v with 6",
                (
                    (torch.rand(2, 6, generator=rng) < 0.5).double(),
                    _randn(rng, 4, 5),
                    _randn(rng, 4),
                ),
            ),
        ],
    )
)
