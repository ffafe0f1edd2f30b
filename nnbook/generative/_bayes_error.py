r"""The exact Bayes error of known class densities, the floor every classifier is measured against."""

from __future__ import annotations

import math

import torch

from nnbook.contract import Int, Tensor, contract

__all__ = ["bayes_error", "errors_over_draws", "excess_error"]


def _check_classes(means, covs, priors, *, any_dim=False):
    """Refuse what no Gaussian mixture is: a wrong dimension, bad priors, a bad covariance."""
    for name, value in (("means", means), ("covs", covs), ("priors", priors)):
        if not value.isfinite().all():
            raise ValueError(f"{name} must be finite, got NaN or inf")
    dim = means.shape[1]
    if dim not in (1, 2) and not any_dim:
        raise ValueError(
            f"means must have D = 1 or 2 features (the integral is exact in one or two "
            f"dimensions), got D = {dim}"
        )
    if (priors <= 0).any() or abs(priors.sum().item() - 1) > 1e-6:
        raise ValueError(
            "priors must be positive and sum to 1, "
            f"got {[round(p, 6) for p in priors.tolist()]}"
        )
    if not torch.allclose(covs, covs.transpose(1, 2)):
        raise ValueError(
            "covs must be symmetric matrices, got a non-symmetric one"
        )
    L, info = torch.linalg.cholesky_ex(covs)
    if (info != 0).any():
        raise ValueError(
            "covs must be positive definite, got one whose Cholesky factorization fails"
        )
    return L


@contract(
    "eq-gd-bayes-error",
    means=Tensor("K", "D"),
    covs=Tensor("K", "D", "D"),
    priors=Tensor("K"),
    angles=Int(low=8),
    reference="closed forms (equal covariances; 1-D quadratic boundaries) and Monte Carlo",
)
def bayes_error(means, covs, priors, *, angles=65536):
    r"""The Bayes error of K Gaussian classes in one or two dimensions.

    Implements :eq:`eq-gd-bayes-error`:

    .. math::

        \begin{aligned}
        \varepsilon^* &= 1 - \int \max_k \pi_k\, \mathcal{N}(x; \mu_k, \Sigma_k)\, dx \\
        &= \sum_k \pi_k \Pr\bigl(\hat y(x) \ne k \mid y = k\bigr),
        \end{aligned}

    the error of the rule :math:`\hat y(x) = \arg\max_k \pi_k p(x \mid k)`, which no
    classifier can beat. Each class's term is computed in that class's whitened
    coordinates, :math:`x = \mu_k + L_k r u` with :math:`\Sigma_k = L_k L_k^\top`,
    a unit direction :math:`u` and a radius :math:`r \ge 0`. Along every ray the score
    differences :math:`\log \pi_j p(x \mid j) - \log \pi_k p(x \mid k)` are quadratics
    in :math:`r`, so the misclassified stretches of the ray are intervals between their
    roots, and the radial mass of an interval is exact:
    :math:`e^{-r_1^2/2} - e^{-r_2^2/2}` in two dimensions (a Rayleigh radius),
    :math:`\operatorname{erfc}(r_1/\sqrt2) - \operatorname{erfc}(r_2/\sqrt2)` in one.
    Only the average over directions is numerical: the two signs in one dimension,
    ``angles`` equally spaced angles in two.

    Parameters
    ----------
    means : torch.Tensor
        Class means, shape (K, D), with D = 1 or 2.
    covs : torch.Tensor
        Class covariances, shape (K, D, D), symmetric positive definite.
    priors : torch.Tensor
        Class priors :math:`\pi_k`, shape (K,), positive, summing to 1.
    angles : int, default 65536
        Directions averaged over in two dimensions (the error of the rule falls faster
        than :math:`1/\text{angles}`; 65,536 gives about eight correct digits).

    Returns
    -------
    torch.Tensor
        The Bayes error, a scalar of the dtype of ``means``.
    """
    L = _check_classes(means, covs, priors)
    K, D = means.shape
    dtype = means.dtype
    if D == 1:
        u = torch.tensor([[1.0], [-1.0]], dtype=dtype)
    else:
        theta = torch.arange(angles, dtype=dtype) * (2 * math.pi / angles)
        u = torch.stack([theta.cos(), theta.sin()], dim=1)  # (U, 2)
    log_det = 2 * L.diagonal(dim1=1, dim2=2).log().sum(dim=1)  # (K,)
    error = means.new_zeros(())
    for k in range(K):
        others = [j for j in range(K) if j != k]
        if not others:
            break
        j = torch.tensor(others)
        # whiten class k, then express every other class's score along the ray
        A = torch.linalg.solve_triangular(
            L[j], L[k].expand(len(others), D, D), upper=False
        )
        e = torch.linalg.solve_triangular(
            L[j], (means[k] - means[j]).unsqueeze(-1), upper=False
        ).squeeze(-1)  # (J, D)
        Au = torch.einsum("jab,ub->jua", A, u)  # (J, U, D)
        a = 0.5 * (1 - (Au**2).sum(-1))  # r^2 coefficient, (J, U)
        b = -(e.unsqueeze(1) * Au).sum(-1)  # r coefficient
        c = (
            (
                (priors[j] / priors[k]).log()
                - 0.5 * (log_det[j] - log_det[k])
                - 0.5 * (e**2).sum(-1)
            )
            .unsqueeze(1)
            .expand_as(a)
        )
        error = error + priors[k] * _wrong_mass(a, b, c, D).mean()
    return error


def _wrong_mass(a, b, c, D):
    """Per direction, the radial probability that some class j beats class k.

    ``a, b, c`` of shape (J, U) are the quadratics ``a r^2 + b r + c`` of the J rivals
    along U directions; class k loses where any of them is positive.
    """
    disc = b**2 - 4 * a * c
    root = disc.clamp(min=0).sqrt()
    q = -0.5 * (b + torch.where(b >= 0, root, -root))  # stable: no cancellation
    r1 = torch.where(a != 0, q / torch.where(a != 0, a, 1), torch.inf)
    r2 = torch.where(q != 0, c / torch.where(q != 0, q, 1), torch.inf)
    roots = torch.cat([r1, r2])  # (2J, U)
    keep = (disc >= 0).repeat(2, 1) & (roots > 0) & roots.isfinite()
    roots = torch.where(keep, roots, torch.inf)
    zero = roots.new_zeros(1, roots.shape[1])
    edges = torch.cat(
        [zero, roots.sort(dim=0).values, torch.full_like(zero, torch.inf)]
    )
    lo, hi = edges[:-1], edges[1:]  # intervals between consecutive breakpoints
    finite_hi = torch.where(hi.isfinite(), hi, 2 * lo + 1)
    mid = torch.where(lo.isfinite(), 0.5 * (lo + finite_hi), 0.0)
    score = a.unsqueeze(0) * mid.unsqueeze(1) ** 2 + b.unsqueeze(
        0
    ) * mid.unsqueeze(1)
    wrong = ((score + c.unsqueeze(0)) > 0).any(dim=1)  # (intervals, U)
    if D == 1:
        mass = torch.special.erfc(lo / math.sqrt(2)) - torch.special.erfc(
            hi / math.sqrt(2)
        )
    else:
        mass = (-0.5 * lo**2).exp() - (-0.5 * hi**2).exp()
    mass = torch.where(lo.isfinite(), mass, 0.0)
    return (mass * wrong).sum(dim=0)


@contract(
    "eq-gd-excess-error",
    # means first, so that K is bound before prediction's range is checked
    means=Tensor("K", "D"),
    covs=Tensor("K", "D", "D"),
    priors=Tensor("K"),
    x=Tensor("N", "D"),
    prediction=Tensor("N", dtype="int", low=0, high="K"),
    reference="torch.distributions.MultivariateNormal and Monte Carlo",
)
def excess_error(x, prediction, means, covs, priors):
    r"""How much more often a classifier errs than the Bayes classifier, estimated at points x.

    Implements :eq:`eq-gd-excess-error`:

    .. math::

        \varepsilon(f) - \varepsilon^*
        = \mathbb{E}_x\Bigl[\max_k p(k \mid x) - p\bigl(f(x) \mid x\bigr)\Bigr] \ge 0,

    with the true posterior :math:`p(k \mid x)` of the Gaussian classes. Averaged over
    points ``x`` drawn from the data distribution, it estimates the excess error of the
    predictions ``f(x)`` without the noise of the labels: every term is non-negative,
    and zero wherever :math:`f` agrees with the Bayes classifier.

    Parameters
    ----------
    x : torch.Tensor
        Points drawn from the mixture, shape (N, D).
    prediction : torch.Tensor
        The classifier's labels at those points, int64, shape (N,), in [0, K).
    means : torch.Tensor
        Class means, shape (K, D).
    covs : torch.Tensor
        Class covariances, shape (K, D, D), symmetric positive definite.
    priors : torch.Tensor
        Class priors, shape (K,), positive, summing to 1.

    Returns
    -------
    torch.Tensor
        The estimated excess error, a non-negative scalar of the dtype of ``x``.
    """
    L = _check_classes(means, covs, priors, any_dim=True)
    if not x.isfinite().all():
        raise ValueError("x must be finite, got NaN or inf")
    z = torch.linalg.solve_triangular(
        L, (x[:, None, :] - means).unsqueeze(-1), upper=False
    )
    log_det = 2 * L.diagonal(dim1=1, dim2=2).log().sum(dim=1)
    log_joint = priors.log() - 0.5 * (
        log_det + z.squeeze(-1).pow(2).sum(-1)
    )  # (N, K)
    posterior = torch.softmax(log_joint, dim=1)
    chosen = posterior.gather(1, prediction[:, None]).squeeze(1)
    return (posterior.max(dim=1).values - chosen).mean()


def errors_over_draws(
    models, sample, truth, *, draws=8, n_train=200, n_test=5000, seeds=(10, 20)
):
    r"""Fit each model on several training draws and measure its error two ways.

    For draw :math:`r`, every model is fitted to ``sample(n_train, seed=s_r)`` and
    predicts the points of a fresh test draw ``sample(n_test, seed=t_r)``, where
    :math:`s_r` and :math:`t_r` are ``nnbook.seed`` of ``seeds[0] + r`` and
    ``seeds[1] + r``. Its error is then measured as the Bayes error plus the excess
    error of :func:`excess_error`, which needs no labels,

    .. math::

        \varepsilon(f) = \varepsilon^* + \mathbb{E}_x\bigl[\max_k p(k \mid x)
        - p\bigl(f(x) \mid x\bigr)\bigr],

    and, as a check, as the fraction of test labels it gets wrong.

    Parameters
    ----------
    models : dict
        Names mapped to unfitted classifiers with ``fit(X, y)`` and ``predict(X)``
        (scikit-learn's or nnbook's); they are fitted in place.
    sample : callable
        ``sample(n, seed=s)`` returns ``(X, y)``: tensors of shapes (N, D) and (N,)
        drawn from the Gaussian classes of ``truth``.
    truth : tuple
        ``(means, covs, priors)`` of those classes, as for :func:`bayes_error`.
    draws : int, default 8
        Number of training sets (at least 2).
    n_train, n_test : int, default 200 and 5000
        The ``n`` passed to ``sample`` for training and test draws.
    seeds : tuple, default (10, 20)
        First stream numbers of the training and the test draws.

    Returns
    -------
    errors : dict
        Names mapped to arrays of shape (draws,): Bayes error plus excess error.
    labelled : dict
        Names mapped to arrays of shape (draws,): the error rate on the test labels.
    """
    import numpy as np

    import nnbook

    if not isinstance(models, dict) or not models:
        raise TypeError(
            "models must be a non-empty dict of names to classifiers, "
            f"got {type(models).__name__}"
        )
    if not callable(sample):
        raise TypeError(f"sample must be callable, got {type(sample).__name__}")
    for name, value, low in (
        ("draws", draws, 2),
        ("n_train", n_train, 1),
        ("n_test", n_test, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"{name} must be an int, got {type(value).__name__}"
            )
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")
    floor = bayes_error(*truth).item()
    errors = {name: [] for name in models}
    labelled = {name: [] for name in models}
    for r in range(draws):
        X_r, y_r = sample(n_train, seed=nnbook.seed(seeds[0] + r))
        X_t, y_t = sample(n_test, seed=nnbook.seed(seeds[1] + r))
        for name, model in models.items():
            model.fit(X_r.numpy(), y_r.numpy())
            y_hat = torch.as_tensor(np.asarray(model.predict(X_t.numpy())))
            excess = excess_error(X_t, y_hat.long(), *truth).item()
            errors[name].append(floor + excess)
            labelled[name].append((y_hat != y_t).double().mean().item())
    return (
        {name: np.array(e) for name, e in errors.items()},
        {name: np.array(e) for name, e in labelled.items()},
    )
