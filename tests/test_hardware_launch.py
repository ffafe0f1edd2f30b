"""nnbook.hardware.launch: the launch model, its fit, the CUDA-graph model and the timers."""

import math

import numpy as np
import pytest
import torch
from contracts_hardware_launch import _simulated_step
from hypothesis import given
from hypothesis import strategies as st

from nnbook.hardware import launch

pytestmark = pytest.mark.hardware


def _lstsq_fit(work, seconds):
    """t_launch and rate by numpy's least squares on the rows scaled by 1 / t."""
    n = np.asarray(work, dtype=np.float64)
    t = np.asarray(seconds, dtype=np.float64)
    rows = np.stack([1 / t, n / t], axis=1)
    (a, b), *_ = np.linalg.lstsq(rows, np.ones_like(t), rcond=None)
    return a, 1 / b


def test_call_time_closed_form():
    assert launch.call_time(0, 3e-6, 1e9) == 3e-6
    assert launch.call_time(1e9, 3e-6, 1e9) == pytest.approx(1 + 3e-6, rel=1e-15)
    assert launch.call_time(2e6, 0, 4e9) == 5e-4


def test_fit_recovers_exact_line():
    work = [1, 4, 16, 64, 256, 1024, 4096, 16384]
    seconds = [launch.call_time(n, 2.5e-6, 3e8) for n in work]
    t_launch, rate = launch.fit_launch(work, seconds)
    assert t_launch == pytest.approx(2.5e-6, rel=1e-10)
    assert rate == pytest.approx(3e8, rel=1e-10)


def test_fit_agrees_with_numpy_lstsq_on_noisy_data():
    rng = np.random.default_rng(0)
    work = 4.0 ** np.arange(10)
    seconds = (3e-6 + work / 2e8) * np.exp(rng.normal(0, 0.2, work.size))
    ours = launch.fit_launch(tuple(work), tuple(seconds))
    theirs = _lstsq_fit(work, seconds)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@given(
    st.floats(1e-7, 1e-4),
    st.floats(1e6, 1e12),
    st.lists(st.floats(0, 1e7), min_size=2, max_size=8, unique=True),
)
def test_fit_is_exact_on_any_line(t_launch, rate, work):
    seconds = [launch.call_time(n, t_launch, rate) for n in work]
    if max(seconds) / min(seconds) < 1 + 1e-6:
        return  # the work is too small to see the slope in float64
    a, r = launch.fit_launch(work, seconds)
    fitted = [launch.call_time(n, a, r) for n in work]
    assert fitted == pytest.approx(seconds, rel=1e-9)
    # the intercept is known only to round-off of the largest time
    assert a == pytest.approx(t_launch, rel=1e-6, abs=1e-9 * max(seconds))
    assert r == pytest.approx(rate, rel=1e-4)


def test_fit_refuses_bad_data():
    with pytest.raises(
        ValueError, match=r"seconds must have one value per work value \(3\), got 2"
    ):
        launch.fit_launch((1, 2, 3), (1e-6, 2e-6))
    with pytest.raises(ValueError, match=r"work must hold at least two distinct values"):
        launch.fit_launch((5, 5), (1e-6, 2e-6))
    with pytest.raises(ValueError, match=r"seconds must grow with work"):
        launch.fit_launch((1, 10, 100), (3e-6, 2e-6, 1e-6))
    with pytest.raises(ValueError, match=r"seconds\[1\]"):
        launch.fit_launch((1, 10), (1e-6, math.nan))
    with pytest.raises(ValueError, match=r"work\[0\]"):
        launch.fit_launch((-1, 10), (1e-6, 2e-6))


@given(st.integers(1, 200), st.floats(0, 1e-3), st.floats(0, 1e-3), st.booleans())
def test_step_time_matches_simulated_queue(kernels, t_kernel, t_launch, graph):
    ours = launch.step_time(kernels, t_kernel, t_launch, graph=graph)
    assert ours == pytest.approx(
        _simulated_step(kernels, t_kernel, t_launch, graph), rel=1e-9, abs=1e-15
    )


def test_graph_speedup_limits():
    # launch-bound: 50 kernels of 1 µs behind 5 µs launches
    assert launch.graph_speedup(50, 1e-6, 5e-6) == pytest.approx(
        (5e-6 + 1e-6 + 49 * 5e-6) / (5e-6 + 50e-6)
    )
    assert launch.graph_speedup(1, 1e-6, 5e-6) == 1.0
    # the limit of kernels that take no time (no real kernel does)
    assert launch.graph_speedup(50, 0.0, 5e-6) == pytest.approx(50.0, rel=1e-12)
    assert launch.graph_speedup(50, 1.0, 5e-6) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="t_kernel and t_launch must not both be 0"):
        launch.graph_speedup(3, 0.0, 0.0)
    with pytest.raises(TypeError, match="graph must be a bool"):
        launch.step_time(3, 1e-6, 1e-6, graph=1)
    with pytest.raises(ValueError, match="kernels"):
        launch.step_time(0, 1e-6, 1e-6)


def test_elementwise_chain_is_repeated_sine():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    expected = x.clone()
    for _ in range(5):
        expected = torch.sin(expected)
    torch.testing.assert_close(launch.elementwise_chain(x, 5), expected)
    assert launch.elementwise_chain(x, 1) is not x
    with pytest.raises(ValueError, match="length"):
        launch.elementwise_chain(x, 0)


def test_timers_on_the_cpu():
    seconds = launch.per_call_seconds(lambda: torch.ones(4).add_(1), calls=10, repeats=2)
    assert 0 < seconds < 0.1
    times = launch.size_sweep([1, 1024], calls=5, repeats=2, device="cpu")
    assert len(times) == 2 and all(0 < t < 0.1 for t in times)
    with pytest.raises(ValueError, match="sizes"):
        launch.size_sweep([0])
    with pytest.raises(TypeError, match="fn must be"):
        launch.per_call_seconds(3)


def test_compiled_chain_times_on_the_cpu():
    # the "eager" backend traces with TorchDynamo but generates no code: quick
    x = torch.ones(8)
    compiled = torch.compile(launch.elementwise_chain, backend="eager")
    torch.testing.assert_close(compiled(x, 10), launch.elementwise_chain(x, 10))
    assert launch.per_call_seconds(lambda: compiled(x, 10), calls=3, repeats=1) > 0


def test_capture_refuses_without_cuda():
    with pytest.raises(ValueError, match="example must be on a CUDA device.*got a tensor on cpu"):
        launch.capture_cuda_graph(torch.sin, torch.ones(3))
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        launch.capture_cuda_graph(3, torch.ones(3))
    with pytest.raises(TypeError, match="example must be a torch.Tensor, got list"):
        launch.capture_cuda_graph(torch.sin, [1.0])
    with pytest.raises(ValueError, match="warmup must be at least 1, got 0"):
        launch.capture_cuda_graph(torch.sin, torch.ones(3), warmup=0)
    with pytest.raises(TypeError, match="warmup must be an int, got float"):
        launch.capture_cuda_graph(torch.sin, torch.ones(3), warmup=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_graph_replays_the_chain():
    x = torch.linspace(-1, 1, 64, device="cuda")
    replay = launch.capture_cuda_graph(lambda t: launch.elementwise_chain(t, 20), x)
    torch.testing.assert_close(replay(), launch.elementwise_chain(x, 20))
    replay.static_input.copy_(2 * x)
    torch.testing.assert_close(replay(), launch.elementwise_chain(2 * x, 20))


def test_plot_launch_fit_draws_points_and_line():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook.plot.hardware_launch import plot_launch_fit

    work = [1, 16, 256, 4096]
    seconds = [launch.call_time(n, 2e-6, 1e9) for n in work]
    ax = plot_launch_fit(work, seconds, 2e-6, 1e9, label="test")
    points, fitted = ax.lines[:2]
    np.testing.assert_allclose(points.get_ydata(), np.array(seconds) * 1e6)
    assert fitted.get_ydata()[0] == pytest.approx(2e-6 * 1e6 + 1e-3)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "measured, test" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close("all")
    with pytest.raises(
        ValueError, match=r"seconds must have one value per work value \(4\), got 3"
    ):
        plot_launch_fit(work, seconds[:3], 2e-6, 1e9)
    with pytest.raises(ValueError, match="work must hold values above zero"):
        plot_launch_fit([0, 1], [1e-6, 2e-6], 2e-6, 1e9)
    with pytest.raises(TypeError, match="work must be"):
        plot_launch_fit("abc", seconds, 2e-6, 1e9)


def test_size_sweep_synchronized_on_the_cpu():
    # on the CPU a call always ends before the next; sync_each changes nothing
    times = launch.size_sweep([1, 4096], calls=5, repeats=2, sync_each=True)
    assert len(times) == 2 and all(0 < t < 0.1 for t in times)
    with pytest.raises(TypeError, match="sync_each must be a bool"):
        launch.size_sweep([1, 2], sync_each=1)


def test_compile_step_returns_the_function_and_its_compile_time():
    x = torch.linspace(-1, 1, 8, dtype=torch.float64)
    compiled, seconds = launch.compile_step(
        lambda t: launch.elementwise_chain(t, 3), x, backend="eager"
    )
    assert seconds > 0
    torch.testing.assert_close(compiled(x), torch.sin(torch.sin(torch.sin(x))))
    with pytest.raises(ValueError, match="calls must be at least 2, got 1"):
        launch.compile_step(torch.sin, x, calls=1, backend="eager")
    with pytest.raises(TypeError, match="calls must be an int, got float"):
        launch.compile_step(torch.sin, x, calls=2.0, backend="eager")
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        launch.compile_step(3, x)
    with pytest.raises(TypeError, match="example must be a torch.Tensor, got list"):
        launch.compile_step(torch.sin, [1.0])


def test_compile_step_cold_resets_dynamo_and_disables_the_caches(monkeypatch):
    import torch._inductor.config as inductor_config

    resets, seen = [], []
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(1))

    def fake_compile(fn, mode=None, backend=None):
        def run(t):
            seen.append(inductor_config.force_disable_caches)
            return fn(t)

        return run

    monkeypatch.setattr(torch, "compile", fake_compile)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64)
    launch.compile_step(torch.sin, x, calls=3)
    assert resets == [1] and seen == [True, False, False]
    resets.clear(), seen.clear()
    launch.compile_step(torch.sin, x, cold=False)
    assert resets == [] and seen == [False, False]
    with pytest.raises(TypeError, match="cold must be a bool, got int"):
        launch.compile_step(torch.sin, x, cold=1)


def test_usable_cpus_respects_the_affinity():
    import os

    logical, physical = launch.usable_cpus()
    assert 1 <= logical <= (os.cpu_count() or logical)
    if hasattr(os, "sched_getaffinity"):
        assert logical == len(os.sched_getaffinity(0))
    assert physical is None or 1 <= physical <= logical


def test_cache_sizes_lists_data_caches_only():
    sizes = launch.cache_sizes()
    assert isinstance(sizes, dict)
    assert all(name.startswith("L") and "i" not in name for name in sizes)
    assert all(isinstance(size, str) and size for size in sizes.values())
    assert launch.cache_sizes(10**6) == {}  # no such CPU
    with pytest.raises(TypeError, match="cpu must be an int, got str"):
        launch.cache_sizes("0")


def test_plot_draws_the_break_even_line_only_inside_the_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook.plot.hardware_launch import plot_launch_fit

    work = [1, 16, 256, 4096]
    seconds = [launch.call_time(n, 2e-6, 1e9) for n in work]
    inside = plot_launch_fit(work, seconds, 2e-6, 1e9)  # break-even at 2000
    below = plot_launch_fit(work, seconds, 2e-6, 1e5)  # break-even at 0.2
    beyond = plot_launch_fit(work, seconds, 2e-5, 1e9)  # break-even at 20,000
    assert len(inside.lines) == 4  # points, fit, horizontal, vertical
    assert len(below.lines) == 3
    assert len(beyond.lines) == 3
    plt.close("all")
