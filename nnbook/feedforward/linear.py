r"""Weight averaging: the weighted sum that feeds every neuron of the next layer.

Weights are stored as ``(F_out, F_in)``, the layout of :class:`torch.nn.Linear`, so they
copy both ways.
"""

from __future__ import annotations

from nnbook import _validate as v
from nnbook._pairs import forward_only

__all__ = ["linear", "linear_backward", "linear_forward"]


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
    dims = {}
    h = v.tensor("h", h, shape=("T_mb", "F_in"), dims=dims)
    W = v.tensor("W", W, shape=("F_out", "F_in"), dims=dims)
    b = v.optional_tensor("b", b, shape=("F_out",), dims=dims)
    a = h @ W.T  # (T_mb, F_out)
    if b is not None:
        a = a + b
    return a, (h, W, b is not None)


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
    delta = v.tensor(
        "delta", delta, shape=(h.shape[0], W.shape[0]), dims={"dtype": h.dtype}
    )
    dh = delta @ W if input_grad else None  # (T_mb, F_in)
    dW = delta.T @ h  # (F_out, F_in)
    db = delta.sum(dim=0) if has_bias else None
    return dh, dW, db


linear = forward_only(linear_forward)
