"""nnbook.hardware.sharding and nnbook.plot.hardware_parallel: interconnects, the
two-level all-reduce, ZeRO's memory, and sharded training on two gloo processes."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.distributed as dist
from helpers import close_figures  # noqa: F401

from nnbook.hardware import calculators, parallel, sharding
from nnbook.plot.hardware_parallel import plot_allreduce_bars

pytestmark = pytest.mark.hardware

GB = 1e9
HIER = sharding.hierarchical_allreduce_time
FLAT = sharding.flat_ring_allreduce_time

# ------------------------------------------------------------------ interconnects


def test_every_interconnect_has_a_source_a_scope_and_a_rate_per_direction():
    for name, link in sharding.INTERCONNECTS.items():
        assert link.source and link.quoted, name
        assert link.scope in ("node", "network"), name
        assert link.per_direction > 0, name


def test_quoted_rates_convert_to_bytes_per_direction():
    links = sharding.INTERCONNECTS
    # NVLink is quoted per GPU for both directions together: half each way
    assert links["NVLink 3 (A100)"].per_direction == 600e9 / 2
    assert links["NVLink 4 (H100)"].per_direction == 900e9 / 2
    assert links["NVLink 5 (B200)"].per_direction == 1.8e12 / 2
    # networks are quoted in bits per second in each direction
    assert links["InfiniBand NDR"].per_direction == 400e9 / 8
    assert links["InfiniBand XDR"].per_direction == 800e9 / 8
    assert links["RoCE, 400 GbE"].per_direction == links["InfiniBand NDR"].per_direction
    # PCIe: GT/s per lane, 128b/130b coding, 16 lanes, 8 bits a byte
    assert links["PCIe 4.0 x16"].per_direction == pytest.approx(16e9 * 128 / 130 * 16 / 8)
    assert links["PCIe 5.0 x16"].per_direction == pytest.approx(32e9 * 128 / 130 * 16 / 8)
    assert links["PCIe 5.0 x16"].per_direction == calculators.pcie_bandwidth(5)


# ------------------------------------------------------------------ two-level all-reduce


@pytest.mark.parametrize("gpus", [1, 2, 8])
def test_one_node_is_the_ring_over_the_node_links(gpus):
    ours = HIER(14e9, 1, gpus, 450e9, 50e9, node_latency=2e-6, network_latency=1e-5)
    assert ours == pytest.approx(calculators.allreduce_time(14e9, gpus, 450e9, 2e-6), rel=1e-15)


@pytest.mark.parametrize("nodes", [1, 2, 16])
def test_one_gpu_per_node_is_the_ring_over_the_network(nodes):
    ours = HIER(14e9, nodes, 1, 450e9, 50e9, node_latency=2e-6, network_latency=1e-5)
    assert ours == pytest.approx(calculators.allreduce_time(14e9, nodes, 50e9, 1e-5), rel=1e-15)


@pytest.mark.parametrize(("nodes", "gpus"), [(2, 2), (8, 8), (3, 5), (16, 4)])
def test_equal_bandwidths_without_latency_give_the_flat_ring(nodes, gpus):
    flat = calculators.allreduce_time(1e9, nodes * gpus, 25e9)
    assert HIER(1e9, nodes, gpus, 25e9, 25e9) == pytest.approx(flat, rel=1e-14)


def test_at_equal_network_cards_two_levels_and_a_flat_ring_cost_about_the_same():
    # one card per node: the hierarchy saves only a little
    two_level = HIER(14e9, 8, 8, 450e9, 50e9, nics_per_node=1)
    flat = FLAT(14e9, 8, 8, 450e9, 50e9, nics_per_node=1)
    assert round(two_level * 1e3) == 544 and round(flat * 1e3) == 551
    # one card per GPU: 54.4 ms in the node plus 61.25 ms across, one after another,
    # against a flat ring whose eight channels leave through the eight cards
    two_level = HIER(14e9, 8, 8, 450e9, 50e9)
    assert two_level == pytest.approx(2 * 7 / 8 * 14e9 / 450e9 + 2 * 7 / 8 * 14e9 / 8 / 50e9)
    flat = FLAT(14e9, 8, 8, 450e9, 50e9, nics_per_node=8)
    assert round(two_level * 1e3) == 116 and round(flat * 1e3) == 69


def test_the_default_is_one_network_card_per_gpu():
    assert HIER(14e9, 8, 4, 450e9, 50e9) == HIER(14e9, 8, 4, 450e9, 50e9, nics_per_node=4)
    fewer = HIER(14e9, 8, 4, 450e9, 50e9, nics_per_node=2)
    across = 2 * 7 / 8 * 14e9 / 50e9
    assert fewer - HIER(14e9, 8, 4, 450e9, 50e9) == pytest.approx(across / 2 - across / 4)


@pytest.mark.parametrize("nics", [1, 2, 8])
def test_a_flat_ring_is_limited_by_the_slower_of_node_links_and_cards(nics):
    # slow node links: the ring over the node links
    slow = FLAT(1e9, 4, 8, 10e9, 50e9, nics_per_node=nics)
    assert slow == pytest.approx(calculators.allreduce_time(1e9, 32, 10e9), rel=1e-15)
    # fast node links: the ring over the network, R cards side by side
    fast = FLAT(1e9, 4, 8, 1e15, 50e9, nics_per_node=nics, network_latency=1e-5)
    ring = calculators.allreduce_time(1e9, 32, nics * 50e9, latency=1e-5)
    assert fast == pytest.approx(ring, rel=1e-15)


def test_latency_makes_two_levels_win_at_scale():
    bucket = 25 * 2**20
    for nodes, ratio in ((8, 2), (1024, 7)):
        flat = FLAT(bucket, nodes, 8, 450e9, 50e9, 8, network_latency=5e-6)
        two = HIER(bucket, nodes, 8, 450e9, 50e9, node_latency=2e-6, network_latency=5e-6)
        assert flat > ratio * two


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: FLAT(1e9, 1, 8, 1e11, 1e10), ValueError, r"nodes must be .*2.*got 1"),
        (
            lambda: FLAT(1e9, 2, 8, 1e11, 1e10, 9),
            ValueError,
            r"nics_per_node must be at most gpus_per_node=8, got 9",
        ),
        (lambda: FLAT(1e9, 2, 8, 1e11, 1e10, 0), ValueError, r"nics_per_node must be .*got 0"),
        (lambda: FLAT(1e9, 2, 8, 1e11, math.nan), ValueError, r"network_bandwidth"),
        (
            lambda: HIER(1e9, 2, 4, 1e11, 1e10, nics_per_node=5),
            ValueError,
            r"nics_per_node must be at most gpus_per_node=4, got 5",
        ),
        (lambda: HIER(1e9, 2, 4, 1e11, 1e10, nics_per_node=1.5), TypeError, r"nics_per_node"),
    ],
)
def test_network_cards_are_checked_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ fitting alpha and beta


def test_the_fit_recovers_latency_and_bandwidth_from_exact_times():
    sizes = [4e3, 64e3, 1e6, 4e6]
    for devices in (2, 8):
        seconds = [calculators.allreduce_time(s, devices, 2e9, 3e-5) for s in sizes]
        alpha, beta = sharding.fit_allreduce(sizes, seconds, devices)
        assert alpha == pytest.approx(3e-5, rel=1e-9) and beta == pytest.approx(2e9, rel=1e-9)


def test_the_fit_is_numpys_line_in_relative_error():
    sizes, seconds = [1e3, 1e5, 1e6, 3e6], [2e-4, 2.5e-4, 1.3e-3, 3.4e-3]
    t = np.array(seconds)
    slope, intercept = np.polyfit(sizes, t, 1, w=1 / t)
    alpha, beta = sharding.fit_allreduce(sizes, seconds, 2)
    assert alpha == pytest.approx(intercept / 2) and beta == pytest.approx(1 / slope)


def test_the_fit_follows_the_small_buffers_too():
    # a floor of 0.46 ms that an unweighted fit, pulled by the largest size, misses
    sizes, seconds = [4096, 65536, 2**20, 2**22], [4.87e-4, 4.58e-4, 1.01e-3, 8.231e-3]
    alpha, beta = sharding.fit_allreduce(sizes, seconds, 2)
    model = [calculators.allreduce_time(s, 2, beta, alpha) for s in sizes]
    assert model[0] == pytest.approx(4.6e-4, rel=0.1)
    errors = [m / y for m, y in zip(model, seconds, strict=True)]
    assert max(errors) / min(errors) < 5  # no point dominates the others


def test_noise_never_makes_the_latency_negative_or_the_bandwidth_finite_by_accident():
    sizes, seconds = [1e3, 1e6], [1e-6, 2e-3]
    alpha, beta = sharding.fit_allreduce(sizes, seconds, 2)
    w = [1 / y**2 for y in seconds]
    slope = sum(wi * x * y for wi, x, y in zip(w, sizes, seconds, strict=True))
    slope /= sum(wi * x * x for wi, x in zip(w, sizes, strict=True))
    assert alpha == 0.0 and beta == pytest.approx(1 / slope)
    alpha, beta = sharding.fit_allreduce([1e3, 1e6], [2e-3, 1e-3], 2)
    mean = (2e-3 / 2e-3**2 + 1e-3 / 1e-3**2) / (1 / 2e-3**2 + 1 / 1e-3**2)
    # times that fall with size: no bandwidth term, a constant in relative error
    assert alpha == pytest.approx(mean / 2) and beta == math.inf


def test_no_file_of_the_package_holds_a_control_character():
    import pathlib
    import re

    import nnbook

    root = pathlib.Path(nnbook.__file__).parent
    bad = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")  # every control byte but \n
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json", ".toml"}:
            text = path.read_bytes()
            match = bad.search(text)
            if match:
                line = text.count(b"\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(root)}:{line}")
    assert found == []


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            ([1e3, 1e6], [1e-3], 2),
            ValueError,
            r"nbytes and seconds must have the same length, got 2 and 1",
        ),
        (
            ([1e3, 1e3], [1e-3, 2e-3], 2),
            ValueError,
            r"nbytes must hold at least two different sizes",
        ),
        (([1e3, 1e6], [1e-3, 0.0], 2), ValueError, r"seconds"),
        (([1e3, 1e6], [1e-3, 2e-3], 1), ValueError, r"devices must be .*got 1"),
        ((1e3, [1e-3], 2), TypeError, r"nbytes must be a tuple"),
    ],
)
def test_the_fit_refuses_bad_arguments_by_name(args, error, message):
    with pytest.raises(error, match=message):
        sharding.fit_allreduce(*args)


def test_allreduce_times_returns_one_time_per_size_in_a_group_of_one():
    # other tests of this process may have left a group of one open: reuse it
    mine = not dist.is_initialized()
    if mine:
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        measured = sharding.allreduce_times(0, 1, sizes=(4096, 65536), repeats=3)
    finally:
        if mine:
            dist.destroy_process_group()
    assert [n for n, _ in measured] == [4096, 65536]
    assert all(seconds > 0 for _, seconds in measured)
    with pytest.raises(ValueError, match=r"rank must be below world_size=1, got 1"):
        sharding.allreduce_times(1, 1)


def test_the_latency_terms_count_the_ring_steps():
    base = HIER(1e6, 4, 8, 1e11, 1e10)
    assert HIER(1e6, 4, 8, 1e11, 1e10, node_latency=1.0) - base == pytest.approx(14.0)
    assert HIER(1e6, 4, 8, 1e11, 1e10, network_latency=1.0) - base == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"nodes": 0}, ValueError, r"nodes must be .*1.*got 0"),
        ({"gpus_per_node": 2.5}, TypeError, r"gpus_per_node"),
        ({"node_bandwidth": 0.0}, ValueError, r"node_bandwidth must be .*got 0.0"),
        ({"network_bandwidth": math.nan}, ValueError, r"network_bandwidth"),
        ({"nbytes": -1.0}, ValueError, r"nbytes must be .*got -1.0"),
        ({"node_latency": "1 us"}, TypeError, r"node_latency"),
    ],
)
def test_hierarchical_allreduce_refuses_bad_arguments_by_name(kwargs, error, message):
    call = {
        "nbytes": 1e9,
        "nodes": 2,
        "gpus_per_node": 4,
        "node_bandwidth": 1e11,
        "network_bandwidth": 1e10,
    }
    with pytest.raises(error, match=message):
        HIER(**{**call, **kwargs})


# ------------------------------------------------------------------ ZeRO memory


def test_zero_memory_reproduces_the_papers_worked_example():
    # Rajbhandari et al. (2020), Figure 1: 7.5B parameters, N = 64, K = 12
    got = [round(sharding.zero_memory(7.5e9, 64, s) / GB, 1) for s in range(4)]
    assert got == [120.0, 31.4, 16.6, 1.9]


def test_zero_memory_is_sixteen_bytes_a_parameter_without_sharding():
    for devices in (1, 8, 1024):
        assert sharding.zero_memory(1e6, devices, 0) == 16e6
    for stage in range(4):
        assert sharding.zero_memory(1e6, 1, stage) == 16e6


def test_each_stage_saves_more_and_tends_to_what_it_keeps_whole():
    psi = 7e9
    for devices in (2, 8, 64):
        m = [sharding.zero_memory(psi, devices, s) for s in range(4)]
        assert m[0] > m[1] > m[2] > m[3]
    big = 10**9
    assert sharding.zero_memory(psi, big, 1) == pytest.approx(4 * psi, rel=1e-6)
    assert sharding.zero_memory(psi, big, 2) == pytest.approx(2 * psi, rel=1e-6)
    assert sharding.zero_memory(psi, big, 3) == pytest.approx(0, abs=1e3)


def test_zero_memory_takes_other_byte_counts():
    # float64 Adam without a master copy, as in the page's run: K = 16, 8-byte weights
    assert sharding.zero_memory(1000, 2, 1, k=16, weight_bytes=0, grad_bytes=0) == 8000
    assert sharding.zero_memory(1000, 2, 3, k=16, weight_bytes=8, grad_bytes=8) == 16000


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"stage": 4}, ValueError, r"stage must be one of 0, 1, 2, 3, got 4"),
        ({"stage": "1"}, TypeError, r"stage must be one of 0, 1, 2, 3, got '1'"),
        ({"devices": 0}, ValueError, r"devices must be .*got 0"),
        ({"parameters": math.nan}, ValueError, r"parameters"),
        ({"k": -1}, ValueError, r"k must be .*got -1"),
    ],
)
def test_zero_memory_refuses_bad_arguments_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        sharding.zero_memory(**{"parameters": 1e9, "devices": 8, "stage": 1, **kwargs})


# ------------------------------------------------------------------ the real run


def test_state_bytes_counts_adams_two_moments_and_not_the_step():
    w = torch.nn.Parameter(torch.zeros(10, 3, dtype=torch.float64))
    optimizer = torch.optim.Adam([w])
    assert sharding.state_bytes(optimizer) == 0
    w.grad = torch.ones_like(w)
    optimizer.step()
    assert sharding.state_bytes(optimizer) == 2 * 30 * 8


def test_single_process_adam_is_seeded_and_counts_its_state():
    a, a_bytes = sharding.single_process_adam(steps=3, batch_size=8, seed=5)
    b, _ = sharding.single_process_adam(steps=3, batch_size=8, seed=5)
    c, _ = sharding.single_process_adam(steps=3, batch_size=8, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    assert a_bytes == 16 * sum(p.numel() for p in a)


def test_sharded_training_on_two_processes_matches_one_process():
    runs = parallel.run(sharding.sharded_train, 2, steps=3, batch_size=8, seed=1003)
    adam, adam_bytes = sharding.single_process_adam(steps=3, batch_size=8, seed=1003)
    other, _ = sharding.single_process_adam(steps=3, batch_size=8, seed=0)
    for zero, zero_bytes, fsdp, fsdp_bytes, fsdp_weights, fsdp_grads in runs:
        for ours in (zero, fsdp):
            for a, b in zip(ours, adam, strict=True):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
        assert zero_bytes < 0.52 * adam_bytes and fsdp_bytes < 0.52 * adam_bytes
        assert fsdp_weights < 0.52 * 8 * sum(p.numel() for p in adam)
        assert fsdp_grads == fsdp_weights  # a shard of every gradient, as of the weights
    assert sum(run[1] for run in runs) == sum(run[3] for run in runs) == adam_bytes
    assert max((a - b).abs().max() for a, b in zip(runs[0][0], other, strict=True)) > 1e-3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sharding.sharded_train(2, 2), r"rank must be below world_size=2, got 2"),
        (
            lambda: sharding.sharded_train(0, 2, batch_size=5),
            r"batch_size 5 must be divisible by world_size 2",
        ),
        (lambda: sharding.sharded_train(-1, 2), r"rank must be .*got -1"),
    ],
)
def test_sharded_train_refuses_bad_ranks_and_batches(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------ the figure


def test_allreduce_bars_draw_one_bar_per_link_top_to_bottom_in_milliseconds():
    ax = plot_allreduce_bars(
        {"one node": {"a": 0.5, "b": 0.02}, "eight nodes": {"c": 0.1}}, title="t"
    )
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == pytest.approx([500.0, 20.0, 100.0])
    at = {t.get_position()[1]: t.get_text() for t in ax.get_yticklabels()}
    assert [at[y] for y in sorted(at, reverse=True)] == ["a", "b", "c"]  # top to bottom
    assert [bar.get_y() + bar.get_height() / 2 for bar in ax.patches] == [2, 1, 0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    assert ax.get_xlim()[0] == pytest.approx(10.0)  # a decade below the shortest bar
    colours = {bar.get_facecolor() for bar in ax.patches}
    assert len(colours) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["one node", "eight nodes"]
    assert [t.get_text() for t in ax.texts] == ["500 ms", "20 ms", "100 ms"]
    assert ax.figure.get_figwidth() <= 7.0 and ax.figure.get_figheight() == 4.0


def test_allreduce_bars_grow_taller_with_many_bars():
    ax = plot_allreduce_bars({"g": {f"bar {k}": 0.1 * (k + 1) for k in range(12)}})
    assert len(ax.patches) == 12 and ax.figure.get_figheight() == pytest.approx(4.96)


def test_allreduce_bars_draw_on_the_axes_given():
    _, ax = plt.subplots()
    assert plot_allreduce_bars({"g": {"a": 1.0}}, ax=ax) is ax


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([1.0],), {}, TypeError, r"seconds must be a dict, got list"),
        (({},), {}, ValueError, r"seconds must hold at least one entry"),
        (({"g": [1.0]},), {}, TypeError, r"seconds\['g'\] must be a dict, got list"),
        (({"g": {"a": "1 s"}},), {}, TypeError, r"seconds\['g'\]\['a'\] must be a number"),
        (({"g": {"a": 0.0}},), {}, ValueError, r"seconds\['g'\]\['a'\] must be a positive"),
        (({"g": {"a": 1.0}},), {"ax": "axes"}, TypeError, r"ax must be a matplotlib Axes"),
    ],
)
def test_allreduce_bars_refuse_bad_input_by_name(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_allreduce_bars(*args, **kwargs)
