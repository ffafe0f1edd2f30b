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


def _block_size(fn, args) -> int:
    """Calls per timed block, so that a block lasts about 20 ms and the clock is accurate."""
    fn(*args)  # warm-up
    calls = 1
    while calls < 1 << 16:
        start = time.perf_counter()
        for _ in range(calls):
            fn(*args)
        if time.perf_counter() - start > 0.02:
            break
        calls *= 2
    return calls


def _block(fn, args, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(*args)
    return (time.perf_counter() - start) / calls


def _interleaved(ours, theirs, args, repeats: int) -> tuple[float, float, float]:
    """Median seconds per call of each side, and the median of the paired ratios.

    The two sides alternate block by block, so a slow spell of the machine hits both
    and cancels out of the ratio.
    """
    n_ours, n_theirs = _block_size(ours, args), _block_size(theirs, args)
    pairs = [(_block(ours, args, n_ours), _block(theirs, args, n_theirs)) for _ in range(repeats)]
    ratio = statistics.median(a / b for a, b in pairs)
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs), ratio


def run(quick: bool = False, only: str = "") -> list[tuple[str, float, float, float]]:
    """Time every registered benchmark: (name, nnbook s, torch s, median paired ratio)."""
    for info in pkgutil.iter_modules(benchmarks.__path__):
        importlib.import_module(f"benchmarks.{info.name}")
    torch.set_num_threads(1)
    rows = []
    for bench in BENCHMARKS:
        if only not in bench.name:
            continue
        args = bench.inputs(0.1 if quick else 1.0)
        # The same kernel? (Precision is the unit tests' job, in float64; this is float32.)
        torch.testing.assert_close(bench.nnbook(*args), bench.torch(*args), rtol=1e-3, atol=1e-3)
        rows.append(
            (bench.name, *_interleaved(bench.nnbook, bench.torch, args, 3 if quick else 21))
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nnbook kernels against torch")
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats")
    parser.add_argument("--filter", default="", help="run only benchmarks whose name has this")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.filter)
    width = max([len(row[0]) for row in rows] + [9])
    print(f"torch {torch.__version__}, 1 thread; ratio = nnbook time / torch time, "
          "the median over interleaved blocks")  # fmt: skip
    print(f"{'benchmark':<{width}}  {'nnbook':>10}  {'torch':>10}  {'ratio':>6}")
    for name, ours, theirs, ratio in rows:
        print(f"{name:<{width}}  {ours * 1e6:8.1f} us  {theirs * 1e6:8.1f} us  {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
