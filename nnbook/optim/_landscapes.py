r"""Two-dimensional test functions, and the path an optimizer takes on them.

The functions take a tensor ``theta`` of shape (2,) (or (..., 2) for plotting grids) and
return the loss. Gradients come from autograd: the feedforward chapter has shown that it
agrees with hand-written backpropagation, and these functions are not the subject here.
"""

from __future__ import annotations

import torch

from nnbook.contract import Int, Methods, Real, Reals, Tensor, contract

__all__ = ["quadratic", "rosenbrock", "saddle", "trajectory"]


@contract(
    "eq-opt-quadratic",
    theta=Tensor(..., 2),
    scales=Reals(2, low=0, low_open=True),
)
def quadratic(theta, scales=(1.0, 10.0)):
    r"""An ill-conditioned bowl. Implements :eq:`eq-opt-quadratic`.

    .. math:: J(\theta) = \tfrac12 \bigl(\lambda_1 \theta_1^2 + \lambda_2 \theta_2^2\bigr)

    The curvatures :math:`\lambda_1 < \lambda_2` (``scales``) differ, so the valley is
    narrow along :math:`\theta_2`; the condition number is :math:`\lambda_2/\lambda_1`.
    The minimum is 0 at the origin.
    """
    l1, l2 = scales
    return 0.5 * (l1 * theta[..., 0] ** 2 + l2 * theta[..., 1] ** 2)


@contract("eq-opt-rosenbrock", theta=Tensor(..., 2), a=Real(), b=Real(low=0))
def rosenbrock(theta, a=1.0, b=100.0):
    r"""Rosenbrock's banana-shaped valley. Implements :eq:`eq-opt-rosenbrock`.

    .. math:: J(\theta) = (a - \theta_1)^2 + b\,\bigl(\theta_2 - \theta_1^2\bigr)^2

    The minimum is 0 at :math:`(a, a^2)`, at the end of a long, curved, flat-bottomed valley.
    """
    x, y = theta[..., 0], theta[..., 1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


@contract("eq-opt-saddle", theta=Tensor(..., 2))
def saddle(theta):
    r"""A saddle point at the origin, with a way down. Implements :eq:`eq-opt-saddle`.

    .. math:: J(\theta) = \theta_1^2 - \theta_2^2 + \tfrac14 \theta_2^4

    At the origin the gradient vanishes and the curvature is positive along
    :math:`\theta_1` and negative along :math:`\theta_2`; the minima are at
    :math:`(0, \pm\sqrt2)`, with value :math:`-1`.
    """
    x, y = theta[..., 0], theta[..., 1]
    return x**2 - y**2 + 0.25 * y**4


@contract(
    make_optimizer=Methods(),
    loss=Methods(),
    start=Reals(2),
    steps=Int(low=0),
)
def trajectory(make_optimizer, loss, start, steps):
    """The points an optimizer visits, minimizing ``loss`` from ``start``.

    Parameters
    ----------
    make_optimizer : callable
        ``make_optimizer([theta])`` returns an optimizer for the one parameter.
    loss : callable
        One of this module's functions (or any function of a (2,) tensor).
    start : sequence of 2 floats
    steps : int

    Returns
    -------
    Tensor of shape (steps + 1, 2)
        The starting point and the point after every step, in float64.
    """
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([theta])
    path = [theta.detach().clone()]
    for _ in range(steps):
        theta.grad = None
        loss(theta).backward()
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path)
