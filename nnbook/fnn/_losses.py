r"""Output functions and losses: identity with MSE, softmax with cross-entropy.

Each loss returns ``(J, cache)``, where ``J`` is a 0-d tensor averaged over the
mini-batch, and its backward returns :math:`\partial J/\partial (\text{input})`. The
softmax is computed through the log-sum-exp, so no exponential overflows.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook.contract import Axis, Tensor, contract

__all__ = [
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "log_softmax",
    "logsumexp",
    "mse_backward",
    "mse_forward",
    "softmax",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
]


@contract("eq-fnn-logsumexp", a=Tensor(), dim=Axis(of="a"))
def logsumexp(a, dim=-1):
    r"""A numerically stable :math:`\log \sum_f e^{a_f}`. Implements :eq:`eq-fnn-logsumexp`.

    Parameters
    ----------
    a : Tensor
    dim : int, default -1
        The dimension to reduce.

    Returns
    -------
    Tensor
        ``a`` with ``dim`` reduced.

    Notes
    -----
    .. math:: \log \sum_f e^{a_f} = m + \log \sum_f e^{a_f - m}, \qquad m = \max_f a_f

    Every exponent is then at most 0, so nothing overflows, and the largest term is
    exactly 1, so the sum cannot underflow to 0.
    """
    m = _finite_max(a, dim)
    s = torch.exp(a - m).sum(dim=dim, keepdim=True)
    return (m + torch.log(s)).squeeze(dim)


def _finite_max(a, dim):
    """The maximum along ``dim``, kept as a dimension; 0 where it is infinite."""
    m = a.amax(dim=dim, keepdim=True)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))


@contract(a=Tensor(), dim=Axis(of="a"), reference="torch.log_softmax")
def log_softmax(a, dim=-1):
    r"""The logarithm of :func:`softmax`: :math:`a - \operatorname{logsumexp}(a)`.

    Computed as :math:`(a - m) - \log \sum_f e^{a_f - m}`, subtracting the maximum
    :math:`m` first. The other order, :math:`a - (m + \log s)`, rounds
    :math:`m + \log s` back to :math:`m` when :math:`m` is huge, and the largest
    logits then get probability 1 each.
    """
    shifted = a - _finite_max(a, dim)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


@contract(
    "eq-fnn-softmax",
    a=Tensor(),
    dim=Axis(of="a"),
    reference="torch.softmax",
)
def softmax(a, dim=-1):
    r"""The softmax output function. Implements :eq:`eq-fnn-softmax`.

    Parameters
    ----------
    a : Tensor
        Logits, for example of shape (T_mb, C).
    dim : int, default -1
        The class dimension.

    Returns
    -------
    Tensor, the shape of ``a``
        Non-negative, summing to 1 along ``dim``.

    Notes
    -----
    .. math:: o(a)_f = \frac{e^{a_f}}{\sum_{f'} e^{a_{f'}}}
              = \exp\bigl(a_f - \operatorname{logsumexp}(a)\bigr)
    """
    return torch.exp(log_softmax(a, dim=dim))


@contract(
    "eq-fnn-mse",
    y_hat=Tensor("T_mb", "F_N"),
    y=Tensor("T_mb", "F_N"),
    reference="torch.nn.functional.mse_loss",
)
def mse_forward(y_hat, y):
    r"""The mean squared error of a regression, as in the survey. Implements :eq:`eq-fnn-mse`.

    Parameters
    ----------
    y_hat : Tensor of shape (T_mb, F_N)
        Predictions (the identity output of the last layer).
    y : Tensor of shape (T_mb, F_N)
        Targets.

    Returns
    -------
    J : Tensor of shape ()
    cache : tuple

    Notes
    -----
    .. math:: J = \frac{1}{2\,T_{mb}} \sum_{t=0}^{T_{mb}-1} \sum_{f=0}^{F_N-1}
              \bigl(\hat y^{(t)}_f - y^{(t)}_f\bigr)^2

    .. note:: ``torch.nn.functional.mse_loss`` averages over every element and has no
       :math:`\tfrac12`: it equals :math:`2J/F_N`.
    """
    r = y_hat - y  # residuals, (T_mb, F_N)
    return (r**2).sum() / (2 * r.shape[0]), r


@contract()
def mse_backward(cache):
    r"""Gradient of :func:`mse_forward` with respect to ``y_hat``: :math:`(\hat y - y)/T_{mb}`."""
    r = cache
    return r / r.shape[0]


class CrossEntropyCache(NamedTuple):
    """What :func:`softmax_cross_entropy_backward` needs from the forward pass."""

    log_p: torch.Tensor
    y: torch.Tensor


@contract(
    "eq-fnn-cross-entropy",
    a=Tensor("T_mb", "C"),
    y=Tensor("T_mb", dtype="int", low=0, high="C"),
    reference="torch.nn.functional.cross_entropy",
)
def softmax_cross_entropy_forward(a, y):
    r"""Softmax output followed by the cross-entropy loss. Implements :eq:`eq-fnn-cross-entropy`.

    Parameters
    ----------
    a : Tensor of shape (T_mb, C)
        Logits, the weighted sums of the last layer.
    y : Tensor of shape (T_mb,), integer dtype
        Class labels in ``[0, C)``.

    Returns
    -------
    J : Tensor of shape ()
        The mean negative log-likelihood, as ``torch.nn.functional.cross_entropy``.
    cache : tuple

    Notes
    -----
    .. math:: J = -\frac{1}{T_{mb}} \sum_{t} \log o(a^{(t)})_{y^{(t)}}
              = \frac{1}{T_{mb}} \sum_t \Bigl(\operatorname{logsumexp}(a^{(t)})
              - a^{(t)}_{y^{(t)}}\Bigr)
    """
    log_p = log_softmax(a)  # (T_mb, C)
    J = -log_p[torch.arange(a.shape[0], device=a.device), y].mean()
    return J, CrossEntropyCache(log_p, y)


@contract("eq-fnn-ce-grad")
def softmax_cross_entropy_backward(cache):
    r"""Gradient of :func:`softmax_cross_entropy_forward`. Implements :eq:`eq-fnn-ce-grad`.

    Returns
    -------
    delta : Tensor of shape (T_mb, C)
        :math:`\partial J/\partial a = \bigl(o(a) - \mathbb 1_{y}\bigr)/T_{mb}`:
        the predicted probabilities minus the one-hot targets.
    """
    log_p, y = cache
    delta = torch.exp(log_p)
    delta[torch.arange(y.shape[0], device=y.device), y] -= 1
    return delta / y.shape[0]


@contract(p=Tensor(), dim=Axis(of="p"))
def entropy(p, dim=-1):
    r"""The entropy :math:`H(p) = -\sum_f p_f \log p_f` of distributions along ``dim``.

    Terms with :math:`p_f = 0` contribute 0.
    """
    return -torch.special.xlogy(p, p).sum(dim=dim)


@contract("eq-fnn-ce-kl", p=Tensor(), q=Tensor(like="p"), dim=Axis(of="p"))
def cross_entropy(p, q, dim=-1):
    r"""The cross-entropy :math:`H(p, q) = -\sum_f p_f \log q_f`. Implements :eq:`eq-fnn-ce-kl`.

    Parameters
    ----------
    p : Tensor
        The true distribution, along ``dim``.
    q : Tensor, the shape of ``p``
        The model's distribution.
    """
    return -torch.special.xlogy(p, q).sum(dim=dim)


@contract(p=Tensor(), q=Tensor(like="p"), dim=Axis(of="p"))
def kl_divergence(p, q, dim=-1):
    r"""The Kullback-Leibler divergence :math:`D_{KL}(p\,\|\,q) = H(p, q) - H(p)`.

    Parameters
    ----------
    p, q : Tensor of the same shape
        Distributions along ``dim``; :math:`p_f = 0` terms contribute 0.
    """
    return cross_entropy(p, q, dim=dim) - entropy(p, dim=dim)
