"""Exercises of the feedforward chapter.

Each reference is a thin wrapper around the chapter's own functions, so an exercise
checks the reader against exactly the code the book shows.
"""

from __future__ import annotations

import torch

from nnbook import feedforward as ff
from nnbook.check import Case, Exercise, register

__all__ = [
    "ce_gradient",
    "elu_derivative",
    "inverted_dropout",
    "linear_backward",
    "weighted_sum",
]


def _randn(rng, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=rng, dtype=torch.float64)


def _weighted_sum_cases(rng):
    return [
        Case(
            "one sample, 3 inputs, 2 neurons",
            (_randn(rng, 1, 3), _randn(rng, 2, 3), _randn(rng, 2)),
        ),
        Case(
            "a mini-batch of 4 samples",
            (_randn(rng, 4, 5), _randn(rng, 3, 5), _randn(rng, 3)),
        ),
        Case(
            "no bias term (e = 0)", (_randn(rng, 4, 5), _randn(rng, 3, 5), None)
        ),
        Case(
            "a single neuron",
            (_randn(rng, 6, 2), _randn(rng, 1, 2), _randn(rng, 1)),
        ),
        Case(
            "bad input: W has the wrong width",
            (_randn(rng, 4, 5), _randn(rng, 3, 4), _randn(rng, 3)),
        ),
    ]


weighted_sum = register(
    Exercise(
        name="fnn.weighted_sum",
        statement=(
            "weighted_sum(h, W, b) returns a = h W^T + b for h of shape (T_mb, F_in), "
            "W of shape (F_out, F_in) and b of shape (F_out,) or None, and raises "
            "ValueError when the shapes do not fit."
        ),
        equation="eq-fnn-weight-avg",
        reference=ff.linear,
        cases=_weighted_sum_cases,
    )
)


def _elu_derivative(a, alpha=1.0):
    _, cache = ff.elu_forward(a, alpha)
    return ff.elu_backward(torch.ones_like(a), cache)


def _elu_cases(rng):
    return [
        Case("mixed signs", (_randn(rng, 4, 3, scale=2),)),
        Case("alpha = 0.5", (_randn(rng, 5, scale=2), 0.5)),
        Case(
            "exactly zero uses the left branch",
            (torch.zeros(3, dtype=torch.float64), 2.0),
        ),
        Case(
            "very negative inputs",
            (torch.tensor([-1e3, -50.0, -1.0], dtype=torch.float64),),
        ),
        Case("bad input: negative alpha", (_randn(rng, 3), -1.0)),
    ]


elu_derivative = register(
    Exercise(
        name="fnn.elu_derivative",
        statement=(
            "elu_derivative(a, alpha=1.0) returns g'(a) elementwise for the ELU: 1 where "
            "a > 0, alpha * exp(a) where a <= 0; it raises ValueError for alpha < 0."
        ),
        equation="eq-fnn-elu",
        reference=_elu_derivative,
        cases=_elu_cases,
    )
)


def _linear_backward(delta, h, W):
    _, cache = ff.linear_forward(h, W, torch.zeros(W.shape[0], dtype=W.dtype))
    return ff.linear_backward(delta, cache)


def _linear_backward_cases(rng):
    return [
        Case(
            "a mini-batch of 4",
            (_randn(rng, 4, 3), _randn(rng, 4, 5), _randn(rng, 3, 5)),
        ),
        Case(
            "one sample",
            (_randn(rng, 1, 2), _randn(rng, 1, 3), _randn(rng, 2, 3)),
        ),
        Case(
            "one output neuron",
            (_randn(rng, 6, 1), _randn(rng, 6, 4), _randn(rng, 1, 4)),
        ),
        Case(
            "bad input: delta has the wrong width",
            (_randn(rng, 4, 2), _randn(rng, 4, 5), _randn(rng, 3, 5)),
        ),
    ]


linear_backward = register(
    Exercise(
        name="fnn.linear_backward",
        statement=(
            "linear_backward(delta, h, W) returns (dh, dW, db) for a = h W^T + b, given "
            "delta = dJ/da of shape (T_mb, F_out); it raises ValueError when delta's shape "
            "is not (T_mb, F_out)."
        ),
        equation="eq-fnn-backprop",
        reference=_linear_backward,
        cases=_linear_backward_cases,
    )
)


def _ce_gradient(a, y):
    _, cache = ff.softmax_cross_entropy_forward(a, y)
    return ff.softmax_cross_entropy_backward(cache)


def _ce_cases(rng):
    def labels(T_mb, C):
        return torch.randint(0, C, (T_mb,), generator=rng)

    return [
        Case("a mini-batch of 5, 4 classes", (_randn(rng, 5, 4), labels(5, 4))),
        Case("one sample", (_randn(rng, 1, 3), labels(1, 3))),
        Case(
            "huge logits (use log-sum-exp)",
            (_randn(rng, 3, 4, scale=1e4), labels(3, 4)),
        ),
        Case(
            "bad input: a label out of range",
            (_randn(rng, 2, 3), torch.tensor([0, 3])),
        ),
    ]


ce_gradient = register(
    Exercise(
        name="fnn.ce_gradient",
        statement=(
            "ce_gradient(a, y) returns dJ/da for the mean softmax cross-entropy of logits a "
            "(T_mb, C) and integer labels y (T_mb,); it must stay finite for huge logits and "
            "raise ValueError for labels outside [0, C)."
        ),
        equation="eq-fnn-ce-grad",
        reference=_ce_gradient,
        cases=_ce_cases,
    )
)


def _inverted_dropout(h, keep, p):
    return ff.dropout_forward(h, p, keep=keep)[0]


def _dropout_cases(rng):
    def mask(*shape, p):
        return torch.rand(*shape, generator=rng) >= p

    return [
        Case("p = 0.5", (_randn(rng, 4, 6), mask(4, 6, p=0.5), 0.5)),
        Case("p = 0.2", (_randn(rng, 3, 5), mask(3, 5, p=0.2), 0.2)),
        Case(
            "p = 0: nothing dropped, nothing scaled",
            (_randn(rng, 2, 3), torch.ones(2, 3, dtype=torch.bool), 0.0),
        ),
        Case(
            "bad input: p = 1 would divide by zero",
            (_randn(rng, 2, 2), torch.zeros(2, 2, dtype=torch.bool), 1.0),
        ),
    ]


inverted_dropout = register(
    Exercise(
        name="fnn.inverted_dropout",
        statement=(
            "inverted_dropout(h, keep, p) applies a given boolean keep-mask in training mode: "
            "kept units are scaled by 1/(1 - p), dropped ones are 0; it raises ValueError "
            "unless 0 <= p < 1."
        ),
        equation="eq-fnn-dropout",
        reference=_inverted_dropout,
        cases=_dropout_cases,
    )
)
