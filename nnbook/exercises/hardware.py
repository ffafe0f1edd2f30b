"""Exercises of the hardware chapter."""

from __future__ import annotations

from nnbook.check import Case, Exercise, register
from nnbook.hardware import calculators

__all__ = ["allreduce_time", "minibatch_bytes", "psu_watts"]


minibatch_bytes = register(
    Exercise(
        name="hw.minibatch_bytes",
        statement=(
            "minibatch_bytes(batch_size, shape, dtype='float32') returns the bytes of a mini-batch of "
            "batch_size examples of the given shape; dtype is one of float64, float32, bfloat16, float16, fp8, "
            "uint8; it raises ValueError for a size below 1 or an unknown dtype."
        ),
        reference=calculators.minibatch_bytes,
        cases=lambda rng: [
            Case("the article's ImageNet batch", (128, (3, 244, 244))),
            Case("MNIST in uint8", (128, (1, 28, 28), "uint8")),
            Case(
                "a bfloat16 batch of token embeddings",
                (32, (512, 768), "bfloat16"),
            ),
            Case("bad input: a negative batch size", (-8, (3, 32, 32))),
            Case("bad input: an unknown dtype", (8, (3, 32, 32), "int4")),
        ],
    )
)

psu_watts = register(
    Exercise(
        name="hw.psu_watts",
        statement=(
            "psu_watts(gpu_watts, cpu_watts, margin=200) returns the power supply to buy: the sum of the GPUs' "
            "watts (a number or a list), plus the CPU's, plus margin; it raises ValueError for negative watts."
        ),
        reference=calculators.psu_watts,
        cases=lambda rng: [
            Case(
                "four 250 W GPUs and a 140 W CPU", ([250, 250, 250, 250], 140)
            ),
            Case("one RTX 4090, small margin", (450, 125, 100)),
            Case("mixed cards", ([300, 250], 95, 300)),
            Case("bad input: negative CPU watts", ([250], -10)),
        ],
    )
)

allreduce_time = register(
    Exercise(
        name="hw.allreduce_time",
        statement=(
            "allreduce_time(nbytes, devices, bandwidth, latency=0) returns the seconds of a ring all-reduce: "
            "2 (N - 1) / N * nbytes / bandwidth + 2 (N - 1) * latency, and 0 for one device; it raises "
            "ValueError for fewer than one device or a non-positive bandwidth."
        ),
        reference=calculators.allreduce_time,
        cases=lambda rng: [
            Case(
                "ResNet-50 gradients on 4 GPUs over PCIe 3.0",
                (102_228_128, 4, 15.75e9),
            ),
            Case(
                "8 GPUs over NVLink, with latency",
                (102_228_128, 8, 450e9, 5e-6),
            ),
            Case("one device: nothing to do", (1e9, 1, 10e9)),
            Case("bad input: zero devices", (1e9, 0, 10e9)),
        ],
    )
)
