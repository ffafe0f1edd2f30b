"""Exercises of the invertible residual network chapter."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nnbook import _validate as validate
from nnbook.check import Case, Exercise, register

__all__ = [
    "banach_bound",
    "fixed_point_inverse",
    "hutchinson_trace",
    "power_iteration_step",
]


def _randn(rng, *shape):
    return torch.randn(*shape, generator=rng, dtype=torch.float64)


def _power_iteration_step(W, u):
    dims = {}
    validate.tensor("W", W, shape=("m", "n"), dims=dims)
    validate.tensor("u", u, shape=("m",), dims=dims)
    v = F.normalize(W.T @ u, dim=0)
    u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u


power_iteration_step = register(
    Exercise(
        name="ir.power_iteration_step",
        statement=(
            "power_iteration_step(W, u) does one step v = W^T u / |W^T u|, u' = W v / |W v| and returns "
            "(u'^T W v, u'); it raises ValueError when u does not have W's number of rows."
        ),
        equation="eq-ir-spectral",
        reference=_power_iteration_step,
        cases=lambda rng: [
            Case(
                "a 3 x 2 matrix",
                (_randn(rng, 3, 2), F.normalize(_randn(rng, 3), dim=0)),
            ),
            Case(
                "a square matrix",
                (_randn(rng, 5, 5), F.normalize(_randn(rng, 5), dim=0)),
            ),
            Case(
                "bad input: u of the wrong length",
                (_randn(rng, 4, 3), _randn(rng, 3)),
            ),
        ],
    )
)


def _fixed_point_inverse(W, y, n_iter):
    """Invert y = x + tanh(x W^T) (Lip <= |W|_2) by n_iter steps of x <- y - tanh(x W^T), from x = y."""
    dims = {}
    validate.tensor("W", W, shape=("d", "d"), dims=dims)
    validate.tensor("y", y, shape=("n", "d"), dims=dims)
    validate.number("n_iter", n_iter, low=0, integer=True)
    x = y
    for _ in range(n_iter):
        x = y - torch.tanh(x @ W.T)
    return x


def _contraction(rng, d, norm):
    M = _randn(rng, d, d)
    return norm * M / torch.linalg.matrix_norm(M, 2)


fixed_point_inverse = register(
    Exercise(
        name="ir.fixed_point_inverse",
        statement=(
            "fixed_point_inverse(W, y, n_iter) inverts y = x + tanh(x W^T) row by row with n_iter steps of "
            "x <- y - tanh(x W^T) starting from x = y; it raises ValueError when y's width is not W's size."
        ),
        equation="eq-ir-fixed-point",
        reference=_fixed_point_inverse,
        cases=lambda rng: [
            Case(
                "one step, 2-D",
                (_contraction(rng, 2, 0.5), _randn(rng, 3, 2), 1),
            ),
            Case(
                "fifty steps, Lipschitz 0.9",
                (_contraction(rng, 4, 0.9), _randn(rng, 5, 4), 50),
            ),
            Case(
                "zero steps returns y",
                (_contraction(rng, 3, 0.7), _randn(rng, 2, 3), 0),
            ),
            Case(
                "bad input: y of width 3 for a 2 x 2 W",
                (_contraction(rng, 2, 0.5), _randn(rng, 4, 3), 5),
            ),
        ],
    )
)


def _hutchinson_trace(A, V):
    dims = {}
    validate.tensor("A", A, shape=("d", "d"), dims=dims)
    validate.tensor("V", V, shape=("s", "d"), dims=dims)
    return ((V @ A.T) * V).sum(dim=1).mean()


hutchinson_trace = register(
    Exercise(
        name="ir.hutchinson_trace",
        statement=(
            "hutchinson_trace(A, V) returns the mean of v^T A v over the rows v of V (s, d): Hutchinson's "
            "estimate of tr(A); it raises ValueError when V's width is not A's size."
        ),
        equation="eq-ir-hutchinson",
        reference=_hutchinson_trace,
        cases=lambda rng: [
            Case("one Gaussian probe", (_randn(rng, 3, 3), _randn(rng, 1, 3))),
            Case(
                "many sign probes",
                (
                    _randn(rng, 5, 5),
                    (
                        torch.randint(0, 2, (200, 5), generator=rng) * 2 - 1
                    ).double(),
                ),
            ),
            Case(
                "bad input: probes of width 4 for a 3 x 3 matrix",
                (_randn(rng, 3, 3), _randn(rng, 10, 4)),
            ),
        ],
    )
)


def _banach_bound(lipschitz, first_step, n):
    validate.number(
        "lipschitz", lipschitz, low=0, high=1, low_open=True, high_open=True
    )
    validate.number("first_step", first_step, low=0)
    validate.number("n", n, low=0, integer=True)
    return lipschitz**n / (1 - lipschitz) * first_step


banach_bound = register(
    Exercise(
        name="ir.banach_bound",
        statement=(
            "banach_bound(lipschitz, first_step, n) returns L^n / (1 - L) * |x_1 - x_0|, the a-priori bound on "
            "the error after n fixed-point steps; it raises ValueError unless 0 < L < 1."
        ),
        equation="eq-ir-banach",
        reference=_banach_bound,
        cases=lambda rng: [
            Case("L = 0.5 after 10 steps", (0.5, 1.0, 10)),
            Case("L = 0.99 after 100 steps", (0.99, 0.3, 100)),
            Case("before any step", (0.9, 2.0, 0)),
            Case("bad input: L = 1 (no contraction)", (1.0, 1.0, 5)),
        ],
    )
)
