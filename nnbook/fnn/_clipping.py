r"""Gradient clipping: bounding the step a single batch can cause.

A gradient that is suddenly huge, because the loss surface is steep where the weights
happen to be, makes a step of the same size, which can throw the weights far from
anything useful; the next gradient is then larger still, and training diverges.
Clipping bounds the step. By norm, every gradient of the network is rescaled by one
common factor so that their joint norm is at most ``max_norm``, which keeps the
direction of the step; by value, every component is clamped to ``[-clip, clip]``, which
changes the direction.
"""

from __future__ import annotations

import torch

from nnbook.contract import Real, Tensors, contract

__all__ = ["clip_by_norm", "clip_by_value"]

#: Added to the norm before dividing, as torch does: a zero norm never divides by zero.
EPS = 1e-6


@contract(
    "eq-fnn-clip-norm",
    grads=Tensors(),
    max_norm=Real(low=0, low_open=True),
    reference="torch.nn.utils.clip_grad_norm_",
)
def clip_by_norm(grads, max_norm):
    r"""Rescale gradients so that their joint norm is at most ``max_norm``. Implements :eq:`eq-fnn-clip-norm`.

    Parameters
    ----------
    grads : list of Tensor
        The gradients of every parameter, of any shapes.
    max_norm : float
        The largest joint L2 norm let through, greater than 0.

    Returns
    -------
    clipped : list of Tensor
        New tensors, every one multiplied by the same factor
        :math:`\min\bigl(1, c / (\lVert g \rVert + \epsilon)\bigr)`, with
        :math:`\epsilon = 10^{-6}` as in ``torch.nn.utils.clip_grad_norm_``.
    norm : Tensor of shape ()
        :math:`\lVert g \rVert`, the joint norm before clipping.
    """
    norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    scale = torch.clamp(max_norm / (norm + EPS), max=1.0)
    return [g * scale for g in grads], norm


@contract(
    "eq-fnn-clip-value",
    grads=Tensors(),
    clip=Real(low=0, low_open=True),
    reference="torch.nn.utils.clip_grad_value_",
)
def clip_by_value(grads, clip):
    r"""Clamp every gradient component to ``[-clip, clip]``. Implements :eq:`eq-fnn-clip-value`.

    Parameters
    ----------
    grads : list of Tensor
        The gradients of every parameter, of any shapes.
    clip : float
        The largest absolute value let through, greater than 0.

    Returns
    -------
    list of Tensor
        New tensors, :math:`\max(-c, \min(c, g))` component by component.
    """
    return [g.clamp(-clip, clip) for g in grads]
