"""Exercises of the hardware chapter: the arithmetic of a deep-learning machine.

Every reference calls :mod:`nnbook.hardware`; the cases are the chapter's machines
(the article's, an A100, an H100, a laptop) and the edge cases that expose the
usual slips: bits for bytes, GB for GiB, W for kW, a forgotten factor of 2.
"""

from __future__ import annotations

import math

import torch

from nnbook.check import Case, exercise
from nnbook.exercises._cases import randn
from nnbook.hardware import (
    accelerators,
    calculators,
    economics,
    formats,
    launch,
    memory,
    model_parallel,
    prefetch,
    profiling,
    roofline,
    sharding,
)

__all__ = [
    "adam_memory",
    "adam_transformer_memory",
    "allreduce_time",
    "bf16_speedup",
    "breakeven_utilization",
    "bubble_fraction",
    "cpu_peak_flops",
    "dense_ridge_point",
    "electricity_cost",
    "epoch_times",
    "gpu_days",
    "graph_speedup",
    "hierarchical_allreduce_time",
    "kv_cache_bytes",
    "launch_share",
    "layer_norm_time",
    "linear_intensity",
    "micro_batches_for_bubble",
    "minibatch_bytes",
    "mxfp4_block",
    "pcie_bandwidth",
    "psu_watts",
    "required_data_rate",
    "roofline_bound",
    "tf32_speedup",
    "wait_share",
    "zero_memory",
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


def _launch_share_cases(rng):
    cpu = (2.5e-6, 2e10)  # a CPU thread: 2.5 µs per call, 20 billion elements/s
    # a GPU seen from PyTorch: 5 µs per launch; 500 G elements/s is 4 TB/s of
    # memory over the 8 bytes an in-place float32 addition reads and writes
    gpu = (5e-6, 5e11)
    return [
        Case("adding 1 to a single number on a CPU thread", (1, *cpu)),
        Case("a 256 KiB float32 tensor on a CPU thread", (65_536, *cpu)),
        Case(
            "4096 elements at the GPU's memory rate, with no kernel floor",
            (4096, *gpu),
        ),
        Case("a 4096 x 4096 float32 tensor on a GPU", (16_777_216, *gpu)),
        Case("no fixed cost at all", (1000, 0.0, 1e9)),
    ]


def _share_over_compute(work, t_launch, rate):
    return t_launch / (work / rate) if work else 1.0


def _share_rate_inverted(work, t_launch, rate):
    return t_launch / (t_launch + work * rate)


def _share_of_compute(work, t_launch, rate):
    return (work / rate) / (t_launch + work / rate)


def _share_launch_in_microseconds(work, t_launch, rate):
    return t_launch * 1e6 / (t_launch * 1e6 + work / rate)


def _share_as_one_minus(work, t_launch, rate):
    compute = work / rate
    return 1.0 - compute / (t_launch + compute)


@exercise(
    statement=(
        "launch_share(work, t_launch, rate) returns the fraction of the time of "
        "one call, in [0, 1], that goes to its fixed cost, when the call costs "
        "t_launch seconds before it starts and then processes work elements at "
        "rate elements per second."
    ),
    cases=_launch_share_cases,
    equation="eq-hw-launch",
    kind="derive",
    section="hardware/cpu",
    outputs=("share",),
    hint=(
        "Write the time of the whole call first, fixed cost plus processing; "
        "the share is a part over that whole. Elements divided by elements per "
        "second give seconds."
    ),
    wrong={
        "the fixed cost over the processing time, not over the whole call": (
            _share_over_compute
        ),
        "work times rate instead of work divided by rate": _share_rate_inverted,
        "the share of the processing instead of the launch": _share_of_compute,
        "the fixed cost in microseconds, the work in seconds": (
            _share_launch_in_microseconds
        ),
    },
    alternatives=(_share_as_one_minus,),
)
def launch_share(work, t_launch, rate):
    """The fixed part of :func:`nnbook.hardware.launch.call_time`."""
    return t_launch / launch.call_time(work, t_launch, rate)


def _graph_speedup_cases(rng):
    return [
        Case("50 kernels of 1 µs behind launches of 5 µs", (50, 1e-6, 5e-6)),
        Case(
            "the limit of kernels that take no time (unreachable)",
            (50, 0.0, 5e-6),
        ),
        Case("a single kernel", (1, 2e-6, 5e-6)),
        Case("kernels as long as a launch", (10, 5e-6, 5e-6)),
        Case("200 kernels of 20 µs: the GPU sets the pace", (200, 20e-6, 5e-6)),
        Case(
            "1000 kernels of 0.5 µs behind 8 µs launches", (1000, 0.5e-6, 8e-6)
        ),
    ]


def _speedup_no_overlap(kernels, t_kernel, t_launch):
    eager = kernels * (t_launch + t_kernel)
    return eager / (t_launch + kernels * t_kernel)


def _speedup_always_k(kernels, t_kernel, t_launch):
    return float(kernels)


def _speedup_inverted(kernels, t_kernel, t_launch):
    eager = t_launch + t_kernel + (kernels - 1) * max(t_launch, t_kernel)
    return (t_launch + kernels * t_kernel) / eager


def _speedup_graph_launches_every_kernel(kernels, t_kernel, t_launch):
    eager = t_launch + t_kernel + (kernels - 1) * max(t_launch, t_kernel)
    return eager / (kernels * t_launch + kernels * t_kernel)


def _speedup_by_simulation(kernels, t_kernel, t_launch):
    def finish(launches):
        launched = finished = 0.0
        for i in range(kernels):
            if i < launches:
                launched += t_launch
            finished = max(launched, finished) + t_kernel
        return finished

    return finish(kernels) / finish(1)


@exercise(
    statement=(
        "graph_speedup(kernels, t_kernel, t_launch) returns how many times "
        "faster a step of kernels kernels, each running t_kernel seconds on the "
        "GPU, completes as one CUDA graph than launched one by one from the CPU, "
        "t_launch seconds per launch. Launches are asynchronous: the CPU launches "
        "the next kernel while the GPU runs the last one. A graph is launched "
        "once, in t_launch seconds, and its kernels then run back to back."
    ),
    cases=_graph_speedup_cases,
    equation="eq-hw-graph",
    kind="derive",
    section="hardware/cpu",
    outputs=("S",),
    hint=(
        "Follow the queue: kernel i can start only when it has been launched "
        "and kernel i - 1 has finished, so after the first kernel each one adds "
        "the larger of a launch and a kernel. The graph pays one launch, then "
        "only kernels."
    ),
    wrong={
        "launches and kernels added, as if nothing overlapped": _speedup_no_overlap,
        "always the number of kernels": _speedup_always_k,
        "the graph's time over the eager time": _speedup_inverted,
        "a launch per kernel in the graph as well": (
            _speedup_graph_launches_every_kernel
        ),
    },
    alternatives=(_speedup_by_simulation,),
)
def graph_speedup(kernels, t_kernel, t_launch):
    """:func:`nnbook.hardware.launch.graph_speedup`."""
    return launch.graph_speedup(kernels, t_kernel, t_launch)


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


# ------------------------------------------------------------- memory-bound kernels


def _layer_norm_cases(rng):
    h100 = (989.4e12, 3.35e12)  # dense bf16 FLOP/s and HBM3 bytes/s
    cpu = (100e9, 10e9)  # a CPU thread's order of magnitude
    return [
        Case(
            "a transformer's activations on an H100, bfloat16",
            (8192, 4096, *h100, "bfloat16"),
        ),
        Case("the page's layer norm on a CPU thread", (4096, 1024, *cpu)),
        Case(
            "on an A100 in float32", (16384, 1024, 19.5e12, 2.039e12, "float32")
        ),
        Case("one short row, where the scale and shift count", (1, 8, *cpu)),
    ]


def _ln_compute_bound(rows, features, peak_flops, bandwidth, dtype="float32"):
    flops, _ = roofline.layer_norm_cost(rows, features, _BYTES[dtype])
    return flops / peak_flops


def _ln_no_output(rows, features, peak_flops, bandwidth, dtype="float32"):
    flops = rows * (7 * features + 4)
    nbytes = _BYTES[dtype] * (rows * features + 2 * features)
    return max(flops / peak_flops, nbytes / bandwidth)


def _ln_no_affine(rows, features, peak_flops, bandwidth, dtype="float32"):
    flops = rows * (7 * features + 4)
    nbytes = _BYTES[dtype] * 2 * rows * features
    return max(flops / peak_flops, nbytes / bandwidth)


def _ln_float32_bytes(rows, features, peak_flops, bandwidth, dtype="float32"):
    flops = rows * (7 * features + 4)
    nbytes = 4 * (2 * rows * features + 2 * features)
    return max(flops / peak_flops, nbytes / bandwidth)


def _ln_as_times(rows, features, peak_flops, bandwidth, dtype="float32"):
    flops = rows * (7 * features + 4)
    nbytes = _BYTES[dtype] * (2 * rows * features + 2 * features)
    return max(flops / peak_flops, nbytes / bandwidth)


@exercise(
    statement=(
        "layer_norm_time(rows, features, peak_flops, bandwidth, dtype='float32') "
        "returns the shortest time, in seconds, that the roofline model allows a "
        "layer norm with a scale and a shift over the last axis of a (rows, "
        "features) tensor, on a machine with peak_flops FLOP/s and bandwidth "
        "bytes/s. Count 7 operations per number and 4 per row, and the minimum "
        "traffic: the input read once, the output written once, the scale and "
        "the shift read once, all in dtype."
    ),
    cases=_layer_norm_cases,
    kind="derive",
    section="hardware/arithmetic_memory",
    equation="eq-hw-roofline",
    outputs=("seconds",),
    hint=(
        "The time is the work divided by the attainable rate of the roofline "
        "model, which depends on the intensity: how many operations "
        "the kernel does per byte it moves. Is a layer norm's intensity above "
        "or below the ridge point of these machines?"
    ),
    wrong={
        "the peak rate, as if compute-bound": _ln_compute_bound,
        "the output's write left out": _ln_no_output,
        "the scale and shift left out": _ln_no_affine,
        "4 bytes per number whatever the dtype": _ln_float32_bytes,
    },
    alternatives=(_ln_as_times,),
)
def layer_norm_time(rows, features, peak_flops, bandwidth, dtype="float32"):
    """FLOP of :func:`nnbook.hardware.roofline.layer_norm_cost` over the roof."""
    flops, nbytes = roofline.layer_norm_cost(rows, features, _BYTES[dtype])
    intensity = roofline.intensity(flops, nbytes)
    return flops / roofline.attainable(intensity, peak_flops, bandwidth)


# ------------------------------------------------------------------------- TF32


def _tf32_cases(rng):
    a100 = (19.5e12, 156e12, 2.039e12)  # float32 and dense TF32 FLOP/s, bytes/s
    h100 = (66.9e12, 494.7e12, 3.35e12)  # the Hopper whitepaper, dense
    return [
        Case("a batch of one on an A100", (1, 4096, 4096, *a100)),
        Case("a batch of 64 on an A100", (64, 4096, 4096, *a100)),
        Case("a batch of 8192 on an A100", (8192, 4096, 4096, *a100)),
        Case("a batch of 256 on an H100", (256, 8192, 8192, *h100)),
    ]


def _tf32_peak_ratio(batch, f_in, f_out, peak_fp32, peak_tf32, bandwidth):
    return peak_tf32 / peak_fp32


def _tf32_stored_in_two_bytes(
    batch, f_in, f_out, peak_fp32, peak_tf32, bandwidth
):
    flops, bytes32 = roofline.linear_cost(batch, f_in, f_out, 4)
    _, bytes16 = roofline.linear_cost(batch, f_in, f_out, 2)
    fast = roofline.attainable(flops / bytes16, peak_tf32, bandwidth)
    return fast / roofline.attainable(flops / bytes32, peak_fp32, bandwidth)


def _tf32_from_times(batch, f_in, f_out, peak_fp32, peak_tf32, bandwidth):
    flops = 2 * batch * f_in * f_out
    nbytes = 4 * (batch * f_in + f_in * f_out + f_out + batch * f_out)
    slow = max(flops / peak_fp32, nbytes / bandwidth)
    return slow / max(flops / peak_tf32, nbytes / bandwidth)


@exercise(
    statement=(
        "tf32_speedup(batch, f_in, f_out, peak_fp32, peak_tf32, bandwidth) "
        "returns how many times faster the roofline model says the forward pass "
        "of a fully connected layer with bias runs with TF32 allowed than "
        "without, on a GPU with these two peaks (FLOP/s) and bandwidth "
        "(bytes/s). The tensors are float32 in both cases."
    ),
    cases=_tf32_cases,
    kind="derive",
    section="hardware/arithmetic_memory",
    equation="eq-hw-roofline",
    outputs=("speedup",),
    hint=(
        "TF32 changes how the tensor cores multiply, not how the numbers are "
        "stored: what does that mean for the bytes moved, and so for the "
        "intensity? The speed-up is the ratio of the two attainable rates."
    ),
    wrong={
        "the ratio of the peaks": _tf32_peak_ratio,
        "TF32 stored in 2 bytes, like bfloat16": _tf32_stored_in_two_bytes,
    },
    alternatives=(_tf32_from_times,),
)
def tf32_speedup(batch, f_in, f_out, peak_fp32, peak_tf32, bandwidth):
    """The ratio of :func:`nnbook.hardware.roofline.attainable` at one intensity."""
    flops, nbytes = roofline.linear_cost(batch, f_in, f_out, 4)
    intensity = roofline.intensity(flops, nbytes)
    fast = roofline.attainable(intensity, peak_tf32, bandwidth)
    return fast / roofline.attainable(intensity, peak_fp32, bandwidth)


# ------------------------------------------------------------------------ memory


def _kv_cases(rng):
    return [
        Case("Llama 3.1 8B, one sequence of 8,192 tokens", (32, 8, 128, 8192)),
        Case(
            "Llama 3.1 8B, 32 sequences of 8,192 tokens",
            (32, 8, 128, 8192),
            {"batch": 32},
        ),
        Case(
            "Llama 3.1 70B, one sequence of 131,072 tokens",
            (80, 8, 128, 131072),
        ),
        Case(
            "Llama 3.1 70B with an fp8 cache, 4 sequences of 32,768 tokens",
            (80, 8, 128, 32768),
            {"batch": 4, "dtype": "fp8"},
        ),
        Case(
            "a small model with one kv head per query head, float32",
            (12, 12, 64, 1024),
            {"batch": 2, "dtype": "float32"},
        ),
    ]


def _kv_keys_only(
    layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16"
):
    return layers * kv_heads * head_dim * seq_len * batch * _BYTES[dtype]


def _kv_bits(layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16"):
    return 2 * layers * kv_heads * head_dim * seq_len * batch * _bits(dtype)


def _kv_one_layer(
    layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16"
):
    return 2 * kv_heads * head_dim * seq_len * batch * _BYTES[dtype]


def _kv_by_tensor(
    layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16"
):
    one = torch.empty(
        batch,
        kv_heads,
        seq_len,
        head_dim,
        dtype=_TORCH_DTYPES[dtype],
        device="meta",
    )
    return 2 * layers * one.numel() * one.element_size()


@exercise(
    statement=(
        "kv_cache_bytes(layers, kv_heads, head_dim, seq_len, batch=1, "
        "dtype='bfloat16') returns the bytes of the key-value cache of a decoder "
        "with `layers` layers and `kv_heads` key-value heads of dimension "
        "`head_dim`, holding `seq_len` tokens for each of `batch` sequences, "
        "every number stored in `dtype`."
    ),
    cases=_kv_cases,
    equation="eq-hw-kv-cache",
    kind="derive",
    section="hardware/memory",
    outputs=("bytes",),
    hint=(
        "Every layer stores, for every token of every sequence and every key-value "
        "head, two vectors of head_dim numbers. Count bytes, not bits."
    ),
    wrong={
        "keys only, the values forgotten": _kv_keys_only,
        "bits for bytes": _kv_bits,
        "one layer only": _kv_one_layer,
    },
    alternatives=(_kv_by_tensor,),
)
def kv_cache_bytes(
    layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16"
):
    """:func:`nnbook.hardware.memory.kv_cache_bytes`."""
    return memory.kv_cache_bytes(
        layers, kv_heads, head_dim, seq_len, batch, dtype
    )


def _adam_transformer_cases(rng):
    return [  # GPT-3 sizes (Brown et al. 2020, table 2.1), sequences of 2,048
        Case(
            "GPT-3 2.7B, one sequence", (2_700_000_000, 2048, 1, 2560, 32, 32)
        ),
        Case(
            "GPT-3 6.7B, one sequence", (6_700_000_000, 2048, 1, 4096, 32, 32)
        ),
        Case(
            "GPT-3 6.7B, one sequence, attention matrix stored",
            (6_700_000_000, 2048, 1, 4096, 32, 32),
            {"fused_attention": False},
        ),
        Case(
            "GPT-3 6.7B, 8 sequences, checkpointed",
            (6_700_000_000, 2048, 8, 4096, 32, 32),
            {"recompute": True},
        ),
        Case(  # table 2.1 prints a width of 5140; 40 heads x 128 = 5120
            "GPT-3 13B, 4 sequences, checkpointed, attention stored",
            (13_000_000_000, 2048, 4, 5120, 40, 40),
            {"recompute": True, "fused_attention": False},
        ),
        Case(
            "a 125M model, 16 sequences of 1,024",
            (125_000_000, 1024, 16, 768, 12, 12),
        ),
    ]


def _adam_tf_activations(
    seq_len, batch, hidden, heads, layers, recompute, fused_attention
):
    s, b, h, a = seq_len, batch, hidden, heads
    scores = 4 * a * s * b if fused_attention else 5 * a * s * s * b
    layer = 34 * s * b * h + scores
    return 2 * s * b * h * layers + layer if recompute else layer * layers


def _adam_tf_no_master(
    n_params,
    seq_len,
    batch,
    hidden,
    heads,
    layers,
    recompute=False,
    fused_attention=True,
):
    acts = _adam_tf_activations(
        seq_len, batch, hidden, heads, layers, recompute, fused_attention
    )
    return 12 * n_params + acts


def _adam_tf_always_stored(
    n_params,
    seq_len,
    batch,
    hidden,
    heads,
    layers,
    recompute=False,
    fused_attention=True,
):
    acts = _adam_tf_activations(
        seq_len, batch, hidden, heads, layers, recompute, False
    )
    return 16 * n_params + acts


def _adam_tf_ckpt_nothing(
    n_params,
    seq_len,
    batch,
    hidden,
    heads,
    layers,
    recompute=False,
    fused_attention=True,
):
    if recompute:
        return 16 * n_params + 2 * layers * seq_len * batch * hidden
    acts = _adam_tf_activations(
        seq_len, batch, hidden, heads, layers, False, fused_attention
    )
    return 16 * n_params + acts


def _adam_tf_by_parts(
    n_params,
    seq_len,
    batch,
    hidden,
    heads,
    layers,
    recompute=False,
    fused_attention=True,
):
    s, b, h, a = seq_len, batch, hidden, heads
    state = {
        "bf16 weights": 2,
        "bf16 gradients": 2,
        "master": 4,
        "m": 4,
        "v": 4,
    }
    if fused_attention:
        attention = {"log-sum-exp, float32": 4 * a * s * b}
    else:
        attention = {"softmax": 2 * a * s * s * b, "mask": a * s * s * b}
        attention["dropout output"] = 2 * a * s * s * b
    layer = s * b * h * 34 + sum(attention.values())
    acts = 2 * s * b * h * layers + layer if recompute else layer * layers
    return sum(state.values()) * n_params + acts


@exercise(
    statement=(
        "adam_transformer_memory(n_params, seq_len, batch, hidden, heads, layers, "
        "recompute=False, fused_attention=True) returns the bytes of one training "
        "step of a GPT-style transformer with Adam in mixed precision: 16-bit weights "
        "and gradients, float32 master weights and moments, and the activations of "
        "its `layers` layers as the book counts them after Korthikanti et al. "
        "(16-bit, with dropout). With fused_attention=True the attention kernel keeps "
        "a float32 log-sum-exp per head and token instead of the attention matrix; "
        "with recompute=True every layer is checkpointed."
    ),
    cases=_adam_transformer_cases,
    equation="eq-hw-training-memory",
    kind="derive",
    section="hardware/memory",
    outputs=("bytes",),
    rtol=1e-9,
    hint=(
        "Add the state (weights, gradients, master weights and moments) to "
        "the activations of every layer. A stored attention matrix costs 5*a*s*s*b "
        "bytes per layer, a fused kernel 4*a*s*b; a checkpointed network keeps each "
        "layer's input and rebuilds one layer at a time."
    ),
    wrong={
        "no float32 master copy": _adam_tf_no_master,
        "the attention matrix counted under a fused kernel": _adam_tf_always_stored,
        "the recomputed layer forgotten": _adam_tf_ckpt_nothing,
    },
    alternatives=(_adam_tf_by_parts,),
)
def adam_transformer_memory(
    n_params,
    seq_len,
    batch,
    hidden,
    heads,
    layers,
    recompute=False,
    fused_attention=True,
):
    """:func:`nnbook.hardware.memory.training_memory` of a transformer."""
    acts = memory.transformer_activation_bytes(
        seq_len, batch, hidden, heads, layers, recompute, fused_attention
    )
    return memory.training_memory(n_params, acts, "adam", "bfloat16")


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


def _rate_cases(rng):
    return [
        Case(
            "the article's AlexNet batch (its 244 corrected to 224), a step of 0.35 s",
            (128, (3, 224, 224), 0.35),
        ),
        Case(
            "the same batch on a GPU that steps in 25 ms",
            (128, (3, 224, 224), 0.025),
        ),
        Case(
            "decoded images sent as uint8, 256 per 40 ms step",
            (256, (3, 224, 224), 0.04, "uint8"),
        ),
        Case(
            "a bfloat16 batch of 32 x 512 x 768 embeddings every 0.1 s",
            (32, (512, 768), 0.1, "bfloat16"),
        ),
        Case(
            "MNIST, a batch of 128 every millisecond", (128, (1, 28, 28), 1e-3)
        ),
    ]


def _rate_in_bits(batch_size, shape, step_seconds, dtype="float32"):
    return batch_size * math.prod(shape) * _bits(dtype) / step_seconds


def _rate_times_step(batch_size, shape, step_seconds, dtype="float32"):
    return batch_size * math.prod(shape) * _BYTES[dtype] * step_seconds


def _rate_batches_per_second(batch_size, shape, step_seconds, dtype="float32"):
    return 1 / step_seconds


def _rate_in_gib(batch_size, shape, step_seconds, dtype="float32"):
    nbytes = batch_size * math.prod(shape) * _BYTES[dtype]
    return nbytes / 2**30 * 10**9 / step_seconds


def _rate_from_torch(batch_size, shape, step_seconds, dtype="float32"):
    x = torch.empty(
        batch_size, *shape, dtype=_TORCH_DTYPES[dtype], device="meta"
    )
    return x.numel() * x.element_size() / step_seconds


@exercise(
    statement=(
        "required_data_rate(batch_size, shape, step_seconds, dtype='float32') "
        "returns the bytes per second that the disk, RAM or PCIe must deliver "
        "so that a new mini-batch of batch_size examples of the given shape is "
        "ready every step_seconds, the time the accelerator spends on one step."
    ),
    cases=_rate_cases,
    equation="eq-hw-data-rate",
    kind="derive",
    section="hardware/data_path",
    outputs=("bytes_per_second",),
    hint=(
        "First the bytes of one batch, then "
        "how many of those are needed per second. The number in a dtype's name "
        "counts bits, and a GB is 10^9 bytes, not 2^30."
    ),
    wrong={
        "bits per value instead of bytes": _rate_in_bits,
        "multiplied by the step time": _rate_times_step,
        "batches per second, not bytes": _rate_batches_per_second,
        "GiB counted as GB": _rate_in_gib,
    },
    alternatives=(_rate_from_torch,),
)
def required_data_rate(batch_size, shape, step_seconds, dtype="float32"):
    """:func:`nnbook.hardware.calculators.data_rate` of a mini-batch."""
    nbytes = calculators.minibatch_bytes(batch_size, shape, dtype)
    return calculators.data_rate(nbytes, step_seconds)


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


def _share_cases(rng):
    return [
        Case("loading in the loop, L = 3 C", (0.03, 0.01)),
        Case("one prefetching thread, L = 3 C", (0.03, 0.01, 1)),
        Case("two workers, L = 3 C", (0.03, 0.01, 2)),
        Case("four workers, L = 3 C: enough", (0.03, 0.01, 4)),
        Case("loading faster than computing, no worker", (0.005, 0.02, 0)),
        Case("loading faster than computing, one thread", (0.005, 0.02, 1)),
        Case("three workers, L = 5 C", (0.5, 0.1, 3)),
    ]


def _share_ignores_workers(load, compute, workers=0):
    return load / (load + compute)


def _share_not_clipped(load, compute, workers=0):
    if workers == 0:
        return load / (load + compute)
    return (load / workers - compute) / max(load / workers, compute)


def _share_sequential_denominator(load, compute, workers=0):
    if workers == 0:
        return load / (load + compute)
    return max(0.0, load / workers - compute) / (load / workers + compute)


def _share_load_times_workers(load, compute, workers=0):
    if workers == 0:
        return load / (load + compute)
    per_batch = load * workers
    return max(0.0, per_batch - compute) / max(per_batch, compute)


def _share_simulated(load, compute, workers=0):
    # the second hundred rounds of a loop fed by round-robin workers that never
    # wait; a round is one batch from each worker
    if workers == 0:
        return load / (load + compute)
    now = waited = start = 0.0
    for k in range(200 * workers):
        if k == 100 * workers:
            waited, start = 0.0, now
        ready = load * (1 + k // workers)
        wait = max(0.0, ready - now)
        waited += wait
        now += wait + compute
    return waited / (now - start)


@exercise(
    statement=(
        "wait_share(load, compute, workers=0) returns the share of a training "
        "loop's time, in the steady state, spent waiting for the next batch, "
        "when a batch takes load seconds to load and compute seconds to compute "
        "on: loaded by the loop itself (workers=0), or by workers loaders that "
        "each take load seconds per batch and run in parallel with the loop."
    ),
    cases=_share_cases,
    equation="eq-hw-wait-share",
    kind="derive",
    section="hardware/prefetching",
    outputs=("share",),
    hint=(
        "With k loaders working in parallel, how often is a new batch ready? "
        "The loop then waits only for the part of that interval its step does "
        "not cover, and never a negative time."
    ),
    wrong={
        "the workers ignored": _share_ignores_workers,
        "a negative wait when loading is fast": _share_not_clipped,
        "divided by load / k + compute": _share_sequential_denominator,
        "k workers make loading k times slower": _share_load_times_workers,
    },
    alternatives=(_share_simulated,),
)
def wait_share(load, compute, workers=0):
    """:func:`nnbook.hardware.profiling.wait_share`."""
    return profiling.wait_share(load, compute, workers)


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


def _zero_cases(rng):
    return [
        Case(
            "the ZeRO paper's example: 7.5B parameters, 64 GPUs, stage 1",
            (7.5e9, 64, 1),
        ),
        Case("7B parameters on 8 GPUs, stage 2", (7e9, 8, 2)),
        Case("70B parameters on 64 GPUs, stage 3", (70e9, 64, 3)),
        Case("plain data parallelism: nothing is divided", (7e9, 8, 0)),
        Case("one GPU: every stage keeps everything", (1.3e9, 1, 3)),
        Case(
            "float64 Adam without a master copy, as in the page's run",
            (1123, 2, 1),
            {"k": 16, "weight_bytes": 8, "grad_bytes": 8},
        ),
    ]


def _zero_everything_divided(
    parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2
):
    if stage == 0:
        return (weight_bytes + grad_bytes + k) * parameters
    return (weight_bytes + grad_bytes + k) * parameters / devices


def _zero_stages_shifted(
    parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2
):
    # stage 1 taken to divide the gradients, stage 2 the weights
    divided = {0: (), 1: ("g",), 2: ("g", "w"), 3: ("g", "w", "k")}[stage]
    sizes = {"w": weight_bytes, "g": grad_bytes, "k": k}
    return sum(
        b * parameters / (devices if n in divided else 1)
        for n, b in sizes.items()
    )


def _zero_k_per_device(
    parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2
):
    # the optimizer state taken as K bytes in all, not per parameter
    divided = {0: (), 1: ("k",), 2: ("g", "k"), 3: ("w", "g", "k")}[stage]
    total = k / (devices if "k" in divided else 1)
    for name, b in (("w", weight_bytes), ("g", grad_bytes)):
        total += b * parameters / (devices if name in divided else 1)
    return total


def _zero_in_gigabytes(
    parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2
):
    return (
        sharding.zero_memory(
            parameters, devices, stage, k, weight_bytes, grad_bytes
        )
        / 1e9
    )


def _zero_by_tensor(
    parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2
):
    kept = {"weights": weight_bytes, "gradients": grad_bytes, "optimizer": k}
    shared_from = {"optimizer": 1, "gradients": 2, "weights": 3}
    return sum(
        b * parameters / (devices if stage >= shared_from[name] else 1)
        for name, b in kept.items()
    )


@exercise(
    statement=(
        "zero_memory(parameters, devices, stage, k=12, weight_bytes=2, "
        "grad_bytes=2) returns the bytes of weights, gradients and optimizer "
        "state that each of `devices` data-parallel devices holds under ZeRO "
        "stage `stage` (0: nothing divided; 1: optimizer state divided; 2: and "
        "gradients; 3: and weights), for a model of `parameters` parameters "
        "with `weight_bytes`, `grad_bytes` and `k` bytes per parameter."
    ),
    cases=_zero_cases,
    equation="eq-hw-zero-memory",
    kind="derive",
    section="hardware/multi_device",
    outputs=("bytes",),
    hint=(
        "Write the three kinds of state per parameter side by side: weights, "
        "gradients, optimizer state. Each stage divides one more kind among "
        "the devices, starting with the largest, the optimizer state; the "
        "others stay whole on every device."
    ),
    wrong={
        "every stage divides everything": _zero_everything_divided,
        "the stages divide in the wrong order": _zero_stages_shifted,
        "K taken as bytes in all, not per parameter": _zero_k_per_device,
        "gigabytes instead of bytes": _zero_in_gigabytes,
    },
    alternatives=(_zero_by_tensor,),
)
def zero_memory(parameters, devices, stage, k=12, weight_bytes=2, grad_bytes=2):
    """:func:`nnbook.hardware.sharding.zero_memory`."""
    return sharding.zero_memory(
        parameters, devices, stage, k, weight_bytes, grad_bytes
    )


def _hier_cases(rng):
    return [
        Case(
            "7B bf16 gradients, 8 nodes of 8 H100s, InfiniBand NDR",
            (14e9, 8, 8, 450e9, 50e9),
        ),
        Case(
            "the same on B200s with InfiniBand XDR, with latencies",
            (14e9, 8, 8, 900e9, 100e9),
            {"node_latency": 3e-6, "network_latency": 1e-5},
        ),
        Case("one node: the ring over NVLink", (14e9, 1, 8, 450e9, 50e9)),
        Case(
            "one GPU per node: the ring over the network",
            (1e9, 16, 1, 450e9, 50e9),
        ),
        Case(
            "a small buffer, where latency rules",
            (1e4, 4, 4, 450e9, 50e9, 5e-6, 2e-5),
        ),
    ]


def _hier_whole_buffer_across(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    g, m = gpus_per_node, nodes
    return (
        2 * (g - 1) / g * nbytes / node_bandwidth
        + 2 * (m - 1) / m * nbytes / network_bandwidth
        + 2 * (g - 1) * node_latency
        + 2 * (m - 1) * network_latency
    )


def _hier_flat_ring_over_network(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    n = nodes * gpus_per_node
    if n == 1:
        return 0.0
    return (
        2 * (n - 1) / n * nbytes / network_bandwidth
        + 2 * (n - 1) * network_latency
    )


def _hier_no_all_gather(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    g, m = gpus_per_node, nodes
    return (
        (g - 1) / g * nbytes / node_bandwidth
        + 2 * (m - 1) / m * nbytes / (g * network_bandwidth)
        + (g - 1) * node_latency
        + 2 * (m - 1) * network_latency
    )


def _hier_bidirectional_nvlink(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    # the per-direction rate doubled, as if the quoted total went one way
    return sharding.hierarchical_allreduce_time(
        nbytes,
        nodes,
        gpus_per_node,
        2 * node_bandwidth,
        network_bandwidth,
        node_latency,
        network_latency,
    )


def _hier_three_rings(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    g, m = gpus_per_node, nodes
    inside = (g - 1) * (
        nbytes / g / node_bandwidth + node_latency
    )  # reduce-scatter
    shard = nbytes / g
    across = 2 * (m - 1) * (shard / m / network_bandwidth + network_latency)
    return (
        2 * inside + across
    )  # the all-gather costs what the reduce-scatter did


@exercise(
    statement=(
        "hierarchical_allreduce_time(nbytes, nodes, gpus_per_node, "
        "node_bandwidth, network_bandwidth, node_latency=0.0, "
        "network_latency=0.0) returns the seconds of a two-level all-reduce of "
        "nbytes on every GPU: a ring reduce-scatter inside each node, a ring "
        "all-reduce of each shard across the nodes (each GPU through its own "
        "network card), and a ring all-gather inside each node, one phase after "
        "the other. Bandwidths are bytes/s per direction; latencies are seconds "
        "per ring step."
    ),
    cases=_hier_cases,
    equation="eq-hw-hier-allreduce",
    kind="implement",
    section="hardware/multi_device",
    outputs=("t",),
    hint=(
        "Cost the three phases one at a time with the ring of "
        "allreduce_time: a reduce-scatter is half an all-reduce. After the "
        "reduce-scatter, how many bytes does each GPU still have to combine "
        "with the other nodes, and over which link?"
    ),
    wrong={
        "the whole buffer sent across the network": _hier_whole_buffer_across,
        "a flat ring through one network card per node": _hier_flat_ring_over_network,
        "the all-gather inside the node forgotten": _hier_no_all_gather,
        "NVLink's quoted total used as the rate each way": _hier_bidirectional_nvlink,
    },
    alternatives=(_hier_three_rings,),
)
def hierarchical_allreduce_time(
    nbytes,
    nodes,
    gpus_per_node,
    node_bandwidth,
    network_bandwidth,
    node_latency=0.0,
    network_latency=0.0,
):
    """:func:`nnbook.hardware.sharding.hierarchical_allreduce_time`."""
    return sharding.hierarchical_allreduce_time(
        nbytes,
        nodes,
        gpus_per_node,
        node_bandwidth,
        network_bandwidth,
        node_latency,
        network_latency,
    )


# ------------------------------------------------------------- model parallelism


def _bubble_cases(rng):
    return [
        Case("four stages, eight micro-batches, as in the figure", (4, 8)),
        Case("eight stages, 32 micro-batches", (8, 32)),
        Case("sixteen stages, 64 micro-batches", (16, 64)),
        Case("two stages, one micro-batch: no pipelining", (2, 1)),
        Case("one stage: nothing to wait for", (1, 4)),
    ]


def _bubble_relative_to_ideal(stages, micro_batches):
    return (stages - 1) / micro_batches


def _bubble_m_plus_p(stages, micro_batches):
    return (stages - 1) / (micro_batches + stages)


def _bubble_p_not_p_minus_1(stages, micro_batches):
    return stages / (micro_batches + stages - 1)


def _bubble_from_busy_share(stages, micro_batches):
    return 1 - micro_batches / (micro_batches + stages - 1)


def _bubble_simulated(stages, micro_batches):
    timeline = model_parallel.pipeline_schedule(
        stages, micro_batches, "gpipe", 1, 2
    )
    return model_parallel.idle_fraction(timeline)


@exercise(
    statement=(
        "bubble_fraction(stages, micro_batches) returns the share of one "
        "training step that each stage of a GPipe or 1F1B pipeline spends "
        "waiting, with p = stages stages of equal speed and m = micro_batches "
        "micro-batches, as a fraction of the whole step (not of the ideal, "
        "bubble-free time)."
    ),
    cases=_bubble_cases,
    equation="eq-hw-bubble",
    kind="derive",
    section="hardware/model_parallel",
    outputs=("bubble",),
    hint=(
        "Count slots of one forward plus one backward pass. Each stage is busy "
        "for m of them. How many slots pass before the last stage starts, and "
        "how many after the first stage would have finished, had it not waited?"
    ),
    wrong={
        "relative to the ideal time, (p - 1)/m": _bubble_relative_to_ideal,
        "m + p slots in the step": _bubble_m_plus_p,
        "p slots of waiting instead of p - 1": _bubble_p_not_p_minus_1,
    },
    alternatives=(_bubble_from_busy_share, _bubble_simulated),
)
def bubble_fraction(stages, micro_batches):
    """:func:`nnbook.hardware.model_parallel.bubble_fraction`, of the total time."""
    return model_parallel.bubble_fraction(stages, micro_batches)


def _micro_batches_cases(rng):
    return [
        Case("eight stages, a bubble of at most 5 %", (8, 0.05)),
        Case("four stages, at most 5 %", (4, 0.05)),
        Case("two stages, at most 10 %", (2, 0.10)),
        Case("sixteen stages, at most 1 %", (16, 0.01)),
        Case("eight stages, at most half the step", (8, 0.5)),
        Case("one stage: one micro-batch is enough", (1, 0.05)),
    ]


def _micro_batches_ideal_form(stages, target):
    return max(1, math.ceil((stages - 1) / target))


def _micro_batches_strict(stages, target):
    m = 1
    while model_parallel.bubble_fraction(stages, m) >= target:
        m += 1
    return m


def _micro_batches_four_p(stages, target):
    return 4 * stages


def _micro_batches_zero(stages, target):
    return math.ceil((stages - 1) * (1 - target) / target)


def _micro_batches_closed_form(stages, target):
    # m >= (p - 1)(1 - target)/target, rounded to hide the float's last bits
    return max(1, math.ceil(round((stages - 1) * (1 - target) / target, 9)))


@exercise(
    statement=(
        "micro_batches_for_bubble(stages, target) returns the smallest number "
        "of micro-batches m for which the bubble of a pipeline of p = stages "
        "equal stages, as a fraction of the whole step, is at most target "
        "(a number between 0 and 1)."
    ),
    cases=_micro_batches_cases,
    equation="eq-hw-bubble",
    kind="derive",
    section="hardware/model_parallel",
    outputs=("m",),
    hint=(
        "Solve (p - 1)/(m + p - 1) <= target for m. 'At most' includes the "
        "target itself, and m is a whole number of at least 1."
    ),
    wrong={
        "the bubble relative to the ideal time, (p - 1)/m": _micro_batches_ideal_form,
        "strictly below the target": _micro_batches_strict,
        "GPipe's rule of thumb m = 4p": _micro_batches_four_p,
        "zero micro-batches for a single stage": _micro_batches_zero,
    },
    alternatives=(_micro_batches_closed_form,),
)
def micro_batches_for_bubble(stages, target):
    """The smallest m with :func:`nnbook.hardware.model_parallel.bubble_fraction` <= target."""
    m = 1
    while model_parallel.bubble_fraction(stages, m) > target:
        m += 1
    return m


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


def _ridge_cases(rng):
    # (sparse bf16 TFLOP/s, bandwidth GB/s), as the vendors' pages headline them
    return [
        Case("an H200", (1979, 4800)),
        Case("a B200 in an HGX server", (4500, 8000)),
        Case("an MI300X", (2614.9, 5300)),
        Case("an RTX 5090, bf16 with float32 accumulation", (419, 1792)),
    ]


def _ridge_sparse(sparse_tflops, bandwidth_gbs):
    return sparse_tflops * 1e12 / (bandwidth_gbs * 1e9)


def _ridge_gb_as_tb(sparse_tflops, bandwidth_gbs):
    return (sparse_tflops / 2) / bandwidth_gbs


def _ridge_inverted(sparse_tflops, bandwidth_gbs):
    return bandwidth_gbs * 1e9 / (sparse_tflops / 2 * 1e12)


def _ridge_from_units(sparse_tflops, bandwidth_gbs):
    dense_flops = sparse_tflops * 1e12 / 2
    return dense_flops / (bandwidth_gbs * 1e9)


@exercise(
    statement=(
        "dense_ridge_point(sparse_tflops, bandwidth_gbs) returns the ridge point, "
        "in FLOP per byte, of an accelerator whose vendor quotes its peak with 2:4 "
        "structured sparsity, sparse_tflops in TFLOP/s, and its memory bandwidth "
        "in GB/s: the intensity above which a dense kernel is compute-bound."
    ),
    cases=_ridge_cases,
    equation="eq-hw-machine-balance",
    kind="derive",
    section="hardware/since_2015",
    outputs=("FLOP per byte",),
    hint=(
        "A dense kernel cannot use the sparsity: its peak is half the quoted "
        "one. Then bring both rates to the same unit (10^12 or 10^9 per second) "
        "before dividing FLOP/s by bytes/s."
    ),
    wrong={
        "the sparse peak used as it is": _ridge_sparse,
        "GB/s read as TB/s": _ridge_gb_as_tb,
        "bytes per FLOP instead of FLOP per byte": _ridge_inverted,
    },
    alternatives=(_ridge_from_units,),
)
def dense_ridge_point(sparse_tflops, bandwidth_gbs):
    """:func:`nnbook.hardware.accelerators.ridge_point` of the dense peak."""
    return accelerators.ridge_point(sparse_tflops / 2, bandwidth_gbs / 1000)


def _mxfp4_cases(rng):
    outlier = randn(rng, 32)
    outlier[5] = 12 * outlier.abs().max()
    exact = torch.tensor([6.0, -4.0, 3.0, 0.5] * 8, dtype=torch.float64)
    ties = torch.tensor([4.0, 2.5, -1.25, 0.75] * 8, dtype=torch.float64)
    near_top = randn(rng, 32)
    near_top[0] = 7.5  # top binade [4, 8): above 6, clamped
    return [
        Case("a block of standard normal values", (randn(rng, 32),)),
        Case("one outlier twelve times the rest", (outlier,)),
        Case("values that E2M1 holds exactly", (exact,)),
        Case("values halfway between two E2M1 values", (ties,)),
        Case("a largest value of 7.5, beyond 6 times the scale", (near_top,)),
        Case("small values, around 1e-3", (randn(rng, 32, scale=1e-3),)),
        Case("a block of zeros", (torch.zeros(32, dtype=torch.float64),)),
    ]


_E2M1 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6], dtype=torch.float64)


def _nearest_e2m1(r):
    """Nearest E2M1 value to each of r (|r| <= 6), by search; ties to even codes."""
    grid = torch.cat([-_E2M1.flip(0), _E2M1])
    d = (r[:, None] - grid[None]).abs()
    nearest = d == d.min(dim=1, keepdim=True).values
    even = torch.isin(
        grid.abs(), _E2M1[[0, 2, 4, 6]]
    )  # 0, 1, 2, 4: mantissa bit 0
    return grid[(nearest * (1 + even)).argmax(dim=1)]


def _mx_scale_to_six(v):
    amax = v.abs().max()
    scale = amax / 6 if amax > 0 else torch.tensor(1.0, dtype=v.dtype)
    return scale * _nearest_e2m1(v / scale)


def _mx_scale_ceil(v):
    amax = v.abs().max()
    if amax == 0:
        return v.clone()
    scale = 2.0 ** (torch.ceil(torch.log2(amax)) - 2)
    return scale * _nearest_e2m1((v / scale).clamp(-6, 6))


def _mx_no_clamp(v):
    amax = v.abs().max()
    if amax == 0:
        return v.clone()
    scale = 2.0 ** (torch.floor(torch.log2(amax)) - 2)
    r = v / scale
    top = r.abs() > 6  # rounds 7.5 to 8, a value E2M1 does not have
    out = _nearest_e2m1(r.clamp(-6, 6))
    out[top] = torch.sign(r[top]) * 8
    return scale * out


def _mx_truncate(v):
    amax = v.abs().max()
    if amax == 0:
        return v.clone()
    scale = 2.0 ** (torch.floor(torch.log2(amax)) - 2)
    r = (v / scale).clamp(-6, 6)
    grid = _E2M1
    below = grid[(r.abs()[:, None] >= grid[None]).sum(1) - 1]
    return scale * torch.sign(r) * below


def _mx_by_frexp(v):
    amax = v.abs().max()
    if amax == 0:
        return v.clone()
    _, e = torch.frexp(amax)  # amax = f * 2^e, 0.5 <= f < 1
    scale = torch.ldexp(torch.tensor(1.0, dtype=v.dtype), e - 1 - 2)
    return scale * _nearest_e2m1((v / scale).clamp(-6, 6))


@exercise(
    statement=(
        "mxfp4_block(v) returns the 32 values of the block v (a float64 tensor "
        "of shape (32,)) after storing them in MXFP4 and reading them back: a "
        "shared power-of-two scale X chosen from the largest magnitude by the "
        "specification's floor rule, X = 2^(floor(log2 max|v|) - 2), and each "
        "v_i / X rounded to the nearest E2M1 value (0, 0.5, 1, 1.5, 2, 3, 4, 6 "
        "and their negatives, ties to the even code), clamped to 6."
    ),
    cases=_mxfp4_cases,
    equation="eq-hw-mx-scale",
    kind="implement",
    section="hardware/since_2015",
    outputs=("values",),
    hint=(
        "The scale is 2 to the power floor(log2 max|v|) minus 2, the exponent "
        "of E2M1's largest power of two (4): the largest value then lands in "
        "[4, 8). Values of v / X above 6 are clamped, not rounded up; a block "
        "of zeros keeps the scale 1."
    ),
    wrong={
        "a scale of max|v| / 6, not a power of two": _mx_scale_to_six,
        "ceil instead of floor in the scale's exponent": _mx_scale_ceil,
        "values above 6 rounded up to 8, not clamped": _mx_no_clamp,
        "rounded toward zero": _mx_truncate,
    },
    alternatives=(_mx_by_frexp,),
)
def mxfp4_block(v):
    """:func:`nnbook.hardware.formats.mx_quantize` of one block, in MXFP4."""
    return formats.mx_quantize(v[None], "e2m1", block=32)[0][0]


# -------------------------------------------------------------------- economics


def _gpu_days_cases(rng):
    h100, a100 = 989e12, 312e12  # dense bf16 FLOP/s, from the datasheets
    return [
        # N without the embedding table, as on the page: 7.5e9 and 69.5e9 weights
        Case(
            "Llama 3 8B: 15T tokens on 1,024 H100s at 40 %",
            (7.5e9, 15e12, 1024, h100, 0.4),
        ),
        Case(
            "Llama 3 70B: 15T tokens on 2,048 H100s at 38 %",
            (69.5e9, 15e12, 2048, h100, 0.38),
        ),
        Case(
            "a 175B model, 300B tokens, 1,024 A100s at 30 %",
            (175e9, 300e9, 1024, a100, 0.3),
        ),
        Case(
            "GPT-2 small, 10B tokens, one H100 at 25 %",
            (124e6, 10e9, 1, h100, 0.25),
        ),
    ]


def _gpu_days_forward_only(n_params, n_tokens, gpus, peak_flops, mfu):
    return 2 * n_params * n_tokens / (gpus * peak_flops * mfu) / 86400


def _gpu_days_in_hours(n_params, n_tokens, gpus, peak_flops, mfu):
    return 6 * n_params * n_tokens / (gpus * peak_flops * mfu) / 3600


def _gpu_days_mfu_multiplied(n_params, n_tokens, gpus, peak_flops, mfu):
    return 6 * n_params * n_tokens * mfu / (gpus * peak_flops) / 86400


def _gpu_days_one_gpu(n_params, n_tokens, gpus, peak_flops, mfu):
    return 6 * n_params * n_tokens / (peak_flops * mfu) / 86400


def _gpu_days_through_gpu_hours(n_params, n_tokens, gpus, peak_flops, mfu):
    flop_per_gpu_hour = peak_flops * mfu * 3600
    gpu_hours = 6 * n_params * n_tokens / flop_per_gpu_hour
    return gpu_hours / gpus / 24


@exercise(
    statement=(
        "gpu_days(n_params, n_tokens, gpus, peak_flops, mfu) returns the days "
        "it takes gpus GPUs of peak_flops FLOP/s each, running at a model FLOPs "
        "utilization mfu, to train a model of n_params weights on n_tokens tokens, "
        "with the 6ND estimate of the training FLOPs."
    ),
    cases=_gpu_days_cases,
    kind="derive",
    section="hardware/economics",
    equation="eq-hw-train-time",
    outputs=("days",),
    hint=(
        "Count the FLOPs first: each weight does one multiply-add per token "
        "forward and two backward. Then divide by what the GPUs deliver per "
        "second at that utilization, and convert seconds to days."
    ),
    wrong={
        "the forward pass only (2ND)": _gpu_days_forward_only,
        "hours instead of days": _gpu_days_in_hours,
        "the utilization multiplied instead of divided": _gpu_days_mfu_multiplied,
        "the work not shared among the GPUs": _gpu_days_one_gpu,
    },
    alternatives=(_gpu_days_through_gpu_hours,),
)
def gpu_days(n_params, n_tokens, gpus, peak_flops, mfu):
    """:func:`nnbook.hardware.economics.training_days` of the 6ND estimate."""
    flops = economics.training_flops(n_params, n_tokens)
    return economics.training_days(flops, gpus, peak_flops, mfu)


def _breakeven_cases(rng):
    return [
        Case(
            "an H100's server share at the page's rate",
            (32_000, 3.0, 4, 1_275, 1.3, 0.10),
        ),
        Case(
            "a B200 at the page's rate, three years",
            (55_000, 5.0, 3, 1_788, 1.3, 0.10),
        ),
        Case(
            "expensive electricity, efficient site",
            (32_000, 3.0, 4, 1_275, 1.1, 0.35),
        ),
        Case("a workstation GPU", (2_500, 0.5, 3, 600, 1.0, 0.30)),
    ]


def _breakeven_no_electricity(price, rate, years, watts, pue, price_per_kwh):
    return price / (years * 8760 * rate)


def _breakeven_watts_as_kw(price, rate, years, watts, pue, price_per_kwh):
    return price / (years * 8760 * (rate - watts * pue * price_per_kwh))


def _breakeven_no_pue(price, rate, years, watts, pue, price_per_kwh):
    return price / (years * 8760 * (rate - watts / 1000 * price_per_kwh))


def _breakeven_in_days(price, rate, years, watts, pue, price_per_kwh):
    return price / (years * 365 * (rate - watts / 1000 * pue * price_per_kwh))


def _breakeven_by_hours_needed(price, rate, years, watts, pue, price_per_kwh):
    saved_per_busy_hour = rate - watts * pue / 1000 * price_per_kwh
    busy_hours_needed = price / saved_per_busy_hour
    return busy_hours_needed / (years * 365 * 24)


@exercise(
    statement=(
        "breakeven_utilization(price, rate, years, watts, pue, price_per_kwh) "
        "returns the fraction of the hours a bought GPU must work for buying it "
        "(price, then electricity for watts W per working hour, times pue, at "
        "price_per_kwh per kWh) to cost the same over years as renting it on "
        "demand at a constant rate per working hour. Interest, resale value and "
        "fixed costs are left out: the simplest case of the page's model."
    ),
    cases=_breakeven_cases,
    kind="derive",
    section="hardware/economics",
    equation="eq-hw-breakeven",
    outputs=("u",),
    hint=(
        "Write both costs after the life of years years at a utilization u: "
        "buying is the price plus the electricity of the working hours, renting "
        "is the rate for the same hours. Set them equal and solve for u. Watts "
        "are not kilowatts, and a year has 8,760 hours."
    ),
    wrong={
        "electricity left out": _breakeven_no_electricity,
        "watts used as kilowatts": _breakeven_watts_as_kw,
        "the PUE forgotten": _breakeven_no_pue,
        "days instead of hours": _breakeven_in_days,
    },
    alternatives=(_breakeven_by_hours_needed,),
)
def breakeven_utilization(price, rate, years, watts, pue, price_per_kwh):
    """:func:`nnbook.hardware.economics.breakeven_utilization`."""
    return economics.breakeven_utilization(
        price, rate, years, watts, pue, price_per_kwh
    )
