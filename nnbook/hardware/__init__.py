"""The hardware chapter's tools: calculators, measurements, a prefetcher, rooflines, data parallelism.

- :mod:`nnbook.hardware.calculators`: the arithmetic of bytes, bandwidths, watts and costs;
- :mod:`nnbook.hardware.measure`: throughput and bandwidth of the machine the code runs on;
- :mod:`nnbook.hardware.prefetch`: asynchronous mini-batch loading;
- :mod:`nnbook.hardware.roofline`: arithmetic intensity and the roofline model;
- :mod:`nnbook.hardware.parallel`: data-parallel training with ``torch.distributed``;
- :mod:`nnbook.hardware.launch`: the cost of launching work, CUDA graphs and compilation;
- :mod:`nnbook.hardware.profiling`: finding a data-loader stall with ``torch.profiler``;
- :mod:`nnbook.hardware.memory`: the memory of training and inference;
- :mod:`nnbook.hardware.sharding`: sharded data parallelism (ZeRO, FSDP) and interconnects;
- :mod:`nnbook.hardware.model_parallel`: tensor and pipeline parallelism;
- :mod:`nnbook.hardware.accelerators`: the accelerators of 2026, with their sources;
- :mod:`nnbook.hardware.formats`: fp8 and the microscaling formats;
- :mod:`nnbook.hardware.economics`: FLOPs of training, utilization, and what compute costs.
"""

from nnbook.hardware import (
    accelerators,
    calculators,
    economics,
    formats,
    launch,
    measure,
    memory,
    model_parallel,
    parallel,
    prefetch,
    profiling,
    roofline,
    sharding,
)
from nnbook.hardware.prefetch import Prefetcher

__all__ = [
    "Prefetcher",
    "accelerators",
    "calculators",
    "economics",
    "formats",
    "launch",
    "measure",
    "memory",
    "model_parallel",
    "parallel",
    "prefetch",
    "profiling",
    "roofline",
    "sharding",
]
