"""Data-parallel training with ``torch.distributed``, on one machine.

:func:`run` starts ``world_size`` processes that join one process group over the
``gloo`` backend (CPU; on GPUs one would use ``nccl``) and calls a function in each.
The processes compute on the CPU even on a machine with GPUs.
:func:`ddp_train` trains a small network with ``DistributedDataParallel``: each process
sees its slice of every global batch, and after the backward pass DDP all-reduces
(averages) the gradients, so every process takes the same step. It is the same step as
one process on the whole global batch, which :func:`single_process_train` computes for
comparison.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from nnbook.contract import Instance, Int, Real, contract

__all__ = ["allreduce_sum", "ddp_train", "run", "single_process_train"]


def _pack(value):
    """Tensors as numpy arrays, so that results outlive the process that made them."""
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().cpu().numpy().copy())
    if isinstance(value, list | tuple):
        return type(value)(_pack(v) for v in value)
    return value


def _unpack(value):
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "tensor":
        return torch.from_numpy(value[1])
    if isinstance(value, list | tuple):
        return type(value)(_unpack(v) for v in value)
    return value


def _entry(rank, world_size, rendezvous, fn, args, kwargs, results):
    torch.set_num_threads(1)
    # The processes meet through a file, not a fixed TCP port that another program
    # could take between choosing it and binding it.
    dist.init_process_group(
        "gloo",
        init_method=f"file://{rendezvous}",
        rank=rank,
        world_size=world_size,
    )
    try:
        results.put((rank, _pack(fn(rank, world_size, *args, **kwargs))))
    finally:
        dist.destroy_process_group()


@contract(fn=Instance(Callable), world_size=Int(low=1))
def run(fn, world_size=2, *args, **kwargs):
    """Call ``fn(rank, world_size, *args, **kwargs)`` in ``world_size`` processes of one gloo group.

    Returns the results by rank.

    ``fn`` must be importable (defined at the top level of a module), because the
    processes are started fresh ("spawn") and import it.
    """
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    with tempfile.TemporaryDirectory() as folder:
        rendezvous = os.path.join(folder, "rendezvous")
        mp.spawn(
            _entry,
            args=(world_size, rendezvous, fn, args, kwargs, results),
            nprocs=world_size,
            join=True,
        )
    collected = dict(results.get() for _ in range(world_size))
    return [_unpack(collected[rank]) for rank in range(world_size)]


def _check_rank(rank, world_size):
    if rank >= world_size:
        raise ValueError(
            f"rank must be below world_size={world_size}, got {rank}"
        )


@contract(rank=Int(low=0), world_size=Int(low=1))
def allreduce_sum(rank, world_size):
    """Each process contributes ``rank + 1``; after ``all_reduce`` every one holds the sum."""
    _check_rank(rank, world_size)
    t = torch.tensor([rank + 1.0])
    dist.all_reduce(t)
    return t.item()


def _model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 3)
    ).double()


def _batches(steps, batch_size, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(batch_size, 20, generator=g, dtype=torch.float64)
        yield x, (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 1).long()


@contract(
    steps=Int(low=0), batch_size=Int(low=1), lr=Real(low=0), seed=Int(low=0)
)
def single_process_train(steps=20, batch_size=64, lr=0.1, seed=0):
    """The reference: one process, the whole global batch each step. Returns the final parameters."""
    model = _model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in _batches(steps, batch_size, seed):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.detach() for p in model.parameters()]


@contract(
    rank=Int(low=0),
    world_size=Int(low=1),
    steps=Int(low=0),
    batch_size=Int(low=1),
    lr=Real(low=0),
    seed=Int(low=0),
)
def ddp_train(rank, world_size, steps=20, batch_size=64, lr=0.1, seed=0):
    """Run inside :func:`run`: DDP training on this rank's slice of each global batch.

    Returns the final parameters and the median seconds of one all-reduce of a buffer as
    large as all the gradients.
    """
    _check_rank(rank, world_size)
    if batch_size % world_size:
        raise ValueError(
            f"batch_size {batch_size} must be divisible by world_size {world_size}"
        )
    model = torch.nn.parallel.DistributedDataParallel(_model(seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    share = batch_size // world_size
    for x, y in _batches(steps, batch_size, seed):
        mine = slice(rank * share, (rank + 1) * share)
        loss = torch.nn.functional.cross_entropy(model(x[mine]), y[mine])
        optimizer.zero_grad()
        loss.backward()  # DDP averages the gradients across processes here
        optimizer.step()
    buffer = torch.cat([p.detach().flatten() for p in model.parameters()])
    times = []
    for _ in range(20):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(buffer)
        times.append(time.perf_counter() - start)
    return (
        [p.detach() for p in model.module.parameters()],
        statistics.median(times),
        buffer.numel() * 8,
    )
