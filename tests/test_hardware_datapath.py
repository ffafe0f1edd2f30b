"""The data path, prefetching, profiling and power pages: equations, closed forms, the
profiled wait for data, and the plots of nnbook.plot.hardware they use."""

import inspect
import time

import pytest
import torch
from torch.utils.data import DataLoader

from nnbook.hardware import calculators, prefetch, profiling
from nnbook.hardware.calculators import GB

pytestmark = pytest.mark.hardware

#: The function of each equation of the three pages, with its label.
EQUATIONS = {
    "eq-hw-minibatch-bytes": calculators.minibatch_bytes,
    "eq-hw-data-rate": calculators.data_rate,
    "eq-hw-transfer-time": calculators.transfer_time,
    "eq-hw-ram-bandwidth": calculators.ram_bandwidth,
    "eq-hw-pcie": calculators.pcie_bandwidth,
    "eq-hw-epoch-time": prefetch.epoch_times,
    "eq-hw-wait-share": profiling.wait_share,
    "eq-hw-psu": calculators.psu_watts,
    "eq-hw-energy": calculators.energy_kwh,
    "eq-hw-wall-energy": calculators.wall_energy,
    "eq-hw-bill": calculators.energy_cost,
}


@pytest.mark.parametrize(("label", "function"), list(EQUATIONS.items()))
def test_each_contract_names_its_equation_and_the_docstring_cites_it(label, function):
    assert function.contract.equation == label
    assert f"Implements :eq:`{label}`" in inspect.getdoc(function)


def test_closed_forms_in_float64():
    # eq-hw-minibatch-bytes against torch's own element sizes
    for dtype in ("float64", "float32", "bfloat16", "uint8"):
        x = torch.empty(16, 3, 5, 7, dtype=getattr(torch, dtype))
        ours = calculators.minibatch_bytes(16, (3, 5, 7), dtype)
        assert ours == x.numel() * x.element_size()
    # eq-hw-data-rate and eq-hw-transfer-time are inverse to each other
    rate = calculators.data_rate(91_447_296, 0.3)
    assert rate == pytest.approx(304_824_320.0, rel=1e-15)
    assert calculators.transfer_time(91_447_296, rate) == pytest.approx(0.3, rel=1e-15)
    assert calculators.transfer_time(0, 1.0) == 0.0
    # eq-hw-ram-bandwidth: DDR5-4800, two 32-bit subchannels are one 64-bit channel
    assert calculators.ram_bandwidth(4800) == 38.4 * GB
    assert calculators.ram_bandwidth(4800, 32, 2) == calculators.ram_bandwidth(4800)
    # eq-hw-pcie: x8 is half of x16; 128b/130b coding
    assert calculators.pcie_bandwidth(4, 8) * 2 == calculators.pcie_bandwidth(4)
    assert calculators.pcie_bandwidth(5) == pytest.approx(32e9 * 16 / 8 * 128 / 130, rel=1e-15)
    # eq-hw-psu, eq-hw-energy, eq-hw-wall-energy, eq-hw-bill
    assert calculators.psu_watts(1000, 350, margin=0) == 1350
    assert calculators.psu_watts((700,) * 8, 700, margin=300) == 6600
    kwh = calculators.energy_kwh(14_300, 24 * 14)
    assert kwh == pytest.approx(4804.8, rel=1e-15)
    assert calculators.wall_energy(kwh, 0.96) == pytest.approx(5005.0, rel=1e-15)
    assert calculators.energy_cost(100.0, 0.25) == 25.0


def test_epoch_model_limits():
    sequential, prefetched = prefetch.epoch_times(1, 0.3, 0.1)
    assert sequential == prefetched  # one batch: nothing to overlap
    for ratio in (0.05, 0.1, 0.5, 1.0, 2.0):
        sequential, prefetched = prefetch.epoch_times(10**6, ratio, 1.0)
        loss = 1 - prefetched / sequential  # what loading in turn costs
        assert loss == pytest.approx(min(ratio, 1.0) / (1 + ratio), abs=1e-5)


def test_wait_share_closed_form():
    assert profiling.wait_share(3.0, 1.0) == 0.75
    assert profiling.wait_share(3.0, 1.0, workers=1) == pytest.approx(2 / 3)
    assert profiling.wait_share(3.0, 1.0, workers=3) == 0.0
    assert profiling.wait_share(0.0, 0.0) == 0.0
    assert profiling.wait_share(0.0, 0.0, workers=2) == 0.0
    # one prefetching thread is the steady state of eq-hw-epoch-time
    load, compute, n = 0.3, 0.1, 10**6
    _, prefetched = prefetch.epoch_times(n, load, compute)
    waiting = prefetched - n * compute
    assert waiting / prefetched == pytest.approx(
        profiling.wait_share(load, compute, workers=1), abs=1e-5
    )


def _sleepy(n, seconds):
    for k in range(n):
        time.sleep(seconds)
        yield torch.full((2,), float(k))


def test_profile_loader_measures_the_wait_of_a_sleeping_loader():
    load, compute, steps = 0.02, 0.01, 6
    seen = []

    def step(batch):
        seen.append(int(batch[0]))
        time.sleep(compute)

    result = profiling.profile_loader(_sleepy(steps + 1, load), step, steps=steps)
    assert seen == list(range(steps + 1))  # warm-up step, then the profiled ones
    assert result.steps == steps and result.loader == 0.0  # not a DataLoader
    # sleeps only overshoot: each is at least as long as asked
    assert result.wait >= steps * load * 0.99
    assert result.compute >= steps * compute * 0.99
    closed_form = profiling.wait_share(load, compute)  # 2/3
    assert abs(result.share - closed_form) < 0.15
    names = [name for name, _, _ in result.rows]
    assert profiling.WAIT in names and profiling.STEP in names
    assert profiling.WAIT in result.table()


def test_profile_loader_finds_the_dataloaders_own_events():
    x, y = torch.zeros(12, 3), torch.zeros(12)
    data = profiling.SlowDataset(x, y, delay=0.002)
    loader = DataLoader(data, batch_size=4)
    result = profiling.profile_loader(loader, lambda batch: None, steps=2)
    # the DataLoader's __next__ is nested in the wait and takes almost all of it
    assert 0.5 * result.wait < result.loader <= result.wait
    assert result.wait >= 2 * 4 * 0.002 * 0.99
    assert result.share > 0.5
    assert any(name.startswith(profiling.LOADER_PREFIX) for name, _, _ in result.rows)


def test_prefetcher_lowers_the_profiled_wait():
    load, compute, steps = 0.01, 0.02, 6  # loading hides behind computing

    def step(batch):
        time.sleep(compute)

    with prefetch.Prefetcher(_sleepy(steps + 2, load), depth=2) as batches:
        result = profiling.profile_loader(batches, step, steps=steps, warmup=2)
    assert result.share < 0.2  # the model says 0
    assert profiling.wait_share(load, compute, workers=1) == 0.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: profiling.profile_loader(3, print), TypeError, r"loader must be something"),
        (
            lambda: profiling.profile_loader([1, 2], print, steps=2),
            ValueError,
            r"loader must yield at least warmup \+ steps = 3 batches, got 2",
        ),
        (lambda: profiling.profile_loader([1], "step"), TypeError, r"step must be a"),
        (lambda: profiling.wait_share(1.0, 1.0, workers=-1), ValueError, r"workers must be"),
        (lambda: profiling.wait_share(float("nan"), 1.0), ValueError, r"load must be"),
        (
            lambda: profiling.SlowDataset(torch.zeros(3), torch.zeros(2), 0.0),
            ValueError,
            r"y must have as many items \(batches\) as x, 3, got 2",
        ),
        (
            lambda: profiling.SlowDataset(torch.zeros(3), torch.zeros(3), -1.0),
            ValueError,
            r"delay must be in \[0, inf\], got -1",
        ),
        (lambda: calculators.ram_bandwidth(0), ValueError, r"mega_transfers must be in"),
        (lambda: calculators.data_rate(1.0, 0), ValueError, r"seconds_per_batch must be in"),
        (lambda: calculators.energy_cost(1.0, -0.1), ValueError, r"price_per_kwh must be in"),
        (lambda: calculators.psu_watts([250, 0], 100), ValueError, r"gpu_watts"),
    ],
)
def test_bad_input_is_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_plot_loading_loss_draws_the_model_the_claim_and_the_measurement():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook.plot.hardware import plot_loading_loss

    ratios = [0.01, 0.1, 1.0, 10.0]
    losses = [min(r, 1) / (1 + r) for r in ratios]
    ax = plot_loading_loss(ratios, losses, claim=(0.05, 0.10), measured={"this page": (1.0, 0.46)})
    model, point = ax.get_lines()
    assert list(model.get_xdata()) == ratios
    assert list(model.get_ydata()) == pytest.approx([100 * x for x in losses])
    assert list(point.get_ydata()) == pytest.approx([46.0])
    band = ax.patches[0].get_extents()  # the claim, shaded from 5 % to 10 %
    lo, hi = ax.transData.inverted().transform([[0, band.y0], [0, band.y1]])[:, 1]
    assert (lo, hi) == pytest.approx((5.0, 10.0))
    assert ax.get_xscale() == "log" and ax.figure.get_figwidth() <= 7.0
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([1.0, 2.0], [0.5]), {}, ValueError, r"losses must hold one loss per ratio \(2\), got 1"),
        (([0.0], [0.5]), {}, ValueError, r"ratios must all be above 0"),
        (([1.0], [1.5]), {}, ValueError, r"losses must all be in \[0, 1\]"),
        (([1.0], [0.5]), {"claim": 0.05}, TypeError, r"claim must be a pair"),
        (([1.0], [0.5]), {"claim": (0.2, 0.1)}, ValueError, r"claim must be \(low, high\)"),
        (([1.0], [0.5]), {"measured": [(1, 0.5)]}, TypeError, r"measured must be a dict"),
        (([1.0], [0.5]), {"measured": {"a": (1, 2, 3)}}, TypeError, r"measured\['a'\] must be a pair"),
        (("ab", [0.5]), {}, TypeError, r"ratios must be a tensor"),
    ],
)  # fmt: skip
def test_plot_loading_loss_rejects_bad_arguments(args, kwargs, error, message):
    from nnbook.plot.hardware import plot_loading_loss

    with pytest.raises(error, match=message):
        plot_loading_loss(*args, **kwargs)


@pytest.mark.parametrize(
    "args", [(30, 0.05, 0.05), (20, 0.2, 0.1), (20, 0.025, 0.1), (1, 0.3, 0.1), (10, 0.0, 0.1)]
)
def test_epoch_times_agree_with_a_simulated_time_line(args):
    from contracts_hardware_datapath import _timeline

    assert prefetch.epoch_times(*args) == pytest.approx(_timeline(*args), rel=1e-12)


def test_pcie_6_uses_the_flit_share_of_its_line_rate():
    # 64 GT/s, 256-byte flits less 8 bytes of CRC and 6 of error correction
    assert calculators.pcie_bandwidth(6) == pytest.approx(64e9 * 242 / 256 * 2, rel=1e-15)
    assert round(calculators.pcie_bandwidth(6) / GB) == 121


def test_slow_batches_report_the_time_each_batch_took():
    x, y = torch.arange(12.0).reshape(3, 2, 2), torch.zeros(3, 2)
    data = profiling.SlowBatches(x, y, delay=0.005)
    assert len(data) == 3
    xb, yb, seconds = data[1]
    assert torch.equal(xb, x[1]) and torch.equal(yb, y[1])
    assert seconds >= 0.005 * 0.99  # a sleep only overshoots
    with pytest.raises(ValueError, match=r"y must have as many items \(batches\) as x, 3, got 2"):
        profiling.SlowBatches(x, y[:2], 0.0)


def test_slow_batches_without_delay_do_not_sleep(monkeypatch):
    # sleep(0) would yield to other processes and add their time to the load
    def no_sleep(seconds):
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(profiling.time, "sleep", no_sleep)
    x, y = torch.zeros(2, 2, 2), torch.zeros(2, 2)
    assert profiling.SlowBatches(x, y, delay=0.0)[0][2] >= 0.0


def test_wait_share_with_workers_matches_a_dataloader_with_two_workers():
    # L / k = 30 ms > C = 15 ms: the model predicts waiting half of the time
    compute, steps, workers = 0.015, 12, 2
    data = profiling.SlowBatches(torch.zeros(16, 2, 3), torch.zeros(16, 2), 0.06)
    loads = []

    def step(batch):
        loads.append(batch[2])
        time.sleep(compute)

    loader = DataLoader(data, batch_size=None, num_workers=workers)
    result = profiling.profile_loader(loader, step, steps=steps, warmup=2)
    load = sum(loads[2:]) / steps  # measured inside the workers
    model = profiling.wait_share(load, result.compute / steps, workers)
    assert 0.4 < model < 0.6
    assert abs(result.share - model) < 0.15
