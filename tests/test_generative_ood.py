"""Out-of-distribution detection: the marginal likelihood and AUROC against references."""

import numpy as np
import pytest
import torch
from helpers import randn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from nnbook.generative import (
    GaussianBayes,
    GaussianNaiveBayes,
    auroc,
    log_marginal_likelihood,
)

pytestmark = pytest.mark.gd

X = randn(40, 3, seed=21)
Y = torch.arange(40) % 4


def _sklearn_auroc(scores_in, scores_out):
    labels = np.r_[np.ones(len(scores_in)), np.zeros(len(scores_out))]
    return roc_auc_score(labels, np.r_[scores_in.numpy(), scores_out.numpy()])


def _pairwise_auroc(scores_in, scores_out):
    """Every pair compared: the definition, by brute force."""
    diff = scores_in[:, None] - scores_out[None, :]
    return ((diff > 0).double() + 0.5 * (diff == 0).double()).mean()


def test_marginal_likelihood_of_gaussian_bayes_matches_torch_mixture():
    model = GaussianBayes(reg=0.05).fit(X, Y)
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=model.class_prior_),
        torch.distributions.MultivariateNormal(model.means_, covariance_matrix=model.covariance_),
    )
    Z = randn(7, 3, seed=22, scale=3.0)
    torch.testing.assert_close(
        log_marginal_likelihood(model, Z), mixture.log_prob(Z), rtol=0, atol=1e-10
    )


def test_marginal_likelihood_of_naive_bayes_is_a_sum_over_classes():
    model = GaussianNaiveBayes().fit(X, Y)
    Z = randn(5, 3, seed=23)
    normal = torch.distributions.Normal(model.theta_, model.var_.sqrt())  # (K, F)
    density = (model.class_prior_ * normal.log_prob(Z[:, None, :]).sum(2).exp()).sum(1)
    torch.testing.assert_close(log_marginal_likelihood(model, Z), density.log(), rtol=1e-12, atol=0)


def test_marginal_likelihood_integrates_to_one_in_one_dimension():
    x = randn(30, 1, seed=24)
    model = GaussianBayes().fit(x, torch.arange(30) % 2)
    grid = torch.linspace(-12, 12, 20001, dtype=torch.float64)[:, None]
    density = log_marginal_likelihood(model, grid).exp()
    integral = torch.trapezoid(density, grid[:, 0])
    assert abs(integral.item() - 1) < 1e-8


def test_marginal_likelihood_stays_finite_far_away():
    model = GaussianBayes().fit(X, Y)
    far = torch.full((2, 3), 1e4, dtype=torch.float64)
    log_p = log_marginal_likelihood(model, far)
    assert torch.isfinite(log_p).all() and (log_p < -1e5).all()


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn_and_brute_force(ties):
    g = torch.Generator().manual_seed(25)
    a = torch.randn(50, generator=g, dtype=torch.float64) + 0.7
    b = torch.randn(31, generator=g, dtype=torch.float64)
    if ties:
        a, b = a.round(), b.round()  # many ties, within and between the sets
    ours = auroc(a, b)
    assert ours.ndim == 0 and ours.dtype == torch.float64
    assert ours.item() == pytest.approx(_sklearn_auroc(a, b), abs=1e-12)
    assert ours.item() == pytest.approx(_pairwise_auroc(a, b).item(), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=12),
    st.lists(st.integers(-3, 3), min_size=1, max_size=12),
)
def test_auroc_is_the_pairwise_probability(a, b):
    a = torch.tensor(a, dtype=torch.float64)
    b = torch.tensor(b, dtype=torch.float64)
    ours = auroc(a, b).item()
    assert ours == pytest.approx(_pairwise_auroc(a, b).item(), abs=1e-12)
    assert auroc(b, a).item() == pytest.approx(1 - ours, abs=1e-12)  # swap: 1 - AUROC


def test_auroc_is_invariant_to_a_monotone_transform():
    a, b = randn(20, seed=26), randn(15, seed=27)
    assert auroc(a, b).item() == pytest.approx(auroc(a.exp(), b.exp()).item(), abs=1e-12)


def test_auroc_extremes():
    low = torch.zeros(4, dtype=torch.float64)
    high = torch.ones(3, dtype=torch.float64)
    assert auroc(high, low).item() == 1.0
    assert auroc(low, high).item() == 0.0
    assert auroc(low, low[:2]).item() == 0.5  # all tied


def test_auroc_accepts_infinite_log_densities():
    a = torch.tensor([0.0, -1.0], dtype=torch.float64)
    b = torch.tensor([-torch.inf, -torch.inf], dtype=torch.float64)
    assert auroc(a, b).item() == 1.0


def test_auroc_refuses_nan_empty_and_bad_shapes():
    good = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"scores_out must not contain NaN.*\[1\]"):
        auroc(good, torch.tensor([0.0, torch.nan], dtype=torch.float64))
    with pytest.raises(ValueError, match="scores_in must not contain NaN"):
        auroc(torch.tensor([torch.nan], dtype=torch.float64), good)
    with pytest.raises(ValueError, match="at least one score, got 3 and 0"):
        auroc(good, good[:0])
    with pytest.raises(ValueError, match=r"scores_in must have 1 dimensions"):
        auroc(good[None], good)
    with pytest.raises(TypeError, match="scores_out must have dtype torch.float64"):
        auroc(good, good.float())
    with pytest.raises(TypeError, match="scores_in must be a torch.Tensor, got list"):
        auroc([0.0], good)


def test_marginal_likelihood_refuses_bad_inputs():
    model = GaussianBayes().fit(X, Y)
    with pytest.raises(TypeError, match=r"model must have a log_joint\(\) method, got str"):
        log_marginal_likelihood("gaussian", X)
    with pytest.raises(ValueError, match=r"X must have shape"):
        log_marginal_likelihood(model, X[:, :2])
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        log_marginal_likelihood(model, X[0])
    bad = X.clone()
    bad[1, 0] = torch.nan
    with pytest.raises(ValueError, match=r"X must be finite, but rows \[1\]"):
        log_marginal_likelihood(model, bad)


def test_auroc_keeps_the_dtype_of_single_precision_scores():
    a, b = randn(30, seed=28), randn(20, seed=29) + 0.3
    single = auroc(a.float(), b.float())
    assert single.dtype == torch.float32
    assert single.item() == pytest.approx(auroc(a, b).item(), abs=1e-6)
