r"""Finding a data-loader stall with ``torch.profiler``.

A training loop that waits for its data looks, from the outside, like a slow model.
The profiler tells the two apart: :func:`profile_loader` runs a few training steps
under :class:`torch.profiler.profile`, labels the time spent getting the next batch
and the time spent in the step, and reads both back from the profiler's events. A
``torch.utils.data.DataLoader`` labels its own ``__next__`` calls as well
(``enumerate(DataLoader)#...``), so the profile also shows how much of the wait is the
loader's.

:func:`wait_share` is the model the measurement is compared with: loading a batch
takes :math:`L` seconds, a step :math:`C`, and :math:`k` workers load in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.profiler import ProfilerActivity, record_function

from nnbook.contract import Instance, Int, Real, contract

__all__ = [
    "LOADER_PREFIX",
    "STEP",
    "WAIT",
    "SlowBatches",
    "SlowDataset",
    "StallProfile",
    "profile_loader",
    "wait_share",
]

#: The profiler label of the time spent getting the next batch.
WAIT = "wait for the next batch"

#: The profiler label of the time spent in one training step.
STEP = "training step"

#: How a ``DataLoader`` names its own ``__next__`` events in a profile.
LOADER_PREFIX = "enumerate(DataLoader)"


@contract(
    "eq-hw-wait-share",
    load=Real(low=0),
    compute=Real(low=0),
    workers=Int(low=0),
    reference="closed form; a simulated steady state of k round-robin loaders",
)
def wait_share(load, compute, workers=0):
    r"""Share of a training step's time spent waiting for the next batch.

    Implements :eq:`eq-hw-wait-share`:

    .. math::
        \begin{aligned}
        s_0 &= \frac{L}{L + C}, \\
        s_k &= \frac{\max(0,\, L / k - C)}{\max(L / k,\, C)}
        \quad (k \ge 1) .
        \end{aligned}

    With no worker (:math:`k = 0`) the training loop loads every batch itself, then
    computes on it. With :math:`k` workers that each take :math:`L` seconds per batch
    and work in parallel with the loop, a batch is ready every :math:`L / k` seconds
    in the steady state; the loop waits only for the part of that which the step
    does not cover. Start-up (the first batches) is not counted. :math:`L` is the
    time one worker takes per batch, measured inside the worker (see
    :class:`SlowBatches`); it may differ from the loading time measured in the
    training process. The model leaves out the cost of handing a batch from a
    worker to the training loop.

    Parameters
    ----------
    load : float
        :math:`L`, seconds to load one batch, at least 0.
    compute : float
        :math:`C`, seconds of one training step, at least 0.
    workers : int, default 0
        :math:`k`, loaders working in parallel with the training loop (the
        ``num_workers`` of a ``DataLoader``; 1 for a single prefetching thread).

    Returns
    -------
    float
        The share, in [0, 1]; 0 when both times are 0.
    """
    if workers == 0:
        total = load + compute
        return load / total if total > 0 else 0.0
    period = max(load / workers, compute)
    return max(0.0, load / workers - compute) / period if period > 0 else 0.0


@dataclass(frozen=True)
class StallProfile:
    """What :func:`profile_loader` read from the profiler's events.

    Attributes
    ----------
    steps : int
        Profiled training steps.
    wait : float
        Seconds spent getting the next batch, summed over the steps.
    compute : float
        Seconds spent in the training steps, summed.
    loader : float
        Seconds inside the events of a ``DataLoader``'s ``__next__`` on the training
        loop's thread; 0 for a loader that is not a ``DataLoader``.
    rows : tuple
        ``(name, calls, seconds)``, totals over the profiled steps: first the wait,
        the ``DataLoader``'s events and the steps, then the other events with the
        most total time, largest first.
    """

    steps: int
    wait: float
    compute: float
    loader: float
    rows: tuple

    @property
    def share(self):
        """Share of the profiled time spent waiting for batches, in [0, 1]."""
        total = self.wait + self.compute
        return self.wait / total if total > 0 else 0.0

    def table(self, width=56):
        """The rows as a text table, names cut to ``width`` characters."""
        lines = [f"{'event':{width}s} {'calls':>5s} {'total ms':>9s}"]
        for name, calls, seconds in self.rows:
            short = name if len(name) <= width else name[: width - 3] + "..."
            lines.append(f"{short:{width}s} {calls:5d} {seconds * 1e3:9.1f}")
        return "\n".join(lines)


def _labelled(name):
    """Whether an event is one of the loop's labels or a ``DataLoader``'s."""
    return name in (WAIT, STEP) or name.startswith(LOADER_PREFIX)


def _seconds(event):
    return (event.time_range.end - event.time_range.start) / 1e6


@contract(
    step=Instance(Callable),
    steps=Int(low=1),
    warmup=Int(low=0),
    rows=Int(low=1),
)
def profile_loader(loader, step, steps=10, *, warmup=1, rows=4):
    """Profile ``steps`` training steps fed by ``loader`` and measure the wait for data.

    The loop takes ``warmup`` batches first, unprofiled (a ``DataLoader`` with workers
    starts them on the first batch), then, under :class:`torch.profiler.profile`,
    ``steps`` times: gets the next batch inside a ``torch.profiler.record_function``
    labelled :data:`WAIT`, and calls ``step(batch)`` inside one labelled
    :data:`STEP`. The durations are read back from the profiler's events.

    Parameters
    ----------
    loader : iterable
        Yields at least ``warmup + steps`` batches: a ``DataLoader``, a
        :class:`~nnbook.hardware.prefetch.Prefetcher`, a generator.
    step : callable
        ``step(batch)``: one training step. On a GPU it should synchronize before it
        returns, so that its event covers the work and not only its launch. Only
        CPU activity is recorded: the synchronization is a measuring device, and a
        training loop that does not synchronize overlaps its wait for data with
        queued GPU work, which this profile does not see.
    steps : int, default 10
        Profiled steps, at least 1.
    warmup : int, default 1
        Unprofiled steps first.
    rows : int, default 4
        Events kept in :attr:`StallProfile.rows` besides the wait, the
        ``DataLoader``'s and the steps.

    Returns
    -------
    StallProfile
        The wait, the compute, the ``DataLoader``'s own share of the wait, and the
        events with the most time.
    """
    try:
        batches = iter(loader)
    except TypeError:
        raise TypeError(
            "loader must be something to iterate over, such as a DataLoader, "
            f"got {type(loader).__name__}"
        ) from None

    def take(k):
        try:
            return next(batches)
        except StopIteration:
            raise ValueError(
                f"loader must yield at least warmup + steps = {warmup + steps} "
                f"batches, got {k}"
            ) from None

    for k in range(warmup):
        step(take(k))
    with torch.profiler.profile(activities=[ProfilerActivity.CPU]) as prof:
        for k in range(warmup, warmup + steps):
            with record_function(WAIT):
                batch = take(k)
            with record_function(STEP):
                step(batch)
    events = prof.events()
    waits = [e for e in events if e.name == WAIT]
    threads = {e.thread for e in waits}
    averages = sorted(
        prof.key_averages(), key=lambda e: e.cpu_time_total, reverse=True
    )
    labelled = [e for e in averages if _labelled(e.key)]
    others = [e for e in averages if not _labelled(e.key)]
    return StallProfile(
        steps=steps,
        wait=sum(_seconds(e) for e in waits),
        compute=sum(_seconds(e) for e in events if e.name == STEP),
        loader=sum(
            _seconds(e)
            for e in events
            if e.name.startswith(LOADER_PREFIX) and e.thread in threads
        ),
        rows=tuple(
            (e.key, e.count, e.cpu_time_total / 1e6)
            for e in labelled + others[:rows]
        ),
    )


class SlowDataset(torch.utils.data.Dataset):
    """A dataset of tensors whose every item takes ``delay`` seconds to "read".

    It stands for images read from a slow disk or decoded on a busy CPU: item ``i``
    is ``(x[i], y[i])``, returned after sleeping ``delay`` seconds. Sleeping, like
    real input and output, releases Python's global interpreter lock.

    Parameters
    ----------
    x : torch.Tensor
        Inputs, shape ``(N, ...)``.
    y : torch.Tensor
        Targets, shape ``(N, ...)``.
    delay : float
        Seconds per item, at least 0.
    """

    @contract(
        x=Instance(torch.Tensor),
        y=Instance(torch.Tensor),
        delay=Real(low=0),
    )
    def __init__(self, x, y, delay):
        if len(x) != len(y):
            raise ValueError(
                f"y must have as many items (batches) as x, {len(x)}, "
                f"got {len(y)}"
            )
        self.x, self.y, self.delay = x, y, delay

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        time.sleep(self.delay)
        return self.x[index], self.y[index]


class SlowBatches(SlowDataset):
    """A dataset of whole batches, each taking ``delay`` seconds to "read".

    Item ``i`` is ``(x[i], y[i], seconds)``: the batch, after sleeping ``delay``
    seconds once, and the seconds the item really took, measured with
    ``time.perf_counter`` in the process that loaded it (a ``DataLoader``
    worker, or the training process itself). Use it with
    ``DataLoader(..., batch_size=None)``. One sleep per batch keeps the overshoot
    of short sleeps small next to the delay; the measured seconds are the load
    time :math:`L` of :func:`wait_share`.

    Parameters
    ----------
    x : torch.Tensor
        Inputs, shape ``(batches, batch_size, ...)``.
    y : torch.Tensor
        Targets, shape ``(batches, batch_size, ...)``.
    delay : float
        Seconds per batch, at least 0.
    """

    def __getitem__(self, index):
        start = time.perf_counter()
        if self.delay > 0:  # sleep(0) would still yield to other processes
            time.sleep(self.delay)
        batch = self.x[index], self.y[index]
        return (*batch, time.perf_counter() - start)
