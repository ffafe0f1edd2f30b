r"""Sharded data parallelism (ZeRO, FSDP) and the interconnects that carry it.

Three pieces:

- :data:`INTERCONNECTS`: the links between GPUs (PCIe, NVLink) and between machines
  (InfiniBand, RoCE), each with the rate its source quotes and the rate per direction,
  in bytes per second, that the all-reduce model takes;
- :func:`hierarchical_allreduce_time`: the all-reduce of a cluster of nodes, reduced
  inside each node over its fast links and across nodes over the network, and
  :func:`flat_ring_allreduce_time`, one ring through every GPU of the cluster, both
  with a given number of network cards per node;
- :func:`allreduce_times` times all-reduces of several sizes inside
  :func:`nnbook.hardware.parallel.run`, and :func:`fit_allreduce` fits the latency
  and bandwidth of the ring model to them;
- :func:`zero_memory`: the bytes per device of the model states under the three
  stages of ZeRO; :func:`sharded_train` trains with ZeRO stage 1
  (``ZeroRedundancyOptimizer``) and with FSDP2 (``fully_shard``, stage 3) inside
  :func:`nnbook.hardware.parallel.run`, and :func:`single_process_adam` is the one-process
  run they must match.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from nnbook.contract import Choice, Int, Real, Reals, contract
from nnbook.hardware import calculators, parallel

__all__ = [
    "INTERCONNECTS",
    "Interconnect",
    "allreduce_times",
    "data_parallel_runs",
    "fit_allreduce",
    "flat_ring_allreduce_time",
    "hierarchical_allreduce_time",
    "sharded_train",
    "single_process_adam",
    "state_bytes",
    "zero_memory",
]


@dataclass(frozen=True)
class Interconnect:
    """One link, as its source quotes it and as the all-reduce model uses it.

    Attributes
    ----------
    quoted : str
        The rate as the source states it (bits or bytes, one direction or both).
    per_direction : float
        What one GPU can send while it receives as much, in bytes per second.
    scope : str
        ``"node"`` for links between the GPUs of one machine, ``"network"`` for the
        network card that links one GPU to the other machines.
    source : str
        The bibliography key of the source.
    """

    quoted: str
    per_direction: float
    scope: str
    source: str


#: The interconnects of the chapter. NVLink rates are quoted per GPU as the sum of both
#: directions, so each direction gets half. Network rates are quoted in bits per second
#: per port, each direction, so they are divided by 8. PCIe is the peak per direction
#: after 128b/130b line coding. Protocol overheads are left out: measured rates are lower.
INTERCONNECTS = {
    "PCIe 4.0 x16": Interconnect(
        "16 GT/s per lane, 128b/130b coding",
        calculators.pcie_bandwidth(4),
        "node",
        "pcisig2019",
    ),
    "PCIe 5.0 x16": Interconnect(
        "32 GT/s per lane, 128b/130b coding",
        calculators.pcie_bandwidth(5),
        "node",
        "pcisig2019",
    ),
    "NVLink 3 (A100)": Interconnect(
        "600 GB/s per GPU, both directions together",
        300e9,
        "node",
        "nvidia2020a100",
    ),
    "NVLink 4 (H100)": Interconnect(
        "900 GB/s per GPU, both directions together",
        450e9,
        "node",
        "nvidia2022h100",
    ),
    "NVLink 5 (B200)": Interconnect(
        "1.8 TB/s per GPU, both directions together",
        900e9,
        "node",
        "nvidia2025dgxb200",
    ),
    "InfiniBand NDR": Interconnect(
        "400 Gb/s per port, each direction",
        400e9 / 8,
        "network",
        "nvidia2022connectx7",
    ),
    "InfiniBand XDR": Interconnect(
        "800 Gb/s per port, each direction",
        800e9 / 8,
        "network",
        "nvidia2024connectx8",
    ),
    "RoCE, 400 GbE": Interconnect(
        "400 Gb/s per port, each direction",
        400e9 / 8,
        "network",
        "nvidia2022connectx7",
    ),
}

_POSITIVE = Real(low=0, low_open=True)


@contract(
    "eq-hw-hier-allreduce",
    reference="nnbook.hardware.calculators.allreduce_time in its limits",
    nbytes=Real(low=0),
    nodes=Int(low=1),
    gpus_per_node=Int(low=1),
    node_bandwidth=_POSITIVE,
    network_bandwidth=_POSITIVE,
    node_latency=Real(low=0),
    network_latency=Real(low=0),
    nics_per_node=Int(low=1, optional=True),
)
def hierarchical_allreduce_time(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
    nics_per_node=None,
):
    r"""Seconds for a two-level all-reduce of ``nbytes`` on every GPU of a cluster.

    Implements :eq:`eq-hw-hier-allreduce`. With :math:`G` GPUs and :math:`R`
    network cards in each of :math:`M` nodes, a ring reduce-scatter inside each node
    leaves every GPU with :math:`S/G` bytes summed over its node; the shards are
    all-reduced across the nodes, the node's :math:`S` bytes spread over its
    :math:`R` cards; a ring all-gather inside each node then gives every GPU the
    whole sum. The three phases run one after another:

    .. math::

        \begin{aligned}
        t ={}& 2\,\frac{G - 1}{G}\,\frac{S}{\beta_{\text{node}}}
              + 2\,\frac{M - 1}{M}\,\frac{S}{R\,\beta_{\text{net}}} \\
             &+ 2 (G - 1)\,\alpha_{\text{node}} + 2 (M - 1)\,\alpha_{\text{net}} .
        \end{aligned}

    With one node it is the ring of :func:`nnbook.hardware.calculators.allreduce_time`
    over NVLink; with one GPU per node, the ring over the network; with equal
    bandwidths, one card per GPU and no latency, the ring over all :math:`M G` GPUs.

    Parameters
    ----------
    nbytes : float
        :math:`S`, the bytes each GPU contributes (its gradients).
    nodes : int
        :math:`M`, the number of machines.
    gpus_per_node : int
        :math:`G`, the GPUs in each machine.
    node_bandwidth : float
        :math:`\beta_{\text{node}}`, bytes per second each GPU sends (and receives)
        inside its node, per direction.
    network_bandwidth : float
        :math:`\beta_{\text{net}}`, bytes per second each GPU's network card sends,
        per direction.
    node_latency, network_latency : float, default 0
        :math:`\alpha`, seconds per step of each ring.
    nics_per_node : int, optional
        :math:`R`, the network cards of each node, at most :math:`G`; by default
        :math:`G`, one per GPU (a rail-optimized cluster).

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    ValueError
        If ``nics_per_node`` exceeds ``gpus_per_node``.
    """
    g, m = gpus_per_node, nodes
    r = _nics(nics_per_node, gpus_per_node)
    inside = 2 * (g - 1) / g * nbytes / node_bandwidth
    across = 2 * (m - 1) / m * nbytes / (r * network_bandwidth)
    return (
        inside
        + across
        + 2 * (g - 1) * node_latency
        + 2 * (m - 1) * network_latency
    )


def _nics(nics_per_node, gpus_per_node):
    if nics_per_node is None:
        return gpus_per_node
    if nics_per_node > gpus_per_node:
        raise ValueError(
            f"nics_per_node must be at most gpus_per_node={gpus_per_node}, "
            f"got {nics_per_node}"
        )
    return nics_per_node


@contract(
    "eq-hw-flat-allreduce",
    reference="a ring stepped chunk by chunk over channels",
    nbytes=Real(low=0),
    nodes=Int(low=2),
    gpus_per_node=Int(low=1),
    node_bandwidth=_POSITIVE,
    network_bandwidth=_POSITIVE,
    nics_per_node=Int(low=1),
    network_latency=Real(low=0),
)
def flat_ring_allreduce_time(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    nics_per_node=1,
    network_latency=0.0,
):
    r"""Seconds for one flat ring all-reduce through all the GPUs of several nodes.

    Implements :eq:`eq-hw-flat-allreduce`. The :math:`N = M G` GPUs form rings that
    cross from node to node; with :math:`R` network cards per node the buffer is
    split among :math:`R` rings (NCCL's *channels*), each leaving the node through
    its own card. Each GPU sends :math:`2 (N - 1) / N \cdot S` bytes over its node
    links, and each node sends as much over the network, spread over its cards. The
    links work at the same time, so the slower of the two decides; every one of the
    :math:`2 (N - 1)` steps waits for a network hop:

    .. math::

        t = 2\,\frac{N - 1}{N}\,
            \frac{S}{\min(\beta_{\text{node}},\ R\,\beta_{\text{net}})}
            + 2 (N - 1)\,\alpha_{\text{net}} .

    Parameters
    ----------
    nbytes : float
        :math:`S`, the bytes each GPU contributes.
    nodes : int
        :math:`M \ge 2`, the number of machines.
    gpus_per_node : int
        :math:`G`, the GPUs in each machine.
    node_bandwidth : float
        :math:`\beta_{\text{node}}`, bytes per second each GPU sends inside its node,
        per direction.
    network_bandwidth : float
        :math:`\beta_{\text{net}}`, bytes per second of one network card, per
        direction.
    nics_per_node : int, default 1
        :math:`R`, the network cards of each node, at most :math:`G`.
    network_latency : float, default 0
        :math:`\alpha_{\text{net}}`, seconds per ring step.

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    ValueError
        If ``nics_per_node`` exceeds ``gpus_per_node``.
    """
    r = _nics(nics_per_node, gpus_per_node)
    n = nodes * gpus_per_node
    slowest = min(node_bandwidth, r * network_bandwidth)
    return 2 * (n - 1) / n * nbytes / slowest + 2 * (n - 1) * network_latency


@contract(
    "eq-hw-allreduce",
    reference="numpy.polyfit of degree 1 with weights 1/t",
    nbytes=Reals(count=None, low=0),
    seconds=Reals(count=None, low=0, low_open=True),
    devices=Int(low=2),
)
def fit_allreduce(nbytes, seconds, devices):
    r"""Fit the latency and bandwidth of the ring model to measured all-reduces.

    Implements :eq:`eq-hw-allreduce` backwards. The ring's time is a straight line
    in the buffer size :math:`S`,

    .. math::

        t = 2 (N - 1)\,\alpha + 2\,\frac{N - 1}{N}\,\frac{1}{\beta}\,S ,

    so a line :math:`t = a + b S` through the measurements gives
    :math:`\alpha = a / (2 (N - 1))` and :math:`\beta = 2 (N - 1) / (N b)`. The
    sizes span orders of magnitude, so the line minimises the *relative* error,

    .. math::

        \sum_i \left(\frac{a + b S_i - t_i}{t_i}\right)^2 ,

    a least-squares fit with weights :math:`1 / t_i^2`; an ordinary fit would be
    decided by the largest buffer alone. Where noise would make :math:`a`
    negative, the line is fitted through the origin instead (:math:`\alpha = 0`);
    where it would make :math:`b \le 0`, the fit is a constant
    (:math:`\beta` infinite).

    Parameters
    ----------
    nbytes : tuple
        The sizes :math:`S` in bytes, at least two of them different.
    seconds : tuple
        The measured time of each, in seconds, as many as ``nbytes``.
    devices : int
        :math:`N \ge 2`, the processes that took part.

    Returns
    -------
    tuple
        ``(alpha, beta)``: seconds per ring step, and bytes per second per
        direction.

    Raises
    ------
    ValueError
        If the lengths differ or fewer than two sizes are distinct.
    """
    if len(nbytes) != len(seconds):
        raise ValueError(
            f"nbytes and seconds must have the same length, got {len(nbytes)} "
            f"and {len(seconds)}"
        )
    if len(set(nbytes)) < 2:
        raise ValueError(
            f"nbytes must hold at least two different sizes, got {list(nbytes)}"
        )
    s = [float(x) for x in nbytes]
    t = [float(x) for x in seconds]
    w = [1.0 / (y * y) for y in t]
    total = sum(w)
    mean_s = sum(wi * x for wi, x in zip(w, s, strict=True)) / total
    mean_t = sum(wi * y for wi, y in zip(w, t, strict=True)) / total
    slope = sum(
        wi * (x - mean_s) * (y - mean_t)
        for wi, x, y in zip(w, s, t, strict=True)
    )
    slope /= sum(wi * (x - mean_s) ** 2 for wi, x in zip(w, s, strict=True))
    intercept = mean_t - slope * mean_s
    if slope <= 0:
        slope, intercept = 0.0, mean_t
    elif intercept < 0:
        intercept = 0.0
        slope = sum(wi * x * y for wi, x, y in zip(w, s, t, strict=True))
        slope /= sum(wi * x * x for wi, x in zip(w, s, strict=True))
    steps = 2 * (devices - 1)
    beta = steps / devices / slope if slope > 0 else float("inf")
    return intercept / steps, beta


#: Bytes per parameter that each stage keeps whole on every device, and that it
#: divides among the devices: (weights, gradients, optimizer state).
_SHARDED = {
    0: (False, False, False),
    1: (False, False, True),
    2: (False, True, True),
    3: (True, True, True),
}


@contract(
    "eq-hw-zero-memory",
    reference="the worked example of Rajbhandari et al. (2020), Figure 1",
    parameters=Real(low=0),
    devices=Int(low=1),
    stage=Choice(0, 1, 2, 3),
    k=Real(low=0),
    weight_bytes=Real(low=0),
    grad_bytes=Real(low=0),
)
def zero_memory(parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2):
    r"""Bytes of weights, gradients and optimizer state on each device under ZeRO.

    Implements :eq:`eq-hw-zero-memory`. Each of :math:`\Psi` parameters costs
    :math:`b_w` bytes of weights, :math:`b_g` of gradients and :math:`K` of optimizer
    state. Stage 1 divides the optimizer state among the :math:`N` devices, stage 2
    the gradients too, stage 3 the weights too (stage 0 is plain data parallelism):

    .. math::

        \begin{aligned}
        M_0 &= (b_w + b_g + K)\,\Psi, &
        M_1 &= (b_w + b_g)\,\Psi + \frac{K \Psi}{N}, \\
        M_2 &= b_w \Psi + \frac{(b_g + K)\,\Psi}{N}, &
        M_3 &= \frac{(b_w + b_g + K)\,\Psi}{N} .
        \end{aligned}

    Mixed-precision Adam as the ZeRO paper counts it keeps fp16 (today bf16)
    weights and gradients (:math:`b_w = b_g = 2`) and, in float32, a master copy of
    the weights and the two moments (:math:`K = 12`). With ``torch.autocast`` the
    weights and gradients stay float32: :math:`b_w = b_g = 4`, :math:`K = 8`.
    Activations, communication buckets, gathered layers, prefetch buffers and
    fragmentation come on top.

    Parameters
    ----------
    parameters : float
        :math:`\Psi`, the number of parameters.
    devices : int
        :math:`N`, the data-parallel devices that share the states.
    stage : int
        0, 1, 2 or 3.
    k : float, default 12
        :math:`K`, bytes of optimizer state per parameter.
    weight_bytes, grad_bytes : float, default 2
        :math:`b_w` and :math:`b_g`.

    Returns
    -------
    float
        Bytes on each device.
    """
    sharded = _SHARDED[stage]
    total = 0.0
    for per_parameter, divided in zip(
        (weight_bytes, grad_bytes, k), sharded, strict=True
    ):
        total += per_parameter * parameters / (devices if divided else 1)
    return total


# ------------------------------------------------------------------ the real run


def _model(seed):
    """Hidden layers of 32 and 16 units: the two largest weights have 512 entries.

    Two weight matrices of equal size let ZeRO stage 1, which gives whole parameters
    to the processes, split the optimizer state nearly in half.
    """
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(16, 32),
        torch.nn.Tanh(),
        torch.nn.Linear(32, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 3),
    ).double()


def _batches(steps, batch_size, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(batch_size, 16, generator=g, dtype=torch.float64)
        yield x, (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 1).long()


def _local(tensor):
    """This process's part of a tensor that FSDP shards (a DTensor), or the tensor."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def state_bytes(optimizer):
    """Bytes of Adam's two moments held by this process.

    Counts ``exp_avg`` and ``exp_avg_sq`` of every parameter in ``optimizer.state``
    (only this process's shard where the states are sharded); the step counters are
    left out.
    """
    total = 0
    for state in optimizer.state.values():
        for name in ("exp_avg", "exp_avg_sq"):
            if name in state:
                part = _local(state[name])
                total += part.numel() * part.element_size()
    return total


def _train(model, optimizer, steps, batch_size, seed, rank=0, world_size=1):
    share = batch_size // world_size
    for x, y in _batches(steps, batch_size, seed):
        mine = slice(rank * share, (rank + 1) * share)
        loss = torch.nn.functional.cross_entropy(model(x[mine]), y[mine])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@contract(
    steps=Int(low=0), batch_size=Int(low=1), lr=Real(low=0), seed=Int(low=0)
)
def single_process_adam(steps=10, batch_size=64, lr=0.01, seed=0):
    """The reference: Adam in one process on the whole global batch.

    Returns the final parameters and the bytes of Adam's moments.
    """
    model = _model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    _train(model, optimizer, steps, batch_size, seed)
    return [p.detach() for p in model.parameters()], state_bytes(optimizer)


@contract(
    rank=Int(low=0),
    world_size=Int(low=1),
    steps=Int(low=0),
    batch_size=Int(low=1),
    lr=Real(low=0),
    seed=Int(low=0),
)
def sharded_train(rank, world_size, steps=10, batch_size=64, lr=0.01, seed=0):
    """Run inside :func:`nnbook.hardware.parallel.run`: ZeRO stage 1, then FSDP2.

    Each rank takes its slice of every global batch. ZeRO stage 1 is DDP with
    ``ZeroRedundancyOptimizer``: the gradients are all-reduced, each rank updates the
    parameters whose Adam state it owns, and broadcasts them. FSDP2 (``fully_shard``
    on each linear layer and the whole model) keeps only a shard of every parameter,
    gradient and moment, and gathers the parameters of a layer when it needs them.

    Returns ``(zero_parameters, zero_state_bytes, fsdp_parameters, fsdp_state_bytes,
    fsdp_parameter_bytes, fsdp_gradient_bytes)``: the final full parameters of each
    run, and the bytes of Adam's moments (and, for FSDP2, of the parameters and of
    the gradients after the last step) that this rank holds.

    The device mesh is on the CPU, so this runs on the CPU even where a GPU is
    present.
    """
    parallel._check_rank(rank, world_size)
    if batch_size % world_size:
        raise ValueError(
            f"batch_size {batch_size} must be divisible by world_size {world_size}"
        )
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.optim import ZeroRedundancyOptimizer

    run = (steps, batch_size, seed, rank, world_size)
    model = torch.nn.parallel.DistributedDataParallel(_model(seed))
    zero = ZeroRedundancyOptimizer(
        model.parameters(), optimizer_class=torch.optim.Adam, lr=lr
    )
    _train(model, zero, *run)
    zero_parameters = [p.detach().clone() for p in model.module.parameters()]
    zero_bytes = state_bytes(zero.optim)

    # a CPU mesh: without one, FSDP2 would move the shards to a GPU if it saw one
    mesh = init_device_mesh("cpu", (world_size,))
    model = _model(seed)
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    _train(model, adam, *run)
    fsdp_parameters = [p.full_tensor().detach() for p in model.parameters()]
    fsdp_parameter_bytes = sum(
        _local(p).numel() * _local(p).element_size() for p in model.parameters()
    )
    fsdp_gradient_bytes = sum(
        _local(p.grad).numel() * _local(p.grad).element_size()
        for p in model.parameters()
    )
    dist.barrier()
    return (
        zero_parameters,
        zero_bytes,
        fsdp_parameters,
        state_bytes(adam),
        fsdp_parameter_bytes,
        fsdp_gradient_bytes,
    )


#: The buffer sizes, in bytes, that :func:`allreduce_times` times by default.
ALLREDUCE_SIZES = (4_096, 65_536, 1_048_576, 4_194_304)


@contract(
    rank=Int(low=0),
    world_size=Int(low=1),
    sizes=Reals(count=None, low=4),
    repeats=Int(low=1),
)
def allreduce_times(rank, world_size, sizes=ALLREDUCE_SIZES, repeats=7):
    """Run inside :func:`nnbook.hardware.parallel.run`: time all-reduces of several sizes.

    For each size in bytes, all-reduces a float32 buffer of that size once to warm
    up, then ``repeats`` times, each after a barrier, and keeps the fastest: on a
    shared machine the other runs are slowed by whatever else is running.

    Returns
    -------
    list
        ``[(nbytes, seconds), ...]``, one pair per size, as measured on this rank.
    """
    parallel._check_rank(rank, world_size)
    measured = []
    for size in sizes:
        buffer = torch.ones(int(size) // 4)
        dist.all_reduce(buffer)
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buffer)
            times.append(time.perf_counter() - start)
        measured.append((buffer.numel() * 4, min(times)))
    return measured


@contract(
    rank=Int(low=0),
    world_size=Int(low=1),
    steps=Int(low=0),
    batch_size=Int(low=1),
    seed=Int(low=0),
)
def data_parallel_runs(rank, world_size, steps=20, batch_size=64, seed=0):
    """Run inside :func:`nnbook.hardware.parallel.run`: every experiment of the page.

    Starting processes is the slow part, so one group runs, in turn,
    :func:`nnbook.hardware.parallel.allreduce_sum`,
    :func:`nnbook.hardware.parallel.ddp_train` (SGD, ``steps`` steps) and
    :func:`sharded_train` (Adam, ``steps // 2`` steps) and :func:`allreduce_times`,
    and returns their results as a tuple.
    """
    return (
        parallel.allreduce_sum(rank, world_size),
        parallel.ddp_train(
            rank, world_size, steps=steps, batch_size=batch_size, seed=seed
        ),
        sharded_train(
            rank, world_size, steps=steps // 2, batch_size=batch_size, seed=seed
        ),
        allreduce_times(rank, world_size),
    )
