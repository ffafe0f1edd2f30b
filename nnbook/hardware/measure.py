"""Measurements of the machine the code runs on; each returns plain numbers.

Timings take the median of several repeats after a warm-up call, and synchronize the
GPU before reading the clock, so that asynchronous kernel launches are not mistaken for
finished work. On a GPU each repeat lasts at least a millisecond, and a kernel shorter
than that is recorded once as a CUDA graph of back-to-back calls and timed by replaying
the graph: launched one by one from Python, a kernel of a few microseconds would be
timed at the rate at which the CPU dispatches and launches it, not at the rate of the
GPU. Deterministic mode is switched off while timing, so that cuBLAS and cuDNN may pick
their fastest algorithms. The numbers differ from machine to machine and from run to
run, so the book asserts only what holds on any machine (a rate is positive and
finite, say), and quotes the numbers as those of the machine that executed the page.
"""

from __future__ import annotations

import contextlib
import glob
import os
import statistics
import time
from collections.abc import Callable

import torch

from nnbook.contract import Choice, Flag, Instance, Int, Ints, Real, contract

__all__ = [
    "cache_sizes",
    "cache_sweep",
    "copy_bandwidth",
    "host_to_device",
    "kernel_costs",
    "kernel_rates",
    "matmul_gflops",
    "matmul_sweep",
    "roofline_kernels",
    "synchronize",
    "threads_throughput",
    "timed",
]

DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
    "float8_e4m3fn": getattr(torch, "float8_e4m3fn", None),
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


@contextlib.contextmanager
def _fastest_algorithms(device):
    """On a GPU, switch deterministic mode off inside the block, then restore it.

    :func:`nnbook.setup` turns on ``torch.use_deterministic_algorithms``, which keeps
    cuBLAS and cuDNN from some of their fastest algorithms; a speed measurement should
    see those. Nothing changes on other devices.
    """
    if device.type != "cuda":
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


#: The most calls (or graph replays) :func:`timed` puts into one timed batch.
MAX_CALLS = 2**14

#: How many calls of a short kernel one CUDA graph of :func:`timed` records.
GRAPH_CALLS = 32


def _graph(fn, calls, device):
    """A CUDA graph that replays ``calls`` calls of ``fn``; ``None`` if capture fails.

    As CUDA graphs require, ``fn`` first runs a few times on a side stream (libraries
    allocate their workspaces there), and the graph is replayed once before it is
    returned. An operation that cannot be captured (one that synchronizes with the
    CPU, or copies from pageable memory) makes capture fail; the caller then times
    plain calls.
    """
    try:
        with torch.cuda.device(device):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    fn()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                for _ in range(calls):
                    fn()
            graph.replay()
            torch.cuda.synchronize()
        return graph
    except Exception:  # noqa: BLE001 - any failure to capture means: no graph
        with contextlib.suppress(Exception):
            torch.cuda.synchronize(device)
        return None


@contract(
    fn=Instance(Callable),
    repeats=Int(low=1),
    min_batch_seconds=Real(low=0, optional=True),
    graph=Flag(),
)
def timed(fn, *, repeats=5, device="cpu", min_batch_seconds=None, graph=True):
    """Median wall-clock seconds of one call of ``fn()``, after one warm-up call.

    Each of the ``repeats`` measurements times a batch of back-to-back calls between
    two synchronizations and divides by their number. The batch doubles (up to
    ``MAX_CALLS`` calls) until it lasts ``min_batch_seconds``: by default a
    millisecond on a GPU and a single call elsewhere. On a GPU, a call shorter than
    that is first recorded ``GRAPH_CALLS`` times into a CUDA graph, and the batch
    replays the graph: one replay launches all the recorded kernels at once, so the
    time measured is the GPU's, not that of the CPU dispatching and launching each
    kernel (which for a kernel of a few microseconds is the larger). Where capture
    fails, or ``graph`` is false, the batch is made of plain calls, whose rate is then
    bounded by the launches. On a GPU, deterministic mode is off while timing and
    restored afterwards.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeats : int, default 5
        Timed batches; the median counts.
    device : str or torch.device, default "cpu"
        Synchronized before the clock is read.
    min_batch_seconds : float, optional
        The shortest batch; ``None`` for the default above, 0 for single calls.
    graph : bool, default True
        On a GPU, replay short calls as a CUDA graph where they can be captured.

    Returns
    -------
    float
        Seconds per call.
    """
    device = _device(device)
    if min_batch_seconds is None:
        min_batch_seconds = 1e-3 if device.type == "cuda" else 0.0

    def batch(run, calls):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(calls):
            run()
        synchronize(device)
        return time.perf_counter() - start

    with _fastest_algorithms(device):
        fn()
        run, per_run = fn, 1
        if (
            graph
            and device.type == "cuda"
            and min_batch_seconds > 0
            and batch(fn, 1) < min_batch_seconds
        ):
            recorded = _graph(fn, GRAPH_CALLS, device)
            if recorded is not None:
                run, per_run = recorded.replay, GRAPH_CALLS
        calls = 1
        while (
            min_batch_seconds > 0
            and calls < MAX_CALLS
            and batch(run, calls) < min_batch_seconds
        ):
            calls *= 2
        seconds = statistics.median(batch(run, calls) for _ in range(repeats))
        return seconds / (calls * per_run)


def _operands(n, dtype, device):
    """Two ``n x n`` operands of ``dtype`` on ``device``, drawn on the CPU, and the product."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    if dtype != "float8_e4m3fn":
        a, b = (x.to(device=device, dtype=DTYPES[dtype]) for x in (a, b))
        return lambda: a @ b
    # fp8 goes through torch._scaled_mm, a private function whose signature
    # changed in torch 2.4: the second operand column-major, a scale per operand
    # (here 1), a bfloat16 result, and fast accumulation (partial sums kept in
    # the tensor cores' own precision), the setting of the peak rate.
    a = a.to(device=device, dtype=torch.float8_e4m3fn)
    b = b.to(device=device, dtype=torch.float8_e4m3fn).t().contiguous().t()
    one = torch.ones((), device=device)
    return lambda: torch._scaled_mm(
        a, b, one, one, out_dtype=torch.bfloat16, use_fast_accum=True
    )


@contract(n=Int(low=1), dtype=Choice(*DTYPES), repeats=Int(low=1), tf32=Flag())
def matmul_gflops(n, dtype="float32", device="cpu", repeats=5, *, tf32=False):
    """Throughput of an ``n x n`` matrix product, in GFLOP/s (``2 n^3`` operations per product).

    Parameters
    ----------
    n : int
        The size of the square matrices.
    dtype : str, default "float32"
        One of ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"float64"`` and
        ``"float8_e4m3fn"``. The last multiplies with ``torch._scaled_mm`` (unit
        scales, a bfloat16 result, fast accumulation), which needs ``n`` a multiple of 16 and, on a GPU,
        compute capability 8.9 or more.
    device : str or torch.device, default "cpu"
    repeats : int, default 5
        Timed products; the median counts.
    tf32 : bool, default False
        For float32 only: let CUDA matrix products round their inputs to TF32 (10
        bits of mantissa) on the tensor cores, by setting
        ``torch.backends.cuda.matmul.fp32_precision`` (or, on a torch older than
        2.9, which lacks it, ``allow_tf32``) for the measurement; float32 products are
        measured with TF32 forbidden otherwise. The setting is restored afterwards.
        It changes nothing on a CPU.

    Returns
    -------
    float
        GFLOP/s.

    Raises
    ------
    ValueError
        If ``tf32`` is asked for a dtype other than float32, if this torch has no
        float8_e4m3fn, or if an fp8 ``n`` is not a multiple of 16.
    """
    device = _device(device)
    if tf32 and dtype != "float32":
        raise ValueError(
            f"tf32 applies to float32 products only, got dtype {dtype!r}"
        )
    if dtype == "float8_e4m3fn":
        if DTYPES[dtype] is None:
            raise ValueError(
                "dtype 'float8_e4m3fn' needs a torch with torch.float8_e4m3fn, "
                f"got torch {torch.__version__}"
            )
        if n % 16:
            raise ValueError(
                f"n must be a multiple of 16 for float8_e4m3fn products, got {n}"
            )
    product = _operands(n, dtype, device)
    allowed = contextlib.nullcontext() if dtype != "float32" else _tf32(tf32)
    with allowed:
        seconds = timed(product, repeats=repeats, device=device)
    return 2 * n**3 / seconds / 1e9


@contextlib.contextmanager
def _tf32(allowed):
    """Allow (or forbid) TF32 in CUDA matrix products inside the block, then restore.

    PyTorch has two switches for it: ``fp32_precision``, since 2.9, and the older
    ``allow_tf32``, which newer versions deprecate (and refuse to read once the
    newer one has been set). This uses the newer one where it exists.
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        name, value = "fp32_precision", "tf32" if allowed else "ieee"
    else:
        name, value = "allow_tf32", allowed
    before = getattr(matmul, name)
    setattr(matmul, name, value)
    try:
        yield
    finally:
        setattr(matmul, name, before)


@contract(
    dtype=Choice(*DTYPES),
    max_seconds=Real(low=0, low_open=True),
    repeats=Int(low=1),
    sizes=Ints(low=1, increasing=True),
    tf32=Flag(),
)
def matmul_sweep(
    sizes,
    dtype="float32",
    device="cpu",
    *,
    max_seconds=0.05,
    repeats=5,
    tf32=False,
):
    """:func:`matmul_gflops` for growing sizes, stopping after the first product slower than ``max_seconds``.

    A format that the processor only emulates (bfloat16 on a CPU without bf16
    instructions runs tens of times slower than float32) would otherwise spend minutes
    on the largest products. Returns the GFLOP/s of the sizes measured: the first
    ``len(result)`` of ``sizes``, at least one. ``tf32`` is passed on to
    :func:`matmul_gflops`.
    """
    rates = []
    for n in sizes:
        rates.append(matmul_gflops(n, dtype, device, repeats, tf32=tf32))
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


def cache_sizes():
    """The data caches of the first CPU, as Linux reports them: ``{"L1": bytes, ...}``.

    Read from ``/sys/devices/system/cpu/cpu0/cache``; instruction caches are left
    out. Returns an empty dict where that directory is missing (not Linux, or a
    container that hides it).
    """
    sizes = {}
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    for index in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(os.path.join(index, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(index, "level")) as f:
                level = int(f.read())
            with open(os.path.join(index, "size")) as f:
                text = f.read().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction" or not text:
            continue
        factor = units.get(text[-1], 1)
        digits = text[:-1] if text[-1] in units else text
        if digits.isdigit():
            sizes[f"L{level}"] = int(digits) * factor
    return sizes


@contract(sizes=Ints(low=4), min_bytes_touched=Int(low=1), repeats=Int(low=1))
def cache_sweep(sizes, *, min_bytes_touched=2**28, repeats=5):
    """Read bandwidth (bytes per second) of summing a buffer of each size, over and over.

    The buffer is viewed ``rounds`` times with a zero stride (``expand``), so one call
    reads the same memory repeatedly: no per-call overhead, and a buffer that fits in a
    cache is read from it every time after the first. Where the summing loop is fast
    enough, the curve falls as the buffer outgrows a cache level, most clearly past
    the last one. ``repeats`` timed sums per size; the median counts.
    """
    results = []
    for nbytes in sizes:
        x = torch.ones(nbytes // 4, dtype=torch.float32)
        rounds = max(1, min_bytes_touched // nbytes)
        repeated = x.expand(rounds, x.numel())  # no copy: row r is x itself
        seconds = timed(repeated.sum, repeats=repeats)
        results.append(rounds * x.numel() * 4 / seconds)
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
        graph=False,  # a transfer as a program issues it, one copy at a time
    )
    return src.numel() * 4 / seconds


@contract(
    scale=Int(low=1),
    light_scale=Int(low=1, optional=True),
    dtype=Choice("float32", "bfloat16", "float16"),
)
def kernel_costs(*, scale=1, light_scale=None, dtype="float32"):
    """``name -> (flops, bytes)`` of the six kernels of :func:`roofline_kernels`.

    The same sizes and costs, from :mod:`nnbook.hardware.roofline`, without
    building any tensor: for placing the kernels on a machine one does not have.

    Parameters
    ----------
    scale : int, default 1
    light_scale : int, optional
    dtype : str, default "float32"
        As in :func:`roofline_kernels`.

    Returns
    -------
    dict
        ``name -> (flops, bytes)``.
    """
    from nnbook.hardware import roofline

    size = torch.empty((), dtype=DTYPES[dtype]).element_size()
    b, m = scale, scale if light_scale is None else light_scale
    return {
        "MLP layer": roofline.linear_cost(128 * b, 784, 256, size),
        "VGG conv": roofline.conv2d_cost(
            8 * b, 64, 32, 64, 3, padding=1, bytes_per_element=size
        ),
        "LSTM step": roofline.lstm_step_cost(32 * b, 64, 64, size),
        "addition": roofline.elementwise_cost(
            2**22 * m, inputs=2, bytes_per_element=size
        ),
        "layer norm": roofline.layer_norm_cost(4096 * m, 1024, size),
        "embedding bag": roofline.embedding_bag_cost(4096 * m, 8, 128, size),
    }


@contract(
    scale=Int(low=1),
    light_scale=Int(low=1, optional=True),
    dtype=Choice("float32", "bfloat16", "float16"),
    generator=Instance(torch.Generator, optional=True),
)
def roofline_kernels(
    device="cpu", *, scale=1, light_scale=None, dtype="float32", generator=None
):
    """Six kernels of the book, ready to time and to place on a roofline.

    Three of them do many operations per byte: a fully connected layer of the MNIST
    network (batch ``128 * scale``, 784 to 256), a 3 x 3 convolution of a VGG block
    (batch ``8 * scale``, 64 to 64 channels, 32 x 32) and one LSTM step (batch
    ``32 * scale``, 64 inputs, 64 units). Three do few: the sum ``x + y`` of two
    tensors of ``2**22 * L`` numbers, a layer norm of ``4096 * L`` rows of
    1024, and an embedding bag that sums 8 random rows of a table of
    ``2**16 * L`` rows of 128 for each of ``4096 * L`` bags, with ``L`` the
    ``light_scale``.

    Parameters
    ----------
    device : str or torch.device, default "cpu"
    scale : int, default 1
        Multiplies the batch sizes: a GPU needs larger work to be measured at its
        speed.
    light_scale : int, optional
        Multiplies the sizes of the three light kernels (and the table); by default
        ``scale``. Tensors larger than the last-level cache make them read from
        main memory, as the roofline's copy bandwidth assumes.
    dtype : str, default "float32"
        ``"float32"``, ``"bfloat16"`` or ``"float16"``.
    generator : torch.Generator, optional
        Draws the inputs, on the CPU; they are then moved to ``device``.

    Returns
    -------
    dict
        ``name -> ((flops, bytes), run)``: the cost from
        :mod:`nnbook.hardware.roofline` and a function that runs the kernel once.
    """
    from torch.nn import functional as F

    device, dt = _device(device), DTYPES[dtype]
    g = torch.Generator().manual_seed(0) if generator is None else generator

    def draw(*shape):
        return torch.randn(*shape, generator=g).to(device=device, dtype=dt)

    def module(m):
        return m.to(device=device, dtype=dt)

    b, k = scale, scale if light_scale is None else light_scale
    x_fc, fc = draw(128 * b, 784), module(torch.nn.Linear(784, 256))
    x_conv = draw(8 * b, 64, 32, 32)
    conv = module(torch.nn.Conv2d(64, 64, 3, padding=1))
    cell, x_t = module(torch.nn.LSTMCell(64, 64)), draw(32 * b, 64)
    h_c = (torch.zeros(32 * b, 64, device=device, dtype=dt),) * 2
    x_add, y_add = draw(2**22 * k), draw(2**22 * k)
    x_ln, ln = draw(4096 * k, 1024), module(torch.nn.LayerNorm(1024))
    table = draw(2**16 * k, 128)
    index = torch.randint(2**16 * k, (4096 * k, 8), generator=g).to(device)
    costs = kernel_costs(scale=scale, light_scale=light_scale, dtype=dtype)
    runs = {
        "MLP layer": lambda: fc(x_fc),
        "VGG conv": lambda: conv(x_conv),
        "LSTM step": lambda: cell(x_t, h_c),
        "addition": lambda: x_add + y_add,
        "layer norm": lambda: ln(x_ln),
        "embedding bag": lambda: F.embedding_bag(index, table, mode="sum"),
    }
    return {name: (costs[name], run) for name, run in runs.items()}


@contract(repeats=Int(low=1))
def kernel_rates(kernels, device="cpu", repeats=20):
    """Time each kernel of :func:`roofline_kernels` and return its place on a roofline.

    Parameters
    ----------
    kernels : dict
        ``name -> ((flops, bytes), run)``.
    device : str or torch.device, default "cpu"
        Where the kernels run: a GPU is synchronized before the clock is read.
    repeats : int, default 20
        Timed runs per kernel, after a warm-up; the median counts. On a GPU each
        run replays a CUDA graph of back-to-back calls, or, where the kernel cannot
        be captured, a batch of plain calls (:func:`timed`).

    Returns
    -------
    dict
        ``name -> (intensity, FLOP/s)``, the intensity in FLOP/byte from
        :func:`nnbook.hardware.roofline.intensity`.
    """
    from nnbook.hardware import roofline

    if not isinstance(kernels, dict):
        raise TypeError(
            f"kernels must be a dict of name -> ((flops, bytes), run), "
            f"got {type(kernels).__name__}"
        )
    points = {}
    with torch.no_grad():
        for name, ((flops, nbytes), run) in kernels.items():
            seconds = timed(run, repeats=repeats, device=device)
            points[name] = (roofline.intensity(flops, nbytes), flops / seconds)
    return points
