"""Exercises of the hardware chapter: the arithmetic of a deep-learning machine.

Every reference calls :mod:`nnbook.hardware`; the cases are the chapter's machines
(the article's, an A100, an H100, a laptop) and the edge cases that expose the
usual slips: bits for bytes, GB for GiB, W for kW, a forgotten factor of 2.
"""

from __future__ import annotations

import math

import torch

from nnbook.check import Case, exercise
from nnbook.hardware import calculators, prefetch, roofline

__all__ = [
    "adam_memory",
    "allreduce_time",
    "bf16_speedup",
    "cpu_peak_flops",
    "electricity_cost",
    "epoch_times",
    "linear_intensity",
    "minibatch_bytes",
    "pcie_bandwidth",
    "psu_watts",
    "roofline_bound",
]

_BYTES = calculators.BYTES_PER_ELEMENT

# The torch formats behind the chapter's dtype names (tf32 is stored as float32).
_TORCH_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "tf32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "fp8": torch.float8_e4m3fn,
    "uint8": torch.uint8,
}


def _bits(dtype):
    """The number in a dtype's name, read as if it were bytes: the slip to catch."""
    return int("".join(ch for ch in dtype if ch.isdigit()))


# --------------------------------------------------------------------------- cpu


def _cpu_cases(rng):
    return [
        Case("16 AVX-512 server cores at 2.0 GHz", (16, 2.0, 512)),
        Case(
            "the same CPU in float64",
            (16, 2.0, 512),
            {"dtype": "float64"},
        ),
        Case("a laptop: 8 AVX2 cores at 3.5 GHz", (8, 3.5, 256, 2)),
        Case("an ARM server: 64 NEON cores, four FMA units", (64, 2.6, 128, 4)),
        Case("one core with a single FMA unit", (1, 3.0, 256, 1, "float32")),
    ]


def _peak_without_fma_factor(
    cores, ghz, vector_bits, fma_units=2, dtype="float32"
):
    lanes = vector_bits // (8 * _BYTES[dtype])
    return cores * ghz * 1e9 * fma_units * lanes


def _peak_lanes_in_bits(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    lanes = vector_bits // _BYTES[dtype]
    return cores * ghz * 1e9 * fma_units * lanes * 2


def _peak_one_fma_unit(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    lanes = vector_bits // (8 * _BYTES[dtype])
    return cores * ghz * 1e9 * lanes * 2


def _peak_in_gflops(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    lanes = vector_bits // (8 * _BYTES[dtype])
    return cores * ghz * fma_units * lanes * 2


def _peak_per_cycle(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    per_cycle = 0
    for _ in range(cores):
        for _ in range(fma_units):
            per_cycle += 2 * (vector_bits // 8) // _BYTES[dtype]
    return per_cycle * ghz * 1e9


@exercise(
    statement=(
        "cpu_peak_flops(cores, ghz, vector_bits, fma_units=2, dtype='float32') "
        "returns the peak FLOP/s of a CPU whose cores each start fma_units "
        "fused multiply-adds per cycle on vector registers of vector_bits, "
        "at ghz GHz; dtype is float64, float32, bfloat16 or float16."
    ),
    cases=_cpu_cases,
    kind="derive",
    section="hardware/cpu",
    outputs=("P",),
    hint=(
        "Count per cycle: how many numbers fit in a register (the width is in "
        "bits, a number's size in bytes), how many instructions start, and how "
        "many operations one fused multiply-add a * b + c performs. GHz are "
        "10^9 cycles per second; the answer is in FLOP/s."
    ),
    wrong={
        "a fused multiply-add counted as one operation": _peak_without_fma_factor,
        "register width in bits divided by bytes": _peak_lanes_in_bits,
        "one FMA unit per core": _peak_one_fma_unit,
        "GFLOP/s instead of FLOP/s": _peak_in_gflops,
    },
    alternatives=(_peak_per_cycle,),
)
def cpu_peak_flops(cores, ghz, vector_bits, fma_units=2, dtype="float32"):
    """The peak of :func:`nnbook.hardware.calculators.peak_flops`."""
    return calculators.peak_flops(cores, ghz, vector_bits, fma_units, dtype)


# --------------------------------------------------------- arithmetic and memory


def _intensity_cases(rng):
    return [
        Case("the MNIST layer of the roofline figure", (128, 784, 256)),
        Case("the same layer in bfloat16", (128, 784, 256, "bfloat16")),
        Case("a batch of one, float16", (1, 4096, 4096, "float16")),
        Case("a narrow layer, float64", (32, 8, 3, "float64")),
        Case("a large bfloat16 product", (4096, 4096, 4096, "bfloat16")),
    ]


def _intensity_no_output(batch, f_in, f_out, dtype="float32"):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out
    return flops / (elements * _BYTES[dtype])


def _intensity_in_bits(batch, f_in, f_out, dtype="float32"):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out + batch * f_out
    return flops / (elements * _bits(dtype))


def _intensity_one_flop_per_term(batch, f_in, f_out, dtype="float32"):
    flops = batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out + batch * f_out
    return flops / (elements * _BYTES[dtype])


def _intensity_no_bias(batch, f_in, f_out, dtype="float32"):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + batch * f_out
    return flops / (elements * _BYTES[dtype])


def _intensity_from_tensors(batch, f_in, f_out, dtype="float32"):
    t = _TORCH_DTYPES[dtype]
    operands = [
        torch.empty(batch, f_in, dtype=t, device="meta"),  # x, read
        torch.empty(f_out, f_in, dtype=t, device="meta"),  # W, read
        torch.empty(f_out, dtype=t, device="meta"),  # b, read
        torch.empty(batch, f_out, dtype=t, device="meta"),  # y, written
    ]
    nbytes = sum(x.numel() * x.element_size() for x in operands)
    return 2 * batch * f_in * f_out / nbytes


@exercise(
    statement=(
        "linear_intensity(batch, f_in, f_out, dtype='float32') returns the "
        "arithmetic intensity, in FLOP per byte, of the forward pass of a fully "
        "connected layer with bias on a batch of shape (batch, f_in), with every "
        "operand read once and the result written once. Count the FLOPs exactly: "
        "each output takes f_in multiplications and f_in additions, the bias "
        "included."
    ),
    cases=_intensity_cases,
    kind="derive",
    section="hardware/arithmetic_memory",
    outputs=("I",),
    hint=(
        "Count the operations of the product (each term is a multiply and an "
        "add), then the bytes of everything that crosses the memory bus: the "
        "input, the weights, the bias and the output that is written back. A "
        "bfloat16 number takes 2 bytes, not 16."
    ),
    wrong={
        "the output's write left out": _intensity_no_output,
        "bits per number instead of bytes": _intensity_in_bits,
        "one operation per multiply-add": _intensity_one_flop_per_term,
        "the bias left out": _intensity_no_bias,
    },
    alternatives=(_intensity_from_tensors,),
)
def linear_intensity(batch, f_in, f_out, dtype="float32"):
    """FLOP over bytes of :func:`nnbook.hardware.roofline.linear_cost`."""
    flops, nbytes = roofline.linear_cost(batch, f_in, f_out, _BYTES[dtype])
    return flops / nbytes


def _roofline_cases(rng):
    h100 = (989e12, 3.35e12)  # dense bf16 FLOP/s and HBM3 bytes/s
    cpu = (100e9, 10e9)  # a CPU thread's order of magnitude
    return [
        Case(
            "a batch of 1024 through a 512-wide layer on an H100, bfloat16",
            (1024, 512, 512, *h100, "bfloat16"),
        ),
        Case(
            "one token through an H100, bfloat16",
            (1, 8192, 8192, *h100, "bfloat16"),
        ),
        Case(
            "a batch of 4096 on an H100, bfloat16",
            (4096, 8192, 8192, *h100, "bfloat16"),
        ),
        Case("the MNIST layer on a CPU thread", (128, 784, 256, *cpu)),
        Case("a batch of 8 on a CPU thread", (8, 1024, 1024, *cpu)),
        Case(
            "a batch of 64 on an H100, bfloat16",
            (64, 4096, 4096, *h100, "bfloat16"),
        ),
    ]


def _roof_max(batch, f_in, f_out, peak_flops, bandwidth, dtype="float32"):
    intensity = linear_intensity.reference(batch, f_in, f_out, dtype)
    return max(peak_flops, bandwidth * intensity)


def _roof_weights_only(
    batch, f_in, f_out, peak_flops, bandwidth, dtype="float32"
):
    flops = 2 * batch * f_in * f_out
    intensity = flops / (f_in * f_out * _BYTES[dtype])
    return min(peak_flops, bandwidth * intensity)


def _roof_float32_bytes(
    batch, f_in, f_out, peak_flops, bandwidth, dtype="float32"
):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out + batch * f_out
    return min(peak_flops, bandwidth * flops / (4 * elements))


def _roof_as_times(batch, f_in, f_out, peak_flops, bandwidth, dtype="float32"):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out + batch * f_out
    seconds = max(flops / peak_flops, elements * _BYTES[dtype] / bandwidth)
    return flops / seconds


@exercise(
    statement=(
        "roofline_bound(batch, f_in, f_out, peak_flops, bandwidth, "
        "dtype='float32') returns the highest FLOP/s that the roofline model "
        "allows the forward pass of a fully connected layer with bias on a "
        "machine with peak_flops FLOP/s and bandwidth bytes/s, with every "
        "operand read once and the result written once, and FLOPs counted as "
        "in linear_intensity: 2 f_in per output, the bias included."
    ),
    cases=_roofline_cases,
    kind="derive",
    section="hardware/arithmetic_memory",
    outputs=("attainable",),
    hint=(
        "A kernel is held back by whichever limit it hits first, memory or "
        "arithmetic: the roof is the lower of the two. Its intensity counts "
        "all the bytes that move (input, weights, bias and output), each in "
        "the layer's dtype."
    ),
    wrong={
        "the higher of the two roofs": _roof_max,
        "intensity from the weights' bytes only": _roof_weights_only,
        "4 bytes per number whatever the dtype": _roof_float32_bytes,
    },
    alternatives=(_roof_as_times,),
)
def roofline_bound(batch, f_in, f_out, peak_flops, bandwidth, dtype="float32"):
    """:func:`nnbook.hardware.roofline.attainable` at the layer's intensity."""
    flops, nbytes = roofline.linear_cost(batch, f_in, f_out, _BYTES[dtype])
    return roofline.attainable(flops / nbytes, peak_flops, bandwidth)


# -------------------------------------------------------------------- data path


def _minibatch_cases(rng):
    return [
        Case("the article's ImageNet batch", (128, (3, 244, 244))),
        Case("MNIST in uint8", (128, (1, 28, 28), "uint8")),
        Case(
            "a bfloat16 batch of token embeddings", (32, (512, 768), "bfloat16")
        ),
        Case("CIFAR-10 in float64", (64, (3, 32, 32), "float64")),
        Case("one fp8 activation tensor", (1, (4096, 4096), "fp8")),
    ]


def _batch_in_bits(batch_size, shape, dtype="float32"):
    return batch_size * math.prod(shape) * _bits(dtype)


def _batch_one_example(batch_size, shape, dtype="float32"):
    return math.prod(shape) * _BYTES[dtype]


def _batch_bfloat16_as_float32(batch_size, shape, dtype="float32"):
    size = 4 if dtype in ("float32", "bfloat16", "tf32") else _BYTES[dtype]
    return batch_size * math.prod(shape) * size


def _batch_from_torch(batch_size, shape, dtype="float32"):
    x = torch.empty(
        batch_size, *shape, dtype=_TORCH_DTYPES[dtype], device="meta"
    )
    return x.numel() * x.element_size()


@exercise(
    statement=(
        "minibatch_bytes(batch_size, shape, dtype='float32') returns the bytes "
        "of a mini-batch of batch_size examples of the given shape; dtype is one "
        "of float64, float32, tf32, bfloat16, float16, fp8, uint8."
    ),
    cases=_minibatch_cases,
    kind="implement",
    section="hardware/data_path",
    outputs=("bytes",),
    hint=(
        "Multiply the number of values by the bytes of one value. The number in "
        "a dtype's name is its size in bits; bfloat16 has float32's range but "
        "only half its bytes."
    ),
    wrong={
        "bits per value instead of bytes": _batch_in_bits,
        "one example, not the batch": _batch_one_example,
        "bfloat16 stored in 4 bytes": _batch_bfloat16_as_float32,
    },
    alternatives=(_batch_from_torch,),
)
def minibatch_bytes(batch_size, shape, dtype="float32"):
    """:func:`nnbook.hardware.calculators.minibatch_bytes`."""
    return calculators.minibatch_bytes(batch_size, shape, dtype)


def _pcie_cases(rng):
    return [
        Case("PCIe 3.0 x16, the article's slot", (3,)),
        Case("PCIe 2.0 x16", (2,)),
        Case("PCIe 4.0 x8", (4, 8)),
        Case("PCIe 5.0 x16", (5, 16)),
        Case("PCIe 3.0 x4, an NVMe drive", (3, 4)),
    ]


_GT_PER_LANE = {2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0}


def _pcie_no_line_code(generation, lanes=16):
    return _GT_PER_LANE[generation] * 1e9 / 8 * lanes


def _pcie_in_bits(generation, lanes=16):
    coding = 8 / 10 if generation < 3 else 128 / 130
    return _GT_PER_LANE[generation] * 1e9 * coding * lanes


def _pcie_128b_everywhere(generation, lanes=16):
    return _GT_PER_LANE[generation] * 1e9 * 128 / 130 / 8 * lanes


def _pcie_ignores_lanes(generation, lanes=16):
    coding = 8 / 10 if generation < 3 else 128 / 130
    return _GT_PER_LANE[generation] * 1e9 * coding / 8 * 16


def _pcie_doubling(generation, lanes=16):
    per_lane = 0.5e9 if generation == 2 else 8e9 * 128 / 130 / 8
    return per_lane * 2 ** max(generation - 3, 0) * lanes


@exercise(
    statement=(
        "pcie_bandwidth(generation, lanes=16) returns the peak bandwidth in "
        "bytes per second, per direction, of a PCIe link of generation 2 to 5 "
        "with the given number of lanes."
    ),
    cases=_pcie_cases,
    kind="implement",
    section="hardware/data_path",
    outputs=("bandwidth",),
    hint=(
        "A transfer (GT/s) carries one bit per lane, and not every bit is data: "
        "the line code spends 2 bits of 10 (generations 1 and 2) or 2 of 130 "
        "(from generation 3). Eight bits make a byte."
    ),
    wrong={
        "the line code left out": _pcie_no_line_code,
        "bits per second instead of bytes": _pcie_in_bits,
        "128b/130b coding for every generation": _pcie_128b_everywhere,
        "always 16 lanes": _pcie_ignores_lanes,
    },
    alternatives=(_pcie_doubling,),
)
def pcie_bandwidth(generation, lanes=16):
    """:func:`nnbook.hardware.calculators.pcie_bandwidth`."""
    return calculators.pcie_bandwidth(generation, lanes)


# ------------------------------------------------------------------ prefetching


def _epoch_cases(rng):
    return [
        Case("30 batches, loading as slow as computing", (30, 0.05, 0.05)),
        Case("loading twice as slow as computing", (20, 0.2, 0.1)),
        Case("computing four times as slow as loading", (20, 0.025, 0.1)),
        Case("a single batch", (1, 0.3, 0.1)),
        Case("data already in memory", (10, 0.0, 0.1)),
    ]


def _epoch_no_fill(n, load, compute):
    return n * (load + compute), n * max(load, compute)


def _epoch_fill_is_first_load(n, load, compute):
    return n * (load + compute), n * max(load, compute) + load


def _epoch_fill_is_longer(n, load, compute):
    return n * (load + compute), (n + 1) * max(load, compute)


def _epoch_pipeline(n, load, compute):
    # fill the pipeline, n - 1 overlapped steps, drain it
    return n * (load + compute), load + (n - 1) * max(load, compute) + compute


@exercise(
    statement=(
        "epoch_times(n, load, compute) returns the seconds of an epoch of n "
        "batches that take load seconds to load and compute seconds to compute "
        "on: first loading and computing in turn, then with a prefetcher that "
        "loads the next batch while the current one is computed on."
    ),
    cases=_epoch_cases,
    kind="derive",
    section="hardware/prefetching",
    outputs=("t_sequential", "t_prefetched"),
    hint=(
        "Draw the two activities on a time line. With prefetching, the steady "
        "state advances at the pace of the slower one; but the first batch must "
        "be loaded before any computing starts, and the last one computed on "
        "after the last load ends. What sticks out at the two ends?"
    ),
    wrong={
        "the first load and the last step forgotten": _epoch_no_fill,
        "the first load added, whichever is slower": _epoch_fill_is_first_load,
        "the slower of the two added once more": _epoch_fill_is_longer,
    },
    alternatives=(_epoch_pipeline,),
)
def epoch_times(n, load, compute):
    """:func:`nnbook.hardware.prefetch.epoch_times`."""
    return prefetch.epoch_times(n, load, compute)


# -------------------------------------------------------------- power and cooling


def _psu_cases(rng):
    return [
        Case("four 250 W GPUs and a 140 W CPU", ([250, 250, 250, 250], 140)),
        Case("one RTX 4090, small margin", (450, 125, 100)),
        Case("mixed cards, large margin", ([300, 250], 95, 300)),
        Case("two cards as a tuple, the default margin", ((350, 350), 105)),
    ]


def _psu_margin_per_gpu(gpu_watts, cpu_watts, margin=200):
    gpus = gpu_watts if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    return sum(gpus) + cpu_watts + margin * len(gpus)


def _psu_list_only(gpu_watts, cpu_watts, margin=200):
    return sum(gpu_watts) + cpu_watts + margin


def _psu_without_cpu(gpu_watts, cpu_watts, margin=200):
    gpus = gpu_watts if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    return sum(gpus) + margin


def _psu_atleast_1d(gpu_watts, cpu_watts, margin=200):
    gpus = torch.atleast_1d(torch.tensor(gpu_watts))
    return int(gpus.sum()) + cpu_watts + margin


@exercise(
    statement=(
        "psu_watts(gpu_watts, cpu_watts, margin=200) returns the watts of the "
        "power supply to buy, by the article's rule: enough for every card and "
        "the CPU at full load, with margin watts left for the rest of the "
        "machine; gpu_watts is one card's watts or a list (or tuple) of several."
    ),
    cases=_psu_cases,
    kind="implement",
    section="hardware/power_cooling",
    outputs=("watts",),
    hint=(
        "The margin covers the other components and power spikes of the whole "
        "machine, once. One card may come as a plain number."
    ),
    wrong={
        "a margin for each GPU": _psu_margin_per_gpu,
        "a single card given as a number fails": _psu_list_only,
        "the CPU left out": _psu_without_cpu,
    },
    alternatives=(_psu_atleast_1d,),
)
def psu_watts(gpu_watts, cpu_watts, margin=200):
    """:func:`nnbook.hardware.calculators.psu_watts`."""
    return calculators.psu_watts(gpu_watts, cpu_watts, margin)


def _cost_cases(rng):
    return [
        Case(
            "the article: 1,000 W for two weeks, 80 % efficient",
            (1000, 336, 0.20, 0.80),
        ),
        Case("1,500 W for two weeks, 94 % efficient", (1500, 336, 0.20, 0.94)),
        Case("one RTX 4090 for a day", (450, 24, 0.35, 0.90)),
        Case("a perfect supply", (700, 100, 0.30)),
    ]


def _cost_in_watt_hours(watts, hours, price_per_kwh, efficiency=1.0):
    return watts * hours / efficiency * price_per_kwh


def _cost_times_efficiency(watts, hours, price_per_kwh, efficiency=1.0):
    return watts * hours / 1000 * efficiency * price_per_kwh


def _cost_ignores_efficiency(watts, hours, price_per_kwh, efficiency=1.0):
    return watts * hours / 1000 * price_per_kwh


def _cost_via_joules(watts, hours, price_per_kwh, efficiency=1.0):
    joules = watts / efficiency * hours * 3600
    return joules / 3.6e6 * price_per_kwh


@exercise(
    statement=(
        "electricity_cost(watts, hours, price_per_kwh, efficiency=1.0) returns "
        "the price of running a load of watts for hours through a power supply "
        "of the given efficiency, in the currency of price_per_kwh."
    ),
    cases=_cost_cases,
    kind="derive",
    section="hardware/power_cooling",
    outputs=("cost",),
    hint=(
        "The price is per kilowatt-hour, and a load of watts running for hours "
        "uses watt-hours. A supply that is 80 % efficient draws more from the "
        "wall than it delivers, not less."
    ),
    wrong={
        "watt-hours priced as kilowatt-hours": _cost_in_watt_hours,
        "multiplied by the efficiency": _cost_times_efficiency,
        "the efficiency ignored": _cost_ignores_efficiency,
    },
    alternatives=(_cost_via_joules,),
)
def electricity_cost(watts, hours, price_per_kwh, efficiency=1.0):
    """:func:`~nnbook.hardware.calculators.energy_cost` of the energy drawn from the wall."""
    delivered = calculators.energy_kwh(watts, hours)
    drawn = calculators.wall_energy(delivered, efficiency)
    return calculators.energy_cost(drawn, price_per_kwh)


# ----------------------------------------------------------------- multi-device


def _allreduce_cases(rng):
    return [
        Case(
            "ResNet-50 gradients on 4 GPUs over PCIe 3.0",
            (102_228_128, 4, 15.75e9),
        ),
        Case("8 GPUs over NVLink, with latency", (102_228_128, 8, 450e9, 5e-6)),
        Case("two processes, latency only", (0, 2, 10e9, 1e-4)),
        Case("one device: nothing to do", (1e9, 1, 10e9, 1e-3)),
    ]


def _allreduce_no_ring_factor(nbytes, devices, bandwidth, latency=0.0):
    if devices == 1:
        return 0.0
    return nbytes / bandwidth + 2 * (devices - 1) * latency


def _allreduce_reduce_scatter_only(nbytes, devices, bandwidth, latency=0.0):
    if devices == 1:
        return 0.0
    return (devices - 1) / devices * nbytes / bandwidth + (
        devices - 1
    ) * latency


def _allreduce_whole_buffer_each_step(nbytes, devices, bandwidth, latency=0.0):
    if devices == 1:
        return 0.0
    return 2 * (devices - 1) * (nbytes / bandwidth + latency)


def _allreduce_latency_once(nbytes, devices, bandwidth, latency=0.0):
    if devices == 1:
        return 0.0
    return 2 * (devices - 1) / devices * nbytes / bandwidth + latency


def _allreduce_step_by_step(nbytes, devices, bandwidth, latency=0.0):
    chunk = nbytes / devices  # each step moves one chunk along the ring
    steps = 2 * (devices - 1)  # reduce-scatter, then all-gather
    return float(steps * (chunk / bandwidth + latency))


@exercise(
    statement=(
        "allreduce_time(nbytes, devices, bandwidth, latency=0.0) returns the "
        "seconds of a ring all-reduce of nbytes across devices, with links of "
        "bandwidth bytes/s per direction and latency seconds per step."
    ),
    cases=_allreduce_cases,
    kind="implement",
    section="hardware/multi_device",
    outputs=("t",),
    hint=(
        "Follow one chunk: the buffer is cut into N pieces, and each step moves "
        "one piece. How many steps do the reduce-scatter and the all-gather "
        "take together, and what does each step cost in bytes and latency?"
    ),
    wrong={
        "the ring factor 2 (N - 1) / N forgotten": _allreduce_no_ring_factor,
        "only the reduce-scatter": _allreduce_reduce_scatter_only,
        "the whole buffer in every step": _allreduce_whole_buffer_each_step,
        "the latency paid once": _allreduce_latency_once,
    },
    alternatives=(_allreduce_step_by_step,),
)
def allreduce_time(nbytes, devices, bandwidth, latency=0.0):
    """:func:`nnbook.hardware.calculators.allreduce_time`."""
    return calculators.allreduce_time(nbytes, devices, bandwidth, latency)


# ------------------------------------------------------------------- since 2015


def _adam_cases(rng):
    return [
        Case("GPT-2 small in float32", (124_439_808,)),
        Case(
            "a 7-billion-parameter model, bfloat16", (7_000_000_000, "bfloat16")
        ),
        Case(
            "a 1.3-billion-parameter model, float16", (1_300_000_000, "float16")
        ),
        Case(
            "the MLP [784, 256, 128, 10] of the book, float64",
            (235_146, "float64"),
        ),
    ]


def _adam_one_moment(n_params, dtype="float32"):
    if dtype in ("float32", "float64"):
        return 3 * _BYTES[dtype] * n_params
    return (2 + 2 + 4 + 4) * n_params


def _adam_moments_in_dtype(n_params, dtype="float32"):
    size = _BYTES[dtype]
    master = 4 if dtype in ("bfloat16", "float16") else 0
    return (4 * size + master) * n_params


def _adam_no_master_copy(n_params, dtype="float32"):
    if dtype in ("float32", "float64"):
        return 4 * _BYTES[dtype] * n_params
    return (2 + 2 + 4 + 4) * n_params


def _adam_by_tensor(n_params, dtype="float32"):
    compute = _BYTES[dtype]
    kept = 4 if dtype in ("bfloat16", "float16") else compute
    tensors = {"weights": compute, "gradients": compute, "m": kept, "v": kept}
    if dtype in ("bfloat16", "float16"):
        tensors["master weights"] = 4
    return sum(tensors.values()) * n_params


@exercise(
    statement=(
        "adam_memory(n_params, dtype='float32') returns the bytes that training "
        "a model of n_params parameters with Adam keeps in memory, activations "
        "excluded; dtype is float64 or float32 (everything in that format) or "
        "bfloat16 or float16 (mixed precision: weights and gradients in that "
        "format, with float32 master weights and float32 Adam moments)."
    ),
    cases=_adam_cases,
    kind="derive",
    section="hardware/since_2015",
    outputs=("bytes",),
    hint=(
        "List every tensor with one value per parameter: the weights, their "
        "gradients, and the two running averages Adam keeps (m and v). In mixed "
        "precision the optimizer updates a float32 copy of the weights, and its "
        "averages are float32 too."
    ),
    wrong={
        "the second moment forgotten": _adam_one_moment,
        "the moments in the 16-bit format": _adam_moments_in_dtype,
        "no float32 master copy": _adam_no_master_copy,
    },
    alternatives=(_adam_by_tensor,),
)
def adam_memory(n_params, dtype="float32"):
    """:func:`nnbook.hardware.calculators.adam_memory`."""
    return calculators.adam_memory(n_params, dtype)


def _speedup_cases(rng):
    a100 = (19.5e12, 312e12, 2.039e12)  # float32 and dense bf16 FLOP/s, bytes/s
    h100 = (67e12, 989e12, 3.35e12)
    return [
        Case("a batch of one on an A100", (1, 4096, 4096, *a100)),
        Case("a batch of 64 on an A100", (64, 4096, 4096, *a100)),
        Case("a batch of 8192 on an A100", (8192, 4096, 4096, *a100)),
        Case("a batch of 256 on an H100", (256, 8192, 8192, *h100)),
    ]


def _speedup_peak_ratio(batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth):
    return peak_bf16 / peak_fp32


def _speedup_same_intensity(
    batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth
):
    flops, nbytes = roofline.linear_cost(batch, f_in, f_out, 4)
    fast = roofline.attainable(flops / nbytes, peak_bf16, bandwidth)
    return fast / roofline.attainable(flops / nbytes, peak_fp32, bandwidth)


def _speedup_memory_bound(batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth):
    flops, bytes32 = roofline.linear_cost(batch, f_in, f_out, 4)
    _, bytes16 = roofline.linear_cost(batch, f_in, f_out, 2)
    return (bandwidth * flops / bytes16) / (bandwidth * flops / bytes32)


def _speedup_from_times(batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth):
    flops = 2 * batch * f_in * f_out
    elements = batch * f_in + f_in * f_out + f_out + batch * f_out
    t32 = max(flops / peak_fp32, 4 * elements / bandwidth)
    t16 = max(flops / peak_bf16, 2 * elements / bandwidth)
    return t32 / t16


@exercise(
    statement=(
        "bf16_speedup(batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth) "
        "returns how many times faster the roofline model says the forward pass "
        "of a fully connected layer with bias runs in bfloat16 than in float32, "
        "on a GPU with these two peaks (FLOP/s) and bandwidth (bytes/s)."
    ),
    cases=_speedup_cases,
    kind="derive",
    section="hardware/since_2015",
    outputs=("speedup",),
    hint=(
        "The work is the same in both formats, so the speed-up is the ratio of "
        "the two attainable rates. Switching to bfloat16 raises the flat roof "
        "and also halves the bytes, which moves the kernel along the sloped "
        "one. Which roof holds the layer in each format?"
    ),
    wrong={
        "the ratio of the peaks": _speedup_peak_ratio,
        "the intensity left at its float32 value": _speedup_same_intensity,
        "both formats on the sloped roof": _speedup_memory_bound,
    },
    alternatives=(_speedup_from_times,),
)
def bf16_speedup(batch, f_in, f_out, peak_fp32, peak_bf16, bandwidth):
    """The ratio of :func:`nnbook.hardware.roofline.attainable` in 2 and 4 bytes."""
    rates = []
    for peak, size in ((peak_bf16, 2), (peak_fp32, 4)):
        flops, nbytes = roofline.linear_cost(batch, f_in, f_out, size)
        rates.append(roofline.attainable(flops / nbytes, peak, bandwidth))
    return rates[0] / rates[1]
