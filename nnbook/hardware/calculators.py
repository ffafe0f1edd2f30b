"""The arithmetic of a deep-learning machine: bytes, rates, bandwidths, watts and euros.

Every function states its formula and its units. Bytes are plain bytes; helpers convert
to decimal units (GB = 10^9 bytes, as bandwidths are quoted) or binary ones
(GiB = 2^30 bytes, as memory sizes often are). Mixing the two is the most common
error in back-of-the-envelope hardware estimates.
"""

from __future__ import annotations

import math
import numbers

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


def _positive(name, value, *, allow_zero=False):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}"
        )
    return value


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
    _positive("batch_size", batch_size)
    for size in shape:
        _positive("shape", size)
    if dtype not in BYTES_PER_ELEMENT:
        raise ValueError(
            f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}, got {dtype!r}"
        )
    return int(batch_size * math.prod(shape) * BYTES_PER_ELEMENT[dtype])


def data_rate(bytes_per_batch, seconds_per_batch):
    """Bytes per second needed to feed one batch every ``seconds_per_batch``: their ratio."""
    return _positive("bytes_per_batch", bytes_per_batch) / _positive(
        "seconds_per_batch", seconds_per_batch
    )


def transfer_time(nbytes, bandwidth):
    """Seconds to move ``nbytes`` at ``bandwidth`` bytes per second: their ratio."""
    return _positive("nbytes", nbytes, allow_zero=True) / _positive(
        "bandwidth", bandwidth
    )


def ram_bandwidth(mega_transfers, bus_bits=64, channels=1):
    """Peak RAM bandwidth in bytes per second: ``MT/s * 10^6 * bus_bits / 8 * channels``.

    DDR3-1600 (1,600 MT/s) on a 64-bit channel gives 12.8 GB/s; four channels, 51.2 GB/s.
    """
    _positive("mega_transfers", mega_transfers)
    _positive("bus_bits", bus_bits)
    _positive("channels", channels)
    return mega_transfers * 1e6 * bus_bits / 8 * channels


def pcie_bandwidth(generation, lanes=16):
    """Peak PCIe bandwidth per direction, bytes per second.

    ``GT/s per lane * line-code efficiency / 8 bits * lanes``. Generations 1 and 2 use
    8b/10b coding, 3 to 5 use 128b/130b: x16 gives 4, 8, 15.75, 31.5 and 63 GB/s.
    """
    if generation not in PCIE:
        raise ValueError(
            f"generation must be one of {sorted(PCIE)}, got {generation!r}"
        )
    if lanes not in (1, 2, 4, 8, 16):
        raise ValueError(f"lanes must be 1, 2, 4, 8 or 16, got {lanes!r}")
    rate, efficiency = PCIE[generation]
    return rate * 1e9 * efficiency / 8 * lanes


def psu_watts(gpu_watts, cpu_watts, margin=200):
    """Power supply to buy, in watts: the GPUs, plus the CPU, plus ``margin`` (100 to 300 W)."""
    gpus = gpu_watts if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    return (
        sum(_positive("gpu_watts", w) for w in gpus)
        + _positive("cpu_watts", cpu_watts)
        + _positive("margin", margin, allow_zero=True)
    )


def energy_kwh(watts, hours):
    """Energy in kWh of a load of ``watts`` running for ``hours``: ``watts * hours / 1000``."""
    return (
        _positive("watts", watts, allow_zero=True)
        * _positive("hours", hours, allow_zero=True)
        / 1000
    )


def wall_energy(kwh, efficiency):
    """Energy drawn from the wall when a PSU of this ``efficiency`` (0, 1] delivers ``kwh``: ``kwh / efficiency``."""
    if not isinstance(efficiency, numbers.Real) or not 0 < efficiency <= 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency!r}")
    return _positive("kwh", kwh, allow_zero=True) / efficiency


def energy_cost(kwh, price_per_kwh):
    """Cost of ``kwh`` at ``price_per_kwh`` (any currency): their product."""
    return _positive("kwh", kwh, allow_zero=True) * _positive(
        "price_per_kwh", price_per_kwh, allow_zero=True
    )


def allreduce_time(nbytes, devices, bandwidth, latency=0.0):
    r"""Seconds for a ring all-reduce of ``nbytes`` across ``devices``.

    .. math:: t = 2\,\frac{N - 1}{N}\,\frac{\text{bytes}}{\text{bandwidth}} + 2 (N - 1)\,\text{latency}

    Each device sends and receives :math:`2 (N - 1) / N` of the data, in
    :math:`2 (N - 1)` steps (a reduce-scatter, then an all-gather). ``bandwidth`` is the
    per-link, per-direction rate in bytes per second.
    """
    _positive("nbytes", nbytes, allow_zero=True)
    if (
        isinstance(devices, bool)
        or not isinstance(devices, numbers.Integral)
        or devices < 1
    ):
        raise ValueError(f"devices must be an int >= 1, got {devices!r}")
    _positive("bandwidth", bandwidth)
    _positive("latency", latency, allow_zero=True)
    if devices == 1:
        return 0.0
    return (
        2 * (devices - 1) / devices * nbytes / bandwidth
        + 2 * (devices - 1) * latency
    )
