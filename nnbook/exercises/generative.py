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
from nnbook.generative._bayes import GaussianBayes, GaussianNaiveBayes
from nnbook.generative._discriminative import (
    LogisticRegression,
    SoftmaxRegression,
)
from nnbook.generative._estimator import Classifier
from nnbook.generative._rbm import BernoulliRBM

__all__ = [
    "bayes_posterior",
    "cd1_update",
    "cross_val_accuracy",
    "gaussian_log_likelihood",
    "lda_logistic",
    "logistic_gradient",
    "naive_bayes_fit",
    "optimal_discriminator",
    "parameter_counts",
    "rbm_hidden_probabilities",
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
