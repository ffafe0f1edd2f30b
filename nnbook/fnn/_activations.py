r"""Activation functions :math:`g`, each with its derivative right beside it.

``name_forward(a)`` returns ``(h, cache)`` with :math:`h = g(a)` applied elementwise;
``name_backward(dh, cache)`` returns :math:`\partial J/\partial a = g'(a) \odot dh`.
``name(a)`` is the forward pass alone. Every derivative is written in terms of what the
forward pass already computed, as backpropagation uses it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook._pairs import forward_only
from nnbook.contract import Real, Tensor, contract

__all__ = [
    "ACTIVATIONS",
    "elu",
    "elu_backward",
    "elu_forward",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu",
    "relu_backward",
    "relu_forward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh",
    "tanh_backward",
    "tanh_forward",
]


class LeakyReluCache(NamedTuple):
    """What :func:`leaky_relu_backward` needs from the forward pass."""

    a: torch.Tensor
    negative_slope: float


class EluCache(NamedTuple):
    """What :func:`elu_backward` needs from the forward pass."""

    a: torch.Tensor
    h: torch.Tensor
    alpha: float


@contract(
    "eq-fnn-sigmoid",
    a=Tensor(),
    reference="torch.sigmoid",
)
def sigmoid_forward(a):
    r"""The logistic sigmoid. Implements :eq:`eq-fnn-sigmoid`.

    Parameters
    ----------
    a : Tensor of any shape
        Pre-activations.

    Returns
    -------
    h : Tensor, the shape of ``a``, values in (0, 1)
    cache : Tensor
        ``h`` itself: the derivative needs nothing else.

    Notes
    -----
    .. math:: g(a) = \frac{1}{1 + e^{-a}}, \qquad g'(a) = g(a)\,\bigl(1 - g(a)\bigr)

    Computed as :math:`1/(1+e^{-|a|})` or :math:`e^{-|a|}/(1+e^{-|a|})` by the sign of
    :math:`a`, so no exponential overflows, even at :math:`a = \pm 10^4`.
    """
    e = torch.exp(-a.abs())  # in (0, 1]: never overflows
    h = torch.where(a >= 0, 1 / (1 + e), e / (1 + e))
    return h, h


@contract(dh=Tensor(like=lambda cache: cache))
def sigmoid_backward(dh, cache):
    """Gradient of :func:`sigmoid_forward`: ``dh * h * (1 - h)``."""
    h = cache
    return dh * h * (1 - h)


@contract(
    "eq-fnn-tanh",
    a=Tensor(),
    reference="torch.tanh",
)
def tanh_forward(a):
    r"""The hyperbolic tangent. Implements :eq:`eq-fnn-tanh`.

    Parameters
    ----------
    a : Tensor of any shape

    Returns
    -------
    h : Tensor, values in (-1, 1)
    cache : Tensor
        ``h`` itself.

    Notes
    -----
    .. math:: g(a) = \tanh a = \frac{e^{a} - e^{-a}}{e^{a} + e^{-a}}, \qquad g'(a) = 1 - g(a)^2
    """
    h = torch.tanh(a)
    return h, h


@contract(dh=Tensor(like=lambda cache: cache))
def tanh_backward(dh, cache):
    """Gradient of :func:`tanh_forward`: ``dh * (1 - h**2)``."""
    h = cache
    return dh * (1 - h**2)


@contract(
    "eq-fnn-relu",
    a=Tensor(),
    reference="torch.relu",
)
def relu_forward(a):
    r"""The rectified linear unit. Implements :eq:`eq-fnn-relu`.

    Parameters
    ----------
    a : Tensor of any shape

    Returns
    -------
    h : Tensor, values in [0, inf)
    cache : Tensor
        ``a``, whose sign is the derivative.

    Notes
    -----
    .. math:: g(a) = \max(0, a), \qquad g'(a) = \begin{cases} 1 & a > 0 \\ 0 & a \le 0 \end{cases}

    At :math:`a = 0` the derivative is taken as 0, as torch does.
    """
    return a.clamp(min=0), a


@contract(dh=Tensor(like=lambda cache: cache))
def relu_backward(dh, cache):
    """Gradient of :func:`relu_forward`: ``dh`` where ``a > 0``, else 0."""
    a = cache
    return dh * (a > 0)


@contract(
    "eq-fnn-leaky-relu",
    a=Tensor(),
    negative_slope=Real(low=0),
    reference="torch.nn.functional.leaky_relu",
)
def leaky_relu_forward(a, negative_slope=0.01):
    r"""The leaky ReLU. Implements :eq:`eq-fnn-leaky-relu`.

    Parameters
    ----------
    a : Tensor of any shape
    negative_slope : float, default 0.01
        The slope :math:`\alpha \ge 0` for negative inputs (torch's name and default).

    Returns
    -------
    h : Tensor
    cache : tuple

    Notes
    -----
    .. math:: g(a) = \begin{cases} a & a > 0 \\ \alpha a & a \le 0 \end{cases}, \qquad
              g'(a) = \begin{cases} 1 & a > 0 \\ \alpha & a \le 0 \end{cases}
    """
    return torch.where(a > 0, a, negative_slope * a), LeakyReluCache(
        a, negative_slope
    )


@contract(dh=Tensor(like=lambda cache: cache.a))
def leaky_relu_backward(dh, cache):
    """Gradient of :func:`leaky_relu_forward`: ``dh`` times 1 or the slope."""
    a, negative_slope = cache
    return torch.where(
        a > 0, dh, negative_slope * dh
    )  # the slope in dh's precision


@contract(
    "eq-fnn-elu",
    a=Tensor(),
    alpha=Real(low=0),
    reference="torch.nn.functional.elu",
)
def elu_forward(a, alpha=1.0):
    r"""The exponential linear unit. Implements :eq:`eq-fnn-elu`.

    Parameters
    ----------
    a : Tensor of any shape
    alpha : float, default 1.0
        The value :math:`-\alpha` that :math:`g` approaches as :math:`a \to -\infty`.

    Returns
    -------
    h : Tensor, values in (-alpha, inf)
    cache : tuple

    Notes
    -----
    .. math:: g(a) = \begin{cases} a & a > 0 \\ \alpha\,(e^{a} - 1) & a \le 0 \end{cases},
              \qquad
              g'(a) = \begin{cases} 1 & a > 0 \\ g(a) + \alpha & a \le 0 \end{cases}
    """
    h = torch.where(a > 0, a, alpha * torch.expm1(a.clamp(max=0)))
    return h, EluCache(a, h, alpha)


@contract(dh=Tensor(like=lambda cache: cache.a))
def elu_backward(dh, cache):
    """Gradient of :func:`elu_forward`: ``dh`` times 1, or ``h + alpha`` where ``a <= 0``."""
    a, h, alpha = cache
    return dh * torch.where(a > 0, 1.0, h + alpha).to(dh.dtype)


sigmoid = forward_only(sigmoid_forward)
tanh = forward_only(tanh_forward)
relu = forward_only(relu_forward)
leaky_relu = forward_only(leaky_relu_forward)
elu = forward_only(elu_forward)

#: Every activation by name, as ``(forward, backward)``, for networks built from a name.
ACTIVATIONS = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
}
