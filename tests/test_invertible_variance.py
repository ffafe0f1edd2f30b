"""The estimators' variance (nnbook.invertible): Hutchinson's variance, the roulette's
variance, and the roulette-weighted Neumann gradient, in float64 against independent
references (Monte Carlo, closed forms, full Jacobians, torch autograd)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from nnbook.invertible import (  # noqa: E402
    IResNetFlow,
    exact_logdet,
    hutchinson_variance,
    neumann_gradient_surrogate,
    roulette_from_traces,
    roulette_neumann_logdet,
    roulette_variance,
    trace_terms,
)
from nnbook.plot.invertible_variance import (  # noqa: E402
    draw_gradient_bias,
    draw_running_variance,
)


@pytest.fixture(autouse=True)
def float64():
    """Every test here in float64, without changing the default for other modules."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


class _Block(torch.nn.Module):
    """x + W2 tanh(W1 x) with |W1|_2 |W2|_2 = L: a nonlinear block with Lip <= L."""

    def __init__(self, L=0.9, d=2, hidden=2, seed=0):
        super().__init__()
        gen = _gen(seed)
        Q = torch.linalg.qr(torch.randn(hidden, d, generator=gen))[0]
        M = torch.randn(d, hidden, generator=gen)
        self.g = torch.nn.Sequential(
            torch.nn.Linear(d, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, d)
        )
        with torch.no_grad():
            self.g[0].weight.copy_(math.sqrt(L) * Q)
            self.g[2].weight.copy_(math.sqrt(L) * M / torch.linalg.matrix_norm(M, 2))
            self.g[0].bias.zero_()

    def forward(self, x):
        return x + self.g(x)


def _weights(block):
    return [p for n, p in block.g.named_parameters() if "weight" in n]


def _flat(tensors):
    return torch.cat([t.flatten() for t in tensors])


# --- Hutchinson's variance ---------------------------------------------------


def test_hutchinson_variance_is_the_closed_form():
    A = torch.randn(5, 5, generator=_gen())
    gauss = (A**2).sum() + torch.trace(A @ A)
    torch.testing.assert_close(hutchinson_variance(A), gauss)
    signs = gauss - 2 * (A.diagonal() ** 2).sum()
    torch.testing.assert_close(hutchinson_variance(A, "rademacher"), signs)
    S = (A + A.T) / 2  # for a symmetric matrix, 2 |S|_F^2
    torch.testing.assert_close(hutchinson_variance(S), 2 * (S**2).sum())


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_variance_matches_a_monte_carlo(probe):
    gen = _gen(1)
    A = torch.randn(4, 4, generator=gen) + 2 * torch.triu(torch.ones(4, 4), 1)
    n = 400_000
    if probe == "gaussian":
        v = torch.randn(n, 4, generator=gen)
    else:
        v = (torch.randint(0, 2, (n, 4), generator=gen) * 2 - 1).double()
    samples = ((v @ A.T) * v).sum(dim=1)
    assert abs(samples.mean() - torch.trace(A)) < 5 * (samples.var() / n) ** 0.5
    assert samples.var().item() == pytest.approx(hutchinson_variance(A, probe).item(), rel=0.03)


def test_hutchinson_variance_takes_batches():
    A = torch.randn(3, 4, 4, generator=_gen())
    batch = hutchinson_variance(A)
    assert batch.shape == (3,)
    torch.testing.assert_close(batch[1], hutchinson_variance(A[1]))


@pytest.mark.parametrize(
    ("A", "probe", "error", "message"),
    [
        ([[1.0]], "gaussian", TypeError, r"A must be a torch.Tensor, got list"),
        (torch.ones(2, 3), "gaussian", ValueError, r"A must have shape"),
        (torch.full((2, 2), math.nan), "gaussian", ValueError, r"A .*NaN"),
        (torch.ones(2, 2), "uniform", ValueError, r"probe must be one of"),
    ],
)
def test_hutchinson_variance_refuses(A, probe, error, message):
    with pytest.raises(error, match=message):
        hutchinson_variance(A, probe)


# --- the roulette's variance -------------------------------------------------


def _enumerated_variance(deltas, p, m):
    """Var(Z) by summing over every value of n, with P(n >= K) put on n = K."""
    K = len(deltas)
    q = [(1 - p) ** max(0, k - m) for k in range(1, K + 1)]
    partial = [sum(deltas[j] / q[j] for j in range(n)) for n in range(K + 1)]
    probs = [0.0] * (K + 1)
    for n in range(K + 1):
        if n < m:
            continue
        probs[n] = p * (1 - p) ** (n - m) if n < K else (1 - p) ** max(0, K - m)
    mean = sum(pr * z for pr, z in zip(probs, partial, strict=True))
    return sum(pr * z**2 for pr, z in zip(probs, partial, strict=True)) - mean**2


@pytest.mark.parametrize(("p", "m"), [(0.5, 2), (0.3, 0), (0.8, 1)])
def test_roulette_variance_by_enumeration(p, m):
    deltas = torch.randn(12, generator=_gen(2)) * 0.7 ** torch.arange(12)
    expected = _enumerated_variance(deltas.tolist(), p, m)
    assert roulette_variance(deltas, p=p, exact_terms=m).item() == pytest.approx(
        expected, rel=1e-10, abs=1e-14
    )


def test_roulette_variance_is_the_double_sum_and_takes_batches():
    deltas = torch.randn(8, 3, generator=_gen(3))
    q = (1 - 0.4) ** torch.clamp(torch.arange(1, 9) - 2, min=0)
    weight = (
        1 / q[torch.minimum(*torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij"))] - 1
    )
    double_sum = torch.einsum("jb,kb,jk->b", deltas, deltas, weight)
    torch.testing.assert_close(roulette_variance(deltas, p=0.4), double_sum)


def test_roulette_variance_of_a_geometric_series_is_the_closed_form():
    r, p = 0.5, 0.5  # r^2 / (1 - p) = 1/2: finite
    deltas = r ** torch.arange(1, 200, dtype=torch.float64)
    a = r**2 / (1 - p)
    closed = p / (1 - r) ** 2 * a / (1 - a)  # p sum_k T_k^2 / (1-p)^k, T_k = r^k/(1-r)
    assert roulette_variance(deltas, p=p, exact_terms=0).item() == pytest.approx(closed)


def test_roulette_variance_matches_a_monte_carlo_of_the_estimator():
    gen = _gen(4)
    deltas = torch.randn(40, generator=gen) * 0.6 ** torch.arange(1, 41)
    k = torch.arange(1, 41, dtype=torch.float64)
    traces = deltas * k * (-1.0) ** (k + 1)  # the series' coefficients undone
    u = torch.rand(100_000, generator=gen)
    n_extra = (torch.log(u) / math.log(0.5)).floor().long()  # P(N >= j) = 2^-j
    n_extra = n_extra.clamp(max=38)  # terms past K = 40 count as zero
    values = torch.stack([roulette_from_traces(traces, j, p=0.5) for j in range(39)])[n_extra]
    expected = roulette_variance(deltas, p=0.5)
    assert values.var().item() == pytest.approx(expected.item(), rel=0.05)


def test_roulette_variance_grows_without_bound_past_the_threshold():
    for rho, finite in [(0.6, True), (0.8, False)]:  # threshold 1/sqrt(2) at p = 1/2
        k = torch.arange(1, 401, dtype=torch.float64)
        deltas = -(rho**k) / k
        short, long = (roulette_variance(deltas[:K]) for K in (100, 400))
        assert (long / short < 1.01) == finite


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"deltas": [1.0, 2.0]}, TypeError, r"deltas must be a torch.Tensor, got list"),
        ({"deltas": torch.ones(3), "p": 1.0}, ValueError, r"p must be"),
        ({"deltas": torch.ones(3), "exact_terms": -1}, ValueError, r"exact_terms"),
        ({"deltas": torch.tensor([1.0, math.nan])}, ValueError, r"deltas .*NaN"),
    ],
)
def test_roulette_variance_refuses(kwargs, error, message):
    with pytest.raises(error, match=message):
        roulette_variance(**kwargs)


# --- the roulette-weighted Neumann gradient ------------------------------------


def test_the_value_is_the_roulette_estimate():
    block = _Block()
    x = 0.3 * torch.randn(5, 2, generator=_gen(5))
    v = torch.randn(5, 2, generator=_gen(6))
    y, logdet = roulette_neumann_logdet(block, x, v=v, n_extra=3, p=0.4)
    torch.testing.assert_close(y, block(x))
    traces = torch.stack(trace_terms(block.g, x, v, 5))
    torch.testing.assert_close(
        logdet.detach(), roulette_from_traces(traces, 3, p=0.4, exact_terms=2)
    )


def test_the_gradient_is_the_weighted_neumann_series_of_the_full_jacobian():
    block = _Block()
    x = 0.3 * torch.randn(1, 2, generator=_gen(7))
    v = torch.randn(1, 2, generator=_gen(8))
    p, m, n = 0.3, 2, 5
    ours = torch.autograd.grad(
        roulette_neumann_logdet(block, x, v=v, n_extra=n - m, p=p)[1].sum(),
        _weights(block),
    )
    J = torch.autograd.functional.jacobian(lambda r: block.g(r)[0], x, create_graph=True)[:, 0]
    q = [(1 - p) ** max(0, k - m) for k in range(1, n + 1)]
    w = sum((-1) ** k / q[k] * v[0] @ torch.linalg.matrix_power(J.detach(), k) for k in range(n))
    reference = torch.autograd.grad(w @ J @ v[0], _weights(block))
    torch.testing.assert_close(_flat(ours), _flat(reference))


def test_the_roulette_gradient_is_unbiased_and_the_truncated_one_is_not():
    block = _Block(L=0.9)
    x = torch.tensor([[0.05, -0.1]])
    exact = _flat(torch.autograd.grad(exact_logdet(block.g, x).sum(), _weights(block)))
    gen, draws = _gen(9), []
    for _ in range(3000):
        logdet = roulette_neumann_logdet(block, x, p=0.3, generator=gen)[1]
        draws.append(_flat(torch.autograd.grad(logdet.sum(), _weights(block))))
    draws = torch.stack(draws)
    se = draws.std(dim=0) / len(draws) ** 0.5
    assert ((draws.mean(dim=0) - exact).abs() / se).max() < 4.5
    basis = torch.eye(2).unsqueeze(1)  # e_1, e_2: the expectation over v exactly

    def truncated(n):
        return sum(
            _flat(
                torch.autograd.grad(
                    neumann_gradient_surrogate(block.g, x, n, v=e).sum(), _weights(block)
                )
            )
            for e in basis
        )

    assert ((truncated(2) - exact).abs() / se).max() > 4  # measured 4.6
    torch.testing.assert_close(truncated(300), exact)


@pytest.mark.parametrize("p, m", [(0.3, 2), (0.5, 1)])
def test_the_roulette_is_unbiased_exactly_by_summing_over_the_draw(p, m):
    # E over N ~ Geometric(p) and v: sum P(N = j) over j, and the probes e_1, e_2
    # (E[v v^T] = I); no Monte Carlo, so the agreement is to rounding
    block = _Block(L=0.8)
    x = torch.tensor([[0.05, -0.1]]).expand(2, 2)
    v = torch.eye(2)
    exact = exact_logdet(block.g, x[:1])
    exact_grad = _flat(torch.autograd.grad(exact.sum(), _weights(block)))
    value, grad = 0.0, 0.0
    for j in range(220):  # the neglected tail falls like rho^220 <= 0.8^220
        weight = p * (1 - p) ** j
        logdet = roulette_neumann_logdet(block, x, p=p, exact_terms=m, v=v, n_extra=j)[1]
        value = value + weight * logdet.sum().detach()
        grad = grad + weight * _flat(torch.autograd.grad(logdet.sum(), _weights(block)))
    torch.testing.assert_close(value, exact.sum().detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, exact_grad, rtol=1e-11, atol=1e-12)


def test_the_estimator_trains_an_iresnet_flow():
    torch.manual_seed(0)
    gen = _gen(10)
    flow = IResNetFlow(
        2,
        n_blocks=2,
        hidden=8,
        actnorm=True,
        logdet=lambda b, z: roulette_neumann_logdet(b, z, generator=gen),
    )
    x = torch.randn(16, 2, generator=gen)
    loss = -flow.log_prob(x).mean()
    loss.backward()
    assert all(p.grad is not None for p in flow.parameters() if p.requires_grad)
    exact = IResNetFlow(2, n_blocks=2, hidden=8, actnorm=True)
    exact.load_state_dict(flow.state_dict())
    flow.eval(), exact.eval()
    assert torch.isfinite(flow.log_prob(x)).all()


@pytest.mark.parametrize(
    ("block", "kwargs", "error", "message"),
    [
        (torch.nn.Linear(2, 2), {}, TypeError, r"block must have a callable branch g"),
        (None, {"exact_terms": 0}, ValueError, r"exact_terms"),
        (None, {"p": 0.0}, ValueError, r"\bp must be"),
        (None, {"n_extra": -1}, ValueError, r"n_extra"),
        (None, {"probe": "uniform"}, ValueError, r"probe must be one of"),
        (None, {"z": torch.tensor([[math.nan, 0.0]])}, ValueError, r"\bz\b.*NaN"),
    ],
)
def test_roulette_neumann_logdet_refuses(block, kwargs, error, message):
    block = _Block() if block is None else block
    call = {"z": torch.zeros(1, 2), **kwargs}
    with pytest.raises(error, match=message):
        roulette_neumann_logdet(block, **call)


# --- figures ---------------------------------------------------------------------


def test_draw_running_variance():
    draws = {"a": torch.randn(1000, generator=_gen()), "b": torch.rand(50, generator=_gen())}
    ax = draw_running_variance(draws, {"a": 1.0})
    assert len(ax.get_lines()) == 3
    plt.close("all")


@pytest.mark.parametrize(
    ("samples", "theory", "error", "message"),
    [
        ([1.0], None, TypeError, r"samples must be a dict"),
        ({}, None, ValueError, r"samples must hold at least one"),
        ({"a": [1.0] * 20}, None, TypeError, r"samples\['a'\] must be a 1-D tensor"),
        ({"a": torch.ones(5)}, None, ValueError, r"at least 10 draws"),
        ({"a": torch.ones(20)}, {"b": 1.0}, ValueError, r"theory must use labels"),
        ({"a": torch.ones(20)}, [1.0], TypeError, r"theory must be a dict"),
    ],
)
def test_draw_running_variance_refuses(samples, theory, error, message):
    with pytest.raises(error, match=message):
        draw_running_variance(samples, theory)


def test_draw_gradient_bias():
    ax = draw_gradient_bias([2, 5, 10], {"a": [0.1, 0.01, 0.001]}, noise=0.005)
    assert len(ax.get_lines()) == 2
    with pytest.raises(TypeError, match=r"bias must be a dict"):
        draw_gradient_bias([2], [0.1])
    with pytest.raises(ValueError, match=r"bias\['a'\] must have one value"):
        draw_gradient_bias([2, 5], {"a": [0.1]})
    ax = draw_gradient_bias([2, 5], {"a": [0.1, 0.01]}, points={"b": (4, 0.05)})
    assert len(ax.get_lines()) == 2
    assert ax.get_lines()[1].get_xydata().tolist() == [[4.0, 0.05]]
    with pytest.raises(TypeError, match=r"points must be a dict"):
        draw_gradient_bias([2], {"a": [0.1]}, points=[(4, 0.05)])
    with pytest.raises(ValueError, match=r"points\['b'\] must be a pair"):
        draw_gradient_bias([2], {"a": [0.1]}, points={"b": (4, 0.05, 1)})
    plt.close("all")
