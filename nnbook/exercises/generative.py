"""Exercises of the generative vs discriminative chapter.

Every reference calls the chapter's own code: the estimators of
:mod:`nnbook.generative` and :mod:`nnbook.generative`, or the functions beside
them. A few references set a fitted model's attributes by hand, so that the book's
method computes the quantity for given parameters instead of fitted ones.
"""

from __future__ import annotations

import functools
import math
import warnings

import torch
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from nnbook.check import Case, exercise
from nnbook.exercises._cases import rand, randn
from nnbook.generative import _discriminative as discriminative
from nnbook.generative import _gan as gan
from nnbook.generative import _modes as modes
from nnbook.generative import _vae as vae
from nnbook.generative._bayes import GaussianBayes, GaussianNaiveBayes
from nnbook.generative._bayes_error import bayes_error
from nnbook.generative._calibration import expected_calibration_error
from nnbook.generative._discriminative import (
    LogisticRegression,
    SoftmaxRegression,
)
from nnbook.generative._em import em_responsibilities
from nnbook.generative._estimator import Classifier
from nnbook.generative._exponential_family import exponential_family_logistic
from nnbook.generative._learning_curves import paired_difference
from nnbook.generative._missing import marginal_log_joint, shift_prior
from nnbook.generative._ood import auroc
from nnbook.generative._rbm import BernoulliRBM

__all__ = [
    "auroc_pairwise",
    "bayes_posterior",
    "bernoulli_logistic",
    "calibration_error",
    "cd1_update",
    "cross_val_accuracy",
    "em_e_step",
    "gaussian_kl",
    "gaussian_log_likelihood",
    "lda_logistic",
    "log_evidence_on_grid",
    "logistic_gradient",
    "missing_log_joint",
    "naive_bayes_fit",
    "optimal_discriminator",
    "paired_standard_error",
    "parameter_counts",
    "prior_shift",
    "rbm_hidden_probabilities",
    "sample_mode_shares",
    "two_gaussian_bayes_error",
]


def _tensor(rows):
    return torch.tensor(rows, dtype=torch.float64)


def _simplex(rng, *shape):
    """Positive numbers that sum to 1 along the first dimension."""
    p = rand(rng, *shape, low=0.05, high=1.0)
    return p / p.sum(dim=0)


# -- three_ways: Bayes' rule ---------------------------------------------------------


class _Table(Classifier):
    """A generative classifier of one discrete feature, given by its tables.

    Its scores are :math:`\\log p(y) + \\log p(x \\mid y)`; the book's
    :meth:`~nnbook.generative.Classifier.predict_proba` turns them into posteriors.
    """

    def __init__(self, prior, likelihood):
        self.classes_ = torch.arange(len(prior))
        self.n_features_in_ = 1
        self.log_prior, self.log_likelihood = prior.log(), likelihood.log()

    def _log_scores(self, X):
        return self.log_prior + self.log_likelihood[:, X[:, 0].long()].T


def _bayes_cases(rng):
    return [
        Case(
            "the weight example: 2 classes, 3 weight bands, equal priors",
            (
                _tensor([0.5, 0.5]),
                _tensor([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]]),
            ),
        ),
        Case(
            "a rare class: prior 0.99 against 0.01",
            (_tensor([0.99, 0.01]), _simplex(rng, 4, 2).T),
        ),
        Case("4 classes, 5 values", (_simplex(rng, 4), _simplex(rng, 5, 4).T)),
    ]


def _joint_only(prior, likelihood):
    return prior[:, None] * likelihood


def _rows_normalised(prior, likelihood):
    joint = prior[:, None] * likelihood
    return joint / joint.sum(dim=1, keepdim=True)


def _prior_ignored(prior, likelihood):
    return likelihood / likelihood.sum(dim=0)


def _bayes_by_loops(prior, likelihood):
    K, M = likelihood.shape
    posterior = torch.empty(K, M, dtype=likelihood.dtype)
    for m in range(M):
        evidence = sum(prior[k] * likelihood[k, m] for k in range(K))
        for k in range(K):
            posterior[k, m] = prior[k] * likelihood[k, m] / evidence
    return posterior


@exercise(
    statement=(
        "bayes_posterior(prior, likelihood) takes p(y) of shape (K,) and a table "
        "likelihood[k, m] = p(x = m | y = k) of shape (K, M) for a feature with M "
        "discrete values, and returns the table of posteriors p(y = k | x = m), "
        "shape (K, M)."
    ),
    cases=_bayes_cases,
    equation="eq-gd-bayes",
    kind="implement",
    section="generative_discriminative/three_ways",
    outputs=("posterior",),
    hint=(
        "A posterior is a probability distribution over the classes: for every "
        "value m, the K entries of column m must sum to 1. What does dividing by "
        "p(x) do, and which axis of the table does p(x) sum over?"
    ),
    wrong={
        "the evidence p(x) forgotten: returns p(x, y)": _joint_only,
        "normalised over the values of x instead of over the classes": (
            _rows_normalised
        ),
        "the prior ignored": _prior_ignored,
    },
    alternatives=(_bayes_by_loops,),
)
def bayes_posterior(prior, likelihood):
    """Bayes' rule through the book's classifier machinery (``predict_proba``)."""
    values = torch.arange(likelihood.shape[1], dtype=likelihood.dtype)
    return _Table(prior, likelihood).predict_proba(values[:, None]).T


# -- three_ways: the Bayes error -------------------------------------------------------


def _floor_cases(rng):
    return [
        Case(
            "equal priors, means 0 and 2, sigma 1",
            (_tensor([0.0, 2.0]), 1.0, _tensor([0.5, 0.5])),
        ),
        Case(
            "unequal priors (0.8, 0.2), sigma 2",
            (_tensor([1.0, 3.5]), 2.0, _tensor([0.8, 0.2])),
        ),
        Case(
            "class 1 left of class 0, priors (0.3, 0.7)",
            (_tensor([2.0, -1.0]), 1.5, _tensor([0.3, 0.7])),
        ),
        Case(
            "random means, sigma 0.7, random priors",
            (randn(rng, 2, scale=2.0), 0.7, _simplex(rng, 2)),
        ),
    ]


def _phi(x):
    return 0.5 * torch.special.erfc(-x / math.sqrt(2))


def _floor_closed_form(mu, sigma, prior):
    delta = (mu[1] - mu[0]).abs() / sigma
    lam = torch.log(prior[1] / prior[0])
    return prior[1] * _phi(-delta / 2 - lam / delta) + prior[0] * _phi(
        -delta / 2 + lam / delta
    )


def _floor_priors_forgotten(mu, sigma, prior):
    return _phi(-(mu[1] - mu[0]).abs() / sigma / 2)


def _floor_not_halved(mu, sigma, prior):
    delta = (mu[1] - mu[0]).abs() / sigma
    lam = torch.log(prior[1] / prior[0])
    return prior[1] * _phi(-delta - lam / delta) + prior[0] * _phi(
        -delta + lam / delta
    )


def _floor_variance(mu, sigma, prior):
    delta = (mu[1] - mu[0]).abs() / sigma**2
    lam = torch.log(prior[1] / prior[0])
    return prior[1] * _phi(-delta / 2 - lam / delta) + prior[0] * _phi(
        -delta / 2 + lam / delta
    )


def _floor_shift_flipped(mu, sigma, prior):
    delta = (mu[1] - mu[0]).abs() / sigma
    lam = torch.log(prior[1] / prior[0])
    return prior[1] * _phi(-delta / 2 + lam / delta) + prior[0] * _phi(
        -delta / 2 - lam / delta
    )


def _floor_by_distributions(mu, sigma, prior):
    """Where pi_0 N(x; mu_0) = pi_1 N(x; mu_1), then the two tails."""
    x = (mu[0] + mu[1]) / 2 + sigma**2 * torch.log(prior[0] / prior[1]) / (
        mu[1] - mu[0]
    )
    normal = torch.distributions.Normal(mu, sigma)
    right = 1 - normal.cdf(x)  # the mass of each class beyond the boundary
    left = normal.cdf(x)
    if mu[1] > mu[0]:
        return prior[0] * right[0] + prior[1] * left[1]
    return prior[0] * left[0] + prior[1] * right[1]


@exercise(
    statement=(
        "two_gaussian_bayes_error(mu, sigma, prior) returns the Bayes error, a 0-D "
        "tensor, of two 1-D Gaussian classes with means mu (2,), one shared standard "
        "deviation sigma (a float) and priors prior (2,)."
    ),
    cases=_floor_cases,
    equation="eq-gd-bayes-error",
    kind="derive",
    section="generative_discriminative/three_ways",
    hint=(
        "The Bayes rule picks class 1 where pi_1 N(x; mu_1, sigma^2) > pi_0 N(x; mu_0, "
        "sigma^2): one threshold, shifted from the midpoint by sigma^2 log(pi_0/pi_1) "
        "/ (mu_1 - mu_0). The error is pi_0 times class 0's mass beyond it plus pi_1 "
        "times class 1's mass before it (for mu_1 > mu_0). Measure distances in units "
        "of sigma, and mind which way log(pi_0/pi_1) moves the threshold."
    ),
    wrong={
        "the priors forgotten, Phi(-Delta/2)": _floor_priors_forgotten,
        "Phi(-Delta) instead of Phi(-Delta/2)": _floor_not_halved,
        "the distance divided by the variance, not the standard deviation": _floor_variance,
        "the threshold moved towards the more probable class": _floor_shift_flipped,
    },
    alternatives=(_floor_closed_form, _floor_by_distributions),
)
def two_gaussian_bayes_error(mu, sigma, prior):
    """The book's exact Bayes error, :func:`nnbook.generative.bayes_error`, in 1-D."""
    covs = torch.full((2, 1, 1), float(sigma) ** 2, dtype=mu.dtype)
    return bayes_error(mu[:, None], covs, prior)


# -- bayes_classifiers: naive Bayes and LDA ------------------------------------------


def _gll_cases(rng):
    return [
        Case(
            "one feature, standard normal",
            (_tensor([[0.0], [1.0], [-2.0]]), _tensor([0.0]), _tensor([1.0])),
        ),
        Case(
            "5 samples, 3 features, variances away from 1",
            (randn(rng, 5, 3), randn(rng, 3), rand(rng, 3, low=0.1, high=4.0)),
        ),
        Case(
            "400 features, far from the mean: the product of densities underflows",
            (
                randn(rng, 2, 400, scale=5.0),
                torch.zeros(400, dtype=torch.float64),
                torch.full((400,), 0.5, dtype=torch.float64),
            ),
        ),
    ]


def _var_as_std(X, mean, var):
    return (
        -0.5 * math.log(2 * math.pi)
        - var.log()
        - (X - mean) ** 2 / (2 * var**2)
    ).sum(dim=1)


def _no_normaliser(X, mean, var):
    return (-((X - mean) ** 2) / (2 * var)).sum(dim=1)


def _log_of_product(X, mean, var):
    density = torch.exp(-((X - mean) ** 2) / (2 * var)) / torch.sqrt(
        2 * math.pi * var
    )
    return density.prod(dim=1).log()


def _gll_with_torch(X, mean, var):
    normal = torch.distributions.Normal(mean, var.sqrt())
    return normal.log_prob(X).sum(dim=1)


def _naive_bayes_model(prior, means, var):
    """A GaussianNaiveBayes with the given parameters in place of fitted ones."""
    model = GaussianNaiveBayes()
    model.class_prior_, model.theta_, model.var_ = prior, means, var
    return model


@exercise(
    statement=(
        "gaussian_log_likelihood(X, mean, var) returns the log-density of a Gaussian "
        "with independent features, means mean (F,) and variances var (F,), at every "
        "row of X (n, F): shape (n,), the class-conditional term of naive Bayes. "
        "Work in logarithms throughout."
    ),
    cases=_gll_cases,
    equation="eq-gd-naive-bayes",
    kind="implement",
    section="generative_discriminative/bayes_classifiers",
    outputs=("log_likelihood",),
    hint=(
        "Each feature contributes the log of a one-dimensional Gaussian density, "
        "normalising constant included; var is a variance, not a standard "
        "deviation. With many features, take the log of each density and sum: a "
        "product of hundreds of small numbers is 0 in floating point."
    ),
    wrong={
        "var used as a standard deviation": _var_as_std,
        "the normalising term log(2 pi sigma^2) left out": _no_normaliser,
        "the log of the product of the densities (underflows)": _log_of_product,
    },
    alternatives=(_gll_with_torch,),
)
def gaussian_log_likelihood(X, mean, var):
    """The density term of ``GaussianNaiveBayes._log_scores``, for one class of prior 1."""
    one = torch.ones(1, dtype=X.dtype)
    return _naive_bayes_model(one, mean[None], var[None])._log_scores(X)[:, 0]


def _fit_cases(rng):
    weights = torch.cat([60 + 8 * randn(rng, 5, 1), 80 + 10 * randn(rng, 6, 1)])
    feet = torch.cat(
        [torch.full((5, 1), 24.0, dtype=torch.float64), 27 + randn(rng, 6, 1)]
    )  # every woman of this sample has the same foot length
    return [
        Case(
            "2 classes of 3 and 5 samples, 2 features",
            (randn(rng, 8, 2), torch.tensor([0, 1, 1, 0, 1, 1, 0, 1])),
        ),
        Case(
            "weight (kg) and foot length (cm); a foot length constant in a class",
            (
                torch.cat([weights, feet], dim=1),
                torch.tensor([0] * 5 + [1] * 6),
            ),
        ),
        Case(
            "3 classes, 3 features, var_smoothing = 0.05",
            (randn(rng, 12, 3, scale=3.0), torch.arange(12) % 3),
            {"var_smoothing": 0.05},
        ),
    ]


def _unbiased_variance(X, y, var_smoothing=1e-9):
    K = int(y.max()) + 1
    prior = torch.stack([(y == k).double().mean() for k in range(K)])
    mu = torch.stack([X[y == k].mean(dim=0) for k in range(K)])
    var = torch.stack([X[y == k].var(dim=0) for k in range(K)])  # n_k - 1
    return prior, mu, var + var_smoothing * X.var(dim=0, unbiased=False).max()


def _counts_as_prior(X, y, var_smoothing=1e-9):
    K = int(y.max()) + 1
    counts = torch.stack([(y == k).double().sum() for k in range(K)])
    mu = torch.stack([X[y == k].mean(dim=0) for k in range(K)])
    var = torch.stack([X[y == k].var(dim=0, unbiased=False) for k in range(K)])
    return counts, mu, var + var_smoothing * X.var(dim=0, unbiased=False).max()


def _no_smoothing(X, y, var_smoothing=1e-9):
    K = int(y.max()) + 1
    prior = torch.stack([(y == k).double().mean() for k in range(K)])
    mu = torch.stack([X[y == k].mean(dim=0) for k in range(K)])
    var = torch.stack([X[y == k].var(dim=0, unbiased=False) for k in range(K)])
    return prior, mu, var


def _smoothing_unscaled(X, y, var_smoothing=1e-9):
    prior, mu, var = _no_smoothing(X, y)
    return prior, mu, var + var_smoothing


def _fit_by_one_hot(X, y, var_smoothing=1e-9):
    onehot = torch.nn.functional.one_hot(y).double()  # (n, K)
    counts = onehot.sum(dim=0)
    mu = onehot.T @ X / counts[:, None]
    var = onehot.T @ X**2 / counts[:, None] - mu**2
    largest = ((X - X.mean(dim=0)) ** 2).mean(dim=0).max()
    return counts / len(y), mu, var + var_smoothing * largest


@exercise(
    statement=(
        "naive_bayes_fit(X, y, var_smoothing=1e-9) fits Gaussian naive Bayes with "
        "per-class variances to X (n, F) and labels y (n,) in 0..K-1, and returns "
        "(prior, mu, var): the class priors (K,), the class means (K, F) and the "
        "maximum-likelihood class variances (K, F), each variance increased, as in "
        "scikit-learn's GaussianNB, by var_smoothing times the largest "
        "maximum-likelihood variance of any feature over the whole of X."
    ),
    cases=_fit_cases,
    equation="eq-gd-naive-bayes",
    kind="implement",
    section="generative_discriminative/bayes_classifiers",
    outputs=("prior", "mu", "var"),
    hint=(
        "All three are maximum-likelihood estimates: a prior is a fraction of the "
        "samples, and a maximum-likelihood variance divides by the number of "
        "samples in the class, not one less. Do not forget the smoothing term: a "
        "feature that is constant in a class has variance 0 without it."
    ),
    wrong={
        "unbiased variances (divided by n_k - 1)": _unbiased_variance,
        "the class counts as priors, not normalised": _counts_as_prior,
        "var_smoothing forgotten": _no_smoothing,
        "var_smoothing added as it is, not times the largest variance": (
            _smoothing_unscaled
        ),
    },
    alternatives=(_fit_by_one_hot,),
)
def naive_bayes_fit(X, y, var_smoothing=1e-9):
    """``GaussianNaiveBayes.fit``: its priors, means and variances."""
    model = GaussianNaiveBayes(var_smoothing=var_smoothing).fit(X, y)
    return model.class_prior_, model.theta_, model.var_


def _lda_cases(rng):
    A = randn(rng, 3, 3)
    return [
        Case(
            "equal priors, identity covariance",
            (
                _tensor([[0.0, 0.0], [1.0, 2.0]]),
                torch.eye(2, dtype=torch.float64),
            ),
            {"prior": _tensor([0.5, 0.5])},
        ),
        Case(
            "correlated features, equal priors",
            (
                randn(rng, 2, 3),
                A @ A.T + 0.5 * torch.eye(3, dtype=torch.float64),
            ),
            {"prior": _tensor([0.5, 0.5])},
        ),
        Case(
            "the weight-and-foot shape, unequal priors",
            (
                _tensor([[62.0, 23.5], [80.0, 27.0]]),
                _tensor([[90.0, 9.0], [9.0, 1.5]]),
            ),
            {"prior": _tensor([0.3, 0.7])},
        ),
    ]


def _lda_no_inverse(means, cov, prior):
    mu0, mu1 = means
    w = mu1 - mu0
    b = -0.5 * mu1 @ mu1 + 0.5 * mu0 @ mu0 + torch.log(prior[1] / prior[0])
    return w, b


def _lda_prior_forgotten(means, cov, prior):
    mu0, mu1 = means
    inv = torch.linalg.inv(cov)
    return inv @ (mu1 - mu0), -0.5 * mu1 @ inv @ mu1 + 0.5 * mu0 @ inv @ mu0


def _lda_classes_swapped(means, cov, prior):
    mu1, mu0 = means
    inv = torch.linalg.inv(cov)
    b = -0.5 * mu1 @ inv @ mu1 + 0.5 * mu0 @ inv @ mu0
    return inv @ (mu1 - mu0), b + torch.log(prior[1] / prior[0])


def _lda_by_solve(means, cov, prior):
    mu0, mu1 = means
    w = torch.linalg.solve(cov, mu1 - mu0)
    b = -0.5 * (mu1 + mu0) @ w + torch.log(prior[1]) - torch.log(prior[0])
    return w, b


@exercise(
    statement=(
        "lda_logistic(means, cov, prior) takes the means (2, F) of classes 0 and "
        "1, their shared covariance cov (F, F) and the priors (2,), and returns "
        "(w, b), w of shape (F,) and b a 0-D tensor, such that the LDA posterior is "
        "p(y = 1 | x) = sigmoid(w . x + b)."
    ),
    cases=_lda_cases,
    equation="eq-gd-lda-logistic",
    kind="derive",
    section="generative_discriminative/bayes_classifiers",
    outputs=("w", "b"),
    hint=(
        "Write the log-odds log p(y=1|x) - log p(y=0|x) as the difference of the two "
        "log joint densities: the log-determinants and the quadratic terms "
        "x^T Sigma^-1 x cancel. What is left is linear in x; keep the priors, and "
        "keep class 1 first in the difference."
    ),
    wrong={
        "the covariance left out (w = mu_1 - mu_0)": _lda_no_inverse,
        "the log prior ratio forgotten": _lda_prior_forgotten,
        "the classes swapped in b": _lda_classes_swapped,
    },
    alternatives=(_lda_by_solve,),
)
def lda_logistic(means, cov, prior):
    """The log-odds of the book's LDA (``GaussianBayes(covariance="shared")``).

    They are linear, so their value at x = 0 is b, and at the unit vector e_j it is
    b + w_j.
    """
    F = means.shape[1]
    model = GaussianBayes(covariance="shared")
    model.classes_, model.class_prior_, model.means_ = (
        torch.arange(2),
        prior,
        means,
    )
    model.covariance_ = cov.expand(2, F, F)
    model._cholesky = torch.linalg.cholesky(model.covariance_)
    model.n_features_in_ = F
    points = torch.cat([torch.zeros(1, F, dtype=means.dtype), torch.eye(F)])
    scores = model.log_joint(points.to(means.dtype))
    log_odds = scores[:, 1] - scores[:, 0]
    return log_odds[1:] - log_odds[0], log_odds[0]


# -- bayes_classifiers: Bernoulli naive Bayes is logistic ------------------------------


def _bernoulli_cases(rng):
    return [
        Case(
            "3 pixels, equal priors",
            (_tensor([[0.1, 0.5, 0.8], [0.7, 0.5, 0.2]]), _tensor([0.5, 0.5])),
        ),
        Case(
            "8 pixels, unequal priors",
            (rand(rng, 2, 8, low=0.05, high=0.95), _tensor([0.3, 0.7])),
        ),
        Case(
            "64 pixels of the digits' size, some almost always off",
            (rand(rng, 2, 64, low=0.001, high=0.6), _tensor([0.45, 0.55])),
        ),
    ]


def _bernoulli_theta_as_eta(theta, prior):
    w = theta[1] - theta[0]
    b = torch.log1p(-theta[1]).sum() - torch.log1p(-theta[0]).sum()
    return w, b + torch.log(prior[1] / prior[0])


def _bernoulli_no_partition(theta, prior):
    eta = torch.log(theta / (1 - theta))
    return eta[1] - eta[0], torch.log(prior[1] / prior[0])


def _bernoulli_prior_forgotten(theta, prior):
    eta = torch.log(theta / (1 - theta))
    b = torch.log1p(-theta[1]).sum() - torch.log1p(-theta[0]).sum()
    return eta[1] - eta[0], b


def _bernoulli_classes_swapped(theta, prior):
    eta = torch.log(theta / (1 - theta))
    b = torch.log1p(-theta[0]).sum() - torch.log1p(-theta[1]).sum()
    return eta[0] - eta[1], b + torch.log(prior[0] / prior[1])  # class 0 first


def _bernoulli_by_hand(theta, prior):
    # log p(x, y=k) = sum_j x_j log theta_kj + (1 - x_j) log(1 - theta_kj) + log pi_k
    w = (theta[1].log() - theta[0].log()) - (
        torch.log1p(-theta[1]) - torch.log1p(-theta[0])
    )
    b = (torch.log1p(-theta[1]) - torch.log1p(-theta[0])).sum()
    return w, b + prior[1].log() - prior[0].log()


@exercise(
    statement=(
        "bernoulli_logistic(theta, prior) takes the pixel probabilities theta (2, F) "
        "of Bernoulli naive Bayes, theta[k, j] = p(x_j = 1 | y = k), and the priors "
        "(2,), and returns (w, b), w of shape (F,) and b a 0-D tensor, such that "
        "its posterior is p(y = 1 | x) = sigmoid(w . x + b) for x in {0, 1}^F."
    ),
    cases=_bernoulli_cases,
    equation="eq-gd-exp-family-posterior",
    kind="derive",
    section="generative_discriminative/bayes_classifiers",
    outputs=("w", "b"),
    hint=(
        "Write theta^x (1 - theta)^(1 - x) as exp(x log(theta / (1 - theta)) + "
        "log(1 - theta)): the natural parameter is the log-odds of the pixel and the "
        "log-partition is -log(1 - theta), summed over the pixels. Then "
        "w = eta_1 - eta_0 and b = A(eta_0) - A(eta_1) + log(pi_1 / pi_0)."
    ),
    wrong={
        "theta used in place of its log-odds log(theta / (1 - theta))": (
            _bernoulli_theta_as_eta
        ),
        "the log-partition term sum log(1 - theta) forgotten": _bernoulli_no_partition,
        "the log prior ratio forgotten": _bernoulli_prior_forgotten,
        "class 0 against class 1: the signs flipped": _bernoulli_classes_swapped,
    },
    alternatives=(_bernoulli_by_hand,),
)
def bernoulli_logistic(theta, prior):
    """The book's :func:`~nnbook.generative.exponential_family_logistic`, for pixels."""
    eta = torch.log(theta) - torch.log1p(
        -theta
    )  # (2, F): the natural parameters
    log_partition = -torch.log1p(-theta).sum(
        dim=1
    )  # A(eta_k) = -sum log(1 - theta)
    W, b = exponential_family_logistic(eta, log_partition, prior)
    return W[0], b[0]


# -- logistic_regression --------------------------------------------------------------


def _logistic_cases(rng):
    return [
        Case(
            "no penalty, 6 samples, b = 0.5",
            (randn(rng, 6, 2), _tensor([0, 1, 1, 0, 1, 0]), randn(rng, 2), 0.5),
        ),
        Case(
            "with a penalty, C = 0.1, b = -1",
            (
                randn(rng, 10, 4),
                (rand(rng, 10) < 0.5).double(),
                randn(rng, 4),
                -1.0,
                0.1,
            ),
        ),
        Case(
            "one sample, a penalty C = 2 and b = 3 as a 0-D tensor",
            (
                randn(rng, 1, 3),
                _tensor([1.0]),
                randn(rng, 3),
                _tensor(3.0),
                2.0,
            ),
        ),
    ]


def _mean_gradient(X, y, w, b, C=math.inf):
    error = torch.sigmoid(X @ w + b) - y
    return (X.T @ error) / len(X) + w / C, error.mean()


def _sign_flipped(X, y, w, b, C=math.inf):
    error = y - torch.sigmoid(X @ w + b)
    return X.T @ error + w / C, error.sum()


def _intercept_penalised(X, y, w, b, C=math.inf):
    error = torch.sigmoid(X @ w + b) - y
    return X.T @ error + w / C, error.sum() + torch.as_tensor(b) / C


def _penalty_halved(X, y, w, b, C=math.inf):
    error = torch.sigmoid(X @ w + b) - y
    return X.T @ error + w / (2 * C), error.sum()


def _gradient_by_autograd(X, y, w, b, C=math.inf):
    w = w.clone().requires_grad_()
    b = torch.as_tensor(b, dtype=X.dtype).clone().requires_grad_()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        X @ w + b, y, reduction="sum"
    ) + (w**2).sum() / (2 * C)
    return torch.autograd.grad(loss, (w, b))


@exercise(
    statement=(
        "logistic_gradient(X, y, w, b, C=inf) returns (dw, db), the gradient of the "
        "binary cross-entropy of labels y (n,) in {0, 1}, summed over the rows of "
        "X (n, F), plus |w|^2 / (2C), with respect to w (F,) and to the intercept b "
        "(a number or a 0-D tensor); dw has shape (F,) and db is a 0-D tensor."
    ),
    cases=_logistic_cases,
    equation="eq-gd-logistic-gradient",
    kind="implement",
    section="generative_discriminative/logistic_regression",
    outputs=("dw", "db"),
    hint=(
        "The book's J sums the losses of the examples, it does not average them. The "
        "derivative of one example's loss with respect to its logit is "
        "prediction minus label, in that order. Only w is penalised, and the "
        "derivative of |w|^2 / (2C) has no 1/2 left."
    ),
    wrong={
        "a mean over the samples where J sums (1/n too many)": _mean_gradient,
        "the sign flipped: y - p instead of p - y": _sign_flipped,
        "the intercept penalised too": _intercept_penalised,
        "the penalty's derivative w / (2C)": _penalty_halved,
    },
    alternatives=(_gradient_by_autograd,),
)
def logistic_gradient(X, y, w, b, C=math.inf):
    """``nnbook.generative.logistic_gradient``."""
    dw, db = discriminative.logistic_gradient(X, y, w, b, C)
    return dw, torch.as_tensor(db, dtype=X.dtype)


# -- comparison -------------------------------------------------------------------------


def _cv_cases(rng):
    """Fixed draws: one where the leak changes a prediction, one where the
    order of the samples does, and one where skipping the standardization does
    (a generator seeded per case, not rng)."""
    y = torch.arange(20) % 2
    X = randn(torch.Generator().manual_seed(0), 20, 2) + y[:, None]
    X[0, 0] = 40.0  # one outlier, which inflates the scale of feature 0
    y_grouped = torch.arange(24) % 2
    grouped = randn(torch.Generator().manual_seed(2), 24, 2)
    grouped += 1.5 * y_grouped[:, None]
    grouped[:12] += _tensor([3.0, -1.0])  # the first 12 come from elsewhere
    y_scaled = torch.arange(30) % 2
    scaled = randn(torch.Generator().manual_seed(3), 30, 2)
    scaled[:, 0] = (scaled[:, 0] + 2.0 * (2 * y_scaled - 1)) * 1e-3
    scaled[:, 1] *= 100  # noise on a scale 10^5 times larger than the signal
    return [
        Case("20 samples, 2 features, an outlier, 4 folds", (X, y, 4, 0)),
        Case(
            "30 samples, the signal in a feature 10^5 times smaller, 3 folds",
            (scaled, y_scaled, 3, 0),
        ),
        Case(
            "24 samples, the first 12 from a shifted group, 3 folds",
            (grouped, y_grouped, 3, 1),
        ),
    ]


def _cv_run(
    X, y, n_splits, seed, leak=False, on_train=False, shuffle=True, scale=True
):
    folds = StratifiedKFold(
        n_splits, shuffle=shuffle, random_state=seed if shuffle else None
    )
    scores = []
    for train, test in folds.split(X.numpy(), y.numpy()):
        scaler = StandardScaler().fit(X.numpy() if leak else X[train].numpy())
        X_train = torch.tensor(scaler.transform(X[train].numpy()))
        X_test = torch.tensor(scaler.transform(X[test].numpy()))
        if not scale:
            X_train, X_test = X[train], X[test]
        model = LogisticRegression(C=1.0).fit(X_train, y[train])
        if on_train:
            scores.append(model.score(X_train, y[train]))
        else:
            scores.append(model.score(X_test, y[test]))
    return sum(scores) / len(scores)


def _cv_leak(X, y, n_splits, seed):
    return _cv_run(X, y, n_splits, seed, leak=True)


def _cv_training_accuracy(X, y, n_splits, seed):
    return _cv_run(X, y, n_splits, seed, on_train=True)


def _cv_unshuffled(X, y, n_splits, seed):
    return _cv_run(X, y, n_splits, seed, shuffle=False)


def _cv_by_hand(X, y, n_splits, seed):
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    correct = []
    for train, test in folds.split(X.numpy(), y.numpy()):
        mean = X[train].mean(dim=0)
        std = X[train].std(dim=0, unbiased=False)
        model = LogisticRegression(C=1.0).fit((X[train] - mean) / std, y[train])
        predicted = model.predict((X[test] - mean) / std)
        correct.append((predicted == y[test]).double().mean().item())
    return float(sum(correct) / n_splits)


def _cv_unscaled(X, y, n_splits, seed):
    return _cv_run(X, y, n_splits, seed, scale=False)


@exercise(
    statement=(
        "cross_val_accuracy(X, y, n_splits, seed) returns the mean test accuracy, a "
        "float, of nnbook's LogisticRegression(C=1.0) over the folds of scikit-learn's "
        "StratifiedKFold(n_splits, shuffle=True, random_state=seed), with the "
        "features standardized inside each fold as the comparison section does. "
        "Compared to 1e-6: the numbers are exact fractions."
    ),
    cases=_cv_cases,
    equation=None,
    kind="experiment",
    section="generative_discriminative/comparison",
    outputs=("accuracy",),
    hint=(
        "The test part of a fold must play no part in training, not even in the "
        "mean and standard deviation of the scaler. Score on the test part, and "
        "let the folds shuffle with the given seed."
    ),
    wrong={
        "the scaler fitted on all the data (the test folds leak in)": _cv_leak,
        "the accuracy on the training part of each fold": _cv_training_accuracy,
        "folds without shuffling": _cv_unshuffled,
        "no standardization at all": _cv_unscaled,
    },
    alternatives=(_cv_by_hand,),
)
def cross_val_accuracy(X, y, n_splits, seed):
    """The protocol of the comparison page, with nnbook's LogisticRegression."""
    return _cv_run(X, y, n_splits, seed)


# -- calibration: the expected calibration error ---------------------------------------


def _ece_cases(rng):
    hits = torch.tensor([1] * 6 + [0] * 4)
    return [
        Case(
            "every case announced at 0.9, right 6 times in 10: a gap of 0.3",
            (torch.full((10,), 0.9, dtype=torch.float64), hits, 10),
        ),
        Case(
            "values on bin edges (0.1, 0.5, 1.0) go to the lower bin",
            (
                _tensor([0.1, 0.1, 0.5, 0.5, 0.55, 1.0, 0.0]),
                torch.tensor([1, 0, 1, 1, 0, 1, 0]),
                10,
            ),
        ),
        Case(
            "60 random cases, 5 bins, some bins far fuller than others",
            (
                rand(rng, 60) ** 3,
                (rand(rng, 60) < 0.3).long(),
                5,
            ),
        ),
        Case(
            "200 random cases, over- and underconfident bins, 10 bins",
            (rand(rng, 200), (rand(rng, 200) < 0.5).long(), 10),
        ),
    ]


def _ece_parts(p, y, n_bins, *, right_edge=False):
    """Count, mean announcement and frequency of every bin, empty ones included."""
    edges = torch.linspace(0, 1, n_bins + 1, dtype=p.dtype)
    bins = torch.searchsorted(edges[1:-1], p, right=right_edge)
    count = torch.bincount(bins, minlength=n_bins).to(p.dtype)
    conf = torch.zeros(n_bins, dtype=p.dtype).index_add_(0, bins, p)
    freq = torch.zeros(n_bins, dtype=p.dtype).index_add_(0, bins, y.to(p.dtype))
    safe = count.clamp(min=1)
    return count, conf / safe, freq / safe


def _ece_unweighted(p, y, n_bins):
    count, conf, freq = _ece_parts(p, y, n_bins)
    full = count > 0
    return (freq[full] - conf[full]).abs().mean()


def _ece_signed(p, y, n_bins):
    count, conf, freq = _ece_parts(p, y, n_bins)
    return (count / len(p) * (freq - conf)).sum().abs()


def _ece_bin_centres(p, y, n_bins):
    count, _, freq = _ece_parts(p, y, n_bins)
    centre = (torch.arange(n_bins, dtype=p.dtype) + 0.5) / n_bins
    full = count > 0
    return (count[full] / len(p) * (freq[full] - centre[full]).abs()).sum()


def _ece_floor_bins(p, y, n_bins):
    count, conf, freq = _ece_parts(p, y, n_bins, right_edge=True)
    return (count / len(p) * (freq - conf).abs()).sum()


def _ece_by_loops(p, y, n_bins):
    total = torch.zeros((), dtype=p.dtype)
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        inside = (p > low) & (p <= high) if b else (p <= high)
        if inside.any():
            gap = y[inside].to(p.dtype).mean() - p[inside].mean()
            total = total + inside.sum() / len(p) * gap.abs()
    return total


@exercise(
    statement=(
        "calibration_error(p, y, n_bins) takes the announced probabilities p of "
        "the event y = 1, shape (n,), the outcomes y (0 or 1), shape (n,), and "
        "a number of equal-width bins on [0, 1]; a value on a bin edge belongs "
        "to the lower bin. Return the expected calibration error, a 0-D tensor."
    ),
    cases=_ece_cases,
    equation="eq-gd-ece",
    kind="implement",
    section="generative_discriminative/calibration",
    outputs=("ece",),
    hint=(
        "Per non-empty bin, compare the mean announced probability with the "
        "share of y = 1, take the absolute gap, and weight it by the share of "
        "all n cases that fall in the bin. torch.searchsorted on the inner "
        "edges puts a value on an edge in the lower bin."
    ),
    wrong={
        "every non-empty bin weighted equally, not by its size": _ece_unweighted,
        "signed gaps summed, so over- and underconfidence cancel": _ece_signed,
        "the bin centre used instead of the mean announcement": _ece_bin_centres,
        "a value on an edge put in the upper bin": _ece_floor_bins,
    },
    alternatives=(_ece_by_loops,),
)
def calibration_error(p, y, n_bins):
    """The book's ECE of the probabilities of class 1."""
    return expected_calibration_error(p, y, n_bins)


# -- missing_and_prior: classifying with missing features -------------------------------


def _spd(rng, K, F):
    """K random covariance matrices (K, F, F), well conditioned and correlated."""
    A = randn(rng, K, F, F)
    return A @ A.mT + 0.5 * torch.eye(F, dtype=torch.float64)


def _with_gaps(x, observed):
    """x with NaN where the feature is missing."""
    return torch.where(observed, x, torch.nan)


def _missing_cases(rng):
    F = 4
    observed = torch.tensor([True, False, True, False])
    return [
        Case(
            "2 classes, 4 correlated features, two of them missing",
            (
                randn(rng, 2, F),
                _spd(rng, 2, F),
                _tensor([0.3, 0.7]).log(),
                _with_gaps(randn(rng, F), observed),
                observed,
            ),
        ),
        Case(
            "3 classes, 5 features, only the last one missing",
            (
                randn(rng, 3, 5, scale=2.0),
                _spd(rng, 3, 5),
                _tensor([0.2, 0.5, 0.3]).log(),
                _with_gaps(randn(rng, 5), torch.arange(5) < 4),
                torch.arange(5) < 4,
            ),
        ),
        Case(
            "nothing missing: the full log joint",
            (
                randn(rng, 2, 3),
                _spd(rng, 2, 3),
                _tensor([0.6, 0.4]).log(),
                randn(rng, 3),
                torch.ones(3, dtype=torch.bool),
            ),
        ),
        Case(
            "one feature observed out of 6",
            (
                randn(rng, 2, 6),
                _spd(rng, 2, 6),
                _tensor([0.1, 0.9]).log(),
                _with_gaps(randn(rng, 6), torch.arange(6) == 3),
                torch.arange(6) == 3,
            ),
        ),
    ]


def _gaussian_log_joint(diff, cov, log_prior, dim):
    """log prior + log N(diff; 0, cov) for each class; diff (K, F'), cov (K, F', F')."""
    mahalanobis = (diff * torch.linalg.solve(cov, diff[..., None])[..., 0]).sum(
        -1
    )
    log_det = torch.linalg.slogdet(cov).logabsdet
    return log_prior - 0.5 * (
        dim * math.log(2 * math.pi) + log_det + mahalanobis
    )


def _mean_imputed(means, covs, log_prior, x, observed):
    filled = torch.where(
        observed, x, means
    )  # (K, F): each class's mean filled in
    return _gaussian_log_joint(filled - means, covs, log_prior, len(x))


def _rows_only(means, covs, log_prior, x, observed):
    diff = torch.where(observed, x - means, 0.0)  # (K, F), zero where missing
    solved = torch.linalg.solve(covs, diff[..., None])[..., 0]  # the full Sigma
    mahalanobis = (diff * solved)[:, observed].sum(
        -1
    )  # rows dropped afterwards
    cov = covs[:, observed][:, :, observed]
    log_det = torch.linalg.slogdet(cov).logabsdet
    dim = int(observed.sum())
    return log_prior - 0.5 * (
        dim * math.log(2 * math.pi) + log_det + mahalanobis
    )


def _missing_prior_forgotten(means, covs, log_prior, x, observed):
    o = observed
    diff = x[o] - means[:, o]
    return _gaussian_log_joint(diff, covs[:, o][:, :, o], 0.0, int(o.sum()))


def _missing_full_dimension(means, covs, log_prior, x, observed):
    o = observed
    diff = x[o] - means[:, o]
    return _gaussian_log_joint(diff, covs[:, o][:, :, o], log_prior, len(x))


def _missing_by_distributions(means, covs, log_prior, x, observed):
    o = observed
    normal = torch.distributions.MultivariateNormal(
        means[:, o], covariance_matrix=covs[:, o][:, :, o]
    )
    return log_prior + normal.log_prob(x[o])


@exercise(
    statement=(
        "missing_log_joint(means, covs, log_prior, x, observed) takes the means "
        "(K, F), full covariances (K, F, F) and log priors (K,) of K Gaussian "
        "classes, one input x (F,) and a bool mask observed (F,), and returns "
        "log p(y = k) + log p(x_o | y = k) of shape (K,), with the missing features "
        "(NaN in x) integrated out."
    ),
    cases=_missing_cases,
    equation="eq-gd-marginal",
    kind="implement",
    section="generative_discriminative/missing_and_prior",
    outputs=("log_joint",),
    hint=(
        "The marginal of a Gaussian is the Gaussian of the observed coordinates: "
        "keep the entries o of each mean and the rows and the columns o of each "
        "covariance. The normalising constant is that of an F_o-dimensional "
        "Gaussian, F_o the number of observed features, and the log prior is added."
    ),
    wrong={
        "the class mean imputed for the missing features": _mean_imputed,
        "only the rows dropped: solved with the full Sigma": _rows_only,
        "the log prior forgotten": _missing_prior_forgotten,
        "the full dimension F in the normalising constant": _missing_full_dimension,
    },
    alternatives=(_missing_by_distributions,),
)
def missing_log_joint(means, covs, log_prior, x, observed):
    """The book's :func:`~nnbook.generative.marginal_log_joint` for given parameters."""
    K, F = means.shape
    model = GaussianBayes()
    model.classes_, model.class_prior_, model.means_ = (
        torch.arange(K),
        log_prior.exp(),
        means,
    )
    model.covariance_ = covs
    model.n_features_in_ = F
    return marginal_log_joint(model, x[None], observed[None])[0]


# -- missing_and_prior: a new class prior ----------------------------------------------


def _prior_shift_cases(rng):
    return [
        Case(
            "2 classes, trained on 50/50, used where 10 % are class 0",
            (
                _tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]),
                _tensor([0.5, 0.5]),
                _tensor([0.1, 0.9]),
            ),
        ),
        Case(
            "3 classes, an unbalanced training prior",
            (
                _simplex(rng, 3, 6).T,
                _tensor([0.6, 0.3, 0.1]),
                _tensor([0.2, 0.2, 0.6]),
            ),
        ),
        Case(
            "the same prior before and after: nothing changes",
            (
                _simplex(rng, 4, 5).T,
                _tensor([0.1, 0.2, 0.3, 0.4]),
                _tensor([0.1, 0.2, 0.3, 0.4]),
            ),
        ),
        Case(
            "a certain posterior (a 0 in the row) stays certain",
            (
                _tensor([[1.0, 0.0], [0.3, 0.7]]),
                _tensor([0.7, 0.3]),
                _tensor([0.2, 0.8]),
            ),
        ),
    ]


def _ratio_inverted(proba, prior, new_prior):
    weighted = proba * prior / new_prior
    return weighted / weighted.sum(dim=1, keepdim=True)


def _old_prior_not_divided(proba, prior, new_prior):
    weighted = proba * new_prior
    return weighted / weighted.sum(dim=1, keepdim=True)


def _not_renormalised(proba, prior, new_prior):
    return proba * new_prior / prior


def _prior_shift_by_bayes(proba, prior, new_prior):
    likelihood = proba / prior  # p(x | y) / p(x): the prior taken out
    joint = likelihood * new_prior  # the new prior put in
    return joint / joint.sum(dim=1, keepdim=True)


@exercise(
    statement=(
        "prior_shift(proba, prior, new_prior) takes posteriors p(y = k | x) of shape "
        "(n, K) from a classifier trained where the classes had the prior given by "
        "prior (K,), and returns the posteriors of shape (n, K) for data whose "
        "prior is new_prior (K,) and whose p(x | y) is unchanged."
    ),
    cases=_prior_shift_cases,
    equation="eq-gd-prior-shift",
    kind="implement",
    section="generative_discriminative/missing_and_prior",
    outputs=("new_proba",),
    hint=(
        "Undo the old prior, put in the new one, and renormalise: p(y | x) / p(y) "
        "is p(x | y) / p(x), which the change of prior leaves alone. With a uniform "
        "training prior, forgetting to divide by it goes unnoticed; the second case "
        "has an unbalanced one."
    ),
    wrong={
        "the ratio upside down: old prior over new": _ratio_inverted,
        "multiplied by the new prior without dividing by the old": _old_prior_not_divided,
        "not renormalised: rows no longer sum to 1": _not_renormalised,
    },
    alternatives=(_prior_shift_by_bayes,),
)
def prior_shift(proba, prior, new_prior):
    """The book's :func:`~nnbook.generative.shift_prior`, in probabilities."""
    return shift_prior(proba.log(), prior, new_prior).exp()


# -- semi_supervised: the E-step of semi-supervised EM ---------------------------------


def _e_step_cases(rng):
    return [
        Case(
            "5 points, 3 classes: points 1 and 3 labelled, the others not",
            (randn(rng, 5, 3), torch.tensor([-1, 2, -1, 0, -1])),
        ),
        Case(
            "no labels at all: the posterior of a Gaussian mixture",
            (randn(rng, 4, 2), torch.tensor([-1, -1, -1, -1])),
        ),
        Case(
            "log-densities near -800, as in 64 dimensions: exp() underflows to 0",
            (
                randn(rng, 3, 4) - 800.0,
                torch.tensor([-1, 1, -1]),
            ),
        ),
        Case(
            "a labelled point that the model finds unlikely in its own class",
            (
                torch.tensor([[0.0, -30.0], [-1.0, -2.0]], dtype=torch.float64),
                torch.tensor([1, -1]),
            ),
        ),
    ]


def _labels_ignored(log_joint, y):
    return torch.softmax(log_joint, dim=1)


def _exp_normalised(log_joint, y):
    joint = log_joint.exp()
    posterior = joint / joint.sum(
        dim=1, keepdim=True
    )  # 0 / 0 where exp underflows
    one_hot = torch.nn.functional.one_hot(y.clamp(min=0), log_joint.shape[1])
    return torch.where(y[:, None] >= 0, one_hot.to(log_joint.dtype), posterior)


def _normalised_over_points(log_joint, y):
    posterior = torch.softmax(log_joint, dim=0)
    one_hot = torch.nn.functional.one_hot(y.clamp(min=0), log_joint.shape[1])
    return torch.where(y[:, None] >= 0, one_hot.to(log_joint.dtype), posterior)


def _labels_as_prior(log_joint, y):
    """The labelled rows get the posterior too, only with their class boosted."""
    one_hot = torch.nn.functional.one_hot(y.clamp(min=0), log_joint.shape[1])
    boost = torch.where(y[:, None] >= 0, one_hot.to(log_joint.dtype), 0.0)
    return torch.softmax(log_joint + boost, dim=1)


def _e_step_by_rows(log_joint, y):
    rows = []
    for scores, label in zip(log_joint, y.tolist(), strict=True):
        if label >= 0:
            row = torch.zeros_like(scores)
            row[label] = 1.0
        else:
            row = (scores - torch.logsumexp(scores, dim=0)).exp()
        rows.append(row)
    return torch.stack(rows)


@exercise(
    statement=(
        "em_e_step(log_joint, y) takes log_joint[i, k] = log p(x_i, y = k) of shape "
        "(n, K) under the current parameters and labels y (n,), in 0..K-1 or -1 for an "
        "unlabelled point, and returns the responsibilities r (n, K): the one-hot "
        "vector of its label for a labelled point, the posterior p(y = k | x_i) for an "
        "unlabelled one. Every row sums to 1."
    ),
    cases=_e_step_cases,
    equation="eq-gd-em-estep",
    kind="implement",
    section="generative_discriminative/semi_supervised",
    outputs=("responsibilities",),
    hint=(
        "A labelled point keeps its label, whatever the model thinks of it. For an "
        "unlabelled one, Bayes' rule normalises p(x_i, y = k) over the classes k, the "
        "second axis. The joint log-densities can be -800: subtract each row's "
        "largest value before exp (or use torch.softmax / logsumexp), or every exp "
        "is 0 and the posterior 0 / 0."
    ),
    wrong={
        "the labels ignored: every row gets the posterior": _labels_ignored,
        "exp, then normalised: 0 / 0 when the log-densities are very negative": (
            _exp_normalised
        ),
        "normalised over the points instead of over the classes": (
            _normalised_over_points
        ),
        "a label added to the scores instead of replacing the posterior": (
            _labels_as_prior
        ),
    },
    alternatives=(_e_step_by_rows,),
)
def em_e_step(log_joint, y):
    """The book's E-step, :func:`nnbook.generative.em_responsibilities`."""
    return em_responsibilities(log_joint, y)


# -- out_of_distribution: AUROC as a pairwise probability ------------------------------


def _auroc_cases(rng):
    return [
        Case(
            "3 against 2, no ties",
            (_tensor([0.9, 0.4, 0.7]), _tensor([0.5, 0.1])),
        ),
        Case(
            "scores on a coarse grid: many ties between the sets",
            (
                randn(rng, 12).round() + 0.0,
                randn(rng, 7).round() + 0.0,
            ),  # no -0
        ),
        Case(
            "the out-of-distribution scores are all higher: AUROC 0",
            (_tensor([-3.0, -2.0, -1.0]), _tensor([1.0, 2.0])),
        ),
        Case(
            "log densities, some of them -inf",
            (
                randn(rng, 9, scale=10.0),
                torch.cat(
                    [randn(rng, 4, scale=10.0), torch.full((2,), -math.inf)]
                ),
            ),
        ),
    ]


def _ties_lost(scores_in, scores_out):
    return (scores_in[:, None] > scores_out[None, :]).double().mean()


def _ties_won(scores_in, scores_out):
    return (scores_in[:, None] >= scores_out[None, :]).double().mean()


def _roles_swapped(scores_in, scores_out):
    return (scores_out[:, None] > scores_in[None, :]).double().mean() + 0.5 * (
        scores_out[:, None] == scores_in[None, :]
    ).double().mean()


def _auroc_by_loops(scores_in, scores_out):
    wins = 0.0
    for s in scores_in.tolist():
        for t in scores_out.tolist():
            wins += 1.0 if s > t else 0.5 if s == t else 0.0
    return torch.tensor(
        wins / (len(scores_in) * len(scores_out)), dtype=torch.float64
    )


def _auroc_by_ranks(scores_in, scores_out):
    """Mann-Whitney: the rank sum of the in-distribution scores, ties given mean ranks."""
    scores = torch.cat([scores_in, scores_out])
    below = (scores[:, None] > scores[None, :]).double().sum(dim=1)
    tied = (scores[:, None] == scores[None, :]).double().sum(dim=1)
    ranks = below + (tied + 1) / 2  # 1-based, mean rank among ties
    n, m = len(scores_in), len(scores_out)
    return (ranks[:n].sum() - n * (n + 1) / 2) / (n * m)


@exercise(
    statement=(
        "auroc_pairwise(scores_in, scores_out) takes the scores of n in-distribution "
        "inputs, shape (n,), and of m out-of-distribution inputs, shape (m,), and "
        "returns, as a 0-D tensor, the probability that a random in-distribution score "
        "is higher than a random out-of-distribution one, a tie counting one half."
    ),
    cases=_auroc_cases,
    equation="eq-gd-auroc",
    kind="implement",
    section="generative_discriminative/out_of_distribution",
    outputs=("auroc",),
    hint=(
        "Compare every in-distribution score with every out-of-distribution score: "
        "an (n, m) table of comparisons. A win counts 1, a tie 1/2, a loss 0, and the "
        "AUROC is the mean of the table. Which way round is a win?"
    ),
    wrong={
        "ties counted as losses (>)": _ties_lost,
        "ties counted as wins (>=)": _ties_won,
        "the roles swapped: returns 1 - AUROC": _roles_swapped,
    },
    alternatives=(_auroc_by_loops, _auroc_by_ranks),
)
def auroc_pairwise(scores_in, scores_out):
    """The chapter's AUROC, which finds the pairs by binary search."""
    return auroc(scores_in, scores_out)


# -- rbm --------------------------------------------------------------------------------


def _rbm(W, b, c):
    """A BernoulliRBM with the given parameters in place of trained ones."""
    model = BernoulliRBM(W.shape[0])
    model.W_, model.b_, model.c_ = W.clone(), b.clone(), c.clone()
    return model


def _binary(rng, *shape):
    return (rand(rng, *shape) < 0.5).double()


def _hidden_cases(rng):
    return [
        Case(
            "one visible vector, 3 visible and 2 hidden units",
            (
                _tensor([[1.0, 0.0, 1.0]]),
                randn(rng, 2, 3),
                randn(rng, 3),
                randn(rng, 2),
            ),
        ),
        Case(
            "a batch of 5, 6 visible and 4 hidden units",
            (
                _binary(rng, 5, 6),
                randn(rng, 4, 6),
                randn(rng, 6),
                randn(rng, 4),
            ),
        ),
        Case(
            "as many hidden as visible units (a square W)",
            (
                _binary(rng, 3, 4),
                randn(rng, 4, 4),
                randn(rng, 4),
                randn(rng, 4),
            ),
        ),
    ]


def _hidden_transposed(v, W, b, c):
    return torch.sigmoid(v @ W + c)


def _hidden_visible_bias(v, W, b, c):
    return torch.sigmoid(v @ W.T + b)


def _hidden_no_sigmoid(v, W, b, c):
    return v @ W.T + c


def _hidden_by_einsum(v, W, b, c):
    return 1 / (1 + torch.exp(-(torch.einsum("ji,ni->nj", W, v) + c)))


@exercise(
    statement=(
        "rbm_hidden_probabilities(v, W, b, c) returns p(h_j = 1 | v) for every row of "
        "v (n, V), with W of shape (H, V) (one row per hidden unit, as in "
        "BernoulliRBM), visible biases b (V,) and hidden biases c (H,): shape (n, H)."
    ),
    cases=_hidden_cases,
    equation="eq-gd-rbm-conditionals",
    kind="implement",
    section="generative_discriminative/rbm",
    outputs=("p_h",),
    hint=(
        "Hidden unit j sees the visible units through row j of W and has its own "
        "bias, c_j; the visible biases b belong to the other conditional. A "
        "probability comes out of a sigmoid."
    ),
    wrong={
        "W not transposed (v @ W)": _hidden_transposed,
        "the visible bias b instead of the hidden bias c": _hidden_visible_bias,
        "the sigmoid forgotten": _hidden_no_sigmoid,
    },
    alternatives=(_hidden_by_einsum,),
)
def rbm_hidden_probabilities(v, W, b, c):
    """``BernoulliRBM.h_given_v``."""
    return _rbm(W, b, c).h_given_v(v)


def _cd_cases(rng):
    return [
        Case(
            "a batch of 4, 5 visible and 3 hidden units",
            (
                _binary(rng, 4, 5),
                randn(rng, 3, 5),
                randn(rng, 5),
                randn(rng, 3),
                0.1,
            ),
            {"u_h": rand(rng, 4, 3), "u_v": rand(rng, 4, 5)},
        ),
        Case(
            "one vector, 4 visible and 2 hidden units, lr = 1",
            (
                _binary(rng, 1, 4),
                randn(rng, 2, 4),
                randn(rng, 4),
                randn(rng, 2),
                1.0,
            ),
            {"u_h": rand(rng, 1, 2), "u_v": rand(rng, 1, 4)},
        ),
        Case(
            "a batch of 6, 6 visible and 4 hidden units",
            (
                _binary(rng, 6, 6),
                randn(rng, 4, 6),
                randn(rng, 6),
                randn(rng, 4),
                0.05,
            ),
            {"u_h": rand(rng, 6, 4), "u_v": rand(rng, 6, 6)},
        ),
    ]


def _cd_chain(v0, W, b, c, u_h, u_v):
    p0 = torch.sigmoid(v0 @ W.T + c)
    h0 = (u_h < p0).double()
    p_v = torch.sigmoid(h0 @ W + b)
    return p0, h0, p_v, (u_v < p_v).double()


def _cd_from(v0, v1, pos, neg, W, b, c, lr, m):
    return (
        W + lr * (pos.T @ v0 - neg.T @ v1) / m,
        b + lr * (v0 - v1).sum(dim=0) / m,
        c + lr * (pos - neg).sum(dim=0) / m,
    )


def _cd_hidden_samples(v0, W, b, c, lr, u_h, u_v):
    p0, h0, _, v1 = _cd_chain(v0, W, b, c, u_h, u_v)
    p1 = torch.sigmoid(v1 @ W.T + c)
    return _cd_from(v0, v1, h0, p1, W, b, c, lr, len(v0))


def _cd_mean_field(v0, W, b, c, lr, u_h, u_v):
    p0, _, p_v, _ = _cd_chain(v0, W, b, c, u_h, u_v)
    p1 = torch.sigmoid(p_v @ W.T + c)
    return _cd_from(v0, p_v, p0, p1, W, b, c, lr, len(v0))


def _cd_summed(v0, W, b, c, lr, u_h, u_v):
    p0, _, _, v1 = _cd_chain(v0, W, b, c, u_h, u_v)
    p1 = torch.sigmoid(v1 @ W.T + c)
    return _cd_from(v0, v1, p0, p1, W, b, c, lr, 1)


def _cd_descent(v0, W, b, c, lr, u_h, u_v):
    p0, _, _, v1 = _cd_chain(v0, W, b, c, u_h, u_v)
    p1 = torch.sigmoid(v1 @ W.T + c)
    return _cd_from(v0, v1, p0, p1, W, b, c, -lr, len(v0))


def _cd_by_loops(v0, W, b, c, lr, u_h, u_v):
    dW, db, dc = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)
    for x, uh, uv in zip(v0, u_h, u_v, strict=True):
        ph = torch.sigmoid(W @ x + c)
        h = (uh < ph).double()
        x1 = (uv < torch.sigmoid(W.T @ h + b)).double()
        ph1 = torch.sigmoid(W @ x1 + c)
        dW += torch.outer(ph, x) - torch.outer(ph1, x1)
        db += x - x1
        dc += ph - ph1
    n = len(v0)
    return W + lr * dW / n, b + lr * db / n, c + lr * dc / n


@exercise(
    statement=(
        "cd1_update(v0, W, b, c, lr, u_h, u_v) runs one CD-1 update of a binary RBM "
        "on the mini-batch v0 (m, V), with W (H, V), b (V,), c (H,), and returns the "
        "updated (W, b, c). The chain's random draws are given: a unit is on when "
        "its uniform draw, u_h (m, H) for the hidden units and u_v (m, V) for the "
        "visible ones, is below its probability of being on. Use hidden "
        "probabilities, not samples, in the statistics, as BernoulliRBM does, "
        "and average the statistics over the m vectors of the mini-batch."
    ),
    cases=_cd_cases,
    equation="eq-gd-cd",
    kind="implement",
    section="generative_discriminative/rbm",
    outputs=("W", "b", "c"),
    hint=(
        "Sample h from p(h | v0), then a binary v1 from p(v | h): the reconstruction "
        "is a sample, not a probability. The update is data statistics minus model "
        "statistics, each built from p(h | v), averaged over the mini-batch."
    ),
    wrong={
        "hidden samples instead of probabilities in the data statistics": (
            _cd_hidden_samples
        ),
        "the probabilities p(v | h) as reconstruction, not a binary sample": (
            _cd_mean_field
        ),
        "summed over the mini-batch instead of averaged (1/m missing)": _cd_summed,
        "the two phases swapped (model minus data)": _cd_descent,
    },
    alternatives=(_cd_by_loops,),
)
def cd1_update(v0, W, b, c, lr, u_h, u_v):
    """``BernoulliRBM.partial_fit`` on one mini-batch, its Gibbs chain given.

    The chain v0 -> h0 -> v1 is drawn with the book's conditionals from the given
    uniform numbers; ``partial_fit`` then takes it in place of its own random chain.
    The update sums over the mini-batch, so the order partial_fit shuffles the rows
    into does not change it.
    """
    model = _rbm(W, b, c)
    h0 = (u_h < model.h_given_v(v0)).to(v0.dtype)
    v1 = (u_v < model.v_given_h(h0)).to(v0.dtype)
    model.lr, model.k, model.batch_size = lr, 1, len(v0)
    model._generator = torch.Generator().manual_seed(0)
    model.reconstruction_error_ = []
    model.gibbs = lambda v, steps: v1
    model.partial_fit(v0)
    return model.W_, model.b_, model.c_


# -- generation -------------------------------------------------------------------------


def _gan_cases(rng):
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    normal = torch.distributions.Normal(0.0, 1.0)
    shifted = torch.distributions.Normal(1.0, 0.5)
    p = rand(rng, 5, low=0.1, high=2.0)
    return [
        Case("the generator has learnt the data: p_G = p_data", (p, p.clone())),
        Case(
            "data N(0, 1), generator N(1, 0.25), at 7 points",
            (
                normal.log_prob(x).exp().double(),
                shifted.log_prob(x).exp().double(),
            ),
        ),
        Case(
            "random densities at 6 points",
            (rand(rng, 6), rand(rng, 6, high=3.0)),
        ),
    ]


def _gan_ratio(p_data, p_g):
    return p_data / p_g


def _gan_fake(p_data, p_g):
    return p_g / (p_data + p_g)


def _gan_logit(p_data, p_g):
    return torch.log(p_data / p_g)


def _gan_via_logit(p_data, p_g):
    return torch.sigmoid(p_data.log() - p_g.log())


@exercise(
    statement=(
        "optimal_discriminator(p_data, p_g) takes the data's density and the "
        "generator's density at the same points (tensors of one shape) and returns "
        "sigma(D*(x)), the probability of 'real' that the best discriminator for "
        "this fixed generator gives each point: a tensor of the same shape."
    ),
    cases=_gan_cases,
    equation="eq-gd-gan",
    kind="derive",
    section="generative_discriminative/generation",
    outputs=("D_star",),
    hint=(
        "Write the objective as an integral over x and maximize the integrand point "
        "by point, as a function of s = sigma(D(x)). The answer is a probability, "
        "between 0 and 1, and it is 1/2 where the generator matches the data."
    ),
    wrong={
        "the density ratio p_data / p_G": _gan_ratio,
        "the probability of 'generated' instead of 'real'": _gan_fake,
        "the logit D*(x) instead of sigma(D*(x))": _gan_logit,
    },
    alternatives=(_gan_via_logit,),
)
def optimal_discriminator(p_data, p_g):
    """``nnbook.generative.optimal_discriminator``."""
    return gan.optimal_discriminator(p_data, p_g)


# -- generation: mode shares -----------------------------------------------------------


def _modes_cases(rng):
    square = torch.tensor(
        [[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]], dtype=torch.float64
    )
    # 5 on mode 0, 2 on mode 1, none on mode 2, 1 on mode 3, 2 on bridges, and one
    # point exactly at the radius (on mode 1)
    hand = torch.cat(
        [
            square[[0, 0, 0, 0, 0, 1, 3]] + 0.1,
            torch.tensor(
                [[2.0, 0.0], [2.0, 2.0], [4.0, 0.25]], dtype=torch.float64
            ),
        ]
    )
    angles = torch.arange(8, dtype=torch.float64) * math.pi / 4
    ring = 2 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    k = torch.randint(0, 8, (60,), generator=rng)
    blobs = ring[k] + randn(rng, 60, 2, scale=0.05)
    bridges = randn(rng, 20, 2, scale=1.2)
    centres3 = randn(rng, 3, 5, scale=3.0)
    points3 = centres3[torch.arange(30) % 3] + randn(rng, 30, 5, scale=0.5)
    return [
        Case(
            "4 modes on a square, 11 samples built by hand, radius 0.25",
            (hand, square, 0.25),
        ),
        Case(
            "8 modes on a ring: 60 samples on the blobs, 20 anywhere, radius 0.2",
            (torch.cat([blobs, bridges]), ring, 0.2),
        ),
        Case("3 modes in 5 dimensions, radius 1.0", (points3, centres3, 1.0)),
    ]


def _shares_of_on_mode(x, centres, radius):
    shares, off_mode = modes.mode_shares(
        modes.assign_modes(x, centres, radius=radius), len(centres)
    )
    return shares / shares.sum(), off_mode


def _radius_ignored(x, centres, radius):
    distance = torch.cdist(x, centres)
    shares = torch.bincount(distance.argmin(dim=1), minlength=len(centres))
    return shares.double() / len(x), torch.zeros((), dtype=torch.float64)


def _strict_radius(x, centres, radius):
    distance = (x[:, None, :] - centres[None]).norm(dim=2)
    nearest, mode = distance.min(dim=1)
    on = nearest < radius
    shares = torch.bincount(mode[on], minlength=len(centres)).double() / len(x)
    return shares, 1 - on.double().mean()


def _squared_radius(x, centres, radius):
    distance = ((x[:, None, :] - centres[None]) ** 2).sum(dim=2)
    nearest, mode = distance.min(dim=1)
    on = nearest <= radius
    shares = torch.bincount(mode[on], minlength=len(centres)).double() / len(x)
    return shares, 1 - on.double().mean()


def _shares_by_one_hot(x, centres, radius):
    distance = (x[:, None, :] - centres[None]).norm(dim=2)  # (N, K)
    nearest = distance == distance.min(dim=1, keepdim=True).values
    on = (distance <= radius) & nearest
    shares = on.double().mean(dim=0)
    return shares, 1 - shares.sum()


@exercise(
    statement=(
        "sample_mode_shares(x, centres, radius) takes samples x (N, F), the centres of "
        "K modes (K, F) and a radius r > 0. A sample is on mode j when centre j is its "
        "nearest centre and lies at distance at most r; otherwise it is off-mode. "
        "Return (shares, off_mode): shares (K,), the fraction of all N samples on each "
        "mode, and off_mode, the fraction on no mode, a scalar tensor; the K shares "
        "and off_mode add up to one."
    ),
    cases=_modes_cases,
    equation="eq-gd-mode-shares",
    kind="implement",
    section="generative_discriminative/generation",
    outputs=("shares", "off_mode"),
    hint=(
        "Compute the (N, K) matrix of Euclidean distances, take each row's minimum and "
        "where it is, and count. Divide every count by N, the number of all samples, "
        "so that the off-mode samples lower the shares. A sample exactly at distance "
        "r is on its mode."
    ),
    wrong={
        "shares of the on-mode samples only (they add up to one)": _shares_of_on_mode,
        "the radius ignored: every sample on its nearest mode": _radius_ignored,
        "a sample exactly at distance r counted as off-mode": _strict_radius,
        "squared distances compared with r": _squared_radius,
    },
    alternatives=(_shares_by_one_hot,),
)
def sample_mode_shares(x, centres, radius):
    """``nnbook.generative.mode_shares`` of ``nnbook.generative.assign_modes``."""
    return modes.mode_shares(
        modes.assign_modes(x, centres, radius=radius), len(centres)
    )


# -- generative_models: the KL divergence of a VAE -------------------------------------


def _kl_cases(rng):
    return [
        Case(
            "q is the prior itself: mu = 0, log sigma^2 = 0, KL = 0",
            (
                torch.zeros(3, 2, dtype=torch.float64),
                torch.zeros(3, 2, dtype=torch.float64),
            ),
        ),
        Case(
            "a shifted mean only: KL = |mu|^2 / 2",
            (_tensor([[1.0, -2.0]]), torch.zeros(1, 2, dtype=torch.float64)),
        ),
        Case(
            "a narrower q, sigma^2 = e^-2, mean 0",
            (
                torch.zeros(1, 3, dtype=torch.float64),
                torch.full((1, 3), -2.0, dtype=torch.float64),
            ),
        ),
        Case(
            "5 rows, 4 latent dimensions", (randn(rng, 5, 4), randn(rng, 5, 4))
        ),
    ]


def _kl_half_forgotten(mu, log_var):
    return (mu**2 + log_var.exp() - 1 - log_var).sum(dim=-1)


def _kl_log_sigma(mu, log_var):
    # log_var read as log sigma, so sigma^2 = exp(2 log_var)
    return 0.5 * (mu**2 + (2 * log_var).exp() - 1 - 2 * log_var).sum(dim=-1)


def _kl_no_minus_one(mu, log_var):
    return 0.5 * (mu**2 + log_var.exp() - log_var).sum(dim=-1)


def _kl_reversed(mu, log_var):
    # KL(p || q) instead of KL(q || p)
    var = log_var.exp()
    return 0.5 * ((1 + mu**2) / var - 1 + log_var).sum(dim=-1)


def _kl_by_torch(mu, log_var):
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(dim=-1)


@exercise(
    statement=(
        "gaussian_kl(mu, log_var) takes the means and the log-variances log sigma^2 "
        "of a diagonal Gaussian q = N(mu, diag sigma^2), both of shape (B, L), and "
        "returns KL(q || N(0, I)) for each row, shape (B,)."
    ),
    cases=_kl_cases,
    equation="eq-gd-gaussian-kl",
    kind="derive",
    section="generative_discriminative/generative_models",
    outputs=("kl",),
    hint=(
        "Write KL(q || p) = E_q[log q(z) - log p(z)] one dimension at a time. Under q, "
        "E[z^2] = mu^2 + sigma^2 and E[(z - mu)^2 / sigma^2] = 1. The dimensions are "
        "independent, so their divergences add. The argument is log sigma^2, not "
        "log sigma."
    ),
    wrong={
        "the factor 1/2 forgotten": _kl_half_forgotten,
        "log_var read as log sigma": _kl_log_sigma,
        "the -1 per dimension forgotten": _kl_no_minus_one,
        "the divergence reversed: KL(N(0, I) || q)": _kl_reversed,
    },
    alternatives=(_kl_by_torch,),
)
def gaussian_kl(mu, log_var):
    """``nnbook.generative.gaussian_kl``."""
    return vae.gaussian_kl(mu, log_var)


# -- generative_models: the exact log p(x) of a 1-D code -------------------------------


def _grid(limit, points):
    return torch.linspace(-limit, limit, points, dtype=torch.float64)


def _evidence_cases(rng):
    z = _grid(9.0, 2001)
    w = _tensor([1.5])
    curved = torch.stack(
        [torch.sin(1.5 * z), torch.cos(1.5 * z) + 0.3 * z], dim=1
    )
    coarse = _grid(2.0, 5)
    narrow = torch.full((2,), math.log(0.05), dtype=torch.float64)
    return [
        Case(
            "a linear decoder, x = 1.5 z + noise of variance 0.5: p(x) = N(0, 2.75)",
            (randn(rng, 3, 1), z, z[:, None] * w, _tensor([math.log(0.5)])),
        ),
        Case(
            "a curved decoder in two dimensions, noise variance 0.05",
            (randn(rng, 5, 2), z, curved, narrow),
        ),
        Case(
            "a point far from the decoder's curve, where every p(x | z_i) underflows",
            (_tensor([[0.0, 20.0]]), z, curved, narrow),
        ),
        Case(
            "a coarse grid of 5 codes on [-2, 2], where the halved end weights matter",
            (
                randn(rng, 2, 1),
                coarse,
                coarse[:, None] * w,
                _tensor([math.log(0.5)]),
            ),
        ),
    ]


def _log_terms(x, z, mean, log_var):
    """log p(x | z_i) + log N(z_i; 0, 1), shape (B, n)."""
    log_lik = vae.gaussian_log_density(x[:, None, :], mean, log_var)
    return log_lik - 0.5 * (math.log(2 * math.pi) + z.square())


def _evidence_riemann(x, z, mean, log_var):
    # every weight h, the two ends not halved
    h = z[1] - z[0]
    return torch.logsumexp(_log_terms(x, z, mean, log_var), dim=1) + h.log()


def _evidence_no_spacing(x, z, mean, log_var):
    log_w = torch.zeros_like(z)
    log_w[[0, -1]] = -math.log(2)
    return torch.logsumexp(_log_terms(x, z, mean, log_var) + log_w, dim=1)


def _evidence_no_prior(x, z, mean, log_var):
    h = z[1] - z[0]
    log_w = torch.full_like(z, h.log().item())
    log_w[[0, -1]] -= math.log(2)
    log_lik = vae.gaussian_log_density(x[:, None, :], mean, log_var)
    return torch.logsumexp(log_lik + log_w, dim=1)


def _evidence_exp_then_log(x, z, mean, log_var):
    h = z[1] - z[0]
    w = torch.full_like(z, h.item())
    w[[0, -1]] /= 2
    return (_log_terms(x, z, mean, log_var).exp() * w).sum(dim=1).log()


def _evidence_by_trapezoid(x, z, mean, log_var):
    # torch.trapezoid on the integrand, scaled by its largest term for stability
    terms = _log_terms(x, z, mean, log_var)
    top = terms.max(dim=1, keepdim=True).values
    return torch.trapezoid((terms - top).exp(), z, dim=1).log() + top[:, 0]


@exercise(
    statement=(
        "log_evidence_on_grid(x, z, mean, log_var) takes data x of shape (B, D), n evenly "
        "spaced codes z of shape (n,) from -l to l, the decoder's means f(z_i) of shape "
        "(n, D) and its log-variance of shape (D,), and returns log p(x) = log of the "
        "integral of N(x; f(z), diag sigma^2) N(z; 0, 1) dz by the trapezoidal rule on "
        "that grid, one value per row, shape (B,)."
    ),
    cases=_evidence_cases,
    equation="eq-gd-vae-evidence",
    kind="implement",
    section="generative_discriminative/generative_models",
    outputs=("log_p",),
    hint=(
        "Add log p(x | z_i) and log N(z_i; 0, 1) for every code, then the log of the "
        "trapezoidal weight: the spacing h, halved at the two ends. Sum in log space with "
        "torch.logsumexp: far from the curve every p(x | z_i) underflows to 0."
    ),
    wrong={
        "the end weights not halved (a Riemann sum)": _evidence_riemann,
        "the spacing h forgotten": _evidence_no_spacing,
        "the prior N(z; 0, 1) forgotten": _evidence_no_prior,
        "exp, sum, then log: underflows far from the curve": _evidence_exp_then_log,
    },
    alternatives=(_evidence_by_trapezoid,),
)
def log_evidence_on_grid(x, z, mean, log_var):
    """``nnbook.generative.log_evidence_1d``, with the decoder given on its grid."""
    limit, points = -z[0].item(), len(z)

    def decoder(codes):
        return mean, log_var.expand_as(mean)

    return vae.log_evidence_1d(x, decoder, limit=limit, points=points)


# -- ng_jordan --------------------------------------------------------------------------


def _count_cases(rng):
    return [
        Case("breast cancer: 30 features, 2 classes", (30, 2)),
        Case("iris: 4 features, 3 classes", (4, 3)),
        Case("wine: 13 features, 3 classes", (13, 3)),
        Case("8 features, 5 classes", (8, 5)),
        Case("one feature, 2 classes", (1, 2)),
    ]


def _counts_all_priors(F, K):
    return K * F + F + K, (K - 1) * (F + 1)


def _counts_per_class_variances(F, K):
    return 2 * K * F + K - 1, (K - 1) * (F + 1)


def _counts_every_class_weighted(F, K):
    return K * F + F + K - 1, K * (F + 1)


def _counts_no_intercept(F, K):
    return K * F + F + K - 1, (K - 1) * F


def _counts_spelled_out(F, K):
    means, variances, priors = K * F, F, K - 1
    weights, intercepts = (K - 1) * F, K - 1
    return means + variances + priors, weights + intercepts


@exercise(
    statement=(
        "parameter_counts(F, K) returns (generative, discriminative), two ints: the "
        "number of free parameters that pooled-variance Gaussian naive Bayes and "
        "logistic (K = 2) or softmax regression estimate for F features and K "
        "classes. A parameter is not free when the others fix it (a constraint) "
        "or when changing it changes nothing the model describes: the joint "
        "p(x, y) for naive Bayes, which is generative, and p(y | x) for the "
        "regression."
    ),
    cases=_count_cases,
    equation=None,
    kind="derive",
    section="generative_discriminative/ng_jordan",
    outputs=("generative", "discriminative"),
    hint=(
        "Naive Bayes estimates a mean per class and feature, a variance per feature "
        "(pooled: shared by the classes) and the priors, which sum to 1. Softmax "
        "probabilities do not change when the same vector is added to every "
        "class's weights and intercept, so one class's parameters are not free."
    ),
    wrong={
        "K free priors (they sum to 1)": _counts_all_priors,
        "a variance per class and feature (not the pooled model)": (
            _counts_per_class_variances
        ),
        "K weight vectors for softmax regression (one is redundant)": (
            _counts_every_class_weighted
        ),
        "the intercepts forgotten": _counts_no_intercept,
    },
    alternatives=(_counts_spelled_out,),
)
def parameter_counts(F, K):
    """Counted on the book's fitted models, less their constraints."""
    return _fitted_counts(F, K)


@functools.cache
def _fitted_counts(F, K):
    """Pooled naive Bayes stores K equal rows of variances and K priors that sum to
    1; softmax regression stores K rows of weights and intercepts, each column
    summing to zero, so one row is determined by the others.
    """
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2 * K, F, generator=g, dtype=torch.float64)
    y = torch.arange(2 * K) % K
    nb = GaussianNaiveBayes(variance="pooled").fit(X, y)
    generative = (
        nb.theta_.numel() + nb.var_[0].numel() + nb.class_prior_.numel() - 1
    )
    regression = LogisticRegression if K == 2 else SoftmaxRegression
    with (
        warnings.catch_warnings()
    ):  # one Newton step is enough to see the shapes
        warnings.simplefilter("ignore", RuntimeWarning)
        model = regression(max_iter=1).fit(X, y)
    stored = model.coef_.numel() + model.intercept_.numel()
    redundant = 0 if K == 2 else F + 1
    return generative, stored - redundant


# -- ng_jordan: the paired difference --------------------------------------------------


def _paired_cases(rng):
    shared = rand(
        rng, 20, 1, high=0.3
    )  # one split effect, shared by both models
    return [
        Case(
            "20 splits, 7 sizes, independent errors",
            (rand(rng, 20, 7, high=0.3), rand(rng, 20, 7, high=0.3)),
        ),
        Case(
            "20 splits, 3 sizes, a large split effect shared by both models",
            (
                shared + rand(rng, 20, 3, high=0.05),
                shared + rand(rng, 20, 3, high=0.05),
            ),
        ),
        Case(
            "the smallest case: 2 splits, 1 size",
            (_tensor([[0.2], [0.1]]), _tensor([[0.15], [0.15]])),
        ),
    ]


def _paired_unpaired(errors_a, errors_b):
    S = errors_a.shape[0]
    se = (errors_a.var(dim=0) / S + errors_b.var(dim=0) / S).sqrt()
    return (errors_a - errors_b).mean(dim=0), se


def _paired_biased(errors_a, errors_b):
    d = errors_a - errors_b
    return d.mean(dim=0), d.std(dim=0, unbiased=False) / d.shape[0] ** 0.5


def _paired_std(errors_a, errors_b):
    d = errors_a - errors_b
    return d.mean(dim=0), d.std(dim=0)


def _paired_flipped(errors_a, errors_b):
    d = errors_b - errors_a
    return d.mean(dim=0), d.std(dim=0) / d.shape[0] ** 0.5


def _paired_by_torch(errors_a, errors_b):
    d = errors_a - errors_b
    return d.mean(dim=0), d.std(dim=0) / math.sqrt(d.shape[0])


@exercise(
    statement=(
        "paired_standard_error(errors_a, errors_b) returns (mean, se): for the test "
        "errors of two models on the same S splits (rows) at M training-set sizes "
        "(columns), two float64 tensors of shape (S, M), the mean over the splits of "
        "the per-split difference errors_a - errors_b and the standard error of that "
        "mean, both of shape (M,)."
    ),
    cases=_paired_cases,
    equation="eq-gd-paired-se",
    kind="implement",
    section="generative_discriminative/ng_jordan",
    outputs=("mean", "se"),
    hint=(
        "Take the difference on each split first, then treat the S differences as "
        "one sample: its mean, and the sample standard deviation (divisor S - 1) "
        "divided by the square root of S. The two models' own spreads do not enter."
    ),
    wrong={
        "the unpaired standard error, from each model's own spread": _paired_unpaired,
        "the standard deviation with divisor S instead of S - 1": _paired_biased,
        "the standard deviation of the differences, not of their mean": _paired_std,
        "the difference taken the other way, errors_b - errors_a": _paired_flipped,
    },
    alternatives=(_paired_by_torch,),
)
def paired_standard_error(errors_a, errors_b):
    """``nnbook.generative.paired_difference`` with ``ratio=0``."""
    return paired_difference(errors_a, errors_b)
