"""Exercises of the optimizers chapter.

Each reference runs the chapter's own update rule (:mod:`nnbook.optim.rules`) on copies
of its inputs and returns the results, so the reader's function may be pure.
"""

from __future__ import annotations

import torch

from nnbook import _validate as validate
from nnbook.check import Case, Exercise, register
from nnbook.optim import SGD, StepLR, rules

__all__ = [
    "adagrad_step",
    "adam_bias_correction",
    "momentum_step",
    "step_decay",
]


def _randn(rng, *shape):
    return torch.randn(*shape, generator=rng, dtype=torch.float64)


def _momentum_step(theta, grad, buffer, lr, momentum):
    validate.number("lr", lr, low=0)
    validate.number("momentum", momentum, low=0)
    theta = theta.clone()
    state = {} if buffer is None else {"momentum_buffer": buffer.clone()}
    rules.sgd_update(theta, grad, state, lr=lr, momentum=momentum)
    return theta, state["momentum_buffer"]


def _momentum_cases(rng):
    return [
        Case(
            "first step: the buffer starts as the gradient",
            (_randn(rng, 3), _randn(rng, 3), None, 0.1, 0.9),
        ),
        Case(
            "a later step",
            (
                _randn(rng, 2, 2),
                _randn(rng, 2, 2),
                _randn(rng, 2, 2),
                0.05,
                0.9,
            ),
        ),
        Case(
            "momentum 0.5",
            (_randn(rng, 4), _randn(rng, 4), _randn(rng, 4), 0.2, 0.5),
        ),
        Case(
            "bad input: negative momentum",
            (_randn(rng, 2), _randn(rng, 2), None, 0.1, -0.9),
        ),
    ]


momentum_step = register(
    Exercise(
        name="opt.momentum_step",
        statement=(
            "momentum_step(theta, grad, buffer, lr, momentum) returns (new_theta, new_buffer) "
            "for torch's form b_t = momentum * b_{t-1} + g_t (b_1 = g_1 when buffer is None), "
            "theta_t = theta_{t-1} - lr * b_t; it raises ValueError for lr < 0 or momentum < 0."
        ),
        equation="eq-opt-momentum",
        reference=_momentum_step,
        cases=_momentum_cases,
    )
)


def _adam_bias_correction(m, v, t, beta1, beta2):
    validate.number("t", t, low=1, integer=True)
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        validate.number(name, beta, low=0, high=1, high_open=True)
    return m / (1 - beta1**t), v / (1 - beta2**t)


def _bias_cases(rng):
    return [
        Case(
            "the first step",
            (_randn(rng, 3), _randn(rng, 3).abs(), 1, 0.9, 0.999),
        ),
        Case(
            "step 10",
            (_randn(rng, 2, 3), _randn(rng, 2, 3).abs(), 10, 0.9, 0.999),
        ),
        Case(
            "late in training: almost no correction",
            (_randn(rng, 3), _randn(rng, 3).abs(), 5000, 0.9, 0.999),
        ),
        Case(
            "bad input: t = 0 (steps count from 1)",
            (_randn(rng, 2), _randn(rng, 2).abs(), 0, 0.9, 0.999),
        ),
    ]


adam_bias_correction = register(
    Exercise(
        name="opt.adam_bias_correction",
        statement=(
            "adam_bias_correction(m, v, t, beta1, beta2) returns (m_hat, v_hat) = "
            "(m / (1 - beta1^t), v / (1 - beta2^t)); it raises ValueError for t < 1."
        ),
        equation="eq-opt-adam",
        reference=_adam_bias_correction,
        cases=_bias_cases,
    )
)


def _adagrad_step(theta, grad, G, lr, eps=1e-10):
    validate.number("eps", eps, low=0, low_open=True)
    theta, state = theta.clone(), {"step": 1, "sum": G.clone()}
    rules.adagrad_update(theta, grad, state, lr=lr, eps=eps)
    return theta, state["sum"]


def _adagrad_cases(rng):
    def zeros(n):
        return torch.zeros(n, dtype=torch.float64)

    return [
        Case(
            "from an empty accumulator",
            (_randn(rng, 3), _randn(rng, 3), zeros(3), 0.1),
        ),
        Case(
            "with history",
            (
                _randn(rng, 2, 2),
                _randn(rng, 2, 2),
                _randn(rng, 2, 2).abs() * 5,
                0.5,
            ),
        ),
        Case(
            "a zero gradient leaves theta alone",
            (_randn(rng, 2), zeros(2), zeros(2), 0.1),
        ),
        Case(
            "bad input: eps = 0",
            (_randn(rng, 2), _randn(rng, 2), zeros(2), 0.1, 0.0),
        ),
    ]


adagrad_step = register(
    Exercise(
        name="opt.adagrad_step",
        statement=(
            "adagrad_step(theta, grad, G, lr, eps=1e-10) returns (new_theta, new_G) with "
            "G_t = G + grad^2 and theta_t = theta - lr * grad / (sqrt(G_t) + eps); it raises "
            "ValueError for eps <= 0."
        ),
        equation="eq-opt-adagrad",
        reference=_adagrad_step,
        cases=_adagrad_cases,
    )
)


def _step_decay(lr0, gamma, step_size, epoch):
    validate.number("epoch", epoch, low=0, integer=True)
    schedule = StepLR(
        SGD([torch.zeros(1)], lr=lr0), step_size=step_size, gamma=gamma
    )
    return schedule.lr_at(lr0, epoch)


def _decay_cases(rng):
    return [
        Case("before the first drop", (0.1, 0.5, 10, 9)),
        Case("exactly at a drop", (0.1, 0.5, 10, 10)),
        Case("three drops later", (1.0, 0.1, 3, 11)),
        Case("epoch 0", (0.3, 0.2, 5, 0)),
        Case("bad input: step_size = 0", (0.1, 0.5, 0, 4)),
    ]


step_decay = register(
    Exercise(
        name="opt.step_decay",
        statement=(
            "step_decay(lr0, gamma, step_size, epoch) returns lr0 * gamma ** (epoch // step_size); "
            "it raises ValueError for step_size < 1."
        ),
        equation="eq-opt-decay",
        reference=_step_decay,
        cases=_decay_cases,
    )
)
