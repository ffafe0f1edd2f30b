"""Run every benchmark and print nnbook's time as a ratio to torch's.

Usage: ``python -m benchmarks [--quick] [--filter TEXT]``
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import sys
import time

import torch

import benchmarks
from benchmarks import BENCHMARKS


def _seconds(fn, args, repeats: int) -> float:
    """Median seconds of one call, over ``repeats`` timed blocks after a warm-up."""
    fn(*args)
    per_block = 1
    while True:  # grow the block until it lasts about 20 ms, so the clock is accurate
        start = time.perf_counter()
        for _ in range(per_block):
            fn(*args)
        if time.perf_counter() - start > 0.02 or per_block >= 1 << 16:
            break
        per_block *= 2
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(per_block):
            fn(*args)
        times.append((time.perf_counter() - start) / per_block)
    return statistics.median(times)


def run(quick: bool = False, only: str = "") -> list[tuple[str, float, float]]:
    """Time every registered benchmark; return (name, nnbook seconds, torch seconds)."""
    for info in pkgutil.iter_modules(benchmarks.__path__):
        importlib.import_module(f"benchmarks.{info.name}")
    torch.set_num_threads(1)
    rows = []
    for bench in BENCHMARKS:
        if only not in bench.name:
            continue
        args = bench.inputs(0.1 if quick else 1.0)
        torch.testing.assert_close(bench.nnbook(*args), bench.torch(*args))  # same kernel?
        repeats = 3 if quick else 15
        rows.append(
            (
                bench.name,
                _seconds(bench.nnbook, args, repeats),
                _seconds(bench.torch, args, repeats),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nnbook kernels against torch")
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats")
    parser.add_argument("--filter", default="", help="run only benchmarks whose name has this")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.filter)
    width = max([len(name) for name, _, _ in rows] + [9])
    print(f"torch {torch.__version__}, 1 thread; ratio = nnbook time / torch time")
    print(f"{'benchmark':<{width}}  {'nnbook':>10}  {'torch':>10}  {'ratio':>6}")
    for name, ours, theirs in rows:
        print(
            f"{name:<{width}}  {ours * 1e6:8.1f} us  {theirs * 1e6:8.1f} us  {ours / theirs:6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
