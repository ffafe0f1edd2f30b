"""Missing features and a new class prior (nnbook.generative._missing) against
numerical integration, refitting, a model with its prior swapped, and direct
maximization of the likelihood."""

import copy
import math

import numpy as np
import pytest
import torch
from helpers import generator, randn
from scipy import integrate, optimize, stats

from nnbook.generative import (
    GaussianBayes,
    GaussianNaiveBayes,
    LogisticRegression,
    drop_at_random,
    estimate_prior,
    impute_conditional_mean,
    label_shift_split,
    marginal_log_joint,
    predict_proba_missing,
    refit_proba,
    shift_prior,
)
from nnbook.generative._estimator import NotFittedError

pytestmark = pytest.mark.gd


def _data(n=60, F=3, K=2, seed=0):
    """Correlated features whose mean depends on the class."""
    y = torch.arange(n) % K
    mix = randn(F, F, seed=seed + 1) + 2 * torch.eye(F, dtype=torch.float64)
    return randn(n, F, seed=seed) @ mix + y[:, None].double(), y


def _models():
    X, y = _data()
    return [
        GaussianBayes().fit(X, y),
        GaussianBayes(covariance="shared", reg=0.2).fit(X, y),
        GaussianNaiveBayes().fit(X, y),
        GaussianNaiveBayes(variance="pooled").fit(X, y),
    ]


def _full_joint(model):
    """x -> p(x, y = k) for complete points x (..., F), by scipy.stats, as numpy (..., K)."""
    if isinstance(model, GaussianNaiveBayes):
        means, covs = model.theta_.numpy(), [np.diag(v) for v in model.var_.numpy()]
    else:
        means, covs = model.means_.numpy(), model.covariance_.numpy()
    frozen = [stats.multivariate_normal(m, c) for m, c in zip(means, covs, strict=True)]
    prior = model.class_prior_.numpy()
    return lambda x: np.stack([pi * d.pdf(x) for pi, d in zip(prior, frozen, strict=True)], -1)


@pytest.mark.parametrize("model", _models(), ids=["qda", "lda", "nb", "nb-pooled"])
def test_one_missing_feature_matches_numerical_integration(model):
    x = torch.tensor([[0.3, -0.7, 1.2], [2.0, 0.5, -1.0]], dtype=torch.float64)
    joint = _full_joint(model)
    for m in range(3):  # which feature is missing
        observed = torch.ones(2, 3, dtype=torch.bool)
        observed[:, m] = False
        ours = marginal_log_joint(model, x, observed).exp()
        for i in range(2):
            for k in range(2):

                def integrand(t, i=i, k=k, m=m):
                    point = x[i].numpy().copy()
                    point[m] = t
                    return joint(point)[k]

                value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13)
                assert ours[i, k].item() == pytest.approx(value, rel=1e-7)


def test_two_missing_features_match_a_double_integral():
    """A fine grid with the trapezoid rule: for a smooth density that vanishes at the
    edges, its error falls faster than any power of the step."""
    model = GaussianBayes().fit(*_data(seed=3))
    x = torch.tensor([[0.5, 0.0, 0.0]], dtype=torch.float64)
    observed = torch.tensor([[True, False, False]])
    ours = marginal_log_joint(model, x, observed).exp()[0].numpy()
    t = np.linspace(-30, 30, 1201)
    b, c = np.meshgrid(t, t, indexing="ij")
    points = np.stack([np.full_like(b, 0.5), b, c], axis=-1)  # (1201, 1201, 3)
    values = _full_joint(model)(points)  # (1201, 1201, K)
    integral = np.trapezoid(np.trapezoid(values, t, axis=0), t, axis=0)
    np.testing.assert_allclose(ours, integral, rtol=1e-9)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianBayes(),
        lambda: GaussianBayes(reg=0.3),
        lambda: GaussianBayes(covariance="shared", reg=0.1),
        lambda: GaussianNaiveBayes(var_smoothing=0.0),
        lambda: GaussianNaiveBayes(variance="pooled", var_smoothing=0.0),
    ],
)
def test_marginalizing_equals_refitting_on_the_observed_columns(make):
    X, y = _data(n=90, F=5, K=3, seed=4)
    X_test = randn(40, 5, seed=5)
    full = make().fit(X, y)
    for columns in ([0], [1, 3], [0, 2, 3, 4]):
        observed = torch.zeros(40, 5, dtype=torch.bool)
        observed[:, columns] = True
        refitted = make().fit(X[:, columns], y)
        torch.testing.assert_close(
            marginal_log_joint(full, X_test, observed),
            refitted.log_joint(X_test[:, columns]),
            rtol=1e-10,
            atol=1e-10,
        )
    observed = drop_at_random((40, 5), 0.5, generator=generator(6))
    torch.testing.assert_close(
        predict_proba_missing(full, X_test, observed),
        refit_proba(make, X, y, X_test, observed),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("model", _models(), ids=["qda", "lda", "nb", "nb-pooled"])
def test_all_or_nothing_observed(model):
    X = randn(7, 3, seed=8)
    everything = torch.ones(7, 3, dtype=torch.bool)
    torch.testing.assert_close(marginal_log_joint(model, X, everything), model.log_joint(X))
    torch.testing.assert_close(predict_proba_missing(model, X, everything), model.predict_proba(X))
    nothing = torch.zeros(7, 3, dtype=torch.bool)
    torch.testing.assert_close(
        predict_proba_missing(model, X, nothing),
        model.class_prior_.expand(7, -1),
    )


@pytest.mark.parametrize("model", _models(), ids=["qda", "lda", "nb", "nb-pooled"])
def test_missing_entries_may_be_nan_and_are_ignored(model):
    X = randn(6, 3, seed=9)
    observed = drop_at_random((6, 3), 0.4, generator=generator(1))
    with_nan = torch.where(observed, X, math.nan)
    ours = predict_proba_missing(model, with_nan, observed)
    torch.testing.assert_close(ours, predict_proba_missing(model, X, observed))
    torch.testing.assert_close(ours.sum(dim=1), torch.ones(6, dtype=torch.float64))


def test_bad_missing_calls_are_refused_by_name():
    model = GaussianBayes().fit(*_data())
    X, observed = randn(4, 3), torch.ones(4, 3, dtype=torch.bool)
    bad = X.clone()
    bad[1, 2] = math.nan
    with pytest.raises(ValueError, match="X must be finite where observed is True"):
        marginal_log_joint(model, bad, observed)
    with pytest.raises(ValueError, match="X must have 3 columns.*got 4"):
        marginal_log_joint(model, randn(4, 4), torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="observed must have shape"):
        marginal_log_joint(model, X, torch.ones(4, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="observed must have dtype torch.bool"):
        marginal_log_joint(model, X, observed.double())
    with pytest.raises(TypeError, match="model must be a GaussianBayes or GaussianNaiveBayes"):
        predict_proba_missing(LogisticRegression(), X, observed)
    with pytest.raises(NotFittedError, match="not fitted"):
        predict_proba_missing(GaussianNaiveBayes(), X, observed)


def test_drop_at_random():
    assert drop_at_random((5, 4), 0.0).all()
    assert not drop_at_random((5, 4), 1.0).any()
    mask = drop_at_random((400, 50), 0.3, generator=generator(2))
    assert mask.dtype == torch.bool and mask.shape == (400, 50)
    assert abs(mask.double().mean().item() - 0.7) < 0.01
    again = drop_at_random((400, 50), 0.3, generator=generator(2))
    assert torch.equal(mask, again)
    # one draw per seed: a higher rate drops a superset of the entries
    higher = drop_at_random((400, 50), 0.6, generator=generator(2))
    assert not (higher & ~mask).any()
    for shape in [(5,), (0, 3), (2.0, 3), (True, 3)]:
        with pytest.raises(ValueError, match="shape must be a pair of positive ints"):
            drop_at_random(shape, 0.5)
    with pytest.raises(ValueError, match="rate"):
        drop_at_random((2, 2), 1.5)


def test_refit_proba_with_logistic_regression_and_nothing_observed():
    X, y = _data(n=80, F=4, seed=11)
    X_test = randn(10, 4, seed=12)
    observed = torch.ones(10, 4, dtype=torch.bool)
    observed[:5, 1:] = False  # rows 0-4 see feature 0 only
    observed[9] = False  # row 9 sees nothing
    ours = refit_proba(LogisticRegression, X, y, X_test, observed)
    alone = LogisticRegression().fit(X[:, :1], y).predict_proba(X_test[:5, :1])
    torch.testing.assert_close(ours[:5], alone)
    full = LogisticRegression().fit(X, y).predict_proba(X_test[5:9])
    torch.testing.assert_close(ours[5:9], full)
    frequencies = torch.bincount(y).double() / len(y)
    torch.testing.assert_close(ours[9], frequencies)
    with pytest.raises(TypeError, match="make_model must be callable"):
        refit_proba(3, X, y, X_test, observed)


# -- imputing by the conditional mean ---------------------------------------------------


def _gaussian(F=5, seed=30):
    mean = randn(F, seed=seed)
    root = randn(F, F, seed=seed + 1)
    return mean, root @ root.T + 0.5 * torch.eye(F, dtype=torch.float64)


def _by_precision(X, observed, mean, covariance):
    """E[x_m | x_o] = mu_m - (Lambda_mm)^-1 Lambda_mo (x_o - mu_o), Lambda = Sigma^-1."""
    precision = torch.linalg.inv(covariance)
    out = X.clone()
    for i, o in enumerate(observed):
        m = ~o
        if not m.any():
            continue
        shift = torch.linalg.solve(precision[m][:, m], precision[m][:, o] @ (X[i, o] - mean[o]))
        out[i, m] = mean[m] - shift
    return out


def test_conditional_mean_matches_the_precision_form():
    mean, cov = _gaussian()
    X = randn(40, 5, seed=32)
    observed = drop_at_random((40, 5), 0.5, generator=generator(33))
    observed[0], observed[1] = True, False  # one complete row, one empty row
    ours = impute_conditional_mean(X, observed, mean, cov)
    torch.testing.assert_close(ours, _by_precision(X, observed, mean, cov), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours[observed], X[observed])  # observed entries kept
    torch.testing.assert_close(ours[0], X[0])
    torch.testing.assert_close(ours[1], mean)


def test_conditional_mean_matches_regression_on_a_large_sample():
    """Least squares of x_m on x_o over many Gaussian draws estimates E[x_m | x_o]."""
    mean, cov = _gaussian(F=3, seed=34)
    L = torch.linalg.cholesky(cov)
    draws = mean + randn(200000, 3, seed=35) @ L.T
    design = torch.cat([torch.ones(len(draws), 1, dtype=torch.float64), draws[:, :2]], dim=1)
    coef = torch.linalg.lstsq(design, draws[:, 2:]).solution  # (3, 1)
    x = torch.tensor([[0.4, -1.0, math.nan], [2.0, 0.5, math.nan]], dtype=torch.float64)
    observed = torch.tensor([[True, True, False]] * 2)
    ours = impute_conditional_mean(x, observed, mean, cov)[:, 2]
    fitted = (torch.cat([torch.ones(2, 1, dtype=torch.float64), x[:, :2]], dim=1) @ coef)[:, 0]
    torch.testing.assert_close(ours, fitted, rtol=0, atol=0.03)


def test_conditional_mean_ignores_missing_values_and_refuses_bad_input():
    mean, cov = _gaussian(F=3, seed=36)
    X = randn(6, 3, seed=37)
    observed = drop_at_random((6, 3), 0.4, generator=generator(3))
    with_nan = torch.where(observed, X, math.nan)
    torch.testing.assert_close(
        impute_conditional_mean(with_nan, observed, mean, cov),
        impute_conditional_mean(X, observed, mean, cov),
    )
    bad = X.clone()
    bad[~observed] = 0.0
    bad[observed.nonzero()[0].tolist()] = math.nan
    with pytest.raises(ValueError, match="X must be finite where observed is True"):
        impute_conditional_mean(bad, observed, mean, cov)
    with pytest.raises(ValueError, match="covariance must be symmetric positive definite"):
        impute_conditional_mean(X, observed, mean, -cov)
    with pytest.raises(ValueError, match="covariance must be symmetric positive definite"):
        impute_conditional_mean(X, observed, mean, cov + torch.triu(torch.ones(3, 3), 1).double())
    with pytest.raises(ValueError, match="mean and covariance must be finite.*mean"):
        impute_conditional_mean(X, observed, torch.full((3,), math.nan).double(), cov)
    with pytest.raises(ValueError, match="covariance must have shape"):
        impute_conditional_mean(X, observed, mean, cov[:2, :2])
    with pytest.raises(TypeError, match="observed must have dtype torch.bool"):
        impute_conditional_mean(X, observed.double(), mean, cov)


# -- a label-shifted split --------------------------------------------------------------


def test_label_shift_split_counts_classes_and_draws_reproducibly():
    y = torch.tensor([0] * 30 + [1] * 50 + [2] * 20)
    train, test = label_shift_split(y, 10, (5, None, 0), generator=generator(40))
    assert torch.bincount(y[train], minlength=3).tolist() == [10, 10, 10]
    assert torch.bincount(y[test], minlength=3).tolist() == [5, 40, 0]
    assert len(set(train.tolist()) | set(test.tolist())) == len(train) + len(test)
    again = label_shift_split(y, 10, (5, None, 0), generator=generator(40))
    assert torch.equal(train, again[0]) and torch.equal(test, again[1])
    other = label_shift_split(y, 10, (5, None, 0), generator=generator(41))
    assert not torch.equal(train, other[0])
    # every case of a class is equally likely to go to training
    hits = torch.zeros(len(y))
    for seed in range(400):
        hits[label_shift_split(y, 10, (5, None, 0), generator=generator(seed))[0]] += 1
    assert hits[:30].sum() == 400 * 10  # exactly 10 per draw
    assert hits[:30].min() > 400 * 10 / 30 * 0.6


def test_label_shift_split_refuses_impossible_counts():
    y = torch.tensor([0] * 5 + [1] * 8)
    with pytest.raises(ValueError, match="class 0 has 5 cases, fewer than n_train"):
        label_shift_split(y, 4, (2, None))
    with pytest.raises(ValueError, match="n_test must hold one non-negative int or None per class"):
        label_shift_split(y, 2, (1,))
    with pytest.raises(ValueError, match="n_test must hold"):
        label_shift_split(y, 2, (1, -1))
    with pytest.raises(ValueError, match="n_train"):
        label_shift_split(y, 0, (1, 1))


# -- a new class prior -----------------------------------------------------------------


@pytest.mark.parametrize("model", _models(), ids=["qda", "lda", "nb", "nb-pooled"])
def test_shifting_the_posterior_equals_swapping_the_models_prior(model):
    X = randn(20, 3, seed=13)
    new_prior = torch.tensor([0.9, 0.1], dtype=torch.float64)
    swapped = copy.deepcopy(model)
    swapped.class_prior_ = new_prior
    torch.testing.assert_close(
        shift_prior(model.predict_log_proba(X), model.class_prior_, new_prior),
        swapped.predict_log_proba(X),
    )


def test_shift_prior_properties_and_errors():
    log_p = torch.log_softmax(randn(9, 3, seed=14), dim=1)
    prior = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    new = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    torch.testing.assert_close(shift_prior(log_p, prior, prior), log_p)
    torch.testing.assert_close(shift_prior(log_p, prior, 7 * new), shift_prior(log_p, prior, new))
    weighted = log_p.exp() * new / prior  # the formula with probabilities
    torch.testing.assert_close(
        shift_prior(log_p, prior, new).exp(), weighted / weighted.sum(dim=1, keepdim=True)
    )
    with pytest.raises(ValueError, match="log_proba must hold log-probabilities"):
        shift_prior(log_p.exp() + 1, prior, new)
    with pytest.raises(ValueError, match="log_proba must hold log-probabilities"):
        shift_prior(torch.full((2, 3), math.nan, dtype=torch.float64), prior, new)
    with pytest.raises(ValueError, match="new_prior must hold positive"):
        shift_prior(log_p, prior, torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="prior must hold positive"):
        shift_prior(log_p, torch.tensor([math.nan, 0.5, 0.5], dtype=torch.float64), new)
    with pytest.raises(ValueError, match="new_prior must have shape"):
        shift_prior(log_p, prior, new[:2])


def test_em_prior_with_certain_posteriors_is_the_class_frequency():
    y = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2, 2, 2])
    log_p = torch.log(torch.nn.functional.one_hot(y, 3).double().clamp_min(1e-300))
    prior = torch.full((3,), 1 / 3, dtype=torch.float64)
    torch.testing.assert_close(
        estimate_prior(log_p, prior),
        torch.tensor([0.3, 0.1, 0.6], dtype=torch.float64),
    )


def test_em_prior_maximizes_the_likelihood_of_the_unlabelled_data():
    log_p = torch.log_softmax(randn(50, 2, seed=15, scale=2.0), dim=1)
    prior = torch.tensor([0.3, 0.7], dtype=torch.float64)
    ratio = (log_p.exp() / prior).numpy()  # p(x | y) / p(x) under the training model

    def negative_log_likelihood(a):
        return -np.log(ratio @ np.array([a, 1 - a])).sum()

    best = optimize.minimize_scalar(
        negative_log_likelihood,
        bounds=(1e-9, 1 - 1e-9),
        method="bounded",
        options={"xatol": 1e-12},
    )
    ours = estimate_prior(log_p, prior, tol=1e-14, max_iter=100000)
    assert ours[0].item() == pytest.approx(best.x, abs=1e-6)
    assert ours.sum().item() == pytest.approx(1.0)


def test_em_prior_recovers_a_known_prior_from_true_posteriors():
    """Draw from a known mixture; the true posteriors under a 50/50 prior give EM
    all it needs to find the new 80/20 prior."""
    g = generator(16)
    n, true_prior = 20000, torch.tensor([0.8, 0.2], dtype=torch.float64)
    y = (torch.rand(n, generator=g, dtype=torch.float64) < true_prior[1]).long()
    x = torch.randn(n, generator=g, dtype=torch.float64) + 2.0 * y
    log_density = torch.stack(
        [torch.distributions.Normal(mu, 1.0).log_prob(x) for mu in (0.0, 2.0)], dim=1
    )
    train_prior = torch.tensor([0.5, 0.5], dtype=torch.float64)
    log_p = torch.log_softmax(log_density + train_prior.log(), dim=1)
    estimate = estimate_prior(log_p, train_prior)
    assert (estimate - true_prior).abs().max() < 0.015


def test_em_prior_warns_when_it_runs_out_of_iterations():
    log_p = torch.log_softmax(randn(30, 2, seed=17), dim=1)
    prior = torch.tensor([0.5, 0.5], dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="did not converge in 1 iterations"):
        estimate_prior(log_p, prior, max_iter=1)
    with pytest.raises(ValueError, match="max_iter"):
        estimate_prior(log_p, prior, max_iter=0)
