"""nnbook.hardware: peak CPU throughput, Adam's memory and the prefetching model, in closed form."""

import math

import pytest

from nnbook.hardware import calculators, roofline
from nnbook.hardware.prefetch import epoch_times

pytestmark = pytest.mark.hardware


def test_peak_flops():
    # 16 cores, 2 GHz, two 512-bit FMA units: 16 float32 lanes, 2 FLOP per FMA
    assert calculators.peak_flops(16, 2.0, 512) == 16 * 2e9 * 2 * 16 * 2
    assert calculators.peak_flops(16, 2.0, 512, dtype="float64") == 1.024e12
    assert calculators.peak_flops(1, 1.0, 128, fma_units=1) == 8e9
    assert calculators.peak_flops(8, 3.5, 256, 2, "bfloat16") == pytest.approx(
        8 * 3.5e9 * 2 * 16 * 2
    )


def test_adam_memory():
    assert calculators.adam_memory(1) == 16
    assert calculators.adam_memory(10, "float64") == 320
    for dtype in calculators.MIXED_PRECISION:  # 2 + 2 + 4 + 4 + 4 bytes
        assert calculators.adam_memory(10, dtype) == 160
    assert calculators.adam_memory(7_000_000_000, "bfloat16") == 112 * 10**9


def test_epoch_times():
    assert epoch_times(30, 0.5, 0.5) == (30.0, 15.5)
    assert epoch_times(10, 2.0, 1.0) == (30.0, 21.0)  # loading-bound
    assert epoch_times(10, 1.0, 2.0) == (30.0, 21.0)  # compute-bound
    assert epoch_times(1, 2.0, 1.0) == (3.0, 3.0)  # one batch: nothing overlaps
    assert epoch_times(5, 0.0, 1.0) == (5.0, 5.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: calculators.peak_flops(0, 2.0, 512), r"cores must be in \[1, inf\], got 0"),
        (
            lambda: calculators.peak_flops(4, 2.0, 256, dtype="int4"),
            r"dtype must be one of .*, got 'int4'",
        ),
        (lambda: calculators.adam_memory(-1), r"n_params must be in \[1, inf\], got -1"),
        (
            lambda: calculators.adam_memory(10, "fp8"),
            r"dtype must be one of float64, float32, bfloat16, float16",
        ),
        (lambda: epoch_times(0, 1.0, 1.0), r"n must be in \[1, inf\], got 0"),
        (lambda: epoch_times(3, -1.0, 1.0), r"load must be in \[0, inf\], got -1"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: calculators.minibatch_bytes("8", (3, 4)), TypeError, r"batch_size must be an int, got str"),
        (lambda: calculators.minibatch_bytes(8, (3, 4.5)), TypeError, r"shape\[1\] must be an int, got float"),
        (lambda: calculators.minibatch_bytes(8, 12), TypeError, r"shape must be a tuple of ints, got int"),
        (lambda: calculators.transfer_time(math.nan, 1e9), ValueError, r"nbytes must be a number, got nan"),
        (lambda: calculators.psu_watts([250, math.nan], 140), ValueError, r"gpu_watts must be a number, got nan"),
        (lambda: calculators.psu_watts(250, "140"), TypeError, r"cpu_watts must be a real number, got str"),
        (lambda: calculators.pcie_bandwidth("3"), TypeError, r"generation must be one of 1, 2, 3, 4, 5, 6, got '3'"),
        (lambda: roofline.attainable(math.nan, 1e9, 1e9), ValueError, r"intensity must be a number, got nan"),
        (lambda: roofline.conv2d_cost(1, 3, 4, 8, 7), ValueError, r"kernel must fit the padded input, .* = 4, got 7"),
    ],
)  # fmt: skip
def test_wrong_types_and_nan_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
