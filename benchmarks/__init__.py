"""Speed of nnbook's kernels, as ratios to the torch equivalent measured in the same run.

A chapter adds a benchmark with a few lines in a module of this package::

    register(Benchmark(
        name="linear (T_mb=256, 784 -> 256)",
        nnbook=lambda h, W, b: feedforward.linear(h, W, b),
        torch=torch.nn.functional.linear,
        inputs=lambda size: (torch.randn(size, 784), torch.randn(256, 784), torch.randn(256)),
    ))

Run them all with ``make bench`` (``python -m benchmarks``). Ratios, not seconds, are
what carry across machines; they are never asserted in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BENCHMARKS", "Benchmark", "register"]


@dataclass(frozen=True)
class Benchmark:
    """Two implementations of one kernel, and a way to make their inputs.

    ``inputs(scale)`` returns the argument tuple; ``scale`` is 1.0 for a full run and
    smaller for a quick one.
    """

    name: str
    nnbook: Callable
    torch: Callable
    inputs: Callable[[float], tuple]


BENCHMARKS: list[Benchmark] = []


def register(benchmark: Benchmark) -> Benchmark:
    BENCHMARKS.append(benchmark)
    return benchmark
