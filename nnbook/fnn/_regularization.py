r"""Regularization: L1 and L2 penalties, inverted dropout, and batch normalization.

Batch normalization works on any input whose dimension 1 holds the features: a
mini-batch of shape ``(T_mb, F)`` in a feedforward network, or ``(N, C, H, W)`` feature
maps in a CNN, normalized per channel.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook._pairs import forward_only
from nnbook.contract import Flag, Instance, Real, Tensor, Tensors, contract

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_forward",
    "dropout",
    "dropout_backward",
    "dropout_forward",
    "l1_penalty_backward",
    "l1_penalty_forward",
    "l1_proximal_step",
    "l2_penalty_backward",
    "l2_penalty_forward",
]


@contract("eq-fnn-l2", weights=Tensors(), lam=Real(low=0))
def l2_penalty_forward(weights, lam):
    r"""The L2 penalty (weight decay). Implements :eq:`eq-fnn-l2`.

    Parameters
    ----------
    weights : list of Tensor
        The weight matrices to penalize (biases are usually left out).
    lam : float
        :math:`\lambda_{L2} \ge 0`.

    Returns
    -------
    J : Tensor of shape ()
    cache : tuple

    Notes
    -----
    .. math:: J_{L2} = \frac{\lambda_{L2}}{2} \sum_\nu \sum_{f, f'} \bigl(\Theta^{(\nu)f}_{f'}\bigr)^2,
              \qquad \frac{\partial J_{L2}}{\partial \Theta} = \lambda_{L2}\, \Theta

    .. note:: ``weight_decay=λ`` in ``torch.optim.SGD`` adds exactly this gradient.
    """
    return lam / 2 * sum((W**2).sum() for W in weights), (weights, lam)


@contract()
def l2_penalty_backward(cache):
    """Gradients of :func:`l2_penalty_forward`, one per weight: ``lam * W``."""
    weights, lam = cache
    return [lam * W for W in weights]


@contract("eq-fnn-l1", weights=Tensors(), lam=Real(low=0))
def l1_penalty_forward(weights, lam):
    r"""The L1 penalty, which pulls every weight towards zero with the same force. Implements :eq:`eq-fnn-l1`.

    Parameters
    ----------
    weights : list of Tensor
    lam : float
        :math:`\lambda_{L1} \ge 0`.

    Returns
    -------
    J : Tensor of shape ()
    cache : tuple

    Notes
    -----
    .. math:: J_{L1} = \lambda_{L1} \sum_\nu \sum_{f, f'} \bigl|\Theta^{(\nu)f}_{f'}\bigr|,
              \qquad \frac{\partial J_{L1}}{\partial \Theta} = \lambda_{L1}\, \operatorname{sign}\Theta

    The subgradient at 0 is taken as 0, as torch's ``sign`` and ``abs`` do.
    """
    return lam * sum(W.abs().sum() for W in weights), (weights, lam)


@contract()
def l1_penalty_backward(cache):
    """Gradients of :func:`l1_penalty_forward`, one per weight: ``lam * sign(W)``."""
    weights, lam = cache
    return [lam * torch.sign(W) for W in weights]


@contract(
    "eq-fnn-l1-prox",
    W=Tensor(),
    lr=Real(low=0),
    lam=Real(low=0),
    reference="torch.nn.functional.softshrink",
)
def l1_proximal_step(W, lr, lam):
    r"""The proximal step of the L1 penalty. Implements :eq:`eq-fnn-l1-prox`.

    Every weight moves towards zero by ``lr * lam`` and stops at zero instead of
    crossing it, so weights smaller than ``lr * lam`` become exactly zero. Taken after
    a gradient step on the data's loss alone, it replaces the subgradient step of
    :func:`l1_penalty_backward`, whose weights hover around zero without reaching it.

    Parameters
    ----------
    W : Tensor of any shape
        The weights, after the data's gradient step.
    lr : float
        The learning rate :math:`\eta`, at least 0.
    lam : float
        The penalty's strength :math:`\lambda_{L1}`, at least 0.

    Returns
    -------
    Tensor
        :math:`\operatorname{sign}(W)\max(|W| - \eta\lambda_{L1}, 0)`, a new tensor.
    """
    return torch.sign(W) * torch.clamp(W.abs() - lr * lam, min=0)


@contract(
    "eq-fnn-dropout",
    h=Tensor(),
    p=Real(low=0, high=1, high_open=True),
    training=Flag(),
    generator=Instance(torch.Generator, optional=True),
    keep=Tensor(dtype="bool", like="h", optional=True),
    reference="torch.nn.functional.dropout",
)
def dropout_forward(h, p=0.5, *, training=True, generator=None, keep=None):
    r"""Inverted dropout. Implements :eq:`eq-fnn-dropout`.

    Parameters
    ----------
    h : Tensor of any shape
        Activations.
    p : float, default 0.5
        The probability of dropping a unit, in [0, 1).
    training : bool, default True
        In evaluation mode dropout is the identity.
    generator : torch.Generator, optional
        A CPU generator for the mask; the mask is drawn on the CPU and moved to ``h``'s
        device, so CPU and GPU runs drop the same units.
    keep : Tensor of bool, the shape of ``h``, optional
        A given mask (True keeps the unit) instead of a random one, to replay a step.

    Returns
    -------
    out : Tensor, the shape of ``h``
    cache : Tensor or None
        The scaled mask, or None when nothing was dropped.

    Notes
    -----
    .. math:: m \sim \operatorname{Bernoulli}(1-p), \qquad \text{out} = \frac{m \odot h}{1-p},
              \qquad \frac{\partial J}{\partial h} = \frac{m}{1-p} \odot \frac{\partial J}{\partial\,\text{out}}

    Dividing by :math:`1-p` during training keeps :math:`\mathbb E[\text{out}] = h`, so
    evaluation needs no rescaling.
    """
    if not training or p == 0:
        return h, None
    if keep is None:
        keep = torch.rand(h.shape, generator=generator, dtype=h.dtype) >= p
    mask = keep.to(h.device, h.dtype) / (1 - p)
    return h * mask, mask


@contract(dout=Tensor())
def dropout_backward(dout, cache):
    """Gradient of :func:`dropout_forward`: the upstream gradient through the same mask."""
    mask = cache
    return dout if mask is None else dout * mask


class BatchNormCache(NamedTuple):
    """What :func:`batch_norm_backward` needs from the forward pass."""

    a_hat: torch.Tensor
    inv_std: torch.Tensor
    gamma: torch.Tensor
    axes: list
    shape: list
    training: bool


@contract(
    "eq-fnn-batch-norm",
    a=Tensor("T_mb", "F", ...),
    gamma=Tensor("F"),
    beta=Tensor("F"),
    running_mean=Tensor("F", optional=True),
    running_var=Tensor("F", optional=True),
    training=Flag(),
    momentum=Real(low=0, high=1),
    eps=Real(low=0, low_open=True),
    reference="torch.nn.functional.batch_norm",
)
def batch_norm_forward(
    a,
    gamma,
    beta,
    running_mean=None,
    running_var=None,
    *,
    training=True,
    momentum=0.1,
    eps=1e-5,
):
    r"""Batch normalization, per feature (dimension 1). Implements :eq:`eq-fnn-batch-norm`.

    Parameters
    ----------
    a : Tensor of shape (T_mb, F) or (N, F, ...)
        Weighted sums; statistics are taken over every dimension but 1.
    gamma, beta : Tensor of shape (F,)
        The learned scale :math:`\gamma` and shift :math:`\beta`.
    running_mean, running_var : Tensor of shape (F,), optional
        Running statistics. In training they are updated in place (as torch does);
        in evaluation they replace the batch statistics and are required.
    training : bool, default True
    momentum : float, default 0.1
        Weight of the current batch in the running averages, in [0, 1].
    eps : float, default 1e-5
        Added to the variance, > 0.

    Returns
    -------
    out : Tensor, the shape of ``a``
    cache : tuple

    Notes
    -----
    .. math:: \mu_f = \frac1{T_{mb}}\sum_t a^{(t)}_f, \quad
              \sigma_f^2 = \frac1{T_{mb}}\sum_t \bigl(a^{(t)}_f - \mu_f\bigr)^2, \\
              \hat a^{(t)}_f = \frac{a^{(t)}_f - \mu_f}{\sqrt{\sigma_f^2 + \epsilon}}, \quad
              \text{out}^{(t)}_f = \gamma_f\, \hat a^{(t)}_f + \beta_f

    The running variance is updated with the unbiased batch variance
    :math:`\sigma_f^2\,T_{mb}/(T_{mb}-1)`, as in ``torch.nn.BatchNorm1d``.
    """
    axes = [
        d for d in range(a.ndim) if d != 1
    ]  # every dimension but the features
    shape = [1, -1] + [1] * (a.ndim - 2)  # broadcasts (F,) against a
    n = a.numel() // a.shape[1]  # values per feature
    if training:
        if n < 2:
            raise ValueError(
                f"batch norm in training mode needs at least 2 values per feature, "
                f"got a of shape {tuple(a.shape)}"
            )
        # Shifted by one sample per feature, so a constant input gives exactly
        # a - mu = 0 even where a float32 mean over many values rounds.
        k = a[(0, slice(None)) + (0,) * (a.ndim - 2)].reshape(shape)
        mu = (a - k).mean(dim=axes) + k.reshape(-1)
        var = (a - k).var(dim=axes, correction=0)
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(momentum * mu)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch norm in evaluation mode needs running_mean and running_var"
            )
        mu, var = running_mean, running_var
    inv_std = 1 / torch.sqrt(var + eps)
    a_hat = (a - mu.reshape(shape)) * inv_std.reshape(shape)
    out = gamma.reshape(shape) * a_hat + beta.reshape(shape)
    return out, BatchNormCache(a_hat, inv_std, gamma, axes, shape, training)


@contract("eq-fnn-batch-norm-grad", dout=Tensor(like=lambda cache: cache.a_hat))
def batch_norm_backward(dout, cache):
    r"""Gradients of :func:`batch_norm_forward`. Implements :eq:`eq-fnn-batch-norm-grad`.

    Returns
    -------
    da : Tensor, the shape of ``a``
    dgamma, dbeta : Tensor of shape (F,)

    Notes
    -----
    In training, the batch statistics depend on every sample, which gives

    .. math:: \frac{\partial J}{\partial a^{(t)}_f} = \frac{\gamma_f}{T_{mb}\sqrt{\sigma_f^2+\epsilon}}
              \Bigl(T_{mb}\, \delta^{(t)}_f - \sum_{t'} \delta^{(t')}_f
              - \hat a^{(t)}_f \sum_{t'} \delta^{(t')}_f\, \hat a^{(t')}_f\Bigr)

    with :math:`\delta = \partial J/\partial\,\text{out}`. In evaluation the statistics
    are constants and the layer is affine: :math:`\partial J/\partial a = \gamma\,\delta/\sqrt{\sigma^2+\epsilon}`.
    """
    a_hat, inv_std, gamma, axes, shape, training = cache
    dbeta = dout.sum(dim=axes)
    dgamma = (dout * a_hat).sum(dim=axes)
    scale = (gamma * inv_std).reshape(shape)
    if not training:
        return dout * scale, dgamma, dbeta
    n = dout.numel() // dout.shape[1]
    da = (
        scale
        / n
        * (n * dout - dbeta.reshape(shape) - a_hat * dgamma.reshape(shape))
    )
    return da, dgamma, dbeta


dropout = forward_only(dropout_forward)
batch_norm = forward_only(batch_norm_forward)
