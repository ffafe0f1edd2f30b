"""nnbook.generative's VAE pieces in float64, against closed forms, torch and autograd.

Most checks use probabilistic PCA, a linear-Gaussian model whose evidence, posterior and
ELBO are all closed form: z ~ N(0, I), x | z ~ N(W z + m, s2 I), so that
p(x) = N(m, W W^T + s2 I). With orthogonal columns in W the exact posterior has a
diagonal covariance, which a Gaussian encoder can represent exactly.
"""

import math

import pytest
import torch
from helpers import randn

from nnbook.generative import (
    GaussianVAE,
    elbo,
    gaussian_kl,
    gaussian_log_density,
    iwae_bound,
    log_evidence_1d,
    reparameterize,
    train_vae,
)

pytestmark = pytest.mark.gd

D, L, B = 4, 2, 6
S2 = 0.2  # the noise variance of the linear-Gaussian model


def _ppca():
    q, _ = torch.linalg.qr(randn(D, L, seed=1))
    W = q * torch.tensor([2.0, 0.7], dtype=torch.float64)  # orthogonal columns
    m = randn(D, seed=2)
    return W, m


def _decoder(W, m):
    log_s2 = torch.full((D,), math.log(S2), dtype=W.dtype)
    return lambda z: (z @ W.T + m, log_s2)


def _log_evidence(x, W, m):
    cov = W @ W.T + S2 * torch.eye(D, dtype=W.dtype)
    return torch.distributions.MultivariateNormal(m, cov).log_prob(x)


def _posterior(x, W, m):
    """The exact q(z | x) = p(z | x): mean (B, L) and log-variance (B, L)."""
    s = (W * W).sum(0)  # squared column norms
    var = S2 / (S2 + s)
    mean = (x - m) @ W * var / S2
    return mean, var.log().expand_as(mean)


def _closed_form_elbo(x, mu, log_var, W, m):
    """E_q log N(x; W z + m, s2 I) - KL(q || N(0, I)), both terms in closed form."""
    residual = (x - mu @ W.T - m).square().sum(-1)
    spread = log_var.exp() @ (W * W).sum(0)  # tr(W diag(v) W^T)
    expected = -0.5 * D * math.log(2 * math.pi * S2) - (residual + spread) / (2 * S2)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return expected - torch.distributions.kl_divergence(q, prior).sum(-1)


def _sigma_points(batch):
    """2L noise vectors with mean 0 and covariance I exactly: +-sqrt(L) e_j, (2L, B, L)."""
    e = math.sqrt(L) * torch.eye(L, dtype=torch.float64)
    return torch.cat([e, -e])[:, None, :].expand(2 * L, batch, L)


def _data_and_q():
    W, m = _ppca()
    x = randn(B, D, seed=3)
    mu, log_var = randn(B, L, seed=4), randn(B, L, seed=5, scale=0.5)
    return x, mu, log_var, W, m


# -- the closed-form KL and the Gaussian log-density -------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 1)])
def test_gaussian_kl_matches_torch(shape):
    mu, log_var = randn(*shape, seed=6), randn(*shape, seed=7)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), expected, rtol=1e-12, atol=1e-12)


def test_gaussian_kl_is_zero_only_at_the_prior():
    zeros = torch.zeros(3, 2, dtype=torch.float64)
    assert gaussian_kl(zeros, zeros).abs().max() == 0
    assert (gaussian_kl(randn(3, 2, seed=8), randn(3, 2, seed=9)) > 0).all()


def test_gaussian_log_density_matches_a_diagonal_multivariate_normal():
    x, mean, log_var = randn(5, 3, seed=10), randn(5, 3, seed=11), randn(5, 3, seed=12)
    cov = torch.diag_embed(log_var.exp())
    expected = torch.distributions.MultivariateNormal(mean, cov).log_prob(x)
    torch.testing.assert_close(gaussian_log_density(x, mean, log_var), expected)


# -- the reparameterized sample --------------------------------------------------------


def test_reparameterized_samples_have_the_right_moments():
    mu, log_var = randn(L, seed=13), randn(L, seed=14)
    z = reparameterize(mu, log_var, randn(200_000, L, seed=15))
    se = (log_var.exp() / 200_000).sqrt()
    assert ((z.mean(0) - mu).abs() < 5 * se).all()
    torch.testing.assert_close(z.var(0), log_var.exp(), rtol=0.02, atol=0)


def test_reparameterized_sample_has_the_analytic_gradient():
    mu, log_var = randn(B, L, seed=16), randn(B, L, seed=17)
    eps = randn(B, L, seed=18)
    mu_, log_var_ = mu.clone().requires_grad_(), log_var.clone().requires_grad_()
    d_mu, d_log_var = torch.autograd.grad(reparameterize(mu_, log_var_, eps).sum(), (mu_, log_var_))
    torch.testing.assert_close(d_mu, torch.ones_like(mu))
    torch.testing.assert_close(d_log_var, 0.5 * (0.5 * log_var).exp() * eps)


# -- the ELBO on the linear-Gaussian model ---------------------------------------------


def test_elbo_with_sigma_points_equals_the_closed_form():
    # log p(x | z) is quadratic in z, so noise with exact first and second moments
    # gives the expectation exactly
    x, mu, log_var, W, m = _data_and_q()
    ours = elbo(x, mu, log_var, _decoder(W, m), _sigma_points(B))
    torch.testing.assert_close(ours, _closed_form_elbo(x, mu, log_var, W, m), rtol=0, atol=1e-10)


def test_monte_carlo_elbo_agrees_with_the_closed_form():
    x, mu, log_var, W, m = _data_and_q()
    eps = randn(40_000, B, L, seed=19)
    decoder = _decoder(W, m)
    ours = elbo(x, mu, log_var, decoder, eps)
    one_each = torch.stack([elbo(x, mu, log_var, decoder, e[None]) for e in eps[:2000]])
    se = one_each.std(0) / math.sqrt(len(eps))
    gap = (ours - _closed_form_elbo(x, mu, log_var, W, m)).abs()
    assert (gap < 5 * se).all(), (gap, se)


def test_elbo_gradients_match_autograd_of_the_closed_form():
    x, mu, log_var, W, m = _data_and_q()
    ours = [t.clone().requires_grad_() for t in (mu, log_var, W)]
    theirs = [t.clone().requires_grad_() for t in (mu, log_var, W)]
    estimate = elbo(x, ours[0], ours[1], _decoder(ours[2], m), _sigma_points(B)).sum()
    closed = _closed_form_elbo(x, *theirs, m).sum()
    for a, b in zip(
        torch.autograd.grad(estimate, ours), torch.autograd.grad(closed, theirs), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_reparameterized_elbo_gradient_by_finite_differences():
    x, mu, log_var, W, m = _data_and_q()
    eps = randn(3, B, L, seed=20)

    def f(mu, log_var, W):
        return elbo(x, mu, log_var, _decoder(W, m), eps)

    inputs = tuple(t.clone().requires_grad_() for t in (mu, log_var, W))
    assert torch.autograd.gradcheck(f, inputs)


def test_elbo_equals_the_evidence_at_the_exact_posterior():
    W, m = _ppca()
    x = randn(B, D, seed=21)
    mu, log_var = _posterior(x, W, m)
    bound = elbo(x, mu, log_var, _decoder(W, m), _sigma_points(B))
    torch.testing.assert_close(bound, _log_evidence(x, W, m), rtol=0, atol=1e-10)


def test_elbo_gap_is_the_kl_to_the_exact_posterior():
    x, mu, log_var, W, m = _data_and_q()
    bound = elbo(x, mu, log_var, _decoder(W, m), _sigma_points(B))
    post_mu, post_log_var = _posterior(x, W, m)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    post = torch.distributions.Normal(post_mu, (0.5 * post_log_var).exp())
    kl = torch.distributions.kl_divergence(q, post).sum(-1)
    gap = _log_evidence(x, W, m) - bound
    assert (gap > 0).all()
    torch.testing.assert_close(gap, kl, rtol=0, atol=1e-10)


# -- the importance-weighted bound -----------------------------------------------------


@pytest.mark.parametrize("k", [1, 7])
def test_iwae_bound_is_exact_at_the_exact_posterior(k):
    W, m = _ppca()
    x = randn(B, D, seed=22)
    mu, log_var = _posterior(x, W, m)
    bound = iwae_bound(x, mu, log_var, _decoder(W, m), randn(k, B, L, seed=23))
    torch.testing.assert_close(bound, _log_evidence(x, W, m), rtol=0, atol=1e-10)


def test_iwae_bound_grows_with_k_from_the_elbo_towards_the_evidence():
    x, mu, log_var, W, m = _data_and_q()
    decoder, repeats = _decoder(W, m), 400
    closed = _closed_form_elbo(x, mu, log_var, W, m)
    evidence = _log_evidence(x, W, m)
    means = {}
    for k in (1, 4, 16, 64):
        eps = randn(repeats, k, B, L, seed=24 + k)
        draws = torch.stack([iwae_bound(x, mu, log_var, decoder, e) for e in eps])
        means[k] = draws.mean(0)
        if k == 1:  # one sample: an unbiased estimate of the ELBO
            se = draws.std(0) / math.sqrt(repeats)
            assert ((means[1] - closed).abs() < 5 * se).all()
    assert (means[4] > closed).all()
    assert all((means[a] < means[b]).all() for a, b in ((1, 4), (4, 16), (16, 64)))
    assert (means[64] < evidence).all()


def test_iwae_bound_is_stable_for_far_away_data():
    x, mu, log_var, W, m = _data_and_q()
    bound = iwae_bound(1e3 * x, mu, log_var, _decoder(W, m), randn(50, B, L, seed=30))
    assert torch.isfinite(bound).all() and (bound < -1e5).all()


def test_iwae_bound_reaches_the_evidence_with_a_mismatched_q():
    # q four times wider in variance than the posterior: the weights p(x, z) / q(z | x)
    # are bounded, the condition under which L_K tends to log p(x) (Burda et al., Thm 1)
    W, m = _ppca()
    x = randn(B, D, seed=50)
    mu, log_var = _posterior(x, W, m)
    wide = log_var + math.log(4)
    bound = iwae_bound(x, mu, wide, _decoder(W, m), randn(100_000, B, L, seed=51))
    elbo_wide = elbo(x, mu, wide, _decoder(W, m), _sigma_points(B))
    evidence = _log_evidence(x, W, m)
    assert ((evidence - elbo_wide) > 1.5).all()  # the ELBO is 3 - log 4 nats short
    # the Monte Carlo standard error of one bound is about 0.004 nats at this K
    assert ((bound - evidence).abs() < 0.02).all(), bound - evidence


# -- the model's evidence by quadrature over a one-dimensional code --------------------


def _linear_1d(w, b, s2):
    def decoder(z):
        return z @ w[None] + b, torch.full_like(b, math.log(s2))

    cov = torch.outer(w, w) + s2 * torch.eye(len(w), dtype=w.dtype)
    return decoder, torch.distributions.MultivariateNormal(b, cov)


@pytest.mark.parametrize(("features", "s2"), [(1, 0.5), (3, 0.05)])
def test_log_evidence_1d_matches_the_linear_gaussian_closed_form(features, s2):
    w, b = randn(features, seed=52, scale=2.0), randn(features, seed=53)
    decoder, evidence = _linear_1d(w, b, s2)
    x = torch.cat([randn(6, features, seed=54), 2.5 * randn(2, features, seed=55)])
    ours = log_evidence_1d(x, decoder)
    torch.testing.assert_close(ours, evidence.log_prob(x), rtol=0, atol=1e-8)


def _curved_decoder(z):
    """A nonlinear decoder: the code runs along an arc, with noise variance 0.05."""
    mean = torch.cat([torch.sin(1.5 * z), torch.cos(1.5 * z) + 0.3 * z], dim=-1)
    return mean, torch.full((2,), math.log(0.05), dtype=z.dtype)


def test_log_evidence_1d_is_the_limit_of_the_iwae_bound():
    x = randn(4, 2, seed=56, scale=0.7)
    exact = log_evidence_1d(x, _curved_decoder)
    finer = log_evidence_1d(x, _curved_decoder, limit=12.0, points=60_001)
    torch.testing.assert_close(exact, finer, rtol=0, atol=1e-9)
    # q(z | x) = N(0, 1.5^2) for every x: wider than the prior, so the importance
    # weights are bounded and the bound converges
    mu, log_var = torch.zeros(4, 1, dtype=torch.float64), torch.full((4, 1), math.log(2.25))
    log_var = log_var.double()
    bound = iwae_bound(x, mu, log_var, _curved_decoder, randn(200_000, 4, 1, seed=57))
    assert ((bound - exact).abs() < 0.01).all(), bound - exact


def test_log_evidence_1d_refuses_wrong_inputs_by_name():
    x = randn(3, 2, seed=58)
    with pytest.raises(ValueError, match=r"points must be in \[3, inf\], got 2"):
        log_evidence_1d(x, _curved_decoder, points=2)
    with pytest.raises(ValueError, match=r"limit must be in \(0, inf\], got 0.0"):
        log_evidence_1d(x, _curved_decoder, limit=0.0)
    with pytest.raises(ValueError, match="limit must be a number, got nan"):
        log_evidence_1d(x, _curved_decoder, limit=math.nan)
    with pytest.raises(ValueError, match=r"x must have 2 dimensions \(B, D\), got 1"):
        log_evidence_1d(randn(3, seed=59), _curved_decoder)
    with pytest.raises(ValueError, match=r"decoder's mean must broadcast to shape \(20001, 3\)"):
        log_evidence_1d(randn(3, 3, seed=60), _curved_decoder)
    with pytest.raises(TypeError, match="decoder must be callable, got int"):
        log_evidence_1d(x, 3)


# -- refused inputs --------------------------------------------------------------------


def test_a_decoder_with_the_wrong_output_is_refused():
    x, mu, log_var, W, m = _data_and_q()
    eps = randn(2, B, L, seed=31)
    with pytest.raises(
        TypeError, match=r"decoder must return a pair \(mean, log_var\), got Tensor"
    ):
        elbo(x, mu, log_var, lambda z: z @ W.T, eps)
    wrong = lambda z: (z @ W[:3].T, torch.zeros(3, dtype=z.dtype))  # noqa: E731
    with pytest.raises(ValueError, match=r"decoder's mean must broadcast to shape \(2, 6, 4\)"):
        iwae_bound(x, mu, log_var, wrong, eps)


def test_mismatched_shapes_are_refused_by_name():
    x, mu, log_var, W, m = _data_and_q()
    with pytest.raises(
        ValueError, match=r"log_var must have the shape of mu, \(6, 2\), got \(6, 3\)"
    ):
        gaussian_kl(mu, randn(B, 3, seed=32))
    with pytest.raises(ValueError, match=r"eps must have shape \(S, B=6, L=2\), got \(2, 5, 2\)"):
        elbo(x, mu, log_var, _decoder(W, m), randn(2, 5, L, seed=33))


def test_train_vae_refuses_data_of_another_size():
    model = GaussianVAE(2, 1, hidden=4)
    with pytest.raises(ValueError, match="X must have 2 features like the model, got 3"):
        train_vae(model, randn(10, 3, seed=34), steps=1)


# -- the model ------------------------------------------------------------------------


def _moons(n, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g, dtype=torch.float64) * math.pi
    upper = torch.rand(n, generator=g) < 0.5
    curve = torch.where(
        upper[:, None],
        torch.stack([t.cos(), t.sin()], 1),
        torch.stack([1 - t.cos(), 0.5 - t.sin()], 1),
    )
    return curve + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)


def test_the_model_wires_the_functions_and_training_raises_the_elbo():
    torch.manual_seed(0)
    model = GaussianVAE(2, 2, hidden=16)
    X, held_out = _moons(500, 35), _moons(300, 36)
    with torch.no_grad():
        mu, log_var = model.encode(held_out)
        eps = torch.randn(
            3, *mu.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
        )
        direct = elbo(held_out, mu, log_var, model.decode, eps)
        via = model.elbo(held_out, 3, generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(via, direct)
        before = model.elbo(held_out, 20, generator=torch.Generator().manual_seed(2)).mean()
    history = train_vae(model, X, steps=300, batch_size=64, lr=1e-2, seed=3)
    assert len(history) == 300
    with torch.no_grad():
        g = torch.Generator().manual_seed(2)
        after = model.elbo(held_out, 20, generator=g).mean()
        tight = model.log_likelihood(held_out, 50, generator=g).mean()
    assert after > before + 0.5
    assert tight > after
    assert model.sample(7, generator=torch.Generator().manual_seed(4)).shape == (7, 2)
    means = [
        model.sample(3, generator=torch.Generator().manual_seed(5), noise=False) for _ in range(2)
    ]
    torch.testing.assert_close(means[0], means[1])


# -- the figures -----------------------------------------------------------------------


def test_coloured_points_and_code_histogram_draw_what_they_are_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook.plot.generative_vae import draw_code_histogram, draw_coloured_points

    fig, (left, right) = plt.subplots(1, 2)
    points, values = randn(30, 2, seed=40), randn(30, seed=41)
    dots = draw_coloured_points(points, values, left, title="t", background=randn(5, 2, seed=42))
    assert dots.get_offsets().shape == (30, 2)
    assert len(left.collections) == 2 and left.get_title() == "t"
    torch.testing.assert_close(torch.tensor(dots.get_array().data), values)
    ax = draw_code_histogram(randn(100, seed=43), right, bins=10, label="means")
    assert len(ax.patches) == 10 and len(ax.lines) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "means"
    plt.close(fig)


def test_the_figures_refuse_wrong_inputs_by_name():
    from nnbook.plot.generative_vae import draw_code_histogram, draw_coloured_points

    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\), got \(4, 3\)"):
        draw_coloured_points(randn(4, 3), randn(4))
    with pytest.raises(ValueError, match=r"values must have shape \(4,\), one per point"):
        draw_coloured_points(randn(4, 2), randn(5))
    with pytest.raises(ValueError, match="limit must be positive, got -1"):
        draw_coloured_points(randn(4, 2), randn(4), limit=-1)
    with pytest.raises(TypeError, match="limit must be a number, got str"):
        draw_coloured_points(randn(4, 2), randn(4), limit="x")
    with pytest.raises(ValueError, match=r"codes must have shape \(n,\), got \(4, 2\)"):
        draw_code_histogram(randn(4, 2))
    with pytest.raises(ValueError, match="bins must be at least 1, got 0"):
        draw_code_histogram(randn(4), bins=0)
    with pytest.raises(TypeError, match="bins must be an int, got float"):
        draw_code_histogram(randn(4), bins=2.5)
    with pytest.raises(TypeError, match="label must be a str, got int"):
        draw_code_histogram(randn(4), label=3)
