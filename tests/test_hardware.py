"""nnbook.hardware: the article's arithmetic, the prefetcher, measurements and data parallelism."""

import math
import threading
import time

import pytest
import torch
from helpers import assert_all_close

from nnbook.hardware import Prefetcher, calculators, measure, parallel, roofline
from nnbook.hardware.calculators import GB, GIB

pytestmark = pytest.mark.hardware


def test_the_articles_numbers():
    batch = calculators.minibatch_bytes(128, (3, 244, 244))
    assert round(batch / GIB, 3) == 0.085  # the article's "0.085 GB" is in GiB
    assert round(calculators.ram_bandwidth(1600, 64, channels=4) / GB, 1) == 51.2
    assert [round(calculators.pcie_bandwidth(g) / GB, 2) for g in (2, 3, 4, 5)] == [
        8.0,
        15.75,
        31.51,
        63.02,
    ]
    assert round(6.4 * GIB / batch) == 75  # "75 mini-batches per second over 6.4 GB/s", with GiB/s
    assert round(calculators.data_rate(batch, 0.3) / 2**20) == 291  # "290 MB/s": MiB/s
    assert round(calculators.minibatch_bytes(128, (1, 28, 28)) / 1e6, 1) == 0.4  # MNIST
    assert calculators.minibatch_bytes(128, (3, 32, 32)) / 2**20 == 1.5  # CIFAR: 1.5 MiB
    low, high = (calculators.energy_kwh(w, 14 * 24) for w in (1000, 1500))
    assert (low, high) == (336.0, 504.0)  # "300-500 kWh"
    cost = [calculators.energy_cost(e, 0.20) for e in (low, high)]
    assert [round(c) for c in cost] == [67, 101]  # "60-100 euros"
    wall = [calculators.energy_cost(calculators.wall_energy(e, 0.8), 0.2) for e in (low, high)]
    surcharge = [w - c for w, c in zip(wall, cost, strict=True)]
    assert [round(s, 1) for s in surcharge] == [16.8, 25.2]  # not the article's 18-26
    assert calculators.psu_watts([250] * 4, 140, margin=200) == 1340


def test_allreduce_model():
    assert calculators.allreduce_time(1e9, 1, 1e9) == 0
    assert calculators.allreduce_time(1e9, 2, 1e9) == pytest.approx(1.0)
    assert calculators.allreduce_time(1e9, 4, 1e9, latency=1e-3) == pytest.approx(1.5 + 6e-3)
    assert calculators.allreduce_time(1e9, 1000, 1e9) < 2.0  # tends to 2 bytes / bandwidth


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: calculators.minibatch_bytes(-1, (3,)),
            r"batch_size must be in \[1, inf\], got -1",
        ),
        (
            lambda: calculators.minibatch_bytes(8, (3, 4), "int4"),
            r"dtype must be one of .*, got 'int4'",
        ),
        (
            lambda: calculators.pcie_bandwidth(7),
            r"generation must be one of 1, 2, 3, 4, 5, 6, got 7",
        ),
        (
            lambda: calculators.pcie_bandwidth(3, lanes=3),
            r"lanes must be one of 1, 2, 4, 8, 16, got 3",
        ),
        (lambda: calculators.wall_energy(10, 1.2), r"efficiency must be in \(0, 1\], got 1.2"),
        (lambda: calculators.wall_energy(10, 0), r"efficiency must be in \(0, 1\], got 0"),
        (lambda: calculators.transfer_time(10, -5), r"bandwidth must be in \(0, inf\], got -5"),
        (lambda: calculators.energy_kwh(100, -1), r"hours must be in \[0, inf\], got -1"),
        (lambda: calculators.allreduce_time(10, 0, 1e9), r"devices must be in \[1, inf\], got 0"),
        (lambda: measure.matmul_gflops(8, dtype="int8"), r"dtype must be one of .*, got 'int8'"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_roofline():
    assert roofline.attainable(1.0, 100e9, 10e9) == 10e9
    assert roofline.attainable(1000.0, 100e9, 10e9) == 100e9
    flops, nbytes = roofline.linear_cost(128, 784, 256)
    assert flops == 2 * 128 * 784 * 256 and nbytes == 4 * (128 * 784 + 784 * 256 + 256 + 128 * 256)
    flops, _ = roofline.conv2d_cost(1, 3, 32, 8, 3, padding=1)
    assert flops == 2 * 8 * 32 * 32 * 3 * 9
    with pytest.raises(ValueError, match=r"intensity must be in \(0, inf\], got 0"):
        roofline.attainable(0, 1, 1)


def _roofline_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6, 4))
    return plt, ax


def test_plot_roofline_names_the_kernels_in_a_legend_clear_of_every_point():
    # the measurements of one CPU thread, where the three kernels sit close together
    plt, ax = _roofline_axes()
    kernels = {
        "MLP layer": (38.4, 97.3e9),
        "VGG conv": (139.1, 101.1e9),
        "LSTM step": (12.2, 32.8e9),
    }
    try:
        ridge = roofline.plot_roofline(ax, 88e9, 23.3e9, kernels)
        assert ridge == pytest.approx(88 / 23.3)
        assert [t.get_text() for t in ax.texts] == ["1", "2", "3"]  # placed apart
        legend = ax.get_legend()
        numbered = [f"{k}  {n}" for k, n in enumerate(kernels, 1)]
        assert [t.get_text() for t in legend.get_texts()] == ["this machine", *numbered]
        # per kernel: the roof marker, the measured marker and the line between them
        assert len(ax.get_lines()) == 2 + 3 * len(kernels)
        colors = {ax.get_lines()[2 + 3 * i].get_color() for i in range(len(kernels))}
        assert len(colors) == len(kernels)
        ax.figure.canvas.draw()
        box = legend.get_window_extent()
        for intensity, measured in kernels.values():
            for y in (measured / 1e9, roofline.attainable(intensity, 88e9, 23.3e9) / 1e9):
                assert not box.contains(*ax.transData.transform((intensity, y)))
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        assert ax.get_ylabel() == "GFLOP/s"
    finally:
        plt.close("all")


def test_plot_roofline_without_kernels_draws_the_roof_and_the_ridge_only():
    plt, ax = _roofline_axes()
    try:
        assert roofline.plot_roofline(ax, 1e12, 1e11, {"FFT": (2.0, None)}) == 10.0
        assert len(ax.get_lines()) == 3 and ax.get_legend() is not None
        _, ax = plt.subplots()
        roofline.plot_roofline(ax, 1e12, 1e11)
        assert len(ax.get_lines()) == 2 and ax.get_legend() is None
    finally:
        plt.close("all")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("axes", 1e9, 1e9), TypeError, r"ax must be a matplotlib Axes, got str"),
        ((None, 0.0, 1e9), ValueError, r"peak_flops must be in \(0, inf\], got 0.0"),
        ((None, 1e9, -1.0), ValueError, r"bandwidth must be in \(0, inf\], got -1.0"),
        ((None, 1e9, 1e9, [(1.0, None)]), TypeError, r"kernels must be a dict or None, got list"),
        ((None, 1e9, 1e9, {"a": 1.0}), TypeError, r"kernels\['a'\] must be a pair \(intensity, measured\)"),
        ((None, 1e9, 1e9, {"a": (0.0, None)}), ValueError, r"intensity must be in \(0, inf\], got 0.0"),
    ],
)  # fmt: skip
def test_plot_roofline_rejects_bad_arguments(args, error, message):
    plt, ax = _roofline_axes()
    try:
        with pytest.raises(error, match=message):
            roofline.plot_roofline(ax if args[0] is None else args[0], *args[1:])
    finally:
        plt.close("all")


def test_measurements_are_positive_and_finite():
    for value in (measure.matmul_gflops(64, repeats=2), measure.copy_bandwidth(2**20, repeats=2),
                  *measure.cache_sweep([2**12, 2**20], min_bytes_touched=2**22),
                  *measure.threads_throughput([1], n=64, repeats=2)):  # fmt: skip
        assert math.isfinite(value) and value > 0
    before = torch.get_num_threads()
    measure.threads_throughput([1, 2], n=32, repeats=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match=r"device must be a CUDA device"):
        measure.host_to_device(1024, pinned=True, device="cpu")


def test_matmul_sweep_stops_after_the_first_slow_product():
    assert len(measure.matmul_sweep([8, 16, 32], repeats=1)) == 3  # each well under 50 ms
    rates = measure.matmul_sweep([8, 16, 32], repeats=1, max_seconds=1e-12)
    assert len(rates) == 1 and math.isfinite(rates[0]) and rates[0] > 0
    with pytest.raises(ValueError, match=r"sizes must be increasing, got \[16, 8\]"):
        measure.matmul_sweep([16, 8])
    with pytest.raises(ValueError, match=r"max_seconds must be in \(0, inf\], got 0"):
        measure.matmul_sweep([8], max_seconds=0)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: measure.matmul_gflops("8"), TypeError, r"n must be an int, got str"),
        (lambda: measure.matmul_gflops(8, device="gpu"), ValueError, r"device must name a device"),
        (lambda: measure.matmul_gflops(8, device=0), TypeError, r"device must be a str or torch.device"),
        (lambda: measure.matmul_sweep([8], max_seconds=math.nan), ValueError, r"max_seconds must be a number, got nan"),
        (lambda: measure.matmul_sweep([8, "16"]), TypeError, r"sizes\[1\] must be an int, got str"),
        (lambda: measure.matmul_sweep([]), ValueError, r"sizes must hold at least one int"),
        (lambda: measure.cache_sweep([2]), ValueError, r"sizes\[0\] must be in \[4, inf\], got 2"),
        (lambda: measure.threads_throughput([1, 0]), ValueError, r"threads\[1\] must be in \[1, inf\], got 0"),
        (lambda: measure.copy_bandwidth(2.0**20), TypeError, r"nbytes must be an int, got float"),
        (lambda: measure.host_to_device(1024, pinned=1), TypeError, r"pinned must be a bool, got int"),
        (lambda: measure.timed("f"), TypeError, r"fn must be a Callable, got str"),
        (lambda: parallel.ddp_train(2, 2), ValueError, r"rank must be below world_size=2, got 2"),
        (lambda: Prefetcher(5), TypeError, r"iterable must be something to iterate over.*, got int"),
        (lambda: Prefetcher([], transform=3), TypeError, r"transform must be a Callable, got int"),
    ],
)  # fmt: skip
def test_measurements_refuse_bad_arguments_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_synchronize_and_timed_on_the_cpu():
    measure.synchronize("cpu")  # nothing to wait for: returns at once
    measure.synchronize(torch.device("cpu"))
    calls = []
    seconds = measure.timed(lambda: calls.append(time.sleep(0.001)), repeats=3, device="cpu")
    assert len(calls) == 4  # one warm-up call, then the repeats
    assert 0.001 <= seconds < 1.0
    with pytest.raises(ValueError, match=r"repeats must be in \[1, inf\], got 0"):
        measure.timed(lambda: None, repeats=0)


def _prefetcher_threads():
    return [t for t in threading.enumerate() if t.name == "nnbook-prefetcher"]


def test_prefetcher_keeps_order_and_overlaps():
    def slow(n):
        for k in range(n):
            time.sleep(0.02)
            yield k

    start = time.perf_counter()
    out = []
    with Prefetcher(slow(10)) as batches:
        for item in batches:
            time.sleep(0.02)  # "compute"
            out.append(item)
    elapsed = time.perf_counter() - start
    assert out == list(range(10))
    assert elapsed < 0.35  # sequential would take 0.4 s
    assert not _prefetcher_threads()


def test_prefetcher_propagates_errors():
    def failing():
        yield 1
        yield 2
        raise OSError("disk read failed")

    got = []
    with pytest.raises(OSError, match="disk read failed"), Prefetcher(failing()) as batches:
        for item in batches:
            got.append(item)
    assert got == [1, 2]
    assert not _prefetcher_threads()


def test_prefetcher_stops_cleanly_when_iteration_stops_early():
    with Prefetcher(iter(range(10**9)), depth=3) as batches:
        for item in batches:
            if item == 5:
                break
    assert not batches.alive and not _prefetcher_threads()
    p = Prefetcher(range(100))
    next(p)
    p.close()
    assert not p.alive
    with pytest.raises(ValueError, match=r"depth must be in \[1, inf\], got 0"):
        Prefetcher([], depth=0)


def test_transform_runs_in_the_background():
    with Prefetcher(range(4), transform=lambda k: k * k) as batches:
        assert list(batches) == [0, 1, 4, 9]


def test_gloo_allreduce_and_ddp_match_single_process():
    assert parallel.run(parallel.allreduce_sum, 2) == [3.0, 3.0]
    results = parallel.run(parallel.ddp_train, 2)
    reference = parallel.single_process_train()
    for params, seconds, nbytes in results:
        assert seconds > 0 and nbytes == 8 * sum(p.numel() for p in reference)
        assert_all_close(params, reference, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"world_size must be in \[1, inf\], got 0"):
        parallel.run(parallel.allreduce_sum, 0)


def test_run_passes_keyword_arguments():
    results = parallel.run(parallel.ddp_train, 2, steps=3, batch_size=8, seed=1003)
    reference = parallel.single_process_train(steps=3, batch_size=8, seed=1003)
    other_seed = parallel.single_process_train(steps=3, batch_size=8, seed=0)
    for params, _, _ in results:
        for ours, theirs, other in zip(params, reference, other_seed, strict=True):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
            assert not torch.equal(ours, other)
