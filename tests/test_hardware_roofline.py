"""The roofline page: its equations, the costs of memory-bound kernels, the measurements
of matrix products in every format, and a roofline whose labels never overlap."""

import itertools
import math

import pytest
import torch
from contracts_hardware_roofline import (
    counted_embedding_bag_flops,
    counted_layer_norm_flops,
)

from nnbook.hardware import measure, roofline

pytestmark = pytest.mark.hardware


# The equations, in float64, against closed forms.


def test_intensity_is_flop_per_byte():
    assert roofline.intensity(2.0 * 512**3, 3 * 4 * 512**2) == pytest.approx(
        512 / 6, rel=1e-15
    )  # a float32 matrix product: 2 n^3 FLOP on 3 n^2 numbers


@pytest.mark.parametrize(("i", "expected"), [(0.5, 5e9), (10.0, 100e9), (1e6, 100e9)])
def test_attainable_is_the_lower_of_the_two_roofs(i, expected):
    assert roofline.attainable(i, 100e9, 10e9) == pytest.approx(expected, rel=1e-15)


def test_the_two_roofs_meet_at_the_ridge_point():
    # the H100 SXM's dense bf16 peak and its bandwidth
    ridge = roofline.ridge_point(989.4e12, 3.35e12)
    assert ridge == pytest.approx(295.34, abs=0.01)
    assert roofline.attainable(ridge, 989.4e12, 3.35e12) == pytest.approx(989.4e12)
    below, above = ridge * (1 - 1e-9), ridge * (1 + 1e-9)
    assert roofline.attainable(below, 989.4e12, 3.35e12) < 989.4e12
    assert roofline.attainable(above, 989.4e12, 3.35e12) == 989.4e12


# The costs of the memory-bound kernels: closed forms, counted operations, tensor bytes.


def test_elementwise_cost_of_an_addition():
    flops, nbytes = roofline.elementwise_cost(1000, inputs=2)
    assert (flops, nbytes) == (1000, 12000)  # read x and y, write x + y
    x = torch.zeros(1000)
    assert nbytes == 3 * x.nbytes
    assert roofline.intensity(flops, nbytes) == pytest.approx(1 / 12)
    # bfloat16 halves the bytes and doubles the intensity, whatever the size
    assert roofline.elementwise_cost(7, 2, 1, 2) == (7, 42)


def test_layer_norm_cost_against_a_counted_layer_norm_and_the_tensors():
    flops, nbytes = roofline.layer_norm_cost(3, 5)
    assert flops == 3 * (7 * 5 + 4) == counted_layer_norm_flops(3, 5)
    x, ln = torch.zeros(3, 5), torch.nn.LayerNorm(5)
    out = ln(x)
    assert nbytes == x.nbytes + out.nbytes + ln.weight.nbytes + ln.bias.nbytes


def test_embedding_bag_cost_against_counted_additions_and_the_tensors():
    flops, nbytes = roofline.embedding_bag_cost(4, 3, 6)
    assert flops == 4 * 3 * 6 == counted_embedding_bag_flops(4, 3, 6)
    table = torch.zeros(10, 6)
    index = torch.zeros(4, 3, dtype=torch.int64)
    out = torch.nn.functional.embedding_bag(index, table, mode="sum")
    rows_read = index.numel() * table[0].nbytes
    assert nbytes == rows_read + index.nbytes + out.nbytes


def test_torchs_flop_counter_does_not_count_these_kernels():
    # why the costs are checked against counts, not against FlopCounterMode
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(4, 8)
    with FlopCounterMode(display=False) as counter:
        _ = x + x
        torch.nn.functional.layer_norm(x, (8,))
    assert counter.get_total_flops() == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: roofline.intensity(0, 8), ValueError, r"flops must be in \(0, inf\], got 0"),
        (lambda: roofline.intensity(1.0, math.nan), ValueError, r"nbytes must be a number, got nan"),
        (lambda: roofline.ridge_point("1", 1.0), TypeError, r"peak_flops must be a (real )?number"),
        (lambda: roofline.elementwise_cost(0), ValueError, r"numel must be in \[1, inf\], got 0"),
        (lambda: roofline.layer_norm_cost(2, 1.5), TypeError, r"features must be an int, got float"),
        (lambda: roofline.embedding_bag_cost(2, 0, 4), ValueError, r"bag_size must be in \[1, inf\], got 0"),
    ],
)  # fmt: skip
def test_the_equations_and_costs_refuse_bad_arguments_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


# Matrix products in every format; the GPU's paths are exercised on the CPU.


def test_tf32_is_restored_after_the_measurement():
    matmul = torch.backends.cuda.matmul
    before = matmul.allow_tf32
    try:
        for setting in (True, False):
            matmul.allow_tf32 = setting
            for tf32 in (True, False):
                assert measure.matmul_gflops(16, repeats=1, tf32=tf32) > 0
                assert matmul.allow_tf32 is setting
        assert len(measure.matmul_sweep([8, 16], repeats=1, tf32=True)) == 2
    finally:
        matmul.allow_tf32 = before


def test_tf32_is_restored_when_the_product_fails(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(measure, "timed", fail)
    before = torch.backends.cuda.matmul.allow_tf32
    with pytest.raises(RuntimeError, match="out of memory"):
        measure.matmul_gflops(16, tf32=not before)
    assert torch.backends.cuda.matmul.allow_tf32 is before


@pytest.mark.skipif(not hasattr(torch, "float8_e4m3fn"), reason="no float8 in torch")
def test_fp8_products_run_through_scaled_mm():
    try:
        rate = measure.matmul_gflops(32, "float8_e4m3fn", repeats=1)
    except (RuntimeError, NotImplementedError) as e:  # a torch without a CPU kernel
        pytest.skip(f"torch._scaled_mm on the CPU: {e}")
    assert math.isfinite(rate) and rate > 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: measure.matmul_gflops(16, "bfloat16", tf32=True), ValueError,
         r"tf32 applies to float32 products only, got dtype 'bfloat16'"),
        (lambda: measure.matmul_gflops(16, tf32=1), TypeError, r"tf32 must be a bool, got int"),
        (lambda: measure.matmul_gflops(24, "float8_e4m3fn"), ValueError,
         r"n must be a multiple of 16 for float8_e4m3fn products, got 24"),
        (lambda: measure.matmul_sweep([16], tf32="yes"), TypeError, r"tf32 must be a bool"),
        (lambda: measure.kernel_rates([1, 2]), TypeError, r"kernels must be a dict .*got list"),
        (lambda: measure.roofline_kernels(scale=0), ValueError, r"scale must be in \[1, inf\], got 0"),
        (lambda: measure.roofline_kernels(dtype="float64"), ValueError, r"dtype must be one of"),
    ],
)  # fmt: skip
def test_the_measurements_refuse_bad_arguments_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_roofline_kernels_run_and_are_placed_in_both_regimes():
    kernels = measure.roofline_kernels(generator=torch.Generator().manual_seed(0))
    assert list(kernels) == [
        "MLP layer", "VGG conv", "LSTM step", "addition", "layer norm", "embedding bag"
    ]  # fmt: skip
    intensity = {n: roofline.intensity(*cost) for n, (cost, _) in kernels.items()}
    # the closed forms: an addition does 1 FLOP per 12 bytes, whatever its size
    assert intensity["addition"] == pytest.approx(1 / 12)
    assert intensity["layer norm"] < 1 < intensity["LSTM step"]
    assert max(intensity[n] for n in ("addition", "layer norm", "embedding bag")) < 1
    points = measure.kernel_rates(kernels, repeats=1)
    for name, (i, rate) in points.items():
        assert i == intensity[name] and math.isfinite(rate) and rate > 0


def test_roofline_kernels_in_bfloat16_count_two_bytes_a_number():
    kernels = measure.roofline_kernels(dtype="bfloat16")
    (flops, nbytes), run = kernels["addition"]
    assert (flops, nbytes) == roofline.elementwise_cost(2**22, 2, 1, 2)
    with torch.no_grad():
        for _, run in kernels.values():
            out = run()
            out = out[0] if isinstance(out, tuple) else out
            assert out.dtype == torch.bfloat16


# The roofline figure: numbers beside the points, clear of each other.


def _render(kernels, peak=88e9, bandwidth=23.3e9, size=(6, 4)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    roofline.plot_roofline(ax, peak, bandwidth, kernels)
    fig.canvas.draw()
    return fig, ax


def _assert_numbers_clear(ax, kernels):
    texts = list(ax.texts)
    assert [t.get_text() for t in texts] == [str(k) for k in range(1, len(kernels) + 1)]
    boxes = [t.get_window_extent() for t in texts]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    legend = ax.get_legend().get_window_extent()
    frame = ax.get_window_extent()
    for box in boxes:
        assert not box.overlaps(legend)
        assert frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1:] == [f"{k}  {n}" for k, n in enumerate(kernels, 1)]


# one CPU thread, as measured: the compute-bound three close together, the memory-bound
# three on the slope
CPU = {
    "MLP layer": (38.4, 90.6e9),
    "VGG conv": (139.1, 60.6e9),
    "LSTM step": (12.2, 30.0e9),
    "addition": (1 / 12, 1.73e9),
    "layer norm": (0.875, 20.4e9),
    "embedding bag": (0.219, 1.94e9),
}


@pytest.mark.parametrize(
    ("kernels", "peak", "bandwidth"),
    [
        (CPU, 88e9, 23.3e9),
        ({n: (i, None) for n, (i, _) in CPU.items()}, 88e9, 23.3e9),  # roofs only
        ({n: (2 * i, 10 * r) for n, (i, r) in CPU.items()}, 700e12, 3e12),  # a GPU
        ({f"k{j}": (10.0 * 1.05**j, 50e9) for j in range(6)}, 88e9, 23.3e9),  # a crowd
    ],
)
def test_the_numbers_beside_the_points_do_not_overlap(kernels, peak, bandwidth):
    import matplotlib.pyplot as plt

    try:
        _, ax = _render(kernels, peak, bandwidth)
        _assert_numbers_clear(ax, kernels)
        # and they are still clear when the figure is drawn at another resolution
        ax.figure.set_dpi(150)
        ax.figure.canvas.draw()
        _assert_numbers_clear(ax, kernels)
    finally:
        plt.close("all")


def test_number_points_moves_a_number_off_a_box_in_its_way():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import Bbox

    from nnbook.plot.hardware_roofline import SPOTS, number_points

    try:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.set(xlim=(0, 10), ylim=(0, 10))
        fig.canvas.draw()
        free = number_points(ax, [(5, 5)], ["k"])
        first = ax.texts[0]
        assert (first.get_text(), first.xyann) == ("1", SPOTS[0][:2])
        # a box over the first spot pushes the next number to another one
        boxes = number_points(ax, [(5, 5)], ["k"], avoid=free)
        assert ax.texts[1].xyann != SPOTS[0][:2]
        assert not boxes[0].overlaps(free[0])
        # with no free spot at all, the number still appears, at the first spot
        everywhere = [Bbox([[0, 0], [2000, 2000]])]
        number_points(ax, [(5, 5)], ["k"], avoid=everywhere)
        assert ax.texts[2].xyann == SPOTS[0][:2]
    finally:
        plt.close("all")


def test_number_points_refuses_bad_arguments():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook.plot.hardware_roofline import number_points

    try:
        _, ax = plt.subplots()
        with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes, got str"):
            number_points("ax", [(1, 1)], ["k"])
        with pytest.raises(ValueError, match=r"colors must have one colour per point, 2, got 1"):
            number_points(ax, [(1, 1), (2, 2)], ["k"])
    finally:
        plt.close("all")


def test_tf32_keeps_to_the_newer_switch_when_a_program_uses_it():
    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, "fp32_precision"):
        pytest.skip("a torch before 2.9 has only allow_tf32")
    before = matmul.fp32_precision
    try:
        matmul.fp32_precision = "ieee"  # now allow_tf32 can no longer be read
        for tf32 in (True, False):
            assert measure.matmul_gflops(16, repeats=1, tf32=tf32) > 0
            assert matmul.fp32_precision == "ieee"
    finally:
        matmul.fp32_precision = before


# Timing: batches of short calls on a GPU, deterministic mode off while timing.


def test_timed_batches_short_calls_until_the_batch_is_long_enough():
    calls = []
    seconds = measure.timed(lambda: calls.append(1), repeats=3, min_batch_seconds=1e-3)
    # one warm-up call, the doubling batches, then three timed batches of the same size
    assert len(calls) > 3 * 64 and seconds < 1e-4
    calls.clear()
    measure.timed(lambda: calls.append(1), repeats=3)  # on the CPU: single calls
    assert len(calls) == 1 + 3


def test_timed_stops_doubling_at_max_calls(monkeypatch):
    monkeypatch.setattr(measure, "MAX_CALLS", 8)
    calls = []
    measure.timed(lambda: calls.append(1), repeats=1, min_batch_seconds=10.0)
    assert len(calls) == 1 + (1 + 2 + 4) + 8


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: measure.timed(print, min_batch_seconds=-1.0), r"min_batch_seconds must be in \[0, inf\], got -1.0"),
        (lambda: measure.timed(print, min_batch_seconds=math.nan), r"min_batch_seconds"),
        (lambda: measure.kernel_costs(light_scale=0), r"light_scale must be in \[1, inf\], got 0"),
        (lambda: measure.kernel_costs(dtype="int8"), r"dtype must be one of .*, got 'int8'"),
    ],
)  # fmt: skip
def test_new_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_deterministic_mode_is_off_while_timing_on_a_gpu_and_restored():
    seen = []

    def probe():
        seen.append(torch.are_deterministic_algorithms_enabled())

    before = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        with measure._fastest_algorithms(torch.device("cuda")):
            probe()
        with measure._fastest_algorithms(torch.device("cpu")):
            probe()
        assert seen == [False, True]
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


def test_tf32_uses_the_newer_switch_where_it_exists(monkeypatch):
    from types import SimpleNamespace

    new = SimpleNamespace(fp32_precision="none")
    monkeypatch.setattr(torch.backends.cuda, "matmul", new)
    with measure._tf32(True):
        assert new.fp32_precision == "tf32"
    with measure._tf32(False):
        assert new.fp32_precision == "ieee"
    assert new.fp32_precision == "none" and not hasattr(new, "allow_tf32")
    old = SimpleNamespace(allow_tf32=False)
    monkeypatch.setattr(torch.backends.cuda, "matmul", old)
    with measure._tf32(True):
        assert old.allow_tf32 is True
    assert old.allow_tf32 is False and not hasattr(old, "fp32_precision")


def test_fp8_products_ask_for_fast_accumulation(monkeypatch):
    seen = {}

    def fake(a, b, scale_a, scale_b, **kwargs):
        seen.update(kwargs)
        return a

    monkeypatch.setattr(torch, "_scaled_mm", fake, raising=False)
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("no float8 in torch")
    measure._operands(16, "float8_e4m3fn", torch.device("cpu"))()
    assert seen == {"out_dtype": torch.bfloat16, "use_fast_accum": True}


# Caches, and the kernels' costs without the kernels.


def test_cache_sizes_are_positive_byte_counts_by_level():
    sizes = measure.cache_sizes()
    assert isinstance(sizes, dict)
    for level, nbytes in sizes.items():
        assert level in {"L1", "L2", "L3", "L4"} and isinstance(nbytes, int) and nbytes >= 1024


def test_cache_sweep_takes_repeats():
    calls = []
    real = measure.timed

    def counting(fn, **kwargs):
        calls.append(kwargs["repeats"])
        return real(fn, **kwargs)

    import unittest.mock

    with unittest.mock.patch.object(measure, "timed", counting):
        rates = measure.cache_sweep([2**12, 2**14], min_bytes_touched=2**16, repeats=2)
    assert calls == [2, 2] and all(r > 0 for r in rates)


def test_kernel_costs_are_those_of_the_kernels():
    for kwargs in ({}, {"scale": 2, "light_scale": 1}, {"dtype": "bfloat16"}):
        kernels = measure.roofline_kernels(generator=torch.Generator().manual_seed(0), **kwargs)
        costs = measure.kernel_costs(**kwargs)
        assert {n: c for n, (c, _) in kernels.items()} == costs


def test_gpu_sized_bfloat16_intensities_by_hand():
    costs = measure.kernel_costs(scale=8, dtype="bfloat16")
    i = {n: roofline.intensity(*c) for n, c in costs.items()}
    # MLP: 2 B F_in F_out FLOP on (B F_in + F_in F_out + F_out + B F_out) numbers
    B = 1024
    assert i["MLP layer"] == pytest.approx(
        2 * B * 784 * 256 / (2 * (B * 784 + 784 * 256 + 256 + B * 256)), rel=1e-15
    )
    n = 64  # conv: 2 N C k^2 C H^2 FLOP on input, weights, bias and output
    conv_flops = 2 * n * 64 * 32 * 32 * 64 * 9
    conv_numbers = 2 * n * 64 * 32 * 32 + 64 * 64 * 9 + 64
    assert i["VGG conv"] == pytest.approx(conv_flops / (2 * conv_numbers), rel=1e-15)
    assert (round(i["MLP layer"]), round(i["VGG conv"]), round(i["LSTM step"])) == (162, 287, 74)
    assert i["layer norm"] < 2 and i["addition"] == pytest.approx(1 / 6)
    # the light kernels scale apart from the others
    light = measure.kernel_costs(light_scale=4)
    assert light["addition"] == roofline.elementwise_cost(2**24, 2)
    assert light["MLP layer"] == measure.kernel_costs()["MLP layer"]


def test_plot_roofline_in_tflops():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        fig, ax = plt.subplots()
        roofline.plot_roofline(ax, 500e12, 2e12, {"conv": (300.0, 250e12)}, unit="TFLOP/s")
        assert ax.get_ylabel() == "TFLOP/s"
        assert max(ax.get_lines()[0].get_ydata()) == pytest.approx(500)
        with pytest.raises(ValueError, match=r"unit must be one of .*, got 'PFLOP/s'"):
            roofline.plot_roofline(ax, 1e12, 1e11, unit="PFLOP/s")
    finally:
        plt.close("all")


def test_timed_replays_a_graph_of_short_calls_on_a_gpu(monkeypatch):
    # a stand-in for a GPU: synchronizing does nothing, and the "graph" calls fn
    monkeypatch.setattr(measure, "synchronize", lambda device: None)
    recorded = []

    class Graph:
        def __init__(self, fn, calls):
            self.fn, self.calls = fn, calls

        def replay(self):
            for _ in range(self.calls):
                self.fn()

    def capture(fn, calls, device):
        recorded.append((calls, device.type))
        return Graph(fn, calls)

    monkeypatch.setattr(measure, "_graph", capture)
    calls = []
    seconds = measure.timed(lambda: calls.append(1), repeats=3, device="cuda")
    assert recorded == [(measure.GRAPH_CALLS, "cuda")]
    # the replays ran GRAPH_CALLS calls each, and the time is per call, not per replay
    assert len(calls) > 3 * measure.GRAPH_CALLS and 0 < seconds < 1e-5
    recorded.clear()
    measure.timed(lambda: None, repeats=1, device="cuda", graph=False)
    assert recorded == []  # graph=False: plain calls


def test_timed_falls_back_to_plain_calls_where_capture_fails(monkeypatch):
    monkeypatch.setattr(measure, "synchronize", lambda device: None)
    if not torch.cuda.is_available():  # capture itself fails without a GPU
        assert measure._graph(lambda: None, 2, torch.device("cuda")) is None
    monkeypatch.setattr(measure, "_graph", lambda fn, calls, device: None)
    calls = []
    seconds = measure.timed(lambda: calls.append(1), repeats=3, device="cuda")
    # warm-up, the call that found it short, doubling batches, three timed batches
    assert len(calls) > 3 * 64 and 0 < seconds < 1e-4


def test_timed_refuses_a_graph_flag_that_is_not_a_bool():
    with pytest.raises(TypeError, match=r"graph must be a bool, got str"):
        measure.timed(print, graph="yes")
