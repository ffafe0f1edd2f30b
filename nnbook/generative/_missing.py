r"""What a generative classifier buys: classifying with missing features, and adapting to a new class prior.

A generative classifier models :math:`p(x \mid y)`, so it can answer questions about
any part of :math:`x`. When some features are missing, it integrates them out of
:math:`p(x \mid y)` (equation :eq:`eq-gd-marginal`): for a Gaussian that means keeping
the rows and columns of the observed features, for naive Bayes dropping the factors
of the missing ones. When the class balance changes between training and use, the
posterior is reweighted by the ratio of the priors (equation :eq:`eq-gd-prior-shift`),
and an unknown new prior can be estimated from unlabelled data by EM (equation
:eq:`eq-gd-prior-em`).
"""

from __future__ import annotations

import warnings

import torch

from nnbook.contract import Instance, Int, Methods, Real, Tensor, contract
from nnbook.generative._bayes import LOG_2PI, GaussianBayes, GaussianNaiveBayes

__all__ = [
    "drop_at_random",
    "estimate_prior",
    "impute_conditional_mean",
    "label_shift_split",
    "marginal_log_joint",
    "predict_proba_missing",
    "refit_proba",
    "shift_prior",
]

_GENERATIVE = GaussianBayes | GaussianNaiveBayes


def _check_missing_call(model, X, observed):
    model._check_fitted()
    if X.shape[1] != model.n_features_in_:
        raise ValueError(
            f"X must have {model.n_features_in_} columns, as the data the model was "
            f"fitted on, got {X.shape[1]}"
        )
    if not torch.isfinite(X[observed]).all():
        raise ValueError(
            "X must be finite where observed is True (NaN or inf may only mark "
            "missing entries), got NaN or inf at an observed entry"
        )


@contract(
    "eq-gd-marginal",
    model=Instance(_GENERATIVE),
    X=Tensor("n", "F"),
    observed=Tensor("n", "F", dtype="bool"),
)
def marginal_log_joint(model, X, observed):
    r"""The joint log-density of the observed features and each class. Implements :eq:`eq-gd-marginal`.

    Parameters
    ----------
    model : object
        A fitted :class:`GaussianBayes` or :class:`GaussianNaiveBayes` of ``F``
        features.
    X : torch.Tensor
        Shape (n, F). Entries where ``observed`` is False are ignored (they may be NaN).
    observed : torch.Tensor
        Shape (n, F), dtype bool: True where the feature is known.

    Returns
    -------
    torch.Tensor
        Shape (n, K): :math:`\log p(x_o, y = k)` for the observed part :math:`x_o` of
        each row. A row with nothing observed gets :math:`\log \pi_k`.

    Notes
    -----
    .. math::
        p(x_o \mid y = k) = \int p(x_o, x_m \mid y = k) \, dx_m
        = \mathcal{N}(x_o;\ \mu_{k,o},\ \Sigma_{k,oo})

    For naive Bayes, :math:`\Sigma_k` is diagonal and the integral drops the factors of
    the missing features.
    """
    _check_missing_call(model, X, observed)
    if isinstance(model, GaussianNaiveBayes):
        diff = X[:, None, :] - model.theta_[None]  # (n, K, F)
        log_factor = -0.5 * (LOG_2PI + model.var_.log() + diff**2 / model.var_)
        kept = torch.where(
            observed[:, None, :], log_factor, 0.0
        )  # drop factors
        return model.class_prior_.log() + kept.sum(dim=2)
    patterns, which = torch.unique(observed, dim=0, return_inverse=True)
    log_density = X.new_empty(len(X), len(model.classes_))  # (n, K)
    for p, o in enumerate(patterns):  # o: the observed features, (F,)
        rows = which == p
        mean = model.means_[:, o]  # (K, F_o)
        cov = model.covariance_[:, o][:, :, o]  # keep rows and columns o
        L = torch.linalg.cholesky(cov)  # (K, F_o, F_o)
        diff = X[rows][:, o][None] - mean[:, None]  # (K, n_p, F_o)
        z = torch.linalg.solve_triangular(L, diff.mT, upper=False)
        mahalanobis = (z**2).sum(dim=1).T  # (n_p, K)
        log_det = 2 * L.diagonal(dim1=1, dim2=2).log().sum(dim=1)
        log_density[rows] = -0.5 * (
            int(o.sum()) * LOG_2PI + log_det + mahalanobis
        )
    return model.class_prior_.log() + log_density


@contract(
    "eq-gd-marginal",
    model=Instance(_GENERATIVE),
    X=Tensor("n", "F"),
    observed=Tensor("n", "F", dtype="bool"),
)
def predict_proba_missing(model, X, observed):
    r"""The posterior given only the observed features. Implements :eq:`eq-gd-marginal`.

    Parameters
    ----------
    model : object
        A fitted :class:`GaussianBayes` or :class:`GaussianNaiveBayes` of ``F``
        features.
    X : torch.Tensor
        Shape (n, F). Entries where ``observed`` is False are ignored (they may be NaN).
    observed : torch.Tensor
        Shape (n, F), dtype bool: True where the feature is known.

    Returns
    -------
    torch.Tensor
        Shape (n, K): :math:`p(y = k \mid x_o)`; each row sums to 1.

    Notes
    -----
    .. math::
        p(y = k \mid x_o) = \frac{\pi_k\, p(x_o \mid y = k)}
        {\sum_j \pi_j\, p(x_o \mid y = j)}
    """
    return torch.softmax(marginal_log_joint(model, X, observed), dim=1)


@contract(
    make_model=Methods(),
    X=Tensor("n", "F"),
    y=Tensor("n", dtype="int"),
    X_test=Tensor("m", "F"),
    observed=Tensor("m", "F", dtype="bool"),
)
def refit_proba(make_model, X, y, X_test, observed):
    """The posterior of a model refitted on each row's observed features.

    The baseline that any classifier can use when features are missing: for every
    distinct pattern of observed features, fit a new model on those columns of the
    training data and predict the rows that have that pattern. It costs one fit per
    pattern, and up to :math:`2^F` patterns can occur.

    Parameters
    ----------
    make_model : callable
        Called with no argument, returns an unfitted classifier with ``fit`` and
        ``predict_proba``, such as ``LogisticRegression``.
    X : torch.Tensor
        Shape (n, F), the complete training features.
    y : torch.Tensor
        Shape (n,), integer labels with at least two classes.
    X_test : torch.Tensor
        Shape (m, F). Entries where ``observed`` is False are ignored.
    observed : torch.Tensor
        Shape (m, F), dtype bool: True where the feature is known.

    Returns
    -------
    torch.Tensor
        Shape (m, K), classes in sorted order. A row with nothing observed gets the
        class frequencies of ``y``.
    """
    classes, counts = torch.unique(y, return_counts=True)
    proba = X_test.new_empty(len(X_test), len(classes))
    patterns, which = torch.unique(observed, dim=0, return_inverse=True)
    for p, o in enumerate(patterns):
        rows = which == p
        if not o.any():
            proba[rows] = counts.to(X_test.dtype) / len(y)
            continue
        model = make_model().fit(X[:, o], y)
        proba[rows] = torch.as_tensor(
            model.predict_proba(X_test[rows][:, o]), dtype=X_test.dtype
        )
    return proba


@contract(
    shape=Instance(tuple),
    rate=Real(low=0, high=1),
    generator=Instance(torch.Generator, optional=True),
)
def drop_at_random(shape, rate, *, generator=None):
    """A mask of observed entries, each missing with probability ``rate``, independently.

    Parameters
    ----------
    shape : tuple
        ``(n, F)``.
    rate : float
        The probability that an entry is missing, in [0, 1].
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor
        Shape ``shape``, dtype bool: True where the entry is observed.
    """
    if len(shape) != 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape
    ):
        raise ValueError(
            f"shape must be a pair of positive ints (n, F), got {shape!r}"
        )
    return torch.rand(shape, generator=generator, dtype=torch.float64) >= rate


@contract(
    "eq-gd-conditional-mean",
    X=Tensor("n", "F"),
    observed=Tensor("n", "F", dtype="bool"),
    mean=Tensor("F"),
    covariance=Tensor("F", "F"),
)
def impute_conditional_mean(X, observed, mean, covariance):
    r"""Missing entries replaced by their mean given the observed ones. Implements :eq:`eq-gd-conditional-mean`.

    The imputation a discriminative model can use with a density model of
    :math:`x` alone, without the class: fit one Gaussian to the training
    features, and replace each missing part :math:`x_m` by its conditional mean
    given the observed part :math:`x_o`.

    Parameters
    ----------
    X : torch.Tensor
        Shape (n, F). Entries where ``observed`` is False are ignored (they may be NaN).
    observed : torch.Tensor
        Shape (n, F), dtype bool: True where the feature is known.
    mean : torch.Tensor
        Shape (F,): the Gaussian's mean :math:`\mu`.
    covariance : torch.Tensor
        Shape (F, F): its covariance :math:`\Sigma`, symmetric positive definite.

    Returns
    -------
    torch.Tensor
        Shape (n, F): ``X`` with observed entries kept and missing ones replaced by
        :math:`\mathbb{E}[x_m \mid x_o]`. A row with nothing observed gets
        :math:`\mu`.

    Notes
    -----
    .. math::
        \mathbb{E}[x_m \mid x_o] = \mu_m + \Sigma_{mo} \Sigma_{oo}^{-1} (x_o - \mu_o)
    """
    if not torch.isfinite(mean).all() or not torch.isfinite(covariance).all():
        raise ValueError(
            "mean and covariance must be finite, got NaN or inf in "
            + ("mean" if not torch.isfinite(mean).all() else "covariance")
        )
    if not torch.isfinite(X[observed]).all():
        raise ValueError(
            "X must be finite where observed is True (NaN or inf may only mark "
            "missing entries), got NaN or inf at an observed entry"
        )
    L, info = torch.linalg.cholesky_ex(covariance)
    if info != 0 or not torch.allclose(covariance, covariance.T):
        raise ValueError(
            "covariance must be symmetric positive definite, got a matrix that "
            "is not"
        )
    filled = torch.where(observed, X, mean.expand_as(X))
    patterns, which = torch.unique(observed, dim=0, return_inverse=True)
    for p, o in enumerate(patterns):  # o: the observed features, (F,)
        m = ~o
        if not o.any() or not m.any():
            continue  # nothing to condition on, or nothing to fill
        rows = which == p
        L_oo = torch.linalg.cholesky(covariance[o][:, o])
        centred = (X[rows][:, o] - mean[o]).T  # (F_o, n_p)
        weights = torch.cholesky_solve(
            centred, L_oo
        )  # Sigma_oo^-1 (x_o - mu_o)
        gain = covariance[m][:, o] @ weights  # (F_m, n_p)
        block = filled[rows]
        block[:, m] = mean[m] + gain.T
        filled[rows] = block
    return filled


@contract(
    y=Tensor("n", dtype="int"),
    n_train=Int(low=1),
    n_test=Instance(tuple),
    generator=Instance(torch.Generator, optional=True),
)
def label_shift_split(y, n_train, n_test, *, generator=None):
    r"""Indices of a class-balanced training set and a test set of chosen class counts.

    Each class is shuffled once; its first ``n_train`` members go to training, the
    next ones to testing. So the training prior is uniform while the test prior is
    whatever ``n_test`` makes it: a label shift by construction, with
    :math:`p(x \mid y)` the same on both sides.

    Parameters
    ----------
    y : torch.Tensor
        Shape (n,), integer labels :math:`0, \dots, K - 1`.
    n_train : int
        Training cases per class.
    n_test : tuple
        K entries, one per class: an int, the test cases of that class, or None,
        every case left after training.
    generator : torch.Generator, optional

    Returns
    -------
    tuple
        ``(train, test)``, two 1-D int64 tensors of indices into ``y``, class by
        class.
    """
    K = int(y.max()) + 1 if len(y) else 0
    if len(n_test) != K or not all(
        t is None or (isinstance(t, int) and not isinstance(t, bool) and t >= 0)
        for t in n_test
    ):
        raise ValueError(
            f"n_test must hold one non-negative int or None per class ({K}), "
            f"got {n_test!r}"
        )
    train, test = [], []
    for c, wanted in enumerate(n_test):
        members = (y == c).nonzero().flatten()
        wanted = len(members) - n_train if wanted is None else wanted
        if n_train + wanted > len(members):
            raise ValueError(
                f"class {c} has {len(members)} cases, fewer than n_train + its "
                f"n_test = {n_train} + {wanted}"
            )
        members = members[torch.randperm(len(members), generator=generator)]
        train.append(members[:n_train])
        test.append(members[n_train : n_train + wanted])
    return torch.cat(train), torch.cat(test)


def _check_priors(log_proba, prior, new_prior=None):
    if not (log_proba <= 1e-6).all():
        raise ValueError(
            "log_proba must hold log-probabilities (<= 0, no NaN), got "
            f"values up to {log_proba.nan_to_num(nan=float('inf')).max().item():.3g}"
        )
    for name, p in (("prior", prior), ("new_prior", new_prior)):
        if p is None:
            continue
        if not (p > 0).all() or not torch.isfinite(p).all():
            raise ValueError(
                f"{name} must hold positive, finite class probabilities, got "
                f"{p.tolist()}"
            )


@contract(
    "eq-gd-prior-shift",
    log_proba=Tensor("n", "K"),
    prior=Tensor("K"),
    new_prior=Tensor("K"),
)
def shift_prior(log_proba, prior, new_prior):
    r"""A posterior moved from the class prior it was trained with to a new one. Implements :eq:`eq-gd-prior-shift`.

    Exact when :math:`p(x \mid y)` is the same under both priors and ``log_proba``
    is the true posterior under ``prior``; otherwise as good as the calibration
    of ``log_proba``.

    Parameters
    ----------
    log_proba : torch.Tensor
        Shape (n, K): :math:`\log p(y = k \mid x)` under the training prior.
    prior : torch.Tensor
        Shape (K,): the training prior :math:`\pi_k`, positive.
    new_prior : torch.Tensor
        Shape (K,): the new prior :math:`\pi'_k`, positive. Neither prior need sum
        to 1: only their ratio matters.

    Returns
    -------
    torch.Tensor
        Shape (n, K): :math:`\log p'(y = k \mid x)`; each row's exponentials sum to 1.

    Notes
    -----
    .. math::
        p'(y = k \mid x) = \frac{p(y = k \mid x)\, \pi'_k / \pi_k}
        {\sum_j p(y = j \mid x)\, \pi'_j / \pi_j}
    """
    _check_priors(log_proba, prior, new_prior)
    return torch.log_softmax(log_proba + new_prior.log() - prior.log(), dim=1)


@contract(
    "eq-gd-prior-em",
    log_proba=Tensor("n", "K"),
    prior=Tensor("K"),
    max_iter=Int(low=1),
    tol=Real(low=0),
)
def estimate_prior(log_proba, prior, *, max_iter=1000, tol=1e-10):
    r"""The class prior of unlabelled data, by EM. Implements :eq:`eq-gd-prior-em`.

    The procedure of Saerens, Latinne and Decaestecker (2002): the E step moves the
    posteriors to the current estimate of the new prior (equation
    :eq:`eq-gd-prior-shift`), the M step sets the prior to their mean. It maximizes
    the likelihood of the unlabelled data over the prior, with :math:`p(x \mid y)`
    held fixed.

    Parameters
    ----------
    log_proba : torch.Tensor
        Shape (n, K): :math:`\log p(y = k \mid x_i)` under the training prior, for
        the unlabelled points.
    prior : torch.Tensor
        Shape (K,): the training prior, positive; also the starting point.
    max_iter : int, default 1000
    tol : float, default 1e-10
        Stop when no entry of the estimate moves by more than ``tol``.

    Returns
    -------
    torch.Tensor
        Shape (K,): the estimated new prior, summing to 1. A ``RuntimeWarning``
        says when ``max_iter`` ran out first.

    Notes
    -----
    .. math::
        \pi'^{(s+1)}_k = \frac1n \sum_{i=1}^n
        \frac{p(y = k \mid x_i)\, \pi'^{(s)}_k / \pi_k}
        {\sum_j p(y = j \mid x_i)\, \pi'^{(s)}_j / \pi_j}
    """
    _check_priors(log_proba, prior)
    ratio = log_proba - prior.log()  # log p(y | x) / pi: p(x | y) / p(x)
    estimate = prior / prior.sum()
    for _ in range(max_iter):
        posterior = torch.softmax(ratio + estimate.log(), dim=1)  # E step
        updated = posterior.mean(dim=0)  # M step
        moved = (updated - estimate).abs().max()
        estimate = updated
        if moved <= tol:
            return estimate
    warnings.warn(
        f"estimate_prior did not converge in {max_iter} iterations (last move "
        f"{moved.item():.1e}); raise max_iter",
        RuntimeWarning,
        stacklevel=3,
    )
    return estimate
