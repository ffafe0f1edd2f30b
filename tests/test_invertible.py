"""nnbook.invertible: spectral norms against the SVD, inverses, log-det estimators against slogdet, flows."""

import math

import pytest
import torch

from nnbook import data
from nnbook.invertible import (
    AffineCouplingFlow,
    InverseNotConverged,
    InvertibleResidualBlock,
    IResNetFlow,
    LipSwish,
    SpectralNormConv2d,
    SpectralNormLinear,
    mlp_block,
    power_iteration,
)
from nnbook.invertible import logdet as ld

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
    sigma, _, _ = power_iteration(W, torch.nn.functional.normalize(torch.randn(6), dim=0), n_iter=200)
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
    columns = [torch.nn.functional.conv2d(e.reshape(1, 2, 5, 5), w, padding=1).flatten() for e in torch.eye(50)]
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
    J = torch.stack([torch.autograd.functional.jacobian(lambda v: block.g(v[None])[0], row) for row in x])
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
    draws = torch.stack([ld.russian_roulette_logdet(block.g, x, generator=g)[0].detach() for _ in range(3000)])
    standard_error = draws.std(dim=0) / math.sqrt(len(draws))
    assert ((draws.mean(dim=0) - exact).abs() <= 3 * standard_error).all()
    series = ld.power_series_logdet(block.g, x, n_terms=30, n_samples=3000, generator=g).detach()
    assert (series - exact).abs().max().item() < 0.02


def test_neumann_surrogate_gradient_matches_the_exact_gradient():
    block = _block(0.7)
    x = torch.randn(1, 3)
    params = [p for name, p in block.g.named_parameters() if "weight" in name]  # the last bias does not enter J
    exact = torch.autograd.grad(ld.exact_logdet(block.g, x).sum(), params)
    g = torch.Generator().manual_seed(2)
    total = [torch.zeros_like(p) for p in params]
    n = 2000
    for _ in range(n):
        grads = torch.autograd.grad(ld.neumann_gradient_surrogate(block.g, x, n_terms=30, generator=g).sum(), params)
        total = [t + gr / n for t, gr in zip(total, grads, strict=True)]
    errors = [(t - e).abs().max().item() / (e.abs().max().item() + 1e-3) for t, e in zip(total, exact, strict=True)]
    assert max(errors) < 0.15


@pytest.mark.parametrize("flow", [lambda: IResNetFlow(2, n_blocks=2, hidden=16), lambda: AffineCouplingFlow(2, 4, 16)])
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


def test_flow_log_prob_matches_an_exact_jacobian():
    model = IResNetFlow(2, n_blocks=2, hidden=16).eval()
    x = torch.randn(3, 2)

    def f(v):
        z, _ = model.forward_and_logdet(v[None])
        return z[0]

    expected = [torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)).log_prob(f(row)).item()
                + torch.linalg.slogdet(torch.autograd.functional.jacobian(f, row))[1].item() for row in x]  # fmt: skip
    torch.testing.assert_close(model.log_prob(x).detach(), torch.tensor(expected))


def test_toy_densities():
    for name in data.TOY2D:
        x = data.toy2d(name, 500, generator=torch.Generator().manual_seed(0))
        assert x.shape == (500, 2) and torch.isfinite(data.toy2d_log_density(name, x)).all()
    assert data.toy2d_entropy("checkerboard") == math.log(8)
    analytic = math.log(8) + math.log(2 * math.pi * math.e * 0.01)  # well-separated components
    assert data.toy2d_entropy("8gaussians", n=4000) == pytest.approx(analytic, abs=0.05)


def test_bad_input():
    with pytest.raises(ValueError, match=r"coeff must be in \(0, 1\), got 1.5"):
        SpectralNormLinear(2, 2, coeff=1.5)
    with pytest.raises(ValueError, match=r"coeff must be in \(0, 1\), got 0"):
        mlp_block(2, 4, coeff=0)
    with pytest.raises(ValueError, match=r"x has 3 features, the layer expects 2"):
        SpectralNormLinear(2, 2)(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got \(4, 3\)"):
        IResNetFlow(2, n_blocks=1).log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x contains NaN or inf"):
        IResNetFlow(2, n_blocks=1).log_prob(torch.tensor([[0.0, math.nan]]))
    with pytest.raises(ValueError, match=r"y contains NaN or inf"):
        _block().inverse(torch.tensor([[math.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"name must be one of"):
        data.toy2d("swissroll", 10)
    with pytest.raises(ValueError, match=r"lipschitz must be in \(0, 1\), got 1.2"):
        InvertibleResidualBlock(torch.nn.Linear(2, 2), lipschitz=1.2)
