"""nnbook.hardware.model_parallel and nnbook.plot.hardware_pipeline: tensor-parallel
MLPs against the unsharded one, and the pipeline simulation against the closed forms."""

import multiprocessing
import os
import time
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from helpers import close_figures, randn  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.hardware import model_parallel as mp
from nnbook.hardware import parallel
from nnbook.plot.hardware_pipeline import plot_bubble_fractions, plot_pipeline

pytestmark = pytest.mark.hardware


# ----------------------------------------------------------------- tensor parallelism


def _mlp(n=5, h=6, f=24, seed=0):
    return randn(n, h, seed=seed), randn(h, f, seed=seed + 1), randn(f, h, seed=seed + 2)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 8, 24])
def test_the_sum_of_the_shards_is_the_whole_mlp(world_size):
    X, A, B = _mlp()
    torch.testing.assert_close(
        mp.tensor_parallel_mlp(X, A, B, world_size),
        F.gelu(X @ A) @ B,
        rtol=0,
        atol=1e-12,
    )


@given(
    n=st.integers(1, 4),
    h=st.integers(1, 5),
    share=st.integers(1, 4),
    t=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_the_split_holds_for_any_shapes(n, h, share, t, seed):
    X, A, B = _mlp(n, h, share * t, seed)
    torch.testing.assert_close(
        mp.tensor_parallel_mlp(X, A, B, t), F.gelu(X @ A) @ B, rtol=1e-12, atol=1e-12
    )


def test_each_rank_uses_only_its_columns_of_A_and_rows_of_B():
    X, A, B = _mlp()
    part = mp.mlp_partial(X, A, B, 1, 4)  # hidden units 6 to 11
    torch.testing.assert_close(part, F.gelu(X @ A[:, 6:12]) @ B[6:12], rtol=0, atol=0)
    A2, B2 = A.clone(), B.clone()
    A2[:, :6] = A2[:, 12:] = float("nan")  # the other ranks' pieces are never read
    B2[:6] = B2[12:] = float("nan")
    torch.testing.assert_close(mp.mlp_partial(X, A2, B2, 1, 4), part, rtol=0, atol=0)


def test_splitting_gelu_the_other_way_would_be_wrong():
    # A split by rows needs the all-reduce before the GeLU: the sum of GeLUs differs
    X, A, B = _mlp()
    rows = sum(F.gelu(X[:, i : i + 3] @ A[i : i + 3]) for i in (0, 3)) @ B
    assert (rows - F.gelu(X @ A) @ B).abs().max() > 1e-3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda X, A, B: mp.mlp_partial(X, A, B, 4, 4),
            ValueError,
            r"rank must be below world_size=4, got 4",
        ),
        (
            lambda X, A, B: mp.tensor_parallel_mlp(X, A, B, 5),
            ValueError,
            r"world_size must divide the hidden width f=24, got 5",
        ),
        (lambda X, A, B: mp.tensor_parallel_mlp(X, A, B.T, 2), ValueError, r"\bB\b"),
        (lambda X, A, B: mp.tensor_parallel_mlp(X, A[:5], B, 2), ValueError, r"\bA\b"),
        (lambda X, A, B: mp.tensor_parallel_mlp(X, A, B, 0), ValueError, r"world_size"),
        (lambda X, A, B: mp.tensor_parallel_mlp(X, A, B, 2.0), TypeError, r"world_size"),
        (lambda X, A, B: mp.tensor_parallel_mlp(X.long(), A, B, 2), TypeError, r"\bX\b"),
    ],
)
def test_tensor_parallel_refuses_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(*_mlp())


def test_two_gloo_processes_give_the_output_and_gradients_of_one():
    Y, dX, dA, dB = mp.tensor_parallel_reference(batch=4, hidden=8, seed=3)
    results = parallel.run(mp.tensor_parallel_step, 2, batch=4, hidden=8, seed=3)
    for Y_r, dX_r, _, _, calls in results:
        torch.testing.assert_close(Y_r, Y, rtol=0, atol=1e-12)
        torch.testing.assert_close(dX_r, dX, rtol=0, atol=1e-12)
        assert calls == 2
    torch.testing.assert_close(torch.cat([r[2] for r in results], 1), dA, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.cat([r[3] for r in results], 0), dB, rtol=0, atol=1e-12)


@pytest.mark.parametrize("world_size", [2, 4])
def test_forked_processes_give_the_same_and_count_two_all_reduces(world_size):
    Y, dX, dA, dB = mp.tensor_parallel_reference(batch=4, hidden=8, seed=5)
    results = mp.run_forked(mp.tensor_parallel_step, world_size, batch=4, hidden=8, seed=5)
    assert [r[4] for r in results] == [2] * world_size  # counted, one g and one f
    for Y_r, dX_r, *_ in results:
        torch.testing.assert_close(Y_r, Y, rtol=0, atol=1e-12)
        torch.testing.assert_close(dX_r, dX, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.cat([r[2] for r in results], 1), dA, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.cat([r[3] for r in results], 0), dB, rtol=0, atol=1e-12)


def test_the_count_is_of_the_all_reduces_actually_issued(monkeypatch):
    issued = []
    real = mp.dist.all_reduce
    monkeypatch.setattr(mp.dist, "all_reduce", lambda t: (issued.append(t.shape), real(t)))
    (result,) = mp.run_forked(mp.tensor_parallel_step, 1, batch=3, hidden=2)
    assert result[4] == 2  # the forked process counted its own calls
    if not mp.dist.is_initialized():
        mp.dist.init_process_group("gloo", store=mp.dist.HashStore(), rank=0, world_size=1)
    assert mp.tensor_parallel_step(0, 1, batch=3, hidden=2)[4] == len(issued) == 2
    assert issued == [torch.Size([3, 2])] * 2  # Y, then the gradient of X


def test_run_forked_reports_a_process_that_fails_with_its_traceback():
    # 5 does not divide 12: every process raises, and the parent shows why
    with pytest.raises(
        RuntimeError,
        match=r"(?s)process \d of run_forked raised:.*Traceback.*"
        r"ValueError: world_size must divide the hidden width f=12, got 5",
    ):
        mp.run_forked(mp.tensor_parallel_step, 5, batch=2, hidden=3)


def _exits(rank, world_size):
    os._exit(3)  # no exception, no result: only the exit code is left


def _hangs(rank, world_size):
    time.sleep(60)


def test_run_forked_reports_a_process_that_exits_without_a_result():
    with pytest.raises(RuntimeError, match=r"a process of run_forked exited with code 3"):
        mp.run_forked(_exits, 2)


def test_run_forked_gives_up_after_its_timeout_and_ends_the_processes():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"2 of 2 processes gave no result within timeout=1.0"):
        mp.run_forked(_hangs, 2, timeout=1.0)
    assert time.monotonic() - start < 30  # killed, not waited for
    assert not multiprocessing.active_children()


def test_run_forked_uses_parallel_run_where_it_cannot_fork(monkeypatch):
    calls = []
    monkeypatch.setattr(mp.sys, "platform", "darwin")
    monkeypatch.setattr(mp.parallel, "run", lambda *a, **k: calls.append((a, k)) or ["x"])
    assert mp.run_forked(parallel.allreduce_sum, 2, 7, seed=1) == ["x"]
    assert calls == [((parallel.allreduce_sum, 2, 7), {"seed": 1})]


def test_run_forked_forks_from_its_server_even_once_cuda_is_initialized(monkeypatch):
    # the server never touched CUDA, so its forks are safe whatever this process did
    monkeypatch.setattr(mp.torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(mp.parallel, "run", lambda *a, **k: ["spawned"])
    assert mp.run_forked(parallel.allreduce_sum, 2) == [3.0, 3.0]


def test_run_forked_refuses_bad_arguments():
    with pytest.raises(TypeError, match=r"fn must be"):
        mp.run_forked(3, 2)
    with pytest.raises(ValueError, match=r"world_size must be in \[1, inf\]"):
        mp.run_forked(parallel.allreduce_sum, 0)
    with pytest.raises(ValueError, match=r"timeout must be in \(0, inf\], got 0.0"):
        mp.run_forked(parallel.allreduce_sum, 2, timeout=0.0)


@pytest.mark.parametrize(("b", "s", "h"), [(1, 4096, 8192), (2, 3, 6), (3, 128, 64)])
def test_transformer_layer_flops_sums_the_matrix_products(b, s, h):
    qkv, scores, values, projection = (
        3 * 2 * b * s * h * h,
        2 * b * s * s * h,
        2 * b * s * s * h,
        2 * b * s * h * h,
    )
    mlp = 2 * 2 * b * s * h * 4 * h
    total = qkv + scores + values + projection + mlp
    assert mp.transformer_layer_flops(b, s, h) == pytest.approx(total, rel=1e-14)


def test_transformer_layer_flops_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"hidden must be in \[1, inf\]"):
        mp.transformer_layer_flops(1, 2, 0)
    with pytest.raises(TypeError, match=r"seq must be an int, got float"):
        mp.transformer_layer_flops(1, 2.5, 3)


def test_the_reference_gradients_agree_with_finite_differences():
    X, A, B, dY = mp._problem(3, 2, 0)
    _, dX, dA, dB = mp.tensor_parallel_reference(batch=3, hidden=2, seed=0)
    eps = 1e-6
    for tensor, grad in ((X, dX), (A, dA), (B, dB)):
        for index in [(0, 0), (1, 1), (tensor.shape[0] - 1, tensor.shape[1] - 1)]:
            up, down = tensor.clone(), tensor.clone()
            up[index] += eps
            down[index] -= eps
            args = [up if t is tensor else t for t in (X, A, B)]
            args_down = [down if t is tensor else t for t in (X, A, B)]
            loss_up = ((F.gelu(args[0] @ args[1]) @ args[2]) * dY).sum()
            loss_down = ((F.gelu(args_down[0] @ args_down[1]) @ args_down[2]) * dY).sum()
            assert abs((loss_up - loss_down) / (2 * eps) - grad[index]) < 1e-7


def test_tensor_parallel_step_checks_its_rank():
    with pytest.raises(ValueError, match=r"rank must be below world_size=2, got 2"):
        mp.tensor_parallel_step(2, 2)
    with pytest.raises(ValueError, match=r"world_size must divide the hidden width f=12"):
        mp.tensor_parallel_step(0, 5, hidden=3)


def test_tensor_parallel_bytes_counts_four_ring_all_reduces():
    b, s, h = 1, 4096, 8192
    # t = 8, bfloat16: 4 all-reduces x 2 x 7/8 x b s h x 2 bytes
    assert mp.tensor_parallel_bytes(b, s, h, 8) == 4 * 2 * 7 / 8 * b * s * h * 2
    assert mp.tensor_parallel_bytes(b, s, h, 1) == 0
    # doubling the ranks from 2 to a large number less than doubles the traffic
    two, many = mp.tensor_parallel_bytes(2, 8, 16, 2), mp.tensor_parallel_bytes(2, 8, 16, 64)
    assert two == 4 * 2 * 8 * 16 * 2 and 1.9 * two < many < 2 * two


def test_tensor_parallel_bytes_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"ranks must be in \[1, inf\], got 0"):
        mp.tensor_parallel_bytes(1, 2, 3, 0)
    with pytest.raises(TypeError, match=r"hidden must be an int, got float"):
        mp.tensor_parallel_bytes(1, 2, 3.0, 2)


# --------------------------------------------------------------- pipeline parallelism

SIZES = [(p, m) for p in (1, 2, 3, 4, 8) for m in (1, 2, 3, 4, 7, 8, 16, 32)]


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize(("p", "m"), SIZES)
def test_the_simulated_bubble_is_the_closed_form_exactly(schedule, p, m):
    timeline = mp.pipeline_schedule(p, m, schedule, forward=1, backward=2)
    assert mp.idle_fraction(timeline) == mp.bubble_fraction(p, m)
    assert max(t.end for t in timeline) == (m + p - 1) * 3
    exact = mp.pipeline_schedule(p, m, schedule, Fraction(1, 3), Fraction(2, 3))
    assert Fraction(mp.idle_fraction(exact)) == Fraction(p - 1, m + p - 1)


@pytest.mark.parametrize(("forward", "backward"), [(1, 1), (1, 3), (0.5, 1.25)])
def test_the_bubble_does_not_depend_on_the_pass_times(forward, backward):
    for schedule in ("gpipe", "1f1b"):
        timeline = mp.pipeline_schedule(4, 6, schedule, forward, backward)
        assert mp.idle_fraction(timeline) == pytest.approx(3 / 9, abs=1e-15)


@pytest.mark.parametrize(("p", "m"), SIZES)
def test_gpipe_holds_every_micro_batch_and_1f1b_at_most_p(p, m):
    gpipe = mp.peak_in_flight(mp.pipeline_schedule(p, m, "gpipe"))
    one_f_one_b = mp.peak_in_flight(mp.pipeline_schedule(p, m, "1f1b"))
    assert gpipe == [m] * p
    assert one_f_one_b == [min(p - s, m) for s in range(p)]


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_the_timeline_respects_every_dependency(schedule):
    p, m = 4, 6
    timeline = mp.pipeline_schedule(p, m, schedule, 1, 2)
    assert len(timeline) == 2 * p * m
    end = {(t.stage, t.kind, t.micro_batch): t.end for t in timeline}
    for t in timeline:
        if t.kind == "F" and t.stage > 0:
            assert t.start >= end[(t.stage - 1, "F", t.micro_batch)]
        if t.kind == "B":
            assert t.start >= end[(t.stage, "F", t.micro_batch)]
            if t.stage < p - 1:
                assert t.start >= end[(t.stage + 1, "B", t.micro_batch)]
    for s in range(p):  # a stage runs one pass at a time
        mine = sorted((t.start, t.end) for t in timeline if t.stage == s)
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False))


def test_1f1b_alternates_after_its_warm_up():
    timeline = mp.pipeline_schedule(4, 8, "1f1b", 1, 2)
    first = [(t.kind, t.micro_batch) for t in timeline if t.stage == 0][:6]
    assert first == [("F", 0), ("F", 1), ("F", 2), ("F", 3), ("B", 0), ("F", 4)]
    last = [(t.kind, t.micro_batch) for t in timeline if t.stage == 3][:4]
    assert last == [("F", 0), ("B", 0), ("F", 1), ("B", 1)]


def test_bubble_fraction_in_both_forms():
    assert mp.bubble_fraction(8, 32) == 7 / 39
    assert mp.bubble_fraction(8, 32, relative_to="ideal") == 7 / 32
    assert mp.bubble_fraction(1, 5) == 0
    with pytest.raises(ValueError, match=r"relative_to must be one of total, ideal"):
        mp.bubble_fraction(2, 2, relative_to="busy")


@pytest.mark.parametrize(("p", "m", "v"), [(2, 4, 1), (4, 8, 2), (8, 32, 4), (16, 64, 3)])
def test_the_interleaved_bubble_divides_the_ramps_by_v(p, m, v):
    ramps, ideal = Fraction(p - 1, v), m  # in slots of t_f + t_b
    assert mp.bubble_fraction(p, m, chunks=v) == float(ramps / (ideal + ramps))
    assert mp.bubble_fraction(p, m, "ideal", chunks=v) == float(ramps / ideal)
    if v == 1:
        assert mp.bubble_fraction(p, m, chunks=1) == mp.bubble_fraction(p, m)


def test_gpipes_rule_of_thumb_leaves_just_under_a_fifth():
    assert round(mp.bubble_fraction(4, 16), 2) == 0.16
    assert round(mp.bubble_fraction(8, 32), 2) == 0.18
    assert all(mp.bubble_fraction(p, 4 * p) < 0.2 for p in range(1, 500))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: mp.bubble_fraction(4, 8, chunks=0), ValueError, r"chunks must be in \[1, inf\]"),
        (lambda: mp.pipeline_schedule(0, 4), ValueError, r"stages must be in \[1, inf\]"),
        (lambda: mp.pipeline_schedule(2, 4, "zb"), ValueError, r"schedule must be one of"),
        (lambda: mp.pipeline_schedule(2, 4, forward=0), ValueError, r"forward must be in"),
        (
            lambda: mp.pipeline_schedule(2, 4, backward=float("nan")),
            ValueError,
            r"backward must be a number, got nan",
        ),
        (lambda: mp.idle_fraction([]), ValueError, r"timeline must be a non-empty list of Task"),
        (lambda: mp.peak_in_flight([(0, "F", 0, 0, 1)]), ValueError, r"timeline must be"),
        (lambda: mp.idle_fraction((1, 2)), TypeError, r"timeline must be a list, got tuple"),
    ],
)
def test_pipeline_functions_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- plots


def test_plot_pipeline_draws_one_block_per_pass_and_a_background_per_stage():
    timeline = mp.pipeline_schedule(3, 4, "gpipe", 1, 2)
    ax = plot_pipeline(timeline, title="GPipe")
    blocks = ax.patches
    assert len(blocks) == 3 + len(timeline)  # one background bar per stage
    colors = {tuple(b.get_facecolor()) for b in blocks[3:]}
    assert colors == {
        matplotlib.colors.to_rgba("tab:blue"),
        matplotlib.colors.to_rgba("tab:orange"),
    }
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stage 1", "stage 2", "stage 3"]
    assert ax.get_xlim() == (0, 18) and ax.get_title(loc="left") == "GPipe"
    assert len(ax.texts) == len(timeline)
    assert ax.figure.get_figwidth() <= 7.0


def test_plot_pipeline_draws_on_the_axes_given_without_labels():
    _, ax = plt.subplots()
    timeline = mp.pipeline_schedule(2, 2)
    assert plot_pipeline(timeline, ax, labels=False) is ax
    assert not ax.texts


def test_plot_bubble_fractions_draws_percent_per_pipeline():
    m = [1, 2, 4, 8]
    ax = plot_bubble_fractions(m, {"p = 4": [mp.bubble_fraction(4, k) for k in m]})
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == m
    assert line.get_ydata()[0] == pytest.approx(75.0)
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: plot_pipeline("gpipe"), TypeError, r"timeline must be a list of Task, got str"),
        (lambda: plot_pipeline([]), ValueError, r"timeline must be a non-empty list"),
        (lambda: plot_pipeline(mp.pipeline_schedule(2, 2), ax=3), TypeError, r"ax must be"),
        (lambda: plot_bubble_fractions([1, 2], {}), ValueError, r"fractions must hold"),
        (lambda: plot_bubble_fractions([1, 2], [0.5]), TypeError, r"fractions must be a dict"),
        (
            lambda: plot_bubble_fractions([1, 2], {"a": [0.5]}),
            ValueError,
            r"fractions\['a'\] must have one value per micro-batch count \(2\), got 1",
        ),
        (
            lambda: plot_bubble_fractions([1, 2], {"a": [0.5, 2.0]}),
            ValueError,
            r"fractions\['a'\] must lie in \[0, 1\]",
        ),
        (lambda: plot_bubble_fractions("m", {"a": [0.5]}), TypeError, r"micro_batches"),
    ],
)
def test_plots_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
