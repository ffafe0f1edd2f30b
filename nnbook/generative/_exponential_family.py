r"""Class densities from one exponential family give a logistic (softmax) posterior."""

from __future__ import annotations

import torch

from nnbook.contract import Tensor, contract

__all__ = ["exponential_family_logistic", "exponential_family_posterior"]


def _check(priors, **tensors):
    """Refuse NaN or inf anywhere, and priors that are not a distribution."""
    for name, value in {**tensors, "priors": priors}.items():
        if not value.isfinite().all():
            raise ValueError(f"{name} must be finite, got NaN or inf")
    if (priors <= 0).any() or abs(priors.sum().item() - 1) > 1e-6:
        raise ValueError(
            "priors must be positive and sum to 1, "
            f"got {[round(p, 6) for p in priors.tolist()]}"
        )


@contract(
    "eq-gd-exp-family-posterior",
    eta=Tensor("K", "P"),
    log_partition=Tensor("K"),
    priors=Tensor("K"),
    reference="Bayes' formula on torch.distributions densities",
)
def exponential_family_logistic(eta, log_partition, priors):
    r"""The weights of the logistic (softmax) posterior of exponential-family classes.

    Implements :eq:`eq-gd-exp-family-posterior`. If every class density has the form
    :math:`p(x \mid y = k) = h(x) \exp\bigl(\eta_k^\top T(x) - A(\eta_k)\bigr)` with
    the same :math:`h` and :math:`T`, the posterior is a softmax regression on the
    features :math:`T(x)`, with class 0 as the reference:

    .. math::

        \log \frac{p(y = k \mid x)}{p(y = 0 \mid x)} = w_k^\top T(x) + b_k,

        w_k = \eta_k - \eta_0, \qquad
        b_k = A(\eta_0) - A(\eta_k) + \log \frac{\pi_k}{\pi_0} .

    With two classes this is :math:`p(y = 1 \mid x) = \sigma(w^\top T(x) + b)`.

    Parameters
    ----------
    eta : torch.Tensor
        Natural parameters :math:`\eta_k` of the K classes, shape (K, P).
    log_partition : torch.Tensor
        :math:`A(\eta_k)` for each class, shape (K,).
    priors : torch.Tensor
        Class priors :math:`\pi_k`, shape (K,), positive, summing to 1.

    Returns
    -------
    W : torch.Tensor
        Shape (K - 1, P): row k - 1 holds :math:`w_k`.
    b : torch.Tensor
        Shape (K - 1,).
    """
    _check(priors, eta=eta, log_partition=log_partition)
    W = eta[1:] - eta[0]
    b = log_partition[0] - log_partition[1:] + (priors[1:] / priors[0]).log()
    return W, b


@contract(
    "eq-gd-exp-family-posterior",
    t=Tensor("N", "P"),
    eta=Tensor("K", "P"),
    log_partition=Tensor("K"),
    priors=Tensor("K"),
    reference="Bayes' formula on torch.distributions densities",
)
def exponential_family_posterior(t, eta, log_partition, priors):
    r"""The posterior :math:`p(y = k \mid x)` of exponential-family classes, from :math:`T(x)`.

    Implements :eq:`eq-gd-exp-family-posterior`: a softmax of the linear scores of
    :func:`exponential_family_logistic`, with a zero score for class 0,

    .. math::

        p(y = k \mid x) = \frac{\exp\bigl(w_k^\top T(x) + b_k\bigr)}
        {1 + \sum_{l \ge 1} \exp\bigl(w_l^\top T(x) + b_l\bigr)},

        w_0 = 0, \qquad b_0 = 0 .

    The base measure :math:`h(x)` cancels, so it is never needed.

    Parameters
    ----------
    t : torch.Tensor
        Sufficient statistics :math:`T(x)` of N points, shape (N, P).
    eta : torch.Tensor
        Natural parameters, shape (K, P).
    log_partition : torch.Tensor
        :math:`A(\eta_k)`, shape (K,).
    priors : torch.Tensor
        Class priors, shape (K,), positive, summing to 1.

    Returns
    -------
    torch.Tensor
        Posterior probabilities, shape (N, K); each row sums to 1.
    """
    _check(priors, t=t)
    W, b = exponential_family_logistic(eta, log_partition, priors)
    scores = t @ W.T + b  # (N, K - 1)
    return torch.softmax(torch.cat([scores.new_zeros(len(t), 1), scores], 1), 1)
