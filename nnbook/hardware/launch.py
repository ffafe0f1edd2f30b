r"""The cost of launching work: a fixed price per call, CUDA graphs and compilation.

Every PyTorch operation costs a fixed time :math:`t_\text{launch}` (Python, the
dispatcher, and on a GPU the kernel launch) before any arithmetic happens. A call
that processes :math:`n` elements at a rate of :math:`R` elements per second takes

.. math:: t(n) = t_\text{launch} + \frac{n}{R},

so a step made of many tiny operations spends most of its time launching them. On a
GPU this sum holds per call only when each call is synchronized; queued calls cost
the larger of the launch and the kernel instead (:func:`step_time`). A CUDA graph
launches a whole recorded sequence of kernels at once; ``torch.compile`` replaces the
per-operation Python and dispatcher work with one guard check and one generated
wrapper per call, and fuses elementwise operations into fewer kernels.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable

import torch

from nnbook.contract import (
    Flag,
    Instance,
    Int,
    Ints,
    Real,
    Reals,
    Tensor,
    contract,
)
from nnbook.hardware import measure

__all__ = [
    "cache_sizes",
    "call_time",
    "capture_cuda_graph",
    "compile_step",
    "elementwise_chain",
    "fit_launch",
    "graph_speedup",
    "per_call_seconds",
    "size_sweep",
    "step_time",
    "usable_cpus",
]

#: Seconds and rates: numbers above zero.
POSITIVE = Real(low=0, low_open=True)


@contract(
    "eq-hw-launch",
    work=Real(low=0),
    t_launch=Real(low=0),
    rate=POSITIVE,
    reference="the closed form t_launch + work / rate",
)
def call_time(work, t_launch, rate):
    r"""Seconds of one call that processes ``work`` elements. Implements :eq:`eq-hw-launch`.

    .. math:: t(n) = t_\text{launch} + \frac{n}{R}

    Parameters
    ----------
    work : float
        :math:`n`, the elements (or any unit of work) the call processes.
    t_launch : float
        The fixed cost of one call, in seconds.
    rate : float
        :math:`R`, elements processed per second once the call runs.

    Returns
    -------
    float
        Seconds.
    """
    return t_launch + work / rate


@contract(
    work=Reals(count=None, low=0),
    seconds=Reals(count=None, low=0, low_open=True),
)
def fit_launch(work, seconds):
    r"""Least-squares fit of :math:`t_\text{launch}` and :math:`R` of :eq:`eq-hw-launch`.

    Timings of calls that span several decades of work are fitted in *relative*
    error, so that the smallest calls, which fix :math:`t_\text{launch}`, count as
    much as the largest, which fix :math:`R`: with :math:`a = t_\text{launch}` and
    :math:`b = 1 / R`,

    .. math::
        (a, b) = \arg\min_{a, b} \sum_i
        \left(\frac{a + b n_i - t_i}{t_i}\right)^2 .

    Parameters
    ----------
    work : tuple
        :math:`n_i`, the work of each timed call, at least two distinct values.
    seconds : tuple
        :math:`t_i`, the measured seconds of each call, as many as ``work``.

    Returns
    -------
    tuple
        ``(t_launch, rate)``: seconds, and elements per second.

    Raises
    ------
    ValueError
        If the lengths differ, if all the work is equal, or if the fitted time does
        not grow with the work (no positive rate fits the data).
    """
    if len(work) != len(seconds):
        raise ValueError(
            f"seconds must have one value per work value ({len(work)}), "
            f"got {len(seconds)}"
        )
    if len(set(work)) < 2:
        raise ValueError(
            f"work must hold at least two distinct values, got {list(work)}"
        )
    # the normal equations of the rows (1 / t_i, n_i / t_i) against the target 1
    rows = [(1.0 / t, n / t) for n, t in zip(work, seconds, strict=True)]
    s11 = math.fsum(u * u for u, _ in rows)
    s12 = math.fsum(u * v for u, v in rows)
    s22 = math.fsum(v * v for _, v in rows)
    r1 = math.fsum(u for u, _ in rows)
    r2 = math.fsum(v for _, v in rows)
    det = s11 * s22 - s12 * s12
    a = (r1 * s22 - r2 * s12) / det
    b = (s11 * r2 - s12 * r1) / det
    if not b > 0:
        raise ValueError(
            "seconds must grow with work for a rate to fit, "
            f"got a fitted slope of {b:.3g} seconds per unit of work"
        )
    return a, 1.0 / b


@contract(
    "eq-hw-graph",
    kernels=Int(low=1),
    t_kernel=Real(low=0),
    t_launch=Real(low=0),
    graph=Flag(),
    reference="a simulation of the launch queue, kernel by kernel",
)
def step_time(kernels, t_kernel, t_launch, *, graph=False):
    r"""Seconds of a step of ``kernels`` equal kernels on a GPU. Implements :eq:`eq-hw-graph`.

    Without a graph the CPU launches the kernels one by one, each launch taking
    :math:`t_\text{launch}`, while the GPU runs the kernels already queued; the
    slower of the two sets the pace. A CUDA graph is one launch for all :math:`k`
    kernels, which then run back to back. The model takes the launch of a graph to
    cost as much as the launch of one kernel, a simplification: a replay skips
    Python and the dispatcher, but ``cudaGraphLaunch`` has a fixed cost of its
    own, which one measurement on a consumer GPU put at about 15 µs, more than one
    kernel launch. ``t_kernel`` is what the GPU spends per kernel,
    including its fixed scheduling cost, so it never reaches zero on real hardware:

    .. math::
        \begin{aligned}
        T_\text{eager} &= t_\text{launch} + t_\text{kernel}
            + (k - 1) \max(t_\text{launch}, t_\text{kernel}), \\
        T_\text{graph} &= t_\text{launch} + k \, t_\text{kernel} .
        \end{aligned}

    Parameters
    ----------
    kernels : int
        :math:`k`, the kernels in one step.
    t_kernel : float
        Seconds the GPU spends on one kernel.
    t_launch : float
        Seconds the CPU spends launching one kernel, or one graph.
    graph : bool, default False
        Replay the step as one CUDA graph.

    Returns
    -------
    float
        Seconds.
    """
    if graph:
        return t_launch + kernels * t_kernel
    return t_launch + t_kernel + (kernels - 1) * max(t_launch, t_kernel)


@contract(kernels=Int(low=1), t_kernel=Real(low=0), t_launch=Real(low=0))
def graph_speedup(kernels, t_kernel, t_launch):
    r"""How many times faster a step of ``kernels`` kernels runs as a CUDA graph.

    The ratio :math:`T_\text{eager} / T_\text{graph}` of :eq:`eq-hw-graph`. It is at
    most :math:`k`, reached when the kernels take no time, and tends to 1 when the
    kernels are much longer than a launch.

    Parameters
    ----------
    kernels : int
    t_kernel : float
    t_launch : float
        As in :func:`step_time`; not both zero.

    Returns
    -------
    float
    """
    if t_kernel == 0 and t_launch == 0:
        raise ValueError(
            "t_kernel and t_launch must not both be 0, got 0 and 0"
        )
    eager = step_time(kernels, t_kernel, t_launch)
    return eager / step_time(kernels, t_kernel, t_launch, graph=True)


@contract(x=Tensor(), length=Int(low=1))
def elementwise_chain(x, length=50):
    """A step made of ``length`` tiny operations: ``x`` through ``sin``, ``length`` times.

    Each ``sin`` is one kernel; the chain has the shape of the many small
    elementwise operations (activations, normalizations, optimizer updates) of a
    small network. It returns a new tensor and leaves ``x`` unchanged.
    """
    for _ in range(length):
        x = torch.sin(x)
    return x


@contract(fn=Instance(Callable), calls=Int(low=1), repeats=Int(low=1))
def per_call_seconds(fn, *, calls=100, repeats=5, device="cpu"):
    """Median seconds of one call of ``fn()``, timed over ``calls`` calls in a row.

    The device is synchronized before and after the ``calls`` calls, not between
    them, so that a GPU's launches queue as they do in a training loop: the time
    per call is that of the launches or of the kernels, whichever is slower.
    """

    def run():
        for _ in range(calls):
            fn()

    return measure.timed(run, repeats=repeats, device=device) / calls


@contract(
    sizes=Ints(low=1), calls=Int(low=1), repeats=Int(low=1), sync_each=Flag()
)
def size_sweep(sizes, *, calls=100, repeats=7, device="cpu", sync_each=False):
    """Seconds per call of adding 1 to float32 tensors of each size, in place.

    An in-place addition allocates nothing, so the time is the launch and the
    arithmetic alone: the data of :func:`fit_launch`. The sizes are timed in turn,
    ``repeats`` rounds over all of them, and each gets the median of its rounds, so
    that a change in the machine's load during the sweep spreads over every size
    instead of bending the line. Returns one time per size.

    With ``sync_each`` the device is synchronized after every call, so that a GPU
    never overlaps a launch with the previous kernel and each call costs the launch,
    the synchronization and the kernel, one after the other, as
    :eq:`eq-hw-launch` assumes. Without it, queued GPU calls cost the larger of a
    launch and a kernel. On the CPU, where every call runs to its end before
    returning, both are the same.
    """
    tensors = [torch.zeros(n, device=device) for n in sizes]
    for x in tensors:
        x.add_(1.0)  # warm-up
    rounds = [[] for _ in tensors]
    for _ in range(repeats):
        for x, times in zip(tensors, rounds, strict=True):
            measure.synchronize(device)
            start = time.perf_counter()
            for _ in range(calls):
                x.add_(1.0)
                if sync_each:
                    measure.synchronize(device)
            measure.synchronize(device)
            times.append((time.perf_counter() - start) / calls)
    return [statistics.median(times) for times in rounds]


def capture_cuda_graph(fn, example, *, warmup=3):
    """Record ``fn(example)`` as a CUDA graph; return a function that replays it.

    ``example`` is copied into a static input tensor. The function is first run a
    few times on a side stream, so that libraries set up their workspaces outside
    the capture, then captured once. Each call of the returned function replays
    every recorded kernel with a single launch and returns the static output
    tensor, which the next replay overwrites. To run on new data, copy it into
    ``replay.static_input`` first.

    Parameters
    ----------
    fn : callable
        Takes one tensor and returns one; no synchronization with the CPU (no
        ``.item()``, no printing of values) and no shapes that depend on values.
    example : torch.Tensor
        On a CUDA device.
    warmup : int, default 3

    Returns
    -------
    callable
        ``replay()``, with the attributes ``static_input``, ``static_output`` and
        ``graph``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(example, torch.Tensor):
        raise TypeError(
            f"example must be a torch.Tensor, got {type(example).__name__}"
        )
    if isinstance(warmup, bool) or not isinstance(warmup, int):
        raise TypeError(f"warmup must be an int, got {type(warmup).__name__}")
    if warmup < 1:
        raise ValueError(f"warmup must be at least 1, got {warmup}")
    if example.device.type != "cuda":
        raise ValueError(
            f"example must be on a CUDA device to capture a CUDA graph, "
            f"got a tensor on {example.device.type}"
        )
    static_input = example.clone()
    side = torch.cuda.Stream(device=example.device)
    side.wait_stream(torch.cuda.current_stream(example.device))
    with torch.cuda.stream(side):
        for _ in range(warmup):
            fn(static_input)
    torch.cuda.current_stream(example.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_output = fn(static_input)

    def replay():
        graph.replay()
        return static_output

    replay.static_input = static_input
    replay.static_output = static_output
    replay.graph = graph
    return replay


def compile_step(
    fn, example, *, mode=None, backend="inductor", calls=2, cold=True
):
    """``torch.compile(fn)``, called ``calls`` times on ``example``; and its compile time.

    The first call traces and compiles; with ``mode="reduce-overhead"`` a later call
    records the CUDA graph, so the function is called ``calls`` times (at least 2)
    before it is handed back for timing, and its last result is checked against
    ``fn(example)``: whatever fails, fails here, not in the timing that follows.

    With ``cold`` (the default), ``torch._dynamo.reset()`` first forgets every
    earlier compilation, so that a second call for the same ``fn`` compiles again,
    and the first call runs with Inductor's on-disk caches disabled
    (``force_disable_caches``), so that its time is a full compilation and not a
    cache hit left by an earlier compilation or an earlier run on the same machine.

    Parameters
    ----------
    fn : callable
        Takes one tensor and returns one.
    example : torch.Tensor
    mode : str, optional
        As in ``torch.compile``: None, ``"default"``, ``"reduce-overhead"``, ...
    backend : str, default "inductor"
        ``"eager"`` traces without generating code (quick, for tests).
    calls : int, default 2
    cold : bool, default True
        Reset Dynamo and time the first call without Inductor's caches.

    Returns
    -------
    tuple
        ``(compiled, seconds)``: the compiled function and the seconds of its first
        call, compilation included.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(example, torch.Tensor):
        raise TypeError(
            f"example must be a torch.Tensor, got {type(example).__name__}"
        )
    if isinstance(calls, bool) or not isinstance(calls, int):
        raise TypeError(f"calls must be an int, got {type(calls).__name__}")
    if calls < 2:
        raise ValueError(f"calls must be at least 2, got {calls}")
    if not isinstance(cold, bool):
        raise TypeError(f"cold must be a bool, got {type(cold).__name__}")
    if cold:
        torch._dynamo.reset()
    compiled = torch.compile(fn, mode=mode, backend=backend)
    measure.synchronize(example.device)
    start = time.perf_counter()
    if cold:
        import torch._inductor.config as inductor_config

        with inductor_config.patch(force_disable_caches=True):
            compiled(example)
    else:
        compiled(example)
    measure.synchronize(example.device)
    seconds = time.perf_counter() - start
    for _ in range(calls - 1):
        result = compiled(example)
    torch.testing.assert_close(result, fn(example))
    measure.synchronize(example.device)
    return compiled, seconds


def usable_cpus():
    """Logical CPUs this process may run on, and the physical cores behind them.

    ``os.cpu_count()`` counts every CPU of the machine; a container or a job
    scheduler often lets a process use only some of them, which
    ``os.sched_getaffinity`` reports. Two logical CPUs that are hardware threads of
    one core (SMT) share its arithmetic units, so they count as one physical core.

    Returns
    -------
    tuple
        ``(logical, physical)``; ``physical`` is None where the operating system
        does not say (not Linux).
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1, None
    cores = set()
    for cpu in cpus:
        path = f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"
        try:
            with open(path) as f:
                cores.add(f.read().strip())
        except OSError:
            return len(cpus), None
    return len(cpus), len(cores)


def cache_sizes(cpu=0):
    """The data caches of one CPU core, as the operating system lists them.

    Parameters
    ----------
    cpu : int, default 0
        The logical CPU whose caches to list.

    Returns
    -------
    dict
        Level name to size, such as ``{"L1d": "48K", "L2": "2048K", "L3": "32768K"}``;
        empty where the operating system does not say (not Linux).
    """
    if isinstance(cpu, bool) or not isinstance(cpu, int):
        raise TypeError(f"cpu must be an int, got {type(cpu).__name__}")
    base = f"/sys/devices/system/cpu/cpu{cpu}/cache"
    sizes = {}
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return sizes
    for entry in entries:
        try:
            with open(f"{base}/{entry}/level") as f:
                level = f.read().strip()
            with open(f"{base}/{entry}/type") as f:
                kind = f.read().strip()
            with open(f"{base}/{entry}/size") as f:
                size = f.read().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        sizes[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return sizes
