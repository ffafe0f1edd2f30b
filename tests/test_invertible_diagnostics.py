"""nnbook.invertible diagnostics and exact spectral norms, against autograd and the SVD, in float64."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from helpers import close_figures, randn  # noqa: E402, F401

from nnbook.invertible import (  # noqa: E402
    InvertibleResidualBlock,
    IResNetFlow,
    SpectralNormConv2d,
    SpectralNormLinear,
    ascend_jacobian_norm,
    bi_lipschitz_bounds,
    block_inputs,
    converge_spectral_norms,
    exact_lipschitz_bound,
    exact_spectral_norm,
    inverse_per_block,
    jacobian_spectra,
    mlp_block,
    residual_jacobians,
    sigma_ratios,
)
from nnbook.plot.invertible_diagnostics import (  # noqa: E402
    draw_block_norms,
    draw_eigenvalues,
    draw_singular_values,
)

pytestmark = pytest.mark.invertible


def _block(dim=3, hidden=8, coeff=0.95, seed=0):
    torch.manual_seed(seed)
    block = InvertibleResidualBlock(mlp_block(dim, hidden, coeff=coeff)).double()
    for _ in range(200):  # let the estimates catch up with the weights
        block.g(randn(4, dim, seed=seed))
    return block.eval()


def _autograd_jacobians(block, x):
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda r: block.g(r[None])[0], row) for row in x]
    )


def _stale_linear(coeff=0.9):
    """A layer whose weight moved after its estimate: sigma_1 of the normalized weight > c."""
    torch.manual_seed(0)
    layer = SpectralNormLinear(6, 5, coeff=coeff).double()
    for _ in range(300):
        layer(randn(2, 6))
    with torch.no_grad():
        layer.weight.mul_(1.5)
        layer.weight[0].add_(randn(6, seed=3))
    return layer.eval()


def _conv_matrix(weight, padding, size):
    """The convolution as an explicit matrix, column by column from the basis vectors."""
    c_in = weight.shape[1]
    n = c_in * size[0] * size[1]
    basis = torch.eye(n, dtype=weight.dtype).reshape(n, c_in, *size)
    return F.conv2d(basis, weight, padding=padding).reshape(n, -1).T


# bi_lipschitz_bounds


@pytest.mark.parametrize("L", [0.3, 0.9, 0.99])
def test_singular_values_of_identity_plus_a_contraction_lie_in_the_interval(L):
    low, high, logdet_low, logdet_high = bi_lipschitz_bounds(L, dim=5)
    eye = torch.eye(5, dtype=torch.float64)
    for seed in range(20):
        A = randn(5, 5, seed=seed)
        A = L * A / torch.linalg.matrix_norm(A, 2)
        s = torch.linalg.svdvals(eye + A)
        assert low - 1e-12 <= s.min() and s.max() <= high + 1e-12
        sign, logdet = torch.linalg.slogdet(eye + A)
        assert sign > 0 and logdet_low - 1e-12 <= logdet <= logdet_high + 1e-12


@pytest.mark.parametrize("L", [0.5, 0.9])
def test_the_bounds_are_attained_by_plus_and_minus_L_times_the_identity(L):
    low, high, logdet_low, logdet_high = bi_lipschitz_bounds(L, dim=3)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.linalg.svdvals(eye + L * eye).max().item() == pytest.approx(high)
    assert torch.linalg.svdvals(eye - L * eye).min().item() == pytest.approx(low)
    assert torch.linalg.slogdet(eye + L * eye)[1].item() == pytest.approx(logdet_high)
    assert torch.linalg.slogdet(eye - L * eye)[1].item() == pytest.approx(logdet_low)


def test_a_block_and_its_inverse_stretch_distances_within_the_bounds():
    block = _block(coeff=0.95)
    low, high, _, _ = bi_lipschitz_bounds(block.lipschitz)
    a, b = randn(500, 3, seed=1), randn(500, 3, seed=2)
    with torch.no_grad():
        ratio = (block(a) - block(b)).norm(dim=1) / (a - b).norm(dim=1)
    assert ratio.min() >= low and ratio.max() <= high


def test_bi_lipschitz_bounds_refuses_L_of_one_by_name():
    with pytest.raises(ValueError, match="lipschitz"):
        bi_lipschitz_bounds(1.0)


# Jacobians and spectra


@pytest.mark.parametrize("dim", [2, 3])
def test_residual_jacobians_agree_with_autograd(dim):
    block = _block(dim=dim)
    x = randn(6, dim, seed=4)
    torch.testing.assert_close(residual_jacobians(block, x), _autograd_jacobians(block, x))


def test_spectra_agree_with_svdvals_and_eigvals_of_the_autograd_jacobian():
    block = _block(dim=3)
    x = randn(6, 3, seed=5)
    singular, eigen = jacobian_spectra(block, x)
    J = _autograd_jacobians(block, x)
    torch.testing.assert_close(singular, torch.linalg.svdvals(J))
    for ours, theirs in zip(eigen, torch.linalg.eigvals(J), strict=True):
        # the same multiset: every eigenvalue of one is close to one of the other
        distance = (ours[:, None] - theirs[None, :]).abs()
        assert distance.min(dim=1).values.max() < 1e-10
        assert distance.min(dim=0).values.max() < 1e-10


def test_the_spectra_respect_the_lipschitz_bound():
    block = _block(dim=2, coeff=0.99)
    singular, eigen = jacobian_spectra(block, randn(300, 2, seed=6) * 3)
    bound = exact_lipschitz_bound(block).item()
    assert singular[:, 0].max() <= bound + 1e-12
    assert eigen.abs().max() <= singular[:, 0].max() + 1e-12


def test_ascent_finds_norms_at_least_as_large_and_reports_them_truly():
    block = _block(dim=2, coeff=0.99)
    x = randn(20, 2, seed=7)
    start = jacobian_spectra(block, x)[0][:, 0]
    points, norms = ascend_jacobian_norm(block, x, steps=30, lr=0.1)
    assert (norms >= start - 1e-15).all() and norms.max() > start.max()
    reference = torch.linalg.matrix_norm(_autograd_jacobians(block, points), 2)
    torch.testing.assert_close(norms, reference)
    assert norms.max() <= exact_lipschitz_bound(block) + 1e-12
    assert all(p.grad is None for p in block.parameters())


# exact spectral norms, sigma / c and converging the estimates


def test_exact_spectral_norm_of_a_dense_layer_is_the_matrix_two_norm():
    layer = _stale_linear()
    raw = exact_spectral_norm(layer, normalized=False)
    torch.testing.assert_close(raw, torch.linalg.matrix_norm(layer.weight.detach(), 2))
    normalized = exact_spectral_norm(layer)
    expected = torch.linalg.matrix_norm(layer.normalized_weight().detach(), 2)
    torch.testing.assert_close(normalized, expected)


def test_exact_spectral_norm_of_a_convolution_is_the_svd_of_its_matrix():
    torch.manual_seed(1)
    layer = SpectralNormConv2d(2, 3, 3, (5, 5), coeff=0.9).double().eval()
    matrix = _conv_matrix(layer.weight.detach(), 1, (5, 5))
    expected = torch.linalg.matrix_norm(matrix, 2)
    raw = exact_spectral_norm(layer, normalized=False)
    torch.testing.assert_close(raw, expected, rtol=1e-10, atol=0)


def test_a_stale_estimate_lets_sigma_exceed_c_and_converging_restores_it():
    layer = _stale_linear(coeff=0.9)
    before = sigma_ratios(layer)
    assert before.item() > 1.01
    sigmas = converge_spectral_norms(layer)
    torch.testing.assert_close(sigmas, torch.linalg.matrix_norm(layer.weight.detach(), 2)[None])
    after = sigma_ratios(layer)
    assert after.item() <= 1 + 1e-12 and after.item() > 1 - 1e-12


def test_converging_a_convolution_matches_the_svd_of_its_matrix():
    torch.manual_seed(2)
    layer = SpectralNormConv2d(2, 2, 3, (4, 4), coeff=0.5).double().eval()
    sigmas = converge_spectral_norms(layer)
    matrix = _conv_matrix(layer.weight.detach(), 1, (4, 4))
    torch.testing.assert_close(sigmas[0], torch.linalg.matrix_norm(matrix, 2), rtol=1e-10, atol=0)
    normalized = _conv_matrix(layer.normalized_weight().detach(), 1, (4, 4))
    assert torch.linalg.matrix_norm(normalized, 2) <= 0.5 * (1 + 1e-9)


def test_exact_lipschitz_bound_is_the_product_of_the_normalized_norms():
    block = _block()
    norms = [
        torch.linalg.matrix_norm(m.normalized_weight().detach(), 2)
        for m in block.g
        if isinstance(m, SpectralNormLinear)
    ]
    torch.testing.assert_close(exact_lipschitz_bound(block), torch.stack(norms).prod())
    converge_spectral_norms(block)
    assert exact_lipschitz_bound(block) <= block.lipschitz * (1 + 1e-12)


def test_sigma_ratios_refuses_a_module_without_normalized_layers():
    with pytest.raises(ValueError, match="module has no spectrally normalized layers"):
        sigma_ratios(torch.nn.Linear(2, 2))


def test_exact_lipschitz_bound_refuses_a_block_without_normalized_layers():
    block = InvertibleResidualBlock(torch.nn.Linear(2, 2), lipschitz=0.5)
    with pytest.raises(ValueError, match="block has no spectrally normalized layers"):
        exact_lipschitz_bound(block)


def test_exact_spectral_norm_refuses_a_plain_layer_by_name():
    with pytest.raises(TypeError, match="layer"):
        exact_spectral_norm(torch.nn.Linear(2, 2))


# inverse_per_block


def _flow():
    torch.manual_seed(0)
    flow = IResNetFlow(2, n_blocks=3, hidden=8, coeff=0.9, actnorm=True).double()
    flow.forward_and_logdet(randn(16, 2))  # ActNorm's first batch sets it
    converge_spectral_norms(flow)
    return flow.eval()


def test_inverse_per_block_recovers_every_block_input_within_tol():
    flow = _flow()
    x = randn(50, 2, seed=8)
    iterations, errors = inverse_per_block(flow, x, tol=1e-10)
    assert iterations.shape == errors.shape == (3,)
    assert (iterations >= 1).all() and (errors < 1e-10).all()
    # the same, block by block, by hand
    z = x
    for k, (norm, block) in enumerate(zip(flow.norms, flow.blocks, strict=True)):
        with torch.no_grad():
            z = norm(z)[0]
            y = block(z)
        recovered = block.inverse(y, tol=1e-10)
        assert block.inverse_iterations_ == iterations[k]
        assert (recovered - z).norm(dim=1).max() == pytest.approx(errors[k].item(), abs=1e-15)
        z = y


def test_block_inputs_are_what_the_blocks_see_in_the_forward_pass():
    flow = _flow()
    x = randn(10, 2, seed=9)
    inputs = block_inputs(flow, x)
    with torch.no_grad():
        z = flow.norms[0](x)[0]
        torch.testing.assert_close(inputs[0], z)
        z = flow.norms[1](flow.blocks[0](z))[0]
        torch.testing.assert_close(inputs[1], z)
        out = flow.blocks[2](inputs[2])
        torch.testing.assert_close(out, flow.forward_and_logdet(x)[0])


def test_inverse_per_block_refuses_a_flow_without_blocks():
    with pytest.raises(TypeError, match="flow must have blocks and norms"):
        inverse_per_block(torch.nn.Linear(2, 2), randn(4, 2))
    with pytest.raises(TypeError, match="flow must have blocks and norms"):
        block_inputs(torch.nn.Linear(2, 2), randn(4, 2))


# figures


def test_block_norms_draws_one_bar_per_block_and_model_and_the_bound():
    ax = draw_block_norms({"init": [0.1, 0.2, 0.3], "trained": [0.8, 0.9, 0.7]}, 0.97)
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["block 1", "block 2", "block 3"]
    assert any(line.get_ydata()[0] == 0.97 for line in ax.get_lines())


def test_block_norms_refuses_ragged_norms_and_a_bad_bound():
    with pytest.raises(ValueError, match="norms must have one number per block"):
        draw_block_norms({"a": [0.1], "b": [0.1, 0.2]}, 0.9)
    with pytest.raises(TypeError, match="bound must be a float, got str"):
        draw_block_norms({"a": [0.1]}, "0.9")
    with pytest.raises(ValueError, match="bound must be a finite number > 0, got nan"):
        draw_block_norms({"a": [0.1]}, math.nan)
    with pytest.raises(TypeError, match="norms must be a dict, got list"):
        draw_block_norms([0.1], 0.9)


def test_eigenvalues_draws_one_panel_per_model_with_the_disk():
    values = torch.tensor([0.1 + 0.2j, -0.3 + 0j], dtype=torch.complex128)
    fig = draw_eigenvalues({"init": values, "trained": values * 2}, 0.97)
    assert [ax.get_title() for ax in fig.axes] == ["init", "trained"]
    circle, points = fig.axes[1].get_lines()
    assert max(abs(circle.get_xdata())) == pytest.approx(0.97)
    assert list(points.get_xdata()) == pytest.approx([0.2, -0.6])


def test_eigenvalues_refuses_a_list_and_an_empty_dict():
    with pytest.raises(TypeError, match=r"eigenvalues\['a'\] must be a torch.Tensor, got list"):
        draw_eigenvalues({"a": [0.1]}, 0.9)
    with pytest.raises(ValueError, match="eigenvalues must hold at least one entry"):
        draw_eigenvalues({}, 0.9)


def test_singular_values_draws_the_interval_and_one_histogram_per_model():
    ax = draw_singular_values({"a": torch.tensor([0.9, 1.1]), "b": torch.tensor([1.0])}, 0.5)
    edges = sorted(line.get_xdata()[0] for line in ax.get_lines())
    assert edges == pytest.approx([0.5, 1.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_singular_values_refuses_lipschitz_of_one():
    with pytest.raises(ValueError, match="lipschitz must be below 1, got 1.0"):
        draw_singular_values({"a": torch.tensor([1.0])}, 1.0)
    plt.close("all")


def test_the_layer_estimate_is_the_norm_of_w_transpose_u_as_in_the_equation():
    # eq-ir-spectral: one training step maps u to W W^T u, normalized; then
    # sigma_hat = u^T W v with v = W^T u / |W^T u|, i.e. |W^T u|
    torch.manual_seed(3)
    layer = SpectralNormLinear(5, 7, coeff=0.9).double()
    u0 = layer.u.clone()
    weight = layer.weight.detach()
    sigma = layer.sigma()  # training mode: one step
    expected_u = F.normalize(weight @ weight.T @ u0, dim=0)
    torch.testing.assert_close(layer.u, expected_u)
    torch.testing.assert_close(sigma, torch.linalg.vector_norm(weight.T @ expected_u))
    assert sigma <= torch.linalg.matrix_norm(weight, 2) + 1e-12
    layer.eval()
    torch.testing.assert_close(layer.sigma(), sigma)  # eval mode leaves u alone
    torch.testing.assert_close(layer.u, expected_u)


def test_the_estimate_error_falls_like_the_fourth_power_of_the_gap():
    # the page's claim: the relative error of |W^T u| shrinks by (s2/s1)^4 a step
    s = torch.tensor([2.0, 1.8, 0.5, 0.1], dtype=torch.float64)
    q1, _ = torch.linalg.qr(randn(6, 4, seed=4))
    q2, _ = torch.linalg.qr(randn(4, 4, seed=5))
    weight = q1 @ torch.diag(s) @ q2.T
    u = F.normalize(randn(6, seed=6), dim=0)
    errors = []
    for _ in range(40):
        u = F.normalize(weight @ (weight.T @ u), dim=0)
        errors.append(1 - torch.linalg.vector_norm(weight.T @ u).item() / 2.0)
    rate = (errors[30] / errors[20]) ** 0.1
    assert abs(rate - 0.9**4) < 1e-3
