"""The fair density comparison: LU mixing, Glow-like flows, exact-trace roulette, compare_flows."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nnbook.invertible import _flows as flows
from nnbook.invertible import _toy as toy
from nnbook.invertible._blocks import InvertibleResidualBlock, mlp_block
from nnbook.plot.invertible import draw_learning_curves, draw_toy_densities
from nnbook.train import count_parameters


def _double(module):
    return module.double().eval()


@pytest.fixture
def mixing():
    torch.manual_seed(3)
    layer = _double(flows.InvertibleLinear(3))
    with torch.no_grad():  # away from the initial rotation, so that det W is not 1
        for p in (layer.lower, layer.upper, layer.log_scale):
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype))
    return layer


def test_the_mixing_log_det_is_slogdet_of_its_matrix(mixing):
    x = torch.randn(5, 3, dtype=torch.float64)
    y, logdet = mixing(x)
    W = mixing.weight()
    sign, reference = torch.linalg.slogdet(W)
    assert sign != 0
    torch.testing.assert_close(logdet, reference.expand(5))
    torch.testing.assert_close(y, x @ W.T)
    assert abs(reference.item()) > 0.05  # a non-trivial determinant


def test_the_mixing_starts_as_a_rotation_and_inverts_its_forward(mixing):
    torch.manual_seed(0)
    start = _double(flows.InvertibleLinear(4))
    W = start.weight()
    eye = torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(W @ W.T, eye, atol=1e-6, rtol=0)  # built in float32
    x = torch.randn(6, 3, dtype=torch.float64)
    torch.testing.assert_close(mixing.inverse(mixing(x)[0]), x)


def test_the_mixing_refuses_bad_input(mixing):
    with pytest.raises(ValueError, match="dim"):
        flows.InvertibleLinear(0)
    with pytest.raises(TypeError, match="dim"):
        flows.InvertibleLinear(2.5)
    with pytest.raises(ValueError, match="x"):
        mixing(torch.randn(4, 2, dtype=torch.float64))


def _autograd_log_prob(flow, x):
    """The change of variables with the Jacobian of the whole flow from autograd."""
    rows = []
    for row in x:
        jac = torch.autograd.functional.jacobian(
            lambda r: flow.forward_and_logdet(r[None])[0][0], row
        )
        z = flow.forward_and_logdet(row[None])[0][0]
        normal = -0.5 * (z**2).sum() - 0.5 * len(z) * math.log(2 * math.pi)
        rows.append(normal + torch.linalg.slogdet(jac)[1])
    return torch.stack(rows)


@pytest.mark.parametrize(("actnorm", "mixing"), [(True, True), (True, False), (False, True)])
def test_a_glow_like_flow_is_a_density_and_inverts_exactly(actnorm, mixing):
    torch.manual_seed(1)
    flow = flows.AffineCouplingFlow(2, n_layers=3, hidden=8, actnorm=actnorm, mixing=mixing)
    flow = flow.double()
    flow.train()
    flow.log_prob(torch.randn(32, 2, dtype=torch.float64) * 2 + 1)  # ActNorm's first batch
    flow.eval()
    x = torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(flow.log_prob(x), _autograd_log_prob(flow, x))
    z = flow.forward_and_logdet(x)[0]
    torch.testing.assert_close(flow.inverse(z), x)


def test_the_coupling_flow_refuses_a_non_flag():
    with pytest.raises(TypeError, match="mixing"):
        flows.AffineCouplingFlow(2, mixing="yes")


def test_the_roulette_on_exact_traces_is_unbiased_on_a_strong_block():
    torch.manual_seed(0)
    block = _double(InvertibleResidualBlock(mlp_block(2, 16, coeff=0.97)))
    x = 1.5 * torch.randn(64, 2, dtype=torch.float64)
    _, jac = block.forward_and_jacobian(x)
    exact = torch.linalg.slogdet(jac)[1]
    estimator = toy._ExactTraceRoulette(torch.Generator().manual_seed(0), p=0.2)
    draws = torch.stack([estimator(block, x)[1] for _ in range(2000)])
    mean = draws.mean(dim=0)
    stderr = draws.std(dim=0) / math.sqrt(len(draws))
    assert torch.all((mean - exact).abs() < 5 * stderr + 1e-9)
    assert exact.abs().mean() > 0.05  # not a near-identity block
    with torch.no_grad():
        y = estimator(block, x)[0]
    torch.testing.assert_close(y, block(x))


def test_the_roulette_flow_trains_and_is_scored_exactly():
    run = toy.compare_flows(
        "moons",
        models=("i-ResNet (roulette)",),
        seeds=(5,),
        steps=3,
        batch_size=16,
        n_test=50,
        window=1,
    )
    flow = run.flows["i-ResNet (roulette)"]
    assert flow.logdet == "exact"
    assert np.isfinite(run.gap["i-ResNet (roulette)"]).all()


def test_the_flows_have_equal_sizes_and_actnorm_everywhere():
    nets = toy.make_density_flows(seed=0)
    assert tuple(nets) == toy.FLOW_MODELS
    sizes = [count_parameters(net) for net in nets.values()]
    assert max(sizes) / min(sizes) < 1.02
    for net in nets.values():
        assert sum(isinstance(m, flows.ActNorm) for m in net.modules()) == 4
        assert next(net.parameters()).dtype == torch.float64
    assert sum(isinstance(m, flows.InvertibleLinear) for m in nets["Glow-like"].modules()) == 4
    assert callable(nets["i-ResNet (roulette)"].logdet)


CHEAP = {"steps": 4, "batch_size": 16, "n_test": 50, "window": 2}


@pytest.fixture(scope="module")
def comparison():
    return toy.compare_flows("checkerboard", models=("RealNVP", "Glow-like"), seeds=(3, 4), **CHEAP)


def test_a_comparison_holds_one_value_per_seed_and_curves_per_window(comparison):
    assert comparison.seeds == (3, 4) and comparison.seed == 3
    assert comparison.entropy == math.log(8)
    for label in ("RealNVP", "Glow-like"):
        assert len(comparison.nll[label]) == 2
        for nll, gap in zip(comparison.nll[label], comparison.gap[label], strict=True):
            assert gap == pytest.approx(nll - math.log(8))
        assert comparison.curves[label].shape == (2, 2)
    mean, low, high = comparison.stats("RealNVP")
    assert low <= mean <= high
    lines = comparison.table(3).split("\n")
    assert lines[0] == f"H(p) = {math.log(8):.3f} nats; gap to it over 2 seeds:"
    label = f"RealNVP (lr {toy.DENSITY_LR['RealNVP']:g})"
    assert lines[1] == f"{label:30s} mean {mean:.3f}  range {low:.3f} to {high:.3f} nats"
    base = comparison.baseline
    assert lines[-1] == (
        f"{'single Gaussian':30s} mean {np.mean(base):.3f}  "
        f"range {min(base):.3f} to {max(base):.3f} nats"
    )


def test_a_seed_repeats_every_number(comparison):
    again = toy.compare_flows(
        "checkerboard", models=("RealNVP", "Glow-like"), seeds=(3, 4), **CHEAP
    )
    assert again.gap == comparison.gap


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"models": "RealNVP"}, TypeError, "models must be a tuple"),
        ({"models": ()}, ValueError, "at least one"),
        ({"models": ("RealNVP", "RealNVP")}, ValueError, "distinct"),
        ({"models": ("MAF",)}, ValueError, "got 'MAF'"),
        ({"seeds": 0}, TypeError, "seeds must be a tuple of ints"),
        ({"seeds": ()}, ValueError, "at least one seed"),
        ({"seeds": (1, -1)}, ValueError, "none negative"),
        ({"window": 5}, ValueError, "window must be at most steps = 4"),
        ({"steps": 0}, ValueError, "steps"),
        ({"lr": math.nan}, ValueError, "lr"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(monkeypatch, kwargs, error, message):
    monkeypatch.setattr(toy, "fit_flow", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(error, match=message):
        toy.compare_flows("moons", **{**CHEAP, **kwargs})


def test_the_table_refuses_bad_digits(comparison):
    with pytest.raises(TypeError, match="digits must be an int, got float"):
        comparison.table(2.0)
    with pytest.raises(ValueError, match="digits must be at least 0, got -1"):
        comparison.table(-1)


def test_the_figures_draw_every_flow(comparison):
    fig = draw_toy_densities(comparison, n_samples=20)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["true density", "RealNVP", "Glow-like"]
    plt.close(fig)
    fig = draw_learning_curves(comparison)
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # two flows and the single-Gaussian reference
    np.testing.assert_allclose(ax.lines[2].get_ydata(), np.mean(comparison.baseline))
    assert ax.lines[2].get_linestyle() == "--"
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(),
        comparison.curves["RealNVP"].mean(axis=0) - comparison.entropy,
        rtol=1e-6,
    )
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [2, 4])
    plt.close(fig)
    with pytest.raises(TypeError, match="result must be a FlowComparison, got dict"):
        draw_learning_curves({})


def test_the_two_by_two_trace_recursion_matches_matrix_powers():
    torch.manual_seed(2)
    block = _double(InvertibleResidualBlock(mlp_block(2, 8, coeff=0.9)))
    x = torch.randn(16, 2, dtype=torch.float64)
    _, jac = block.forward_and_jacobian(x)
    jac_g = jac - torch.eye(2, dtype=torch.float64)
    powers = [torch.linalg.matrix_power(jac_g, k) for k in range(1, 9)]
    traces = torch.stack([torch.diagonal(m, dim1=1, dim2=2).sum(-1) for m in powers])
    draws = torch.Generator().manual_seed(0)
    for _ in range(20):
        state = draws.get_state()
        _, ours = toy._ExactTraceRoulette(draws, p=0.2)(block, x)
        replay = torch.Generator()
        replay.set_state(state)
        u = torch.rand((), generator=replay, dtype=torch.float64).item()
        n_extra = int(math.floor(math.log(u) / math.log(0.8)))
        if n_extra + 2 <= 8:
            reference = toy.roulette_from_traces(traces, n_extra, p=0.2, exact_terms=2)
            torch.testing.assert_close(ours, reference)


def test_the_flows_of_one_seed_start_from_the_same_weights():
    nets = toy.make_density_flows(seed=4)
    exact, roulette = nets["i-ResNet"].state_dict(), nets["i-ResNet (roulette)"].state_dict()
    assert exact.keys() == roulette.keys()
    for key in exact:
        torch.testing.assert_close(exact[key], roulette[key], rtol=0, atol=0)
    realnvp, glow = nets["RealNVP"].layers, nets["Glow-like"].layers
    for ours, theirs in zip(realnvp.parameters(), glow.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    other = toy.make_density_flows(seed=5)["i-ResNet"].state_dict()
    assert any(not torch.equal(exact[k], other[k]) for k in exact if "weight" in k)


def test_each_flow_has_a_recorded_learning_rate_from_the_sweep():
    assert set(toy.DENSITY_LR) == set(toy.FLOW_MODELS)
    assert set(toy.DENSITY_LR.values()) <= set(toy.DENSITY_LR_GRID)
    assert toy.DENSITY_LR["i-ResNet (roulette)"] == toy.DENSITY_LR["i-ResNet"]
    sweep = toy.DENSITY_LR_SWEEP[500]
    for label, rates in sweep.items():
        assert set(rates) == set(toy.DENSITY_LR_GRID)
        assert all(len(gaps) == 4 for gaps in rates.values())
        best = min(rates, key=lambda lr: np.mean(rates[lr]))
        assert toy.DENSITY_LR[label] == best


def test_compare_flows_trains_each_flow_at_its_own_rate(monkeypatch):
    used = {}
    real_fit = toy.fit_flow

    def spy(flow, sample_batch, steps, *, lr):
        used[type(flow).__name__, getattr(flow, "mixings", None) is not None] = lr
        return real_fit(flow, sample_batch, steps, lr=lr)

    monkeypatch.setattr(toy, "fit_flow", spy)
    run = toy.compare_flows("moons", models=("i-ResNet", "Glow-like"), seeds=(1,), **CHEAP)
    assert run.lr == {label: toy.DENSITY_LR[label] for label in ("i-ResNet", "Glow-like")}
    assert sorted(used.values()) == sorted(run.lr.values())
    run = toy.compare_flows("moons", models=("i-ResNet",), seeds=(1,), lr=0.004, **CHEAP)
    assert run.lr == {"i-ResNet": 0.004}


def test_the_single_gaussian_gap_is_the_fitted_normal_s_nll():
    test = toy.data.toy2d("moons", 500, generator=torch.Generator().manual_seed(8))
    entropy = toy.data.toy2d_entropy("moons")
    ours = toy._gaussian_gap("moons", test, 7, entropy)
    fit = toy.data.toy2d("moons", 500, generator=torch.Generator().manual_seed(11))
    cov = torch.cov(fit.T, correction=0)
    normal = torch.distributions.MultivariateNormal(fit.mean(dim=0), cov)
    reference = -normal.log_prob(test).mean().item() - entropy
    assert ours == pytest.approx(reference, rel=1e-10)
    assert ours > 0.5  # the moons are far from a Gaussian


def test_paired_differences_are_taken_seed_by_seed(comparison):
    diffs = np.subtract(comparison.gap["RealNVP"], comparison.gap["Glow-like"])
    assert comparison.paired("RealNVP", "Glow-like") == pytest.approx(
        (diffs.mean(), diffs.min(), diffs.max())
    )
    assert len(comparison.baseline) == 2
    assert comparison.nonfinite == {"RealNVP": 0, "Glow-like": 0}


def test_the_mixing_docstring_is_clean_text():
    doc = flows.InvertibleLinear.__doc__
    assert not any(ord(c) < 32 and c != "\n" for c in doc)
    assert r"\bigl(" in doc and r"\rvert" in doc


def _made_by_hand(steps=100):
    """A comparison of three flows at two seeds, window 25, with round numbers."""
    falling = np.array([[2.2, 2.1, 1.9, 1.4], [2.0, 2.0, 1.9, 1.6]])  # mean 2.1 2.05 1.9 1.5
    flat = np.array([[1.9, 1.8, 1.8, 1.8], [1.9, 1.8, 1.8, 1.8]])
    return toy.FlowComparison(
        name="moons",
        seeds=(0, 1),
        flows={},
        entropy=1.0,
        nll={},
        gap={
            "i-ResNet": [0.75, 0.25],
            "i-ResNet (roulette)": [0.7, 0.32],
            "Glow-like": [0.5, 0.375],
        },
        curves={"i-ResNet": falling, "i-ResNet (roulette)": falling, "Glow-like": flat},
        seconds={},
        window=25,
        lr={},
        baseline=[1.0, 1.2],  # the line at 1.1 nats
        nonfinite={},
        steps=steps,
    )


def test_the_plateau_ends_at_the_first_window_below_the_line():
    made = _made_by_hand()
    # the i-ResNet's mean curve minus the entropy: 1.1, 1.05, 0.9, 0.5
    assert made.plateau("i-ResNet") == 75  # 0.9 < 1.1 - 0.1 in the third window
    assert made.plateau("i-ResNet", margin=0.5) == 100  # 0.5 < 0.6 in the fourth
    assert made.plateau("i-ResNet", margin=0.7) is None  # never 0.7 below
    # the Glow-like flow's: 0.9, 0.8, 0.8, 0.8
    assert made.plateau("Glow-like", margin=0) == 25  # 0.9 < 1.1 at once
    assert made.plateau("Glow-like", margin=0.25) == 50  # 0.8 < 0.85
    assert made.plateau("Glow-like", margin=0.3) is None  # 0.8 is not below 0.8


def test_the_last_fall_is_the_mean_curve_s_drop_over_the_last_steps():
    made = _made_by_hand()
    # the i-ResNet's mean curve: 2.1, 2.05, 1.9, 1.5
    assert made.last_fall("i-ResNet", steps=50) == pytest.approx(0.55)  # 2.05 - 1.5
    assert made.last_fall("i-ResNet", steps=25) == pytest.approx(0.4)
    assert made.last_fall("i-ResNet", steps=75) == pytest.approx(0.6)
    assert made.last_fall("Glow-like", steps=50) == pytest.approx(0.0)
    assert isinstance(made.last_fall("Glow-like", steps=25), float)


def test_the_paired_table_prints_each_pair_seed_by_seed():
    made = _made_by_hand()
    text = made.paired_table([("i-ResNet", "Glow-like"), ("i-ResNet (roulette)", "i-ResNet")])
    assert text == (
        "i-ResNet minus Glow-like, seed by seed: mean +0.06, range -0.12 to +0.25 nats\n"
        "i-ResNet (roulette) minus i-ResNet, seed by seed: mean +0.01, range -0.05 to +0.07 nats"
    )
    assert made.paired_table([]) == ""


def test_the_glue_texts_are_keyed_by_flow_and_density():
    made = _made_by_hand()
    texts = made.glue_texts([("i-ResNet", "Glow-like"), ("i-ResNet (roulette)", "i-ResNet")])
    assert texts == {
        "gap-iresnet-moons": "0.50 (0.25 to 0.75)",
        "gap-roulette-moons": "0.51 (0.32 to 0.70)",
        "gap-glow-moons": "0.44 (0.38 to 0.50)",
        "gap-base-moons": "1.10 (1.00 to 1.20)",
        "diff-iresnet-glow-moons": "+0.06 (-0.12 to +0.25)",
        "diff-roulette-iresnet-moons": "+0.01 (-0.05 to +0.07)",
        "entropy-moons": "1.000",
        "steps-moons": "100",
    }
    assert list(texts) == list(made.glue_texts([("i-ResNet", "Glow-like")]))[:4] + [
        "diff-iresnet-glow-moons",
        "diff-roulette-iresnet-moons",
        "entropy-moons",
        "steps-moons",
    ]
    assert list(made.glue_texts()) == [
        "gap-iresnet-moons",
        "gap-roulette-moons",
        "gap-glow-moons",
        "gap-base-moons",
        "entropy-moons",
        "steps-moons",
    ]
    # without its steps, a comparison gives the steps its curves cover: 4 windows of 25
    assert _made_by_hand(steps=None).glue_texts()["steps-moons"] == "100"


def test_a_comparison_glues_what_the_density_pages_cite(comparison):
    texts = comparison.glue_texts([("RealNVP", "Glow-like")])
    assert comparison.steps == 4
    mean, low, high = comparison.stats("RealNVP")
    assert texts["gap-realnvp-checkerboard"] == f"{mean:.2f} ({low:.2f} to {high:.2f})"
    mean, low, high = comparison.paired("RealNVP", "Glow-like")
    assert texts["diff-realnvp-glow-checkerboard"] == f"{mean:+.2f} ({low:+.2f} to {high:+.2f})"
    assert texts["entropy-checkerboard"] == f"{math.log(8):.3f}"
    assert texts["steps-checkerboard"] == "4"
    assert comparison.paired_table([("RealNVP", "Glow-like")]).startswith(
        "RealNVP minus Glow-like, seed by seed: mean "
    )
    curve = comparison.curves["Glow-like"].mean(axis=0)
    assert comparison.last_fall("Glow-like", steps=2) == pytest.approx(curve[0] - curve[1])
    plateau = comparison.plateau("Glow-like", margin=0)
    assert plateau is None or plateau in (2, 4)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda r: r.plateau(3),
            TypeError,
            "label must be a str naming a flow of the comparison, got int",
        ),
        (
            lambda r: r.plateau("RealNVP"),
            ValueError,
            r"label must be one of \('i-ResNet', .*got 'RealNVP'",
        ),
        (
            lambda r: r.plateau("Glow-like", margin="0.1"),
            TypeError,
            "margin must be a real number, got str",
        ),
        (
            lambda r: r.plateau("Glow-like", margin=math.nan),
            ValueError,
            "margin must be a number, got nan",
        ),
        (
            lambda r: r.plateau("Glow-like", margin=-0.1),
            ValueError,
            r"margin must be in \[0, inf\], got -0.1",
        ),
        (
            lambda r: r.plateau("Glow-like", margin=math.inf),
            ValueError,
            "margin must be finite, got inf",
        ),
        (
            lambda r: r.last_fall(None),
            TypeError,
            "label must be a str naming a flow of the comparison, got NoneType",
        ),
        (
            lambda r: r.last_fall("Glow-like", steps=2.5),
            TypeError,
            "steps must be an int, got float",
        ),
        (
            lambda r: r.last_fall("Glow-like", steps=0),
            ValueError,
            r"steps must be in \[1, inf\], got 0",
        ),
        (
            lambda r: r.last_fall("Glow-like", steps=30),
            ValueError,
            "steps must be a multiple of window = 25, got 30",
        ),
        (
            lambda r: r.last_fall("Glow-like", steps=100),
            ValueError,
            "steps must be below the curve's 100 steps, got 100",
        ),
        (
            lambda r: r.paired_table("i-ResNet"),
            TypeError,
            "pairs must be a list of .* tuples, got str",
        ),
        (
            lambda r: r.paired_table([("i-ResNet",)]),
            TypeError,
            r"pairs must hold \(label, other\) tuples, got \('i-ResNet',\)",
        ),
        (
            lambda r: r.paired_table([("i-ResNet", "i-ResNet")]),
            ValueError,
            "two different flows, got",
        ),
        (
            lambda r: r.glue_texts([("i-ResNet", "MAF")]),
            ValueError,
            "each label in pairs must be one of .* got 'MAF'",
        ),
        (
            lambda r: r.glue_texts([(1, "i-ResNet")]),
            TypeError,
            "each label in pairs must be a str .* got int",
        ),
        (lambda r: r.glue_texts(None), TypeError, "pairs must be a list .* got NoneType"),
    ],
)
def test_the_page_methods_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(_made_by_hand())
