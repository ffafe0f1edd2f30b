"""The exact Bayes error and the exponential-family posterior against closed forms,
Monte Carlo and Bayes' rule on torch.distributions densities."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal, Poisson

from nnbook import data
from nnbook.generative import (
    GaussianBayes,
    bayes_error,
    errors_over_draws,
    excess_error,
    exponential_family_logistic,
    exponential_family_posterior,
)

pytestmark = pytest.mark.gd

F64 = torch.float64


def _phi(x):
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _covariance(sd, rho):
    return torch.tensor(
        [[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]], dtype=F64
    )


@pytest.mark.parametrize("p1", [0.5, 0.2, 0.9])
@pytest.mark.parametrize("dim", [1, 2])
def test_equal_covariances_give_the_closed_form(p1, dim):
    """pi_1 Phi(-Delta/2 - l/Delta) + pi_0 Phi(-Delta/2 + l/Delta), l = log(pi_1/pi_0)."""
    if dim == 1:
        means = torch.tensor([[0.0], [2.3]], dtype=F64)
        cov = torch.tensor([[1.7]], dtype=F64)
    else:
        means = torch.tensor([[0.0, 1.0], [2.0, 0.5]], dtype=F64)
        cov = _covariance((2.0, 1.5), 0.4)
    d = means[1] - means[0]
    delta = math.sqrt(d @ torch.linalg.solve(cov, d))
    lam = math.log(p1 / (1 - p1))
    expected = p1 * _phi(-delta / 2 - lam / delta) + (1 - p1) * _phi(-delta / 2 + lam / delta)
    priors = torch.tensor([1 - p1, p1], dtype=F64)
    got = bayes_error(means, torch.stack([cov, cov]), priors)
    assert got.dtype == F64
    assert abs(got.item() - expected) < 1e-9


def test_equal_priors_give_phi_of_half_the_mahalanobis_distance():
    means = torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=F64)
    covs = torch.eye(2, dtype=F64).expand(2, 2, 2)
    got = bayes_error(means, covs, torch.tensor([0.5, 0.5], dtype=F64))
    assert abs(got.item() - _phi(-1.5)) < 1e-9


def _one_d_quadratic(m, s, p):
    """Two 1-D Gaussians with unequal variances: the boundary is two points, by hand."""
    # log p1 N(x; m1, s1) - log p0 N(x; m0, s0) = a x^2 + b x + c
    a = 0.5 / s[0] ** 2 - 0.5 / s[1] ** 2
    b = m[1] / s[1] ** 2 - m[0] / s[0] ** 2
    c = (
        math.log(p[1] / p[0])
        - math.log(s[1] / s[0])
        - 0.5 * m[1] ** 2 / s[1] ** 2
        + 0.5 * m[0] ** 2 / s[0] ** 2
    )
    x1, x2 = sorted((-b + sign * math.sqrt(b * b - 4 * a * c)) / (2 * a) for sign in (-1, 1))

    def mass(k, lo, hi):
        return _phi((hi - m[k]) / s[k]) - _phi((lo - m[k]) / s[k])

    if a > 0:  # the log-odds open upwards: class 1 wins outside the roots
        inside, outside = 0, 1
    else:
        inside, outside = 1, 0
    return p[inside] * (1 - mass(inside, x1, x2)) + p[outside] * mass(outside, x1, x2)


@pytest.mark.parametrize(
    ("m", "s", "p"),
    [((0.0, 1.5), (1.0, 2.0), (0.3, 0.7)), ((1.0, -0.5), (0.7, 0.4), (0.5, 0.5))],
)
def test_unequal_variances_in_one_dimension_match_the_quadratic_boundary(m, s, p):
    got = bayes_error(
        torch.tensor(m, dtype=F64)[:, None],
        torch.tensor(s, dtype=F64).pow(2)[:, None, None],
        torch.tensor(p, dtype=F64),
    )
    assert abs(got.item() - _one_d_quadratic(m, s, p)) < 1e-12


def test_three_classes_on_a_line_match_the_midpoint_boundaries():
    """Equal priors and variances: boundaries halfway; the middle class errs twice."""
    means = torch.tensor([[0.0], [2.0], [5.0]], dtype=F64)
    covs = torch.ones(3, 1, 1, dtype=F64)
    got = bayes_error(means, covs, torch.full((3,), 1 / 3, dtype=F64))
    # class 0 errs beyond 1, class 1 below 1 and beyond 3.5, class 2 below 3.5
    expected = (_phi(-1.0) + (_phi(-1.0) + _phi(-1.5)) + _phi(-1.5)) / 3
    assert abs(got.item() - expected) < 1e-12


def _monte_carlo(means, covs, priors, n, seed):
    """The error rate of the Bayes rule on n draws, and its standard error."""
    g = torch.Generator().manual_seed(seed)
    y = torch.multinomial(priors, n, replacement=True, generator=g)
    z = torch.randn(n, means.shape[1], generator=g, dtype=F64)
    x = means[y] + torch.einsum("nab,nb->na", torch.linalg.cholesky(covs)[y], z)
    log_joint = torch.stack(
        [MultivariateNormal(means[k], covs[k]).log_prob(x) for k in range(len(priors))], 1
    )
    rate = ((log_joint + priors.log()).argmax(1) != y).double().mean().item()
    return rate, math.sqrt(rate * (1 - rate) / n)


@pytest.mark.parametrize("case", ["weight_and_foot", "three_classes"])
def test_agrees_with_monte_carlo_within_four_standard_errors(case):
    if case == "weight_and_foot":
        means, covs, priors = data.weight_and_foot_parameters()
    else:
        means = torch.tensor([[0.0, 0.0], [2.0, 0.5], [0.5, 2.5]], dtype=F64)
        covs = torch.stack(
            [_covariance((1.0, 1.2), 0.3), _covariance((1.5, 0.8), -0.5), torch.eye(2, dtype=F64)]
        )
        priors = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    rate, se = _monte_carlo(means, covs, priors, 400_000, seed=0)
    assert abs(bayes_error(means, covs, priors).item() - rate) < 4 * se  # se ~ 6e-4


def test_the_angles_converge():
    means, covs, priors = data.weight_and_foot_parameters()
    fine = bayes_error(means, covs, priors, angles=2**18).item()
    assert abs(bayes_error(means, covs, priors).item() - fine) < 1e-8
    assert 0.13 < fine < 0.14  # 0.1352


def test_no_fitted_classifier_beats_the_bayes_error_on_a_large_test_set():
    means, covs, priors = data.weight_and_foot_parameters()
    X, y = data.weight_and_foot(200, seed=0)
    X_test, y_test = data.weight_and_foot(20_000, seed=1)
    error = 1 - GaussianBayes().fit(X, y).score(X_test, y_test)
    assert error > bayes_error(means, covs, priors).item() - 3 * 0.0024


def test_weight_and_foot_parameters_are_those_it_draws_from():
    means, covs, priors = data.weight_and_foot_parameters()
    X, y = data.weight_and_foot(50_000, seed=3)
    for k in range(2):
        torch.testing.assert_close(X[y == k].mean(0), means[k], atol=0.2, rtol=0)
        torch.testing.assert_close(X[y == k].T.cov(), covs[k], atol=0.0, rtol=0.05)
    assert priors.tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {
                "means": torch.zeros(2, 3, dtype=F64),
                "covs": torch.eye(3, dtype=F64).expand(2, 3, 3),
            },
            ValueError,
            r"means must have D = 1 or 2 features .*got D = 3",
        ),
        ({"priors": torch.tensor([0.5, 0.6], dtype=F64)}, ValueError, r"priors must be .*sum to 1"),
        ({"priors": torch.tensor([1.0, 0.0], dtype=F64)}, ValueError, r"priors must be positive"),
        (
            {"covs": torch.tensor([[[1.0, 2.0], [2.0, 1.0]]] * 2, dtype=F64)},
            ValueError,
            r"covs must be positive definite",
        ),
        (
            {"covs": torch.tensor([[[1.0, 0.1], [0.0, 1.0]]] * 2, dtype=F64)},
            ValueError,
            r"covs must be symmetric",
        ),
        (
            {"priors": torch.tensor([0.5, math.nan], dtype=F64)},
            ValueError,
            r"priors must be finite",
        ),
        (
            {"means": torch.tensor([[0.0, 0.0], [math.inf, 0.0]], dtype=F64)},
            ValueError,
            r"means must be finite",
        ),
        ({"means": torch.zeros(3, 2, dtype=F64)}, ValueError, r"covs must have shape"),
        ({"angles": 4}, ValueError, r"angles must be in \[8, inf\]"),
    ],
)
def test_bayes_error_refuses_bad_arguments_by_name(kwargs, error, message):
    call = {
        "means": torch.zeros(2, 2, dtype=F64),
        "covs": torch.eye(2, dtype=F64).expand(2, 2, 2),
        "priors": torch.tensor([0.5, 0.5], dtype=F64),
        **kwargs,
    }
    with pytest.raises(error, match=message):
        bayes_error(**call)


# exponential family ------------------------------------------------------------


def test_poisson_classes_give_a_softmax_in_the_counts():
    g = torch.Generator().manual_seed(0)
    rates = torch.rand(3, 5, generator=g, dtype=F64) * 4 + 0.1
    priors = torch.tensor([0.2, 0.5, 0.3], dtype=F64)
    counts = torch.poisson(torch.full((40, 5), 2.0, dtype=F64), g)
    log_joint = Poisson(rates).log_prob(counts[:, None, :]).sum(-1) + priors.log()
    expected = torch.softmax(log_joint, 1)
    got = exponential_family_posterior(counts, rates.log(), rates.sum(1), priors)
    torch.testing.assert_close(got, expected)


def test_bernoulli_naive_bayes_is_logistic():
    g = torch.Generator().manual_seed(1)
    p = torch.rand(2, 6, generator=g, dtype=F64) * 0.8 + 0.1
    priors = torch.tensor([0.7, 0.3], dtype=F64)
    x = (torch.rand(30, 6, generator=g, dtype=F64) < 0.5).double()
    eta = torch.logit(p)  # T(x) = x, A = -sum log(1 - p)
    W, b = exponential_family_logistic(eta, -(1 - p).log().sum(1), priors)
    assert W.shape == (1, 6) and b.shape == (1,)
    log_joint = Bernoulli(probs=p).log_prob(x[:, None, :]).sum(-1) + priors.log()
    expected = torch.sigmoid(log_joint[:, 1] - log_joint[:, 0])
    torch.testing.assert_close(torch.sigmoid(x @ W[0] + b[0]), expected)


def test_gaussians_with_a_shared_covariance_give_the_lda_weights():
    """eta_k = Sigma^-1 mu_k, A = mu_k^T Sigma^-1 mu_k / 2; w, b as in eq-gd-lda-logistic."""
    X, y = data.weight_and_foot(100, seed=2)
    lda = GaussianBayes(covariance="shared").fit(X, y)
    sigma_inv = torch.linalg.inv(lda.covariance_[0])
    eta = lda.means_ @ sigma_inv
    A = 0.5 * (eta * lda.means_).sum(1)
    got = exponential_family_posterior(X, eta, A, lda.class_prior_)
    torch.testing.assert_close(got, lda.predict_proba(X))
    mvn = MultivariateNormal(lda.means_, lda.covariance_[0])
    bayes = torch.softmax(mvn.log_prob(X[:, None, :]) + lda.class_prior_.log(), 1)
    torch.testing.assert_close(got, bayes)


def test_unequal_covariances_are_logistic_in_x_and_x_x_transposed():
    """QDA: T(x) = (x, vec(x x^T)), eta_k = (Sigma_k^-1 mu_k, -vec(Sigma_k^-1)/2)."""
    means, covs, priors = data.weight_and_foot_parameters()
    X, _ = data.weight_and_foot(20, seed=4)
    prec = torch.linalg.inv(covs)
    eta = torch.cat([torch.einsum("kab,kb->ka", prec, means), -0.5 * prec.flatten(1)], 1)
    A = 0.5 * torch.einsum("ka,kab,kb->k", means, prec, means) + 0.5 * torch.logdet(covs)
    t = torch.cat([X, (X[:, :, None] * X[:, None, :]).flatten(1)], 1)
    got = exponential_family_posterior(t, eta, A, priors)
    log_joint = torch.stack(
        [MultivariateNormal(means[k], covs[k]).log_prob(X) for k in range(2)], 1
    )
    torch.testing.assert_close(got, torch.softmax(log_joint + priors.log(), 1))


def test_exponential_family_refuses_bad_priors():
    eta = torch.zeros(2, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"priors must be positive and sum to 1, got \[0.3, 0.3\]"):
        exponential_family_logistic(
            eta, torch.zeros(2, dtype=F64), torch.full((2,), 0.3, dtype=F64)
        )
    with pytest.raises(ValueError, match=r"eta must be finite, got NaN or inf"):
        exponential_family_logistic(
            eta / 0, torch.zeros(2, dtype=F64), torch.full((2,), 0.5, dtype=F64)
        )
    with pytest.raises(ValueError, match=r"log_partition must have shape"):
        exponential_family_logistic(
            eta, torch.zeros(3, dtype=F64), torch.full((2,), 0.5, dtype=F64)
        )


# excess error ------------------------------------------------------------------


def _posterior(x, means, covs, priors):
    log_joint = torch.stack(
        [MultivariateNormal(means[k], covs[k]).log_prob(x) for k in range(len(priors))], 1
    )
    return torch.softmax(log_joint + priors.log(), 1)


def test_the_bayes_rule_has_no_excess_and_a_fitted_model_some():
    truth = data.weight_and_foot_parameters()
    x, _ = data.weight_and_foot(2000, seed=5)
    bayes_rule = _posterior(x, *truth).argmax(1)
    assert excess_error(x, bayes_rule, *truth).item() == 0.0
    X, y = data.weight_and_foot(10, seed=6)  # a small training set: a visible excess
    fitted = GaussianBayes(covariance="shared").fit(X, y).predict(x)
    assert excess_error(x, fitted, *truth).item() > 0


def test_excess_error_agrees_with_the_error_rates_on_labelled_draws():
    """floor + excess estimates the error rate that labels measure, within 4 SE."""
    truth = data.weight_and_foot_parameters()
    X, y = data.weight_and_foot(10, seed=6)
    model = GaussianBayes(covariance="shared").fit(X, y)
    x, labels = data.weight_and_foot(100_000, seed=7)
    rate = (model.predict(x) != labels).double().mean().item()
    se = math.sqrt(rate * (1 - rate) / len(labels))  # ~ 1.1e-3
    estimate = bayes_error(*truth).item() + excess_error(x, model.predict(x), *truth).item()
    assert abs(estimate - rate) < 4 * se


def test_excess_error_is_the_mean_gap_of_true_posteriors_in_any_dimension():
    g = torch.Generator().manual_seed(8)
    means = torch.randn(3, 4, generator=g, dtype=F64)
    A = torch.randn(3, 4, 4, generator=g, dtype=F64)
    covs = A @ A.transpose(1, 2) + torch.eye(4, dtype=F64)
    priors = torch.tensor([0.2, 0.5, 0.3], dtype=F64)
    x = torch.randn(50, 4, generator=g, dtype=F64)
    guess = torch.randint(0, 3, (50,), generator=g)
    p = _posterior(x, means, covs, priors)
    expected = (p.max(1).values - p.gather(1, guess[:, None]).squeeze(1)).mean()
    torch.testing.assert_close(excess_error(x, guess, means, covs, priors), expected)


def test_excess_error_refuses_bad_arguments_by_name():
    means, covs, priors = data.weight_and_foot_parameters()
    x = torch.zeros(3, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"prediction must have values in \[0, K=2\), got 2"):
        excess_error(x, torch.tensor([0, 1, 2]), means, covs, priors)
    with pytest.raises(ValueError, match=r"x must be finite, got NaN or inf"):
        excess_error(x / 0, torch.tensor([0, 1, 1]), means, covs, priors)
    with pytest.raises(TypeError, match=r"prediction must have"):
        excess_error(x, torch.tensor([0.0, 1.0, 1.0]), means, covs, priors)


def test_errors_over_draws_repeats_the_two_measurements_by_hand():
    """Each entry is floor + excess and the labelled error of one training draw."""
    import nnbook

    truth = data.weight_and_foot_parameters()
    models = {"lda": GaussianBayes(covariance="shared"), "qda": GaussianBayes()}
    errors, labelled = errors_over_draws(
        models, data.weight_and_foot, truth, draws=2, n_train=20, n_test=300, seeds=(3, 9)
    )
    floor = bayes_error(*truth).item()
    for r in range(2):
        X, y = data.weight_and_foot(20, seed=nnbook.seed(3 + r))
        x, labels = data.weight_and_foot(300, seed=nnbook.seed(9 + r))
        for name, model in [("lda", GaussianBayes(covariance="shared")), ("qda", GaussianBayes())]:
            guess = model.fit(X, y).predict(x)
            expected = floor + excess_error(x, guess, *truth).item()
            assert errors[name][r] == pytest.approx(expected, rel=1e-12)
            wrong = (guess != labels).double().mean().item()
            assert labelled[name][r] == pytest.approx(wrong, rel=1e-12)
    assert all(len(e) == 2 and (e >= floor).all() for e in errors.values())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"models": []},
            TypeError,
            r"models must be a non-empty dict of names to classifiers, got list",
        ),
        ({"models": {}}, TypeError, r"models must be a non-empty dict"),
        ({"sample": 3}, TypeError, r"sample must be callable, got int"),
        ({"draws": 1}, ValueError, r"draws must be at least 2, got 1"),
        ({"draws": True}, TypeError, r"draws must be an int, got bool"),
        ({"n_test": 0}, ValueError, r"n_test must be at least 1, got 0"),
        ({"n_train": 2.5}, TypeError, r"n_train must be an int, got float"),
    ],
)
def test_errors_over_draws_refuses_bad_arguments_by_name(kwargs, error, message):
    call = {
        "models": {"qda": GaussianBayes()},
        "sample": data.weight_and_foot,
        "truth": data.weight_and_foot_parameters(),
    } | kwargs
    models, sample, truth = call.pop("models"), call.pop("sample"), call.pop("truth")
    with pytest.raises(error, match=message):
        errors_over_draws(models, sample, truth, **call)
