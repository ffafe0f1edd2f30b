r"""Tensor and pipeline parallelism: one layer split across devices, or the layers.

Tensor parallelism (Megatron-LM) cuts the weight matrices of one layer: the first
matrix of an MLP by columns, the second by rows, so that each rank computes a partial
output and one all-reduce sums them (:func:`mlp_partial`, :func:`tensor_parallel_mlp`;
:func:`tensor_parallel_step` runs it for real in the processes that :func:`run_forked`
starts). :func:`tensor_parallel_bytes` counts what it sends per transformer layer, and
:func:`transformer_layer_flops` what the layer computes.

Pipeline parallelism cuts the network into ``p`` consecutive stages and streams ``m``
micro-batches through them. :func:`pipeline_schedule` simulates the GPipe and 1F1B
schedules event by event and returns who runs what, when; :func:`idle_fraction` and
:func:`peak_in_flight` read the bubble and the activation memory off that timeline, and
:func:`bubble_fraction` is the closed form they are checked against.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F

from nnbook.contract import Choice, Instance, Int, Real, Tensor, contract
from nnbook.hardware import parallel

__all__ = [
    "Task",
    "bubble_fraction",
    "idle_fraction",
    "mlp_partial",
    "peak_in_flight",
    "pipeline_schedule",
    "run_forked",
    "tensor_parallel_bytes",
    "tensor_parallel_mlp",
    "tensor_parallel_reference",
    "tensor_parallel_step",
    "transformer_layer_flops",
]

# ----------------------------------------------------------------- tensor parallelism


def _columns(f, rank, world_size):
    """The slice of the ``f`` hidden units that ``rank`` holds."""
    if rank >= world_size:
        raise ValueError(
            f"rank must be below world_size={world_size}, got {rank}"
        )
    if f % world_size:
        raise ValueError(
            f"world_size must divide the hidden width f={f}, got {world_size}"
        )
    share = f // world_size
    return slice(rank * share, (rank + 1) * share)


@contract(
    "eq-hw-tensor-parallel",
    X=Tensor("N", "h"),
    A=Tensor("h", "f"),
    B=Tensor("f", "h"),
    rank=Int(low=0),
    world_size=Int(low=1),
    reference="GeLU(X A) B summed over the ranks",
)
def mlp_partial(X, A, B, rank, world_size):
    r"""One rank's share of a tensor-parallel MLP. Implements :eq:`eq-hw-tensor-parallel`.

    Rank :math:`i` holds the columns :math:`A_i` of ``A`` and the rows :math:`B_i` of
    ``B`` that belong to its slice of the ``f`` hidden units, and computes

    .. math:: Y_i = \operatorname{GeLU}(X A_i)\, B_i ,

    without talking to any other rank. The sum of the :math:`Y_i` over the ranks is the
    MLP's output.

    Parameters
    ----------
    X : torch.Tensor
        Input of shape (N, h): N tokens of width h.
    A : torch.Tensor
        First weight matrix, shape (h, f), the full matrix (the rank takes its columns).
    B : torch.Tensor
        Second weight matrix, shape (f, h), the full matrix (the rank takes its rows).
    rank : int
        This rank, below ``world_size``.
    world_size : int
        The number of ranks; it must divide f.

    Returns
    -------
    torch.Tensor
        The partial output :math:`Y_i`, shape (N, h).
    """
    mine = _columns(A.shape[1], rank, world_size)
    return F.gelu(X @ A[:, mine]) @ B[mine, :]  # (N, f/t) @ (f/t, h) -> (N, h)


@contract(
    "eq-hw-tensor-parallel",
    X=Tensor("N", "h"),
    A=Tensor("h", "f"),
    B=Tensor("f", "h"),
    world_size=Int(low=1),
    reference="torch.nn.functional.gelu(X @ A) @ B",
)
def tensor_parallel_mlp(X, A, B, world_size):
    r"""The tensor-parallel MLP, its ranks simulated in one process. Implements :eq:`eq-hw-tensor-parallel`.

    .. math::

        \begin{aligned}
        A &= [A_1 \; A_2 \; \cdots \; A_t], \qquad
        B = \begin{bmatrix} B_1 \\ \vdots \\ B_t \end{bmatrix}, \\
        Y &= \operatorname{GeLU}(X A)\, B
           = \sum_{i=1}^{t} \operatorname{GeLU}(X A_i)\, B_i .
        \end{aligned}

    The sum is what the all-reduce computes when the ranks are separate devices.

    Parameters
    ----------
    X : torch.Tensor
        Input of shape (N, h).
    A : torch.Tensor
        First weight matrix, shape (h, f).
    B : torch.Tensor
        Second weight matrix, shape (f, h).
    world_size : int
        The number of ranks t; it must divide f.

    Returns
    -------
    torch.Tensor
        The output Y, shape (N, h).
    """
    partials = [mlp_partial(X, A, B, i, world_size) for i in range(world_size)]
    return torch.stack(partials).sum(dim=0)


def _problem(batch, hidden, seed):
    """X, A, B and an upstream gradient dY, in float64, the same in every process."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(batch, hidden, generator=g, dtype=torch.float64)
    A = torch.randn(hidden, 4 * hidden, generator=g, dtype=torch.float64)
    B = torch.randn(4 * hidden, hidden, generator=g, dtype=torch.float64)
    dY = torch.randn(batch, hidden, generator=g, dtype=torch.float64)
    return X, A / hidden**0.5, B / (4 * hidden) ** 0.5, dY


@contract(batch=Int(low=1), hidden=Int(low=1), seed=Int(low=0))
def tensor_parallel_reference(batch=8, hidden=16, seed=0):
    """One process, the whole MLP: the output and the gradients to compare with.

    The MLP is ``GeLU(X A) B`` with ``A`` of shape (hidden, 4 hidden), and the loss is
    ``sum(Y * dY)`` for a fixed random ``dY``, so that the gradient arriving at ``Y`` is
    ``dY``. Gradients come from torch autograd.

    Parameters
    ----------
    batch : int
        Number of rows N of the input X.
    hidden : int
        Width h; the MLP's hidden layer has 4 h units.
    seed : int
        Seed of the generator that draws X, A, B and dY.

    Returns
    -------
    tuple
        ``(Y, dX, dA, dB)``: the output (N, h) and the gradients of X (N, h),
        A (h, 4h) and B (4h, h).
    """
    X, A, B, dY = _problem(batch, hidden, seed)
    X, A, B = (t.requires_grad_() for t in (X, A, B))
    Y = F.gelu(X @ A) @ B
    Y.backward(dY)
    return Y.detach(), X.grad, A.grad, B.grad


@contract(
    rank=Int(low=0),
    world_size=Int(low=1),
    batch=Int(low=1),
    hidden=Int(low=1),
    seed=Int(low=0),
)
def tensor_parallel_step(rank, world_size, batch=8, hidden=16, seed=0):
    """Run inside :func:`nnbook.hardware.parallel.run`: one forward and backward pass.

    Each rank keeps only its columns of ``A`` and rows of ``B`` (:func:`mlp_partial`);
    it draws the full matrices from the shared seed and slices them. The
    forward pass ends with one all-reduce that sums the partial outputs; the backward
    pass ends with one all-reduce that sums the ranks' contributions to the gradient of
    the input. Gradients of the local pieces come from torch autograd.

    Parameters
    ----------
    rank : int
        This process's rank.
    world_size : int
        The number of processes; it must divide 4 ``hidden``.
    batch, hidden, seed : int
        As in :func:`tensor_parallel_reference`.

    Returns
    -------
    tuple
        ``(Y, dX, dA_i, dB_i, calls)``: the full output and input gradient (the same
        on every rank), this rank's gradients of its columns of A (h, 4h/t) and rows
        of B (4h/t, h), and the number of all-reduces it made, counted as they are
        issued.
    """
    mine = _columns(4 * hidden, rank, world_size)
    X, A, B, dY = _problem(batch, hidden, seed)
    X = X.requires_grad_()
    A_i = A[:, mine].clone().requires_grad_()
    B_i = B[mine, :].clone().requires_grad_()
    calls = 0

    def all_reduce(
        tensor,
    ):  # every collective goes through here, and is counted
        nonlocal calls
        calls += 1
        dist.all_reduce(tensor)

    Y = F.gelu(X @ A_i) @ B_i  # this rank's partial output, (N, h)
    Y_full = Y.detach().clone()
    all_reduce(Y_full)  # forward: the sum over ranks (Megatron's g)
    Y.backward(dY)  # the gradient at Y is the same dY on every rank
    dX = X.grad.clone()
    all_reduce(dX)  # backward: sum the input's gradient (Megatron's f)
    return Y_full, dX, A_i.grad, B_i.grad, calls


def _forked_entry(rank, world_size, rendezvous, fn, args, kwargs, results):
    """:func:`nnbook.hardware.parallel._entry`, sending back a failure's traceback.

    A process that raises puts ``("error", rank, traceback)`` on the queue before
    exiting, so that the parent can show what went wrong rather than an exit code.
    """
    try:
        parallel._entry(rank, world_size, rendezvous, fn, args, kwargs, results)
    except BaseException:
        results.put(("error", rank, traceback.format_exc()))
        raise


def _first_error(results, wait=1.0):
    """The first ``("error", rank, traceback)`` on ``results`` within ``wait`` seconds."""
    try:
        while True:
            item = results.get(timeout=wait)
            if len(item) == 3:
                return item
    except queue.Empty:
        return None


#: Modules the fork server imports once, before it forks any process.
PRELOAD = ["torch", "torch.distributed", "nnbook.hardware.model_parallel"]


@contract(
    fn=Instance(Callable),
    world_size=Int(low=1),
    timeout=Real(low=0, low_open=True),
)
def run_forked(fn, world_size=2, *args, timeout=120.0, **kwargs):
    """Like :func:`nnbook.hardware.parallel.run`, but forks the processes from a server.

    Calls ``fn(rank, world_size, *args, **kwargs)`` in ``world_size`` processes of one
    gloo group and returns the results by rank. The processes are started with
    Python's "forkserver" method: the first call starts a server process that imports
    torch once, and every process after that is forked from the server, ready in
    milliseconds, where a spawned one imports torch again, which takes seconds.
    Unlike a fork of this process, a fork of the server is safe even when this
    process runs other threads (as a Jupyter kernel and torch's thread pools do): the
    server runs no other thread and has not initialized CUDA. As with
    :func:`nnbook.hardware.parallel.run`, ``fn`` and its arguments travel by pickle,
    so ``fn`` must be defined at the top level of a module, and a script that calls
    this needs the ``if __name__ == "__main__":`` guard. Where the forkserver
    method is unavailable (macOS, Windows), it calls
    :func:`nnbook.hardware.parallel.run`.

    Parameters
    ----------
    fn : Callable
        Called in every process as ``fn(rank, world_size, *args, **kwargs)``.
    world_size : int
        The number of processes.
    *args, **kwargs
        Passed on to ``fn``.
    timeout : float, default 120.0
        Seconds to wait for all the results; the processes are then killed.

    Returns
    -------
    list
        What ``fn`` returned in each process, rank 0 first.

    Raises
    ------
    RuntimeError
        If a process raises (the message includes its traceback) or exits without a
        result.
    TimeoutError
        If the results have not all arrived after ``timeout`` seconds (a process
        hangs, for instance waiting for a collective that another never calls).
    """
    if (
        sys.platform != "linux"
        or "forkserver" not in multiprocessing.get_all_start_methods()
    ):
        return parallel.run(fn, world_size, *args, **kwargs)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    results = context.Queue()
    collected = {}
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as folder:
        rendezvous = os.path.join(folder, "rendezvous")
        processes = [
            context.Process(
                target=_forked_entry,
                args=(rank, world_size, rendezvous, fn, args, kwargs, results),
            )
            for rank in range(world_size)
        ]
        for process in processes:
            process.start()
        try:
            while (
                len(collected) < world_size
            ):  # read before joining: no deadlock
                try:
                    item = results.get(timeout=0.05)
                except queue.Empty:
                    failed = [p.exitcode for p in processes if p.exitcode]
                    if failed:  # its traceback may still be on its way
                        item = _first_error(results)
                    elif time.monotonic() > deadline:
                        raise TimeoutError(
                            f"run_forked: {world_size - len(collected)} of "
                            f"{world_size} processes gave no result within "
                            f"timeout={timeout} seconds"
                        ) from None
                    else:
                        continue
                    if item is None:
                        raise RuntimeError(
                            f"a process of run_forked exited with code {failed[0]} "
                            "before returning its result"
                        ) from None
                if len(item) == 3:  # ("error", rank, traceback)
                    raise RuntimeError(
                        f"process {item[1]} of run_forked raised:\n{item[2]}"
                    )
                collected[item[0]] = item[1]
        finally:
            for process in processes:
                process.join(
                    timeout=None if len(collected) == world_size else 1
                )
                if process.is_alive():  # after a failure or the timeout
                    process.kill()
                    process.join()
    return [parallel._unpack(collected[rank]) for rank in range(world_size)]


@contract(batch=Int(low=1), seq=Int(low=1), hidden=Int(low=1))
def transformer_layer_flops(batch, seq, hidden):
    r"""Floating-point operations of one transformer layer's forward pass.

    .. math:: 24\, b\, s\, h^2 \left(1 + \frac{s}{6 h}\right)

    for a layer with multi-head attention (no grouped-query attention) and a two-matrix
    MLP of width 4h, counting two operations per multiply-add, and the whole
    :math:`s \times s` score matrix (no halving for a causal mask). The backward pass
    takes twice as many (Narayanan et al. 2021).

    Parameters
    ----------
    batch : int
        Micro-batch size b, in sequences.
    seq : int
        Sequence length s, in tokens.
    hidden : int
        Hidden width h.

    Returns
    -------
    float
        The forward pass's floating-point operations.
    """
    return 24 * batch * seq * hidden**2 * (1 + seq / (6 * hidden))


@contract(
    "eq-hw-tp-comm",
    batch=Int(low=1),
    seq=Int(low=1),
    hidden=Int(low=1),
    ranks=Int(low=1),
    bytes_per_element=Int(low=1),
)
def tensor_parallel_bytes(batch, seq, hidden, ranks, bytes_per_element=2):
    r"""Bytes one rank sends per transformer layer, forward and backward. Implements :eq:`eq-hw-tp-comm`.

    A Megatron layer makes two all-reduces of the activations (:math:`b s h` values)
    in the forward pass, after attention and after the MLP, and two in the backward
    pass. In a ring, each all-reduce sends :math:`2 (t - 1) / t` of the buffer from
    every rank:

    .. math::

        \begin{aligned}
        V &= 4\, b\, s\, h \quad \text{values all-reduced per layer}, \\
        \text{bytes sent per rank} &= 4 \cdot 2\,\frac{t - 1}{t}\, b\, s\, h\, e .
        \end{aligned}

    Parameters
    ----------
    batch : int
        Micro-batch size b, in sequences.
    seq : int
        Sequence length s, in tokens.
    hidden : int
        Hidden width h.
    ranks : int
        Tensor-parallel degree t; one rank sends nothing.
    bytes_per_element : int
        Bytes e of one activation (2 for bfloat16).

    Returns
    -------
    float
        Bytes sent by each rank for one layer's forward and backward pass.
    """
    return (
        4 * 2 * (ranks - 1) / ranks * batch * seq * hidden * bytes_per_element
    )


# --------------------------------------------------------------- pipeline parallelism


class Task(NamedTuple):
    """One block of a pipeline timeline: a stage runs a pass of one micro-batch."""

    stage: int
    kind: str  # "F" (forward) or "B" (backward)
    micro_batch: int
    start: float
    end: float


def _order(schedule, stage, stages, micro_batches):
    """The order in which ``stage`` runs its passes: [("F", 0), ("F", 1), ...]."""
    m = micro_batches
    if schedule == "gpipe":  # all forwards, then all backwards
        return [("F", j) for j in range(m)] + [("B", j) for j in range(m)]
    warmup = min(stages - stage - 1, m)  # 1F1B: fill, alternate, drain
    order = [("F", j) for j in range(warmup)]
    for j in range(m - warmup):
        order += [("F", warmup + j), ("B", j)]
    return order + [("B", j) for j in range(m - warmup, m)]


@contract(
    stages=Int(low=1),
    micro_batches=Int(low=1),
    schedule=Choice("gpipe", "1f1b"),
    forward=Real(low=0, low_open=True),
    backward=Real(low=0, low_open=True),
)
def pipeline_schedule(
    stages, micro_batches, schedule="1f1b", forward=1.0, backward=2.0
):
    """Simulate one training step of a pipeline, event by event.

    Each stage runs its passes in the order its schedule prescribes, each as soon as
    the stage is free and its input is ready: the forward pass of micro-batch j on
    stage s needs the forward pass of j on stage s - 1, and the backward pass needs the
    backward pass of j on stage s + 1 (and the stage's own forward pass of j). Sending
    activations between stages is taken to cost nothing.

    - ``"gpipe"``: all m forward passes, then all m backward passes (Huang et al.).
    - ``"1f1b"``: stage s runs p - s - 1 forward passes, then alternates one forward
      and one backward pass, then finishes the backward passes (PipeDream-Flush, as in
      Narayanan et al.).

    Parameters
    ----------
    stages : int
        Number of pipeline stages p.
    micro_batches : int
        Number of micro-batches m in one step.
    schedule : str
        ``"gpipe"`` or ``"1f1b"``.
    forward, backward : float
        Time of one forward and one backward pass of one micro-batch on one stage.
        Integers (or fractions) keep every time exact.

    Returns
    -------
    list of Task
        Every pass, ``Task(stage, kind, micro_batch, start, end)``, sorted by start
        time and stage.
    """
    duration = {"F": forward, "B": backward}
    orders = [_order(schedule, s, stages, micro_batches) for s in range(stages)]
    done = {}  # (stage, kind, micro_batch) -> end time
    free = [0] * stages  # when each stage finishes its current pass
    position = [0] * stages
    tasks = []
    while len(tasks) < 2 * stages * micro_batches:
        progressed = False
        for s in range(stages):
            if position[s] == len(orders[s]):
                continue
            kind, j = orders[s][position[s]]
            if kind == "F":
                needs = [(s - 1, "F", j)] if s > 0 else []
            else:
                needs = [(s, "F", j)]
                needs += [(s + 1, "B", j)] if s < stages - 1 else []
            if any(n not in done for n in needs):
                continue
            start = max([free[s]] + [done[n] for n in needs])
            end = start + duration[kind]
            done[(s, kind, j)] = end
            free[s] = end
            position[s] += 1
            tasks.append(Task(s, kind, j, start, end))
            progressed = True
        if (
            not progressed
        ):  # pragma: no cover - the two schedules never deadlock
            raise RuntimeError("the schedule deadlocked")
    return sorted(tasks, key=lambda t: (t.start, t.stage))


def _check_timeline(timeline):
    if not timeline or not all(isinstance(t, Task) for t in timeline):
        raise ValueError(
            "timeline must be a non-empty list of Task, as pipeline_schedule "
            f"returns, got {timeline!r:.60}"
        )


@contract(timeline=Instance(list))
def idle_fraction(timeline):
    r"""The share of the stages' time spent waiting: the bubble, read off a timeline.

    .. math:: \text{idle} = 1 - \frac{\sum \text{busy time}}{p \cdot T}

    where T is the time from the first start to the last end.

    Parameters
    ----------
    timeline : list of Task
        As returned by :func:`pipeline_schedule`.

    Returns
    -------
    float
        The idle fraction, between 0 and 1.
    """
    _check_timeline(timeline)
    stages = 1 + max(t.stage for t in timeline)
    makespan = max(t.end for t in timeline) - min(t.start for t in timeline)
    total = stages * makespan
    busy = sum(t.end - t.start for t in timeline)
    return (total - busy) / total


@contract(timeline=Instance(list))
def peak_in_flight(timeline):
    """The most micro-batches whose activations each stage holds at once.

    A stage keeps a micro-batch's activations from the start of its forward pass until
    the end of its backward pass. This counts micro-batches whose full activations are
    stored, without recomputation; a schedule that recomputes them in the backward
    pass (as GPipe does) keeps only each micro-batch's input to the stage.

    Parameters
    ----------
    timeline : list of Task
        As returned by :func:`pipeline_schedule`.

    Returns
    -------
    list of int
        The peak number for each stage, stage 0 first.
    """
    _check_timeline(timeline)
    stages = 1 + max(t.stage for t in timeline)
    peaks = []
    for s in range(stages):
        events = sorted(
            (t.start, +1) if t.kind == "F" else (t.end, -1)
            for t in timeline
            if t.stage == s
        )  # at equal times a release (-1) sorts before an acquisition (+1)
        count = peak = 0
        for _, change in events:
            count += change
            peak = max(peak, count)
        peaks.append(peak)
    return peaks


@contract(
    "eq-hw-bubble",
    stages=Int(low=1),
    micro_batches=Int(low=1),
    relative_to=Choice("total", "ideal"),
    chunks=Int(low=1),
)
def bubble_fraction(stages, micro_batches, relative_to="total", chunks=1):
    r"""The pipeline bubble for equal stage times. Implements :eq:`eq-hw-bubble`.

    .. math::

        \begin{aligned}
        \frac{t_{\text{bubble}}}{t_{\text{total}}}
          &= \frac{(p - 1)(t_f + t_b)}{(m + p - 1)(t_f + t_b)}
           = \frac{p - 1}{m + p - 1}, \\
        \frac{t_{\text{bubble}}}{t_{\text{ideal}}} &= \frac{p - 1}{m}, \\
        \text{interleaved:} \quad \frac{t_{\text{bubble}}}{t_{\text{total}}}
          &= \frac{p - 1}{v m + p - 1}, \\
        \frac{t_{\text{bubble}}}{t_{\text{ideal}}} &= \frac{p - 1}{v m} .
        \end{aligned}

    The first is the share of a step that each stage waits (the GPipe paper's form);
    the second compares the wait with the ideal, bubble-free time (Narayanan et al.'s
    form). Both hold for GPipe and for 1F1B, with equal stages, a backward pass that
    is one block, and free sends between stages, whatever the ratio
    :math:`t_b / t_f`. With ``chunks`` :math:`v > 1` they are the bubble of
    Megatron-LM's interleaved schedule, in which each device runs v smaller stages:
    the ramps shrink to :math:`(p - 1)(t_f + t_b) / v`.

    Parameters
    ----------
    stages : int
        Number of pipeline stages p.
    micro_batches : int
        Number of micro-batches m.
    relative_to : str
        ``"total"`` (the default) or ``"ideal"``.
    chunks : int
        Model chunks v per device: 1 (the default) for GPipe and 1F1B, more for the
        interleaved schedule.

    Returns
    -------
    float
        The bubble fraction.
    """
    if relative_to == "ideal":
        return (stages - 1) / (chunks * micro_batches)
    return (stages - 1) / (chunks * micro_batches + stages - 1)
