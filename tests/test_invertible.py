"""nnbook.invertible: spectral norms against the SVD, inverses, log-det estimators against slogdet, flows."""

import math

import pytest
import torch
from helpers import randn

from nnbook import data
from nnbook.invertible import (
    ActNorm,
    AffineCouplingFlow,
    InverseNotConverged,
    InvertibleResidualBlock,
    IResNetFlow,
    LipSwish,
    SpectralNormConv2d,
    SpectralNormLinear,
    fit_flow,
    log_density_grid,
    mlp_block,
    power_iteration,
    toy,
)
from nnbook.invertible import _logdet as ld
from nnbook.invertible._classifier import IResNetClassifier

pytestmark = pytest.mark.invertible


@pytest.fixture(autouse=True)
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(before)


def test_power_iteration_converges_to_the_largest_singular_value():
    W = torch.randn(6, 4)
    sigma, _, _ = power_iteration(
        W, torch.nn.functional.normalize(torch.randn(6), dim=0), n_iter=200
    )
    assert sigma.item() == pytest.approx(torch.linalg.matrix_norm(W, 2).item(), rel=1e-10)


@pytest.mark.parametrize("coeff", [0.5, 0.9, 0.99])
def test_spectral_norm_bounds_the_layer(coeff):
    layer = SpectralNormLinear(5, 7, coeff=coeff, n_power_iter=5)
    for _ in range(40):
        layer(torch.randn(3, 5))
    assert torch.linalg.matrix_norm(layer.normalized_weight().detach(), 2).item() <= coeff + 1e-4
    conv = SpectralNormConv2d(2, 3, 3, (5, 5), coeff=coeff, n_power_iter=5)
    for _ in range(100):
        conv(torch.randn(1, 2, 5, 5))
    w = conv.normalized_weight().detach()
    columns = [
        torch.nn.functional.conv2d(e.reshape(1, 2, 5, 5), w, padding=1).flatten()
        for e in torch.eye(50)
    ]
    assert torch.linalg.matrix_norm(torch.stack(columns, dim=1), 2).item() <= coeff + 1e-4


def test_lipswish_is_one_lipschitz():
    act = LipSwish()
    for beta in (0.1, 1.0, 10.0, 100.0):
        with torch.no_grad():
            act.raw_beta.fill_(math.log(math.expm1(beta)))
        x = torch.linspace(-20, 20, 20001, requires_grad=True)
        (slope,) = torch.autograd.grad(act(x).sum(), x)
        assert slope.abs().max().item() <= 1.0


def _block(coeff=0.9):
    g = mlp_block(3, 16, coeff=coeff)
    for _ in range(50):
        g(torch.randn(8, 3))
    return InvertibleResidualBlock(g).eval()


def test_inverse_of_forward_is_identity():
    block = _block()
    x = torch.randn(10, 3)
    assert (block.inverse(block(x).detach(), tol=1e-12) - x).abs().max().item() < 1e-8


def test_non_converging_inverse_reports_its_residual():
    block = _block(0.99)
    y = block(torch.randn(4, 3)).detach()
    message = r"inverse did not converge in 2 iterations: residual \|x \+ g\(x\) - y\| = "
    with pytest.warns(RuntimeWarning, match=message):
        block.inverse(y, max_iter=2)
    with pytest.raises(InverseNotConverged, match=r"residual"):
        block.inverse(y, max_iter=2, strict=True)


def test_power_series_matches_slogdet_within_the_truncation_bound():
    block = _block(0.8)
    x = torch.randn(4, 3)
    exact = ld.exact_logdet(block.g, x).detach()
    J = torch.stack(
        [torch.autograd.functional.jacobian(lambda v: block.g(v[None])[0], row) for row in x]
    )
    L = torch.linalg.matrix_norm(J, 2).max().item()
    for n in (1, 2, 5, 10):
        series = sum((-1) ** (k + 1) / k * torch.linalg.matrix_power(J, k).diagonal(dim1=1, dim2=2).sum(dim=1)
                     for k in range(1, n + 1))  # fmt: skip
        bound = 3 * sum(L**k / k for k in range(n + 1, 200))  # |tr(J^k)| <= d L^k, d = 3
        assert (series - exact).abs().max().item() <= bound + 1e-12


def test_hutchinson_and_roulette_are_unbiased():
    block = _block(0.9)
    x = torch.randn(2, 3)
    exact = ld.exact_logdet(block.g, x).detach()
    g = torch.Generator().manual_seed(1)
    draws = torch.stack(
        [ld.russian_roulette_logdet(block.g, x, generator=g)[0].detach() for _ in range(3000)]
    )
    standard_error = draws.std(dim=0) / math.sqrt(len(draws))
    assert ((draws.mean(dim=0) - exact).abs() <= 3 * standard_error).all()
    series = ld.power_series_logdet(block.g, x, n_terms=30, n_samples=3000, generator=g).detach()
    assert (series - exact).abs().max().item() < 0.02


def test_neumann_surrogate_gradient_matches_the_exact_gradient():
    block = _block(0.7)
    x = torch.randn(1, 3)
    params = [
        p for name, p in block.g.named_parameters() if "weight" in name
    ]  # the last bias does not enter J
    exact = torch.autograd.grad(ld.exact_logdet(block.g, x).sum(), params)
    g = torch.Generator().manual_seed(2)
    total = [torch.zeros_like(p) for p in params]
    n = 2000
    for _ in range(n):
        grads = torch.autograd.grad(
            ld.neumann_gradient_surrogate(block.g, x, n_terms=30, generator=g).sum(), params
        )
        total = [t + gr / n for t, gr in zip(total, grads, strict=True)]
    errors = [
        (t - e).abs().max().item() / (e.abs().max().item() + 1e-3)
        for t, e in zip(total, exact, strict=True)
    ]
    assert max(errors) < 0.15


def _actnorm_flow():
    model = IResNetFlow(2, n_blocks=2, hidden=16, actnorm=True)
    model.forward_and_logdet(
        torch.randn(64, 2) * torch.tensor([2.0, 0.5]) + 1
    )  # the first batch sets the ActNorms
    return model


@pytest.mark.parametrize(
    "flow",
    [
        lambda: IResNetFlow(2, n_blocks=2, hidden=16),
        _actnorm_flow,
        lambda: AffineCouplingFlow(2, 4, 16),
    ],
)
def test_flow_density_integrates_to_one_and_inverts(flow):
    model = flow().eval()
    grid = torch.linspace(-7, 7, 281)
    X, Y = torch.meshgrid(grid, grid, indexing="ij")
    points = torch.stack([X.flatten(), Y.flatten()], dim=1)
    mass = model.log_prob(points).detach().exp().sum().item() * (14 / 280) ** 2
    assert mass == pytest.approx(1.0, abs=0.02)
    x = model.sample(6, generator=torch.Generator().manual_seed(0))
    z, _ = model.forward_and_logdet(x)
    assert (model.inverse(z.detach()) - x).abs().max().item() < 1e-7


@pytest.mark.parametrize("dim", [2, 3])  # the closed-form 2 x 2 determinant and slogdet
def test_flow_log_prob_matches_an_exact_jacobian(dim):
    model = IResNetFlow(dim, n_blocks=2, hidden=16, actnorm=True)
    model.forward_and_logdet(
        torch.randn(32, dim) * 3
    )  # initializes the ActNorms away from the identity
    model.eval()
    x = torch.randn(3, dim)

    def f(v):
        z, _ = model.forward_and_logdet(v[None])
        return z[0]

    expected = [torch.distributions.MultivariateNormal(torch.zeros(dim), torch.eye(dim)).log_prob(f(row)).item()
                + torch.linalg.slogdet(torch.autograd.functional.jacobian(f, row))[1].item() for row in x]  # fmt: skip
    torch.testing.assert_close(model.log_prob(x).detach(), torch.tensor(expected))


def test_forward_and_jacobian_matches_autograd():
    block = InvertibleResidualBlock(mlp_block(3, 8, layers=3)).eval()
    x = torch.randn(4, 3)
    y, jac = block.forward_and_jacobian(x)
    torch.testing.assert_close(y, block(x))
    for row, J in zip(x, jac, strict=True):
        torch.testing.assert_close(
            J, torch.autograd.functional.jacobian(lambda v: block(v[None])[0], row)
        )
    act = LipSwish()
    t = torch.linspace(-6, 6, 50, requires_grad=True)
    value, slope = act.value_and_derivative(t)
    torch.testing.assert_close(value, act(t))
    torch.testing.assert_close(slope, torch.autograd.grad(act(t).sum(), t)[0])
    tanh_block = InvertibleResidualBlock(
        torch.nn.Sequential(SpectralNormLinear(2, 2), torch.nn.Tanh())
    )
    with pytest.raises(TypeError, match="got Tanh"):
        tanh_block.forward_and_jacobian(x[:, :2])


def test_actnorm_standardizes_its_first_batch_and_inverts():
    norm = ActNorm(2)
    x = torch.randn(500, 2) * torch.tensor([3.0, 0.2]) + torch.tensor([1.0, -2.0])
    y, logdet = norm(x)
    torch.testing.assert_close(y.mean(dim=0), torch.zeros(2), atol=1e-8, rtol=0)
    torch.testing.assert_close(y.std(dim=0), torch.ones(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(logdet, -torch.log(x.std(dim=0) + 1e-6).sum().expand(500))
    torch.testing.assert_close(norm.inverse(y), x)


def test_fit_flow_lowers_the_nll_and_the_grid_matches_log_prob():
    flow = AffineCouplingFlow(2, 4, 16)
    g = torch.Generator().manual_seed(0)
    losses = fit_flow(flow, lambda: data.toy2d("8gaussians", 128, generator=g), 80, lr=1e-2)
    assert len(losses) == 80 and not flow.training
    assert losses[-10:].mean() < losses[:10].mean() - 0.5
    xs, logp = log_density_grid(flow.log_prob, lim=2.0, n=5)
    assert logp.shape == (5, 5)
    torch.testing.assert_close(
        logp[1, 3], flow.log_prob(torch.stack([xs[3], xs[1]])[None])[0].detach()
    )
    with pytest.raises(ValueError, match=r"steps must be in \[1, inf\], got 0"):
        fit_flow(flow, lambda: None, 0)
    with pytest.raises(TypeError, match=r"steps must be an int, got float"):
        fit_flow(flow, lambda: None, 10.0)


def test_toy_experiment_runs_on_flows_of_equal_size():
    torch.set_default_dtype(torch.float32)
    flows = toy.make_toy_flows()
    assert torch.get_default_dtype() == torch.float32  # restored after drawing in float64
    assert all(p.dtype == torch.float64 for f in flows.values() for p in f.parameters())
    sizes = [sum(p.numel() for p in f.parameters()) for f in flows.values()]
    assert abs(sizes[0] / sizes[1] - 1) < 0.03
    result = toy.run_toy("checkerboard", steps=3, batch_size=16, n_test=50, seed=7)
    assert result.seed == 7 and set(result.seconds) == {"i-ResNet", "coupling"}
    assert set(result.gap) == {"i-ResNet", "coupling"} and result.entropy == math.log(8)
    assert all(result.gap[k] == pytest.approx(result.nll[k] - math.log(8)) for k in result.gap)
    assert min(result.gap.values()) > 0  # equation eq-ir-nll-bound: the gap is a KL divergence


def test_iresnet_flow_passes_its_power_iterations_to_every_layer():
    flow = IResNetFlow(2, n_blocks=2, layers=3, n_power_iter=3)
    layers = [m for m in flow.modules() if isinstance(m, SpectralNormLinear)]
    assert len(layers) == 6 and all(m.n_power_iter == 3 for m in layers)


def test_classifier_features_invert_and_plain_resnet_does_not():
    net = IResNetClassifier((4, 4), 3, 0.9, channels=4, hidden=8, n_blocks=2).eval()
    x = torch.rand(5, 16)
    assert net(x).shape == (5, 3)
    with torch.no_grad():
        back = net.invert_features(net.features(x), tol=1e-12)
    torch.testing.assert_close(back, x.reshape(5, 1, 4, 4), atol=1e-10, rtol=0)
    plain = IResNetClassifier((4, 4), 3, None, channels=4, hidden=8, n_blocks=2)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in net.parameters())
    with pytest.raises(TypeError, match="no guaranteed inverse"):
        plain.invert_features(torch.zeros(1, 4, 4, 4))
    with pytest.raises(ValueError, match=r"coeff must be in \(0, 1\), got 1.0"):
        IResNetClassifier((4, 4), 3, 1.0)
    with pytest.raises(ValueError, match=r"channels must be >= in_channels = 3, got 2"):
        IResNetClassifier((4, 4), 3, 0.9, in_channels=3, channels=2)


def test_toy_densities():
    for name in data.TOY2D:
        x = data.toy2d(name, 500, generator=torch.Generator().manual_seed(0))
        assert x.shape == (500, 2) and torch.isfinite(data.toy2d_log_density(name, x)).all()
    assert data.toy2d_entropy("checkerboard") == math.log(8)
    analytic = math.log(8) + math.log(2 * math.pi * math.e * 0.125)  # components 6 sd apart
    assert data.toy2d_entropy("8gaussians", n=4000) == pytest.approx(analytic, abs=0.05)


def test_bad_input():
    with pytest.raises(ValueError, match=r"coeff must be in \(0, 1\), got 1.5"):
        SpectralNormLinear(2, 2, coeff=1.5)
    with pytest.raises(ValueError, match=r"coeff must be in \(0, 1\), got 0"):
        mlp_block(2, 4, coeff=0)
    with pytest.raises(ValueError, match=r"x has 3 features, the layer expects 2"):
        SpectralNormLinear(2, 2)(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(N, D=2\), got \(4, 3\)"):
        IResNetFlow(2, n_blocks=1).log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x contains NaN or inf"):
        IResNetFlow(2, n_blocks=1).log_prob(torch.tensor([[0.0, math.nan]]))
    with pytest.raises(ValueError, match=r"y contains NaN or inf"):
        _block().inverse(torch.tensor([[math.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"name must be one of"):
        data.toy2d("swissroll", 10)
    with pytest.raises(ValueError, match=r"lipschitz must be in \(0, 1\), got 1.2"):
        InvertibleResidualBlock(torch.nn.Linear(2, 2), lipschitz=1.2)


def test_the_series_refuses_bad_term_counts_and_expanding_maps():
    from nnbook.invertible import _logdet as ld

    x = randn(4, 2)
    for n in (0, -1):
        with pytest.raises(ValueError, match=rf"n_terms must be in \[1, inf\], got {n}"):
            ld.power_series_logdet(lambda z: 0.5 * torch.tanh(z), x, n)
    with pytest.raises(ValueError, match=r"g must have Lip\(g\) < 1 .* factor of 3"):
        ld.power_series_logdet(lambda z: 3 * z, x, 5)
    with pytest.raises(ValueError, match=r"g must have Lip\(g\) < 1"):
        ld.russian_roulette_logdet(lambda z: 3 * z, x, generator=torch.Generator())
    with pytest.raises(TypeError, match=r"g must be callable, got int"):
        ld.power_series_logdet(3, x, 5)
