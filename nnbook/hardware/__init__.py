"""The hardware chapter's tools: calculators, measurements, a prefetcher, rooflines, data parallelism.

- :mod:`nnbook.hardware.calculators`: the arithmetic of bytes, bandwidths, watts and costs;
- :mod:`nnbook.hardware.measure`: throughput and bandwidth of the machine the code runs on;
- :mod:`nnbook.hardware.prefetch`: asynchronous mini-batch loading;
- :mod:`nnbook.hardware.roofline`: arithmetic intensity and the roofline model;
- :mod:`nnbook.hardware.parallel`: data-parallel training with ``torch.distributed``.
"""

from nnbook.hardware import calculators, measure, parallel, prefetch, roofline
from nnbook.hardware.prefetch import Prefetcher

__all__ = [
    "Prefetcher",
    "calculators",
    "measure",
    "parallel",
    "prefetch",
    "roofline",
]
