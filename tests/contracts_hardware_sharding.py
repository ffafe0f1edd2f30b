"""Samples and references for the contracts of nnbook.hardware.sharding."""

import torch.distributed as dist

S = "nnbook.hardware.sharding."


def _in_group(*args, **kwargs):
    """A call made inside a gloo group of one process, this one (no files, no ports)."""

    def sample():
        if not dist.is_initialized():
            dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
        return args, kwargs

    return sample


def _stepwise_hierarchical(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
    nics_per_node=None,
):
    """The two-level all-reduce, step by step: what one GPU sends in each ring step.

    Across the nodes, each of the R cards of a node carries S / R of the node's sum.
    """
    g, m = gpus_per_node, nodes
    r = g if nics_per_node is None else nics_per_node
    t = 0.0
    for _ in range(g - 1):  # reduce-scatter in the node: one chunk of S / G per step
        t += nbytes / g / node_bandwidth + node_latency
    shard = nbytes / r
    for _ in range(2 * (m - 1)):  # ring all-reduce across nodes, one ring per card
        t += shard / m / network_bandwidth + network_latency
    for _ in range(g - 1):  # all-gather in the node
        t += nbytes / g / node_bandwidth + node_latency
    return t


def _zero_table(parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2):
    """Equation eq-hw-zero-memory written out stage by stage."""
    psi, n, bw, bg = parameters, devices, weight_bytes, grad_bytes
    return [
        (bw + bg + k) * psi,
        (bw + bg) * psi + k * psi / n,
        bw * psi + (bg + k) * psi / n,
        (bw + bg + k) * psi / n,
    ][stage]


SAMPLES = {
    S + "hierarchical_allreduce_time": lambda: (
        (14e9, 8, 8, 450e9, 50e9),
        {"node_latency": 3e-6, "network_latency": 1e-5, "nics_per_node": 4},
    ),
    S + "zero_memory": lambda: ((7.5e9, 64, 2), {}),
    S + "single_process_adam": lambda: ((), {"steps": 2, "batch_size": 4}),
    S + "sharded_train": _in_group(0, 1, steps=2, batch_size=4),
    S + "data_parallel_runs": _in_group(0, 1, steps=2, batch_size=4),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    S + "hierarchical_allreduce_time": _stepwise_hierarchical,
    S + "zero_memory": _zero_table,
}


def _stepwise_flat(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    nics_per_node=1,
    network_latency=0.0,
):
    """A flat ring in channels, step by step: one channel per network card.

    In each of the 2 (N - 1) steps every channel moves a chunk of S / (R N) bytes. A
    GPU forwards the chunks of all R channels over its node links; a network card
    carries the chunk of its own channel. The step lasts as long as the slower.
    """
    n = nodes * gpus_per_node
    chunk = nbytes / nics_per_node / n
    node_link = nics_per_node * chunk / node_bandwidth
    card = chunk / network_bandwidth + network_latency
    return sum(max(node_link, card) for _ in range(2 * (n - 1)))


def _polyfit_allreduce(nbytes, seconds, devices):
    """numpy's line fitted in relative error, turned into alpha (the first output)."""
    import numpy as np

    t = np.array(seconds)
    slope, intercept = np.polyfit(np.array(nbytes), t, 1, w=1 / t)
    return intercept / (2 * (devices - 1))


SAMPLES.update(
    {
        S + "flat_ring_allreduce_time": lambda: ((14e9, 8, 8, 450e9, 50e9, 8), {}),
        S + "fit_allreduce": lambda: (
            ([4e3, 64e3, 1e6, 4e6], [2.1e-4, 2.6e-4, 1.2e-3, 4.3e-3], 2),
            {},
        ),
        S + "allreduce_times": _in_group(0, 1, sizes=(4096,), repeats=2),
    }
)
REFERENCES.update(
    {
        S + "flat_ring_allreduce_time": _stepwise_flat,
        S + "fit_allreduce": _polyfit_allreduce,
    }
)
