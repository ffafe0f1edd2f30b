"""The arithmetic of a deep-learning machine: bytes, rates, bandwidths, watts and euros.

Every function states its formula and its units. Bytes are plain bytes; helpers convert
to decimal units (GB = 10^9 bytes, as bandwidths are quoted) or binary ones
(GiB = 2^30 bytes, as memory sizes often are). Mixing the two is the most common
error in back-of-the-envelope hardware estimates.
"""

from __future__ import annotations

import math

from nnbook import _validate
from nnbook.contract import Choice, Int, Real, contract

__all__ = [
    "BYTES_PER_ELEMENT",
    "GB",
    "GIB",
    "allreduce_time",
    "data_rate",
    "energy_cost",
    "energy_kwh",
    "minibatch_bytes",
    "pcie_bandwidth",
    "psu_watts",
    "ram_bandwidth",
    "transfer_time",
    "wall_energy",
]

GB = 10**9
GIB = 2**30

#: Bytes per element of the dtypes the chapter discusses.
BYTES_PER_ELEMENT = {
    "float64": 8,
    "float32": 4,
    "tf32": 4,
    "float16": 2,
    "bfloat16": 2,
    "fp8": 1,
    "uint8": 1,
}

#: PCIe generations: transfer rate per lane (GT/s) and line-code efficiency.
PCIE = {
    1: (2.5, 8 / 10),
    2: (5.0, 8 / 10),
    3: (8.0, 128 / 130),
    4: (16.0, 128 / 130),
    5: (32.0, 128 / 130),
}


#: A number that must be above zero: a rate, a duration, a bandwidth.
POSITIVE = Real(low=0, low_open=True)


@contract(batch_size=Int(low=1), dtype=Choice(*BYTES_PER_ELEMENT))
def minibatch_bytes(batch_size, shape, dtype="float32"):
    """Bytes of one mini-batch: ``batch_size * prod(shape) * bytes per element``.

    Parameters
    ----------
    batch_size : int
    shape : tuple of int
        One example, for instance ``(3, 224, 224)``.
    dtype : str, default "float32"
        A key of :data:`BYTES_PER_ELEMENT`.

    Returns
    -------
    int
        Bytes. 128 images of 3 x 244 x 244 in float32 are 91,447,296 bytes: 0.0914 GB or
        0.085 GiB.
    """
    if not isinstance(shape, tuple | list):
        raise TypeError(
            f"shape must be a tuple of ints, got {type(shape).__name__}"
        )
    for k, size in enumerate(shape):
        _validate.number(f"shape[{k}]", size, low=1, integer=True)
    return int(batch_size * math.prod(shape) * BYTES_PER_ELEMENT[dtype])


@contract(bytes_per_batch=POSITIVE, seconds_per_batch=POSITIVE)
def data_rate(bytes_per_batch, seconds_per_batch):
    """Bytes per second needed to feed one batch every ``seconds_per_batch``: their ratio."""
    return bytes_per_batch / seconds_per_batch


@contract(nbytes=Real(low=0), bandwidth=POSITIVE)
def transfer_time(nbytes, bandwidth):
    """Seconds to move ``nbytes`` at ``bandwidth`` bytes per second: their ratio."""
    return nbytes / bandwidth


@contract(mega_transfers=POSITIVE, bus_bits=Int(low=1), channels=Int(low=1))
def ram_bandwidth(mega_transfers, bus_bits=64, channels=1):
    """Peak RAM bandwidth in bytes per second: ``MT/s * 10^6 * bus_bits / 8 * channels``.

    DDR3-1600 (1,600 MT/s) on a 64-bit channel gives 12.8 GB/s; four channels, 51.2 GB/s.
    """
    return mega_transfers * 1e6 * bus_bits / 8 * channels


@contract(generation=Choice(*PCIE), lanes=Choice(1, 2, 4, 8, 16))
def pcie_bandwidth(generation, lanes=16):
    """Peak PCIe bandwidth per direction, bytes per second.

    ``GT/s per lane * line-code efficiency / 8 bits * lanes``. Generations 1 and 2 use
    8b/10b coding, 3 to 5 use 128b/130b: x16 gives 4, 8, 15.75, 31.5 and 63 GB/s.
    """
    rate, efficiency = PCIE[generation]
    return rate * 1e9 * efficiency / 8 * lanes


@contract(cpu_watts=POSITIVE, margin=Real(low=0))
def psu_watts(gpu_watts, cpu_watts, margin=200):
    """Power supply to buy, in watts: the GPUs, plus the CPU, plus ``margin`` (100 to 300 W).

    ``gpu_watts`` is one card's watts or a list of them, one per card.
    """
    gpus = gpu_watts if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    for watts in gpus:
        _validate.number("gpu_watts", watts, low=0, low_open=True)
    return sum(gpus) + cpu_watts + margin


@contract(watts=Real(low=0), hours=Real(low=0))
def energy_kwh(watts, hours):
    """Energy in kWh of a load of ``watts`` running for ``hours``: ``watts * hours / 1000``."""
    return watts * hours / 1000


@contract(kwh=Real(low=0), efficiency=Real(low=0, high=1, low_open=True))
def wall_energy(kwh, efficiency):
    """Energy drawn from the wall when a PSU of this ``efficiency`` (0, 1] delivers ``kwh``: ``kwh / efficiency``."""
    return kwh / efficiency


@contract(kwh=Real(low=0), price_per_kwh=Real(low=0))
def energy_cost(kwh, price_per_kwh):
    """Cost of ``kwh`` at ``price_per_kwh`` (any currency): their product."""
    return kwh * price_per_kwh


@contract(
    nbytes=Real(low=0),
    devices=Int(low=1),
    bandwidth=POSITIVE,
    latency=Real(low=0),
)
def allreduce_time(nbytes, devices, bandwidth, latency=0.0):
    r"""Seconds for a ring all-reduce of ``nbytes`` across ``devices``.

    .. math:: t = 2\,\frac{N - 1}{N}\,\frac{\text{bytes}}{\text{bandwidth}} + 2 (N - 1)\,\text{latency}

    Each device sends and receives :math:`2 (N - 1) / N` of the data, in
    :math:`2 (N - 1)` steps (a reduce-scatter, then an all-gather). ``bandwidth`` is the
    per-link, per-direction rate in bytes per second.
    """
    if devices == 1:
        return 0.0
    return (
        2 * (devices - 1) / devices * nbytes / bandwidth
        + 2 * (devices - 1) * latency
    )


@contract(
    cores=Int(low=1),
    ghz=POSITIVE,
    vector_bits=Int(low=1),
    fma_units=Int(low=1),
    dtype=Choice(*BYTES_PER_ELEMENT),
)
def peak_flops(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    r"""Peak floating-point throughput of a CPU, in FLOP/s.

    Every cycle, each of the ``cores`` issues ``fma_units`` fused multiply-adds, each
    on a vector register of ``vector_bits`` holding ``vector_bits / (8 * bytes per
    element)`` numbers; a fused multiply-add :math:`a b + c` counts as two operations:

    .. math:: P = \text{cores} \times f \times \text{FMA units}
        \times \frac{\text{vector bits}}{8 \times \text{bytes}} \times 2 .

    Parameters
    ----------
    cores : int
    ghz : float
        The clock rate in GHz (:math:`10^9` cycles per second).
    vector_bits : int
        The width of a vector register: 128 (SSE, NEON), 256 (AVX2), 512 (AVX-512).
    fma_units : int, default 2
        Fused multiply-add instructions a core starts per cycle.
    dtype : str, default "float32"
        A key of :data:`BYTES_PER_ELEMENT`.

    Returns
    -------
    float
        FLOP/s. Sixteen AVX-512 cores at 2 GHz with two FMA units each reach
        2.048 TFLOP/s in float32 and half that in float64.
    """
    lanes = vector_bits / (8 * BYTES_PER_ELEMENT[dtype])
    return cores * ghz * 1e9 * fma_units * lanes * 2


#: The 16-bit formats in which mixed-precision training keeps weights and gradients.
MIXED_PRECISION = ("bfloat16", "float16")


@contract(
    n_params=Int(low=1), dtype=Choice("float64", "float32", *MIXED_PRECISION)
)
def adam_memory(n_params, dtype="float32"):
    r"""Bytes that training ``n_params`` parameters with Adam keeps in memory.

    Activations are not counted. In float32 (or float64) each parameter has its value,
    its gradient and Adam's two moments, all in that format: 4 values per parameter.
    In mixed precision (``dtype`` one of :data:`MIXED_PRECISION`) the weights and
    gradients are 16-bit, and the optimizer keeps a float32 master copy of the weights
    and two float32 moments:

    .. math::
        \begin{aligned}
        4 \times 4 &= 16 \text{ bytes (float32)}, \\
        2 + 2 + 4 + 4 + 4 &= 16 \text{ bytes (mixed precision)}.
        \end{aligned}

    Mixed precision saves arithmetic time and activation memory, not the memory of
    the optimizer: a model of 7 billion parameters needs 112 GB either way.

    Parameters
    ----------
    n_params : int
    dtype : {"float64", "float32", "bfloat16", "float16"}, default "float32"
        The format the forward and backward passes compute in.

    Returns
    -------
    int
        Bytes.
    """
    if dtype in MIXED_PRECISION:
        half, single = BYTES_PER_ELEMENT[dtype], BYTES_PER_ELEMENT["float32"]
        return int((2 * half + 3 * single) * n_params)
    return int(4 * BYTES_PER_ELEMENT[dtype] * n_params)


__all__ += ["MIXED_PRECISION", "adam_memory", "peak_flops"]
