r"""Bayes classifiers with Gaussian class-conditional densities.

Each models the joint distribution :math:`p(x, y) = p(y)\, p(x \mid y)` and classifies by
Bayes' rule (equation :eq:`eq-gd-bayes`). They differ in the covariance of
:math:`p(x \mid y = k) = \mathcal{N}(\mu_k, \Sigma_k)`:

============================  ==================================  =====================
model                         covariance                          decision boundary
============================  ==================================  =====================
naive Bayes, per class        diagonal, one per class             quadratic
naive Bayes, pooled           diagonal, shared by all classes     linear
Gaussian Bayes, full (QDA)    full, one per class                 quadratic
Gaussian Bayes, shared (LDA)  full, shared by all classes         linear
============================  ==================================  =====================
"""

from __future__ import annotations

import math

import torch

from nnbook.contract import Choice, Instance, Int, Real, contract
from nnbook.generative._estimator import Classifier, check_Xy

__all__ = ["GaussianBayes", "GaussianNaiveBayes"]

LOG_2PI = math.log(2 * math.pi)


class _Generative(Classifier):
    """A classifier whose scores are the joint log-likelihood, and which can sample."""

    def _sample_labels(self, n, label, generator):
        """Indices into ``classes_``: drawn from the prior, or all equal to ``label``'s."""
        self._check_fitted()
        if label is None:
            return torch.multinomial(
                self.class_prior_, n, replacement=True, generator=generator
            )
        matches = (self.classes_ == label).nonzero().flatten()
        if len(matches) == 0:
            raise ValueError(
                f"label must be one of the classes {self.classes_.tolist()}, got {label!r}"
            )
        return matches.expand(n)

    @contract()
    def log_joint(self, X):
        r""":math:`\log p(x, y = k) = \log p(y = k) + \log p(x \mid y = k)`, shape (n, K)."""
        return self._log_scores(self._check_X(X))


class GaussianNaiveBayes(_Generative):
    r"""Gaussian naive Bayes: the features are independent given the class.

    .. math::
        \log p(x, y = k) &= \log \pi_k \\
        &\quad - \frac12 \sum_{j} \Bigl( \log 2\pi\sigma_{kj}^2
        + \frac{(x_j - \mu_{kj})^2}{\sigma_{kj}^2} \Bigr)

    Equation :eq:`eq-gd-naive-bayes`.

    Parameters
    ----------
    variance : str, default "per_class"
        ``"per_class"`` or ``"pooled"``. ``"per_class"`` estimates :math:`\sigma_{kj}^2` in
        each class, as scikit-learn's ``GaussianNB``. ``"pooled"`` shares one variance per feature across classes (the
        within-class variance), which makes the log-odds linear in :math:`x`: the
        generative twin of logistic regression.
    var_smoothing : float, default 1e-9
        ``var_smoothing`` times the largest feature variance is added to every variance,
        as in ``GaussianNB``, so that a constant feature does not divide by zero.

    Attributes
    ----------
    classes_ : Tensor of shape (K,)
    class_prior_ : Tensor of shape (K,)
    theta_ : Tensor of shape (K, F)
        Class means :math:`\mu_{kj}`.
    var_ : Tensor of shape (K, F)
        Variances :math:`\sigma_{kj}^2` (rows equal when pooled).
    """

    @contract(
        variance=Choice("per_class", "pooled"),
        var_smoothing=Real(low=0),
    )
    def __init__(self, *, variance="per_class", var_smoothing=1e-9):
        self.variance = variance
        self.var_smoothing = var_smoothing

    @contract()
    def fit(self, X, y):
        """Estimate priors, means and variances by maximum likelihood; return self."""
        X, y, classes = check_Xy(X, y)
        K = len(classes)
        counts = torch.bincount(y, minlength=K).double()
        means = (
            torch.zeros(K, X.shape[1], dtype=X.dtype).index_add_(0, y, X)
            / counts[:, None]
        )
        squared = (X - means[y]) ** 2
        if self.variance == "per_class":
            var = (
                torch.zeros_like(means).index_add_(0, y, squared)
                / counts[:, None]
            )
        else:
            var = (squared.sum(dim=0) / len(X)).expand(K, -1).clone()
        var += self.var_smoothing * X.var(dim=0, unbiased=False).max()
        if (var <= 0).any():
            k, j = (var <= 0).nonzero()[0].tolist()
            raise ValueError(
                f"feature {j} is constant in class {classes[k].item()}, so its "
                f"variance is 0 and the likelihood is infinite: use var_smoothing "
                f"> 0, got {self.var_smoothing}"
            )
        self.classes_, self.class_prior_, self.theta_, self.var_ = (
            classes,
            counts / len(X),
            means,
            var,
        )
        self.n_features_in_ = X.shape[1]
        return self

    def _log_scores(self, X):
        diff = X[:, None, :] - self.theta_[None]  # (n, K, F)
        log_density = -0.5 * (
            LOG_2PI + self.var_.log() + diff**2 / self.var_
        ).sum(dim=2)
        return self.class_prior_.log() + log_density

    @contract(n=Int(low=1), generator=Instance(torch.Generator, optional=True))
    def sample(self, n, *, label=None, generator=None):
        """Draw ``n`` pairs ``(x, y)``: from the joint distribution, or from ``p(x | y = label)``."""
        y = self._sample_labels(n, label, generator)
        noise = torch.randn(
            n, self.n_features_in_, generator=generator, dtype=self.theta_.dtype
        )
        return self.theta_[y] + self.var_[y].sqrt() * noise, self.classes_[y]


class GaussianBayes(_Generative):
    r"""The Gaussian ("normal") Bayes classifier with full covariance matrices.

    .. math::
        \log p(x, y = k) &= \log \pi_k - \frac12 \Bigl( F \log 2\pi + \log\det\Sigma_k \\
        &\quad + (x - \mu_k)^\top \Sigma_k^{-1} (x - \mu_k) \Bigr)

    Equation :eq:`eq-gd-gaussian`.

    Parameters
    ----------
    covariance : str, default "full"
        ``"full"`` or ``"shared"``. ``"full"``: one covariance per class, quadratic discriminant analysis (QDA).
        ``"shared"``: one covariance for all classes, linear discriminant analysis (LDA),
        whose posterior is exactly logistic in :math:`x` (equation
        :eq:`eq-gd-lda-logistic`). Both are maximum-likelihood estimates: the scatter
        around the class means divided by :math:`n_k`, or, shared, the total
        within-class scatter divided by :math:`n`, as in scikit-learn's
        ``QuadraticDiscriminantAnalysis`` and ``LinearDiscriminantAnalysis``.
    reg : float, default 0.0
        Shrinks every covariance towards the identity: :math:`(1 - r)\Sigma + r I`.

    Attributes
    ----------
    classes_, class_prior_ : Tensor of shape (K,)
    means_ : Tensor of shape (K, F)
    covariance_ : Tensor of shape (K, F, F)
        Equal matrices when shared.
    """

    @contract(covariance=Choice("full", "shared"), reg=Real(low=0, high=1))
    def __init__(self, *, covariance="full", reg=0.0):
        self.covariance = covariance
        self.reg = reg

    @contract()
    def fit(self, X, y):
        """Estimate priors, means and covariances; return self."""
        X, y, classes = check_Xy(X, y)
        K, F = len(classes), X.shape[1]
        counts = torch.bincount(y, minlength=K).double()
        means = (
            torch.zeros(K, F, dtype=X.dtype).index_add_(0, y, X)
            / counts[:, None]
        )
        centred = X - means[y]
        scatter = torch.stack(
            [centred[y == k].T @ centred[y == k] for k in range(K)]
        )  # (K, F, F)
        if self.covariance == "full":
            cov = scatter / counts[:, None, None]
        else:
            cov = (scatter.sum(dim=0) / len(X)).expand(K, F, F)
        eye = torch.eye(F, dtype=X.dtype)
        cov = (1 - self.reg) * cov + self.reg * eye
        self.classes_, self.class_prior_, self.means_ = (
            classes,
            counts / len(X),
            means,
        )
        self.covariance_ = cov.clone()
        self._cholesky, info = torch.linalg.cholesky_ex(cov)
        if info.any():
            raise ValueError(
                "a class covariance matrix is singular (fewer samples than features in a class, or a "
                "constant feature); raise reg, for example reg=1e-3, or use covariance='shared'"
            )
        self.n_features_in_ = F
        return self

    def _log_scores(self, X):
        diff = (X[:, None, :] - self.means_[None]).transpose(0, 1)  # (K, n, F)
        z = torch.linalg.solve_triangular(
            self._cholesky, diff.transpose(1, 2), upper=False
        )  # L^-1 (x - mu)
        mahalanobis = (z**2).sum(dim=1).T  # (n, K)
        log_det = 2 * self._cholesky.diagonal(dim1=1, dim2=2).log().sum(dim=1)
        return self.class_prior_.log() - 0.5 * (
            X.shape[1] * LOG_2PI + log_det + mahalanobis
        )

    @contract(n=Int(low=1), generator=Instance(torch.Generator, optional=True))
    def sample(self, n, *, label=None, generator=None):
        """Draw ``n`` pairs ``(x, y)``: from the joint distribution, or from ``p(x | y = label)``."""
        y = self._sample_labels(n, label, generator)
        noise = torch.randn(
            n,
            self.n_features_in_,
            1,
            generator=generator,
            dtype=self.means_.dtype,
        )
        return self.means_[y] + (self._cholesky[y] @ noise)[
            ..., 0
        ], self.classes_[y]
