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

#: PCIe generations: transfer rate per lane (GT/s) and line-code efficiency. From
#: 6.0 on, data travels in 256-byte flits of which 242 bytes are not error
#: correction or CRC; that share plays the role of the line code.
PCIE = {
    1: (2.5, 8 / 10),
    2: (5.0, 8 / 10),
    3: (8.0, 128 / 130),
    4: (16.0, 128 / 130),
    5: (32.0, 128 / 130),
    6: (64.0, 242 / 256),
}


#: A number that must be above zero: a rate, a duration, a bandwidth.
POSITIVE = Real(low=0, low_open=True)


@contract(
    "eq-hw-minibatch-bytes",
    batch_size=Int(low=1),
    dtype=Choice(*BYTES_PER_ELEMENT),
    reference="torch.empty(...).element_size() times the number of elements",
)
def minibatch_bytes(batch_size, shape, dtype="float32"):
    r"""Bytes of one mini-batch of ``batch_size`` examples of ``shape``.

    Implements :eq:`eq-hw-minibatch-bytes`:

    .. math:: S = T_{mb} \times \prod_i d_i \times b ,

    with :math:`T_{mb}` examples of shape :math:`(d_1, d_2, \dots)` and :math:`b`
    bytes per element.

    Parameters
    ----------
    batch_size : int
        :math:`T_{mb}`, at least 1.
    shape : tuple
        One example's shape, ints of at least 1, for instance ``(3, 224, 224)``.
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


@contract(
    "eq-hw-data-rate",
    bytes_per_batch=POSITIVE,
    seconds_per_batch=POSITIVE,
    reference="closed form",
)
def data_rate(bytes_per_batch, seconds_per_batch):
    r"""Bytes per second needed to feed one batch every ``seconds_per_batch``.

    Implements :eq:`eq-hw-data-rate`:

    .. math:: R = \frac{S}{t_{\text{step}}} .

    Parameters
    ----------
    bytes_per_batch : float
        :math:`S`, the bytes of one mini-batch, above 0.
    seconds_per_batch : float
        :math:`t_{\text{step}}`, the seconds the accelerator spends on one batch,
        above 0.

    Returns
    -------
    float
        Bytes per second. A batch of 91,447,296 bytes every 0.3 s needs 305 MB/s.
    """
    return bytes_per_batch / seconds_per_batch


@contract(
    "eq-hw-transfer-time",
    nbytes=Real(low=0),
    bandwidth=POSITIVE,
    reference="closed form",
)
def transfer_time(nbytes, bandwidth):
    r"""Seconds to move ``nbytes`` at ``bandwidth`` bytes per second.

    Implements :eq:`eq-hw-transfer-time`:

    .. math:: t = \frac{S}{B} .

    Parameters
    ----------
    nbytes : float
        :math:`S`, bytes to move, at least 0.
    bandwidth : float
        :math:`B`, bytes per second, above 0.

    Returns
    -------
    float
        Seconds; latency is not counted.
    """
    return nbytes / bandwidth


@contract(
    "eq-hw-ram-bandwidth",
    mega_transfers=POSITIVE,
    bus_bits=Int(low=1),
    channels=Int(low=1),
    reference="closed form",
)
def ram_bandwidth(mega_transfers, bus_bits=64, channels=1):
    r"""Peak RAM bandwidth in bytes per second.

    Implements :eq:`eq-hw-ram-bandwidth`:

    .. math::
        B_{\text{RAM}} = \text{MT/s} \times 10^6
        \times \frac{\text{bus bits}}{8} \times \text{channels} .

    Parameters
    ----------
    mega_transfers : float
        Millions of transfers per second (the "1600" of DDR3-1600), above 0.
    bus_bits : int, default 64
        Width of one channel in bits.
    channels : int, default 1
        Memory channels the CPU drives at once.

    Returns
    -------
    float
        Bytes per second. DDR3-1600 on a 64-bit channel gives 12.8 GB/s; four
        channels, 51.2 GB/s.
    """
    return mega_transfers * 1e6 * bus_bits / 8 * channels


@contract(
    "eq-hw-pcie",
    generation=Choice(*PCIE),
    lanes=Choice(1, 2, 4, 8, 16),
    reference="closed form",
)
def pcie_bandwidth(generation, lanes=16):
    r"""Peak PCIe bandwidth per direction, bytes per second.

    Implements :eq:`eq-hw-pcie`:

    .. math::
        B_{\text{PCIe}} = \text{GT/s per lane} \times 10^9
        \times \eta \times \frac{\text{lanes}}{8} ,

    where :math:`\eta` is the line code's efficiency: :math:`8/10` for generations 1
    and 2, :math:`128/130` for 3 to 5, and for 6 (64 GT/s, PAM4 signalling, flit
    mode) the :math:`242/256` of each 256-byte flit left after error correction and
    CRC. A line rate: transaction-layer headers and flow control leave about 80 to
    90 % of it to data.

    Parameters
    ----------
    generation : int
        1 to 6, a key of ``PCIE``.
    lanes : int, default 16
        1, 2, 4, 8 or 16.

    Returns
    -------
    float
        Bytes per second, one direction. At x16: 4, 8, 15.75, 31.5, 63 and
        121 GB/s.
    """
    rate, efficiency = PCIE[generation]
    return rate * 1e9 * efficiency / 8 * lanes


@contract(
    "eq-hw-psu",
    cpu_watts=POSITIVE,
    margin=Real(low=0),
    reference="closed form",
)
def psu_watts(gpu_watts, cpu_watts, margin=200):
    r"""Power supply to buy, in watts: the GPUs, plus the CPU, plus a margin.

    Implements :eq:`eq-hw-psu`:

    .. math:: P_{\text{PSU}} = \sum_{k} P_{\text{GPU}, k} + P_{\text{CPU}} + P_{\text{margin}} .

    Parameters
    ----------
    gpu_watts : float or list of float
        One card's rated watts, or a list (or tuple) of them, one per card; each
        above 0.
    cpu_watts : float
        The CPU's rated watts, above 0.
    margin : float, default 200
        Watts for the rest of the machine and for spikes; the article says 100 to
        300 W.

    Returns
    -------
    float
        Watts. Four 250 W cards, a 140 W CPU and 100 W of margin need 1,240 W.
    """
    gpus = gpu_watts if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    for watts in gpus:
        _validate.number("gpu_watts", watts, low=0, low_open=True)
    return sum(gpus) + cpu_watts + margin


@contract(
    "eq-hw-energy",
    watts=Real(low=0),
    hours=Real(low=0),
    reference="closed form",
)
def energy_kwh(watts, hours):
    r"""Energy in kWh of a load of ``watts`` running for ``hours``.

    Implements :eq:`eq-hw-energy`:

    .. math:: E = \frac{P \, t}{1000} ,

    in kWh, with :math:`P` in watts and :math:`t` in hours.

    Parameters
    ----------
    watts : float
        :math:`P`, at least 0.
    hours : float
        :math:`t`, at least 0.

    Returns
    -------
    float
        kWh. 1,000 W for two weeks (336 h) is 336 kWh.
    """
    return watts * hours / 1000


@contract(
    "eq-hw-wall-energy",
    kwh=Real(low=0),
    efficiency=Real(low=0, high=1, low_open=True),
    reference="closed form",
)
def wall_energy(kwh, efficiency):
    r"""Energy drawn from the wall when a power supply of ``efficiency`` delivers ``kwh``.

    Implements :eq:`eq-hw-wall-energy`:

    .. math:: E_{\text{wall}} = \frac{E}{\eta} .

    Parameters
    ----------
    kwh : float
        :math:`E`, the energy the components use, at least 0.
    efficiency : float
        :math:`\eta`, in (0, 1].

    Returns
    -------
    float
        kWh. An 80 % efficient supply draws 1.25 times what it delivers.
    """
    return kwh / efficiency


@contract(
    "eq-hw-bill",
    kwh=Real(low=0),
    price_per_kwh=Real(low=0),
    reference="closed form",
)
def energy_cost(kwh, price_per_kwh):
    r"""Cost of ``kwh`` at ``price_per_kwh``, in any currency.

    Implements :eq:`eq-hw-bill`:

    .. math:: \text{cost} = E_{\text{wall}} \times p .

    Parameters
    ----------
    kwh : float
        :math:`E_{\text{wall}}`, the energy billed, at least 0.
    price_per_kwh : float
        :math:`p`, at least 0.

    Returns
    -------
    float
        The bill. 336 kWh at EUR 0.20 per kWh is EUR 67.20.
    """
    return kwh * price_per_kwh


@contract(
    "eq-hw-allreduce",
    reference="closed form",
    nbytes=Real(low=0),
    devices=Int(low=1),
    bandwidth=POSITIVE,
    latency=Real(low=0),
)
def allreduce_time(nbytes, devices, bandwidth, latency=0.0):
    r"""Seconds for a ring all-reduce of ``nbytes`` across ``devices``, equation :eq:`eq-hw-allreduce`.

    .. math:: t = 2\,\frac{N - 1}{N}\,\frac{\text{bytes}}{\text{bandwidth}} + 2 (N - 1)\,\text{latency}

    Each device sends and receives :math:`2 (N - 1) / N` of the data, in
    :math:`2 (N - 1)` steps (a reduce-scatter, then an all-gather). ``bandwidth`` is the
    per-link, per-direction rate in bytes per second: a line rate. A measured NCCL
    bus bandwidth compares with it only for ring and tree algorithms, not for
    in-network reductions (NVLink SHARP).
    """
    if devices == 1:
        return 0.0
    return (
        2 * (devices - 1) / devices * nbytes / bandwidth
        + 2 * (devices - 1) * latency
    )


@contract(
    "eq-hw-cpu-peak",
    reference="closed form",
    cores=Int(low=1),
    ghz=POSITIVE,
    vector_bits=Int(low=1),
    fma_units=Int(low=1),
    dtype=Choice(*BYTES_PER_ELEMENT),
)
def peak_flops(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    r"""Peak floating-point throughput of a CPU, in FLOP/s, equation :eq:`eq-hw-cpu-peak`.

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
