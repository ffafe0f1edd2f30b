"""Feedforward kernels against torch."""

import torch
import torch.nn.functional as F

from benchmarks import Benchmark, register
from nnbook import feedforward


def _linear_inputs(scale):
    T_mb = max(1, int(256 * scale))
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(T_mb, 784, generator=g),
        torch.randn(256, 784, generator=g),
        torch.randn(256, generator=g),
    )


register(
    Benchmark("linear forward, 256 x 784 -> 256", feedforward.linear, F.linear, _linear_inputs)
)
