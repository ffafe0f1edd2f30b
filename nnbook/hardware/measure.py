"""Measurements of the machine the code runs on; each returns plain numbers.

Timings take the median of several repeats after a warm-up call, and synchronize the
GPU before reading the clock, so that asynchronous kernel launches are not mistaken for
finished work. The numbers differ from machine to machine and from run to run, so the
book asserts only what holds on any machine (a rate is positive and finite, say), and
quotes the numbers as those of the machine that executed the page.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from nnbook.contract import Choice, Flag, Instance, Int, Ints, Real, contract

__all__ = [
    "cache_sweep",
    "copy_bandwidth",
    "host_to_device",
    "matmul_gflops",
    "matmul_sweep",
    "synchronize",
    "threads_throughput",
    "timed",
]

DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
}


def _device(device):
    """``device`` as a ``torch.device``; a str or device that names none is refused."""
    if not isinstance(device, str | torch.device):
        raise TypeError(
            f"device must be a str or torch.device, got {type(device).__name__}"
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device must name a device such as 'cpu' or 'cuda:0', got {device!r}"
        ) from None


@contract(device=Instance(str | torch.device))
def synchronize(device):
    """Wait until ``device`` has finished the work queued on it; a no-op on the CPU.

    GPU kernels run asynchronously: a call returns once the work is queued, not done.
    Reading a clock without synchronizing first times the queueing, not the work.
    """
    device = _device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contract(fn=Instance(Callable), repeats=Int(low=1))
def timed(fn, *, repeats=5, device="cpu"):
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    _device(device)
    fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contract(n=Int(low=1), dtype=Choice(*DTYPES), repeats=Int(low=1))
def matmul_gflops(n, dtype="float32", device="cpu", repeats=5):
    """Throughput of an ``n x n`` matrix product, in GFLOP/s (``2 n^3`` operations per product)."""
    device, dtype = _device(device), DTYPES[dtype]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, repeats=repeats, device=device)
    return 2 * n**3 / seconds / 1e9


@contract(
    dtype=Choice(*DTYPES),
    max_seconds=Real(low=0, low_open=True),
    repeats=Int(low=1),
    sizes=Ints(low=1, increasing=True),
)
def matmul_sweep(
    sizes, dtype="float32", device="cpu", *, max_seconds=0.05, repeats=5
):
    """:func:`matmul_gflops` for growing sizes, stopping after the first product slower than ``max_seconds``.

    A format that the processor only emulates (bfloat16 on a CPU without bf16
    instructions runs tens of times slower than float32) would otherwise spend minutes
    on the largest products. Returns the GFLOP/s of the sizes measured: the first
    ``len(result)`` of ``sizes``, at least one.
    """
    rates = []
    for n in sizes:
        rates.append(matmul_gflops(n, dtype, device, repeats))
        if 2 * n**3 / (rates[-1] * 1e9) > max_seconds:
            break
    return rates


@contract(nbytes=Int(low=4), repeats=Int(low=1))
def copy_bandwidth(nbytes, device="cpu", repeats=5):
    """Bytes per second of copying a buffer of ``nbytes`` into another: it reads and writes, 2 * nbytes."""
    device = _device(device)
    src = torch.ones(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    seconds = timed(lambda: dst.copy_(src), repeats=repeats, device=device)
    return 2 * src.numel() * 4 / seconds


@contract(sizes=Ints(low=4), min_bytes_touched=Int(low=1))
def cache_sweep(sizes, *, min_bytes_touched=2**28):
    """Read bandwidth (bytes per second) of summing a buffer of each size, over and over.

    The buffer is viewed ``rounds`` times with a zero stride (``expand``), so one call
    reads the same memory repeatedly: no per-call overhead, and a buffer that fits in a
    cache is read from it every time after the first. The steps in the curve are the
    cache sizes.
    """
    results = []
    for nbytes in sizes:
        x = torch.ones(nbytes // 4, dtype=torch.float32)
        rounds = max(1, min_bytes_touched // nbytes)
        repeated = x.expand(rounds, x.numel())  # no copy: row r is x itself
        results.append(rounds * x.numel() * 4 / timed(repeated.sum, repeats=3))
    return results


@contract(threads=Ints(low=1), n=Int(low=1), repeats=Int(low=1))
def threads_throughput(threads, n=512, repeats=5):
    """Matrix-multiply GFLOP/s on the CPU with each number of threads; restores the setting afterwards."""
    before = torch.get_num_threads()
    try:
        out = []
        for k in threads:
            torch.set_num_threads(k)
            out.append(matmul_gflops(n, repeats=repeats))
        return out
    finally:
        torch.set_num_threads(before)


@contract(nbytes=Int(low=4), pinned=Flag(), repeats=Int(low=1))
def host_to_device(nbytes, *, pinned, device="cuda", repeats=5):
    """Bytes per second of copying ``nbytes`` from CPU memory to a GPU, pinned or pageable."""
    if _device(device).type != "cuda":
        raise ValueError(
            f"device must be a CUDA device for host_to_device, got {device!r}"
        )
    src = torch.ones(nbytes // 4, dtype=torch.float32)
    if pinned:
        src = src.pin_memory()
    dst = torch.empty(src.shape, dtype=src.dtype, device=device)
    seconds = timed(
        lambda: dst.copy_(src, non_blocking=pinned),
        repeats=repeats,
        device=device,
    )
    return src.numel() * 4 / seconds
