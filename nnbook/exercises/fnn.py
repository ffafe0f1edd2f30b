"""Exercises of the feedforward chapter."""

from __future__ import annotations

import torch

from nnbook import feedforward
from nnbook.check import Case, Exercise, register

__all__ = ["weighted_sum"]


def _weighted_sum_cases(rng: torch.Generator) -> list[Case]:
    def randn(*shape):
        return torch.randn(*shape, generator=rng, dtype=torch.float64)

    return [
        Case("one sample, 3 inputs, 2 neurons", (randn(1, 3), randn(2, 3), randn(2))),
        Case("a mini-batch of 4 samples", (randn(4, 5), randn(3, 5), randn(3))),
        Case("no bias term (e = 0)", (randn(4, 5), randn(3, 5), None)),
        Case("a single neuron", (randn(6, 2), randn(1, 2), randn(1))),
        Case("bad input: W has the wrong width", (randn(4, 5), randn(3, 4), randn(3))),
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
        reference=feedforward.linear,
        cases=_weighted_sum_cases,
    )
)
