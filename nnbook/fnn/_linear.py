r"""Weight averaging: the weighted sum that feeds every neuron of the next layer.

Weights are stored as ``(F_out, F_in)``, the layout of :class:`torch.nn.Linear`, so they
copy both ways.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook._pairs import forward_only
from nnbook.contract import Flag, Tensor, contract

__all__ = ["linear", "linear_backward", "linear_forward"]


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs from the forward pass."""

    h: torch.Tensor
    W: torch.Tensor
    has_bias: bool


@contract(
    "eq-fnn-weight-avg",
    h=Tensor("T_mb", "F_in"),
    W=Tensor("F_out", "F_in"),
    b=Tensor("F_out", optional=True),
    reference="torch.nn.functional.linear",
)
def linear_forward(h, W, b=None):
    r"""Weight averaging: each neuron sums its inputs, weighted. Implements :eq:`eq-fnn-weight-avg`.

    Parameters
    ----------
    h : Tensor of shape (T_mb, F_in)
        The previous layer's activations, one row per sample.
    W : Tensor of shape (F_out, F_in)
        The weights :math:`\Theta^{(v)}`, laid out as in :class:`torch.nn.Linear`.
    b : Tensor of shape (F_out,), optional
        The bias. Leave it out (the survey's :math:`e = 0`) when batch normalization
        follows, since its shift makes a bias redundant.

    Returns
    -------
    a : Tensor of shape (T_mb, F_out)
        The pre-activations.
    cache : tuple
        What :func:`linear_backward` needs.

    Notes
    -----
    .. math::
        a^{(t)(v)}_f = \sum_{f'=0}^{F_v-1} \Theta^{(v)f}_{f'}\, h^{(t)(v)}_{f'} + b^{(v)}_f,
        \qquad a = h\,W^\top + b
    """
    a = h @ W.T  # (T_mb, F_out)
    if b is not None:
        a = a + b
    return a, LinearCache(h, W, b is not None)


def _linear_sizes(cache):
    return {"T_mb": len(cache.h), "F_out": len(cache.W), "dtype": cache.h.dtype}


@contract(
    "eq-fnn-backprop",
    delta=Tensor("T_mb", "F_out"),
    input_grad=Flag(),
    bind=_linear_sizes,
    reference="torch.autograd",
)
def linear_backward(delta, cache, *, input_grad=True):
    r"""Gradients of weight averaging, from the upstream gradient ``delta``.

    Parameters
    ----------
    delta : Tensor of shape (T_mb, F_out)
        :math:`\partial J / \partial a`.
    cache : tuple
        From :func:`linear_forward`.
    input_grad : bool, default True
        Compute ``dh``. The first layer of a network does not need it (nothing learns
        below the input), and skipping it saves a third of that layer's backward pass.

    Returns
    -------
    dh : Tensor of shape (T_mb, F_in), or None when ``input_grad`` is False
    dW : Tensor of shape (F_out, F_in)
    db : Tensor of shape (F_out,), or None when the forward pass had no bias

    Notes
    -----
    .. math::
        \frac{\partial J}{\partial h} = \delta\, W, \qquad
        \frac{\partial J}{\partial W} = \delta^\top h, \qquad
        \frac{\partial J}{\partial b} = \textstyle\sum_t \delta^{(t)}
    """
    h, W, has_bias = cache
    dh = delta @ W if input_grad else None  # (T_mb, F_in)
    dW = delta.T @ h  # (F_out, F_in)
    db = delta.sum(dim=0) if has_bias else None
    return dh, dW, db


linear = forward_only(linear_forward)
