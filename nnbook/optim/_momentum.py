r"""Momentum on a quadratic, in closed form: the iteration matrix and its rate.

On the bowl :math:`J = \tfrac12 \sum_i \lambda_i \theta_i^2` every coordinate moves on its
own, and gradient descent with momentum, in ``torch.optim``'s form
(:func:`~nnbook.optim.sgd_update`), is a linear map of the pair (parameter, momentum
buffer). Its largest eigenvalue in size is the factor by which the distance to the
minimum shrinks per step, in the long run. These functions compute that factor and the
step size and momentum that make it smallest, so that the optimizers chapter can set
the measured steps next to the theory.
"""

from __future__ import annotations

import math

import torch

from nnbook.contract import Flag, Real, Reals, contract

__all__ = ["heavy_ball_parameters", "momentum_matrix", "momentum_rate"]

_CURVATURE = Real(low=0, low_open=True)


@contract(
    "eq-opt-momentum-matrix",
    lr=Real(low=0),
    momentum=Real(low=0, high=1),
    curvature=_CURVATURE,
    nesterov=Flag(),
)
def momentum_matrix(lr, momentum, curvature, *, nesterov=False):
    r"""The matrix that one step of momentum applies to (parameter, buffer).

    For one coordinate of curvature :math:`\lambda`, the gradient is
    :math:`g = \lambda\theta`, and a step of :func:`~nnbook.optim.sgd_update` maps
    :math:`(\theta, b)` to :math:`(\theta', b')` with :math:`b' = \gamma b + \lambda\theta`
    and :math:`\theta' = \theta - \eta b'` (heavy ball), or
    :math:`\theta' = \theta - \eta(\lambda\theta + \gamma b')` (Nesterov):

    .. math::

        M = \begin{pmatrix} 1 - \eta\lambda & -\eta\gamma \\ \lambda & \gamma
        \end{pmatrix}, \qquad
        M_{\text{Nesterov}} = \begin{pmatrix} 1 - \eta\lambda(1 + \gamma) &
        -\eta\gamma^2 \\ \lambda & \gamma \end{pmatrix}.

    Implements :eq:`eq-opt-momentum-matrix`. Its determinant is :math:`\gamma` for heavy
    ball, so its larger eigenvalue is at least :math:`\sqrt\gamma` in size.

    Parameters
    ----------
    lr : float
        The learning rate :math:`\eta`.
    momentum : float
        :math:`\gamma`, in [0, 1].
    curvature : float
        :math:`\lambda > 0`.
    nesterov : bool, default False

    Returns
    -------
    Tensor of shape (2, 2), float64

    Examples
    --------
    >>> momentum_matrix(0.1, 0.9, 1.0).det().item()  # doctest: +ELLIPSIS
    0.9...
    """
    eta, gamma, lam = lr, momentum, curvature
    if nesterov:
        rows = [[1 - eta * lam * (1 + gamma), -eta * gamma**2], [lam, gamma]]
    else:
        rows = [[1 - eta * lam, -eta * gamma], [lam, gamma]]
    return torch.tensor(rows, dtype=torch.float64)


@contract(
    lr=Real(low=0),
    momentum=Real(low=0, high=1),
    curvatures=Reals(low=0, low_open=True),
    nesterov=Flag(),
)
def momentum_rate(lr, momentum, curvatures, *, nesterov=False):
    r"""The asymptotic factor by which momentum shrinks the error per step on a quadratic.

    The largest spectral radius of :func:`momentum_matrix` over the ``curvatures``: above
    1 the iteration diverges; for plain gradient descent (``momentum=0``) it is
    :math:`\max_i |1 - \eta\lambda_i|`.

    Parameters
    ----------
    lr : float
    momentum : float
    curvatures : sequence of float
        The curvatures :math:`\lambda_i` of the bowl, one or more.
    nesterov : bool, default False

    Returns
    -------
    float

    Examples
    --------
    >>> round(momentum_rate(2 / 11, 0.0, [1.0, 10.0]), 6)  # (κ - 1)/(κ + 1), κ = 10
    0.818182
    """
    return max(
        torch.linalg.eigvals(
            momentum_matrix(lr, momentum, lam, nesterov=nesterov)
        )
        .abs()
        .max()
        .item()
        for lam in curvatures
    )


@contract(
    "eq-opt-heavy-ball",
    lowest=_CURVATURE,
    highest=_CURVATURE,
)
def heavy_ball_parameters(lowest, highest):
    r"""The step size and momentum that make heavy ball fastest on a quadratic.

    For curvatures between :math:`\mu` (``lowest``) and :math:`L` (``highest``), with
    :math:`\kappa = L/\mu`,

    .. math::

        \eta^* = \frac{4}{(\sqrt L + \sqrt\mu)^2}, \qquad
        \gamma^* = \Bigl(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Bigr)^2,

    which give the rate :math:`\sqrt{\gamma^*} = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`
    per step, against :math:`(\kappa - 1)/(\kappa + 1)` for gradient descent at its best
    rate. Implements :eq:`eq-opt-heavy-ball` (Polyak, 1964).

    Parameters
    ----------
    lowest, highest : float
        The smallest and the largest curvature, :math:`0 < \mu \le L`.

    Returns
    -------
    (float, float)
        :math:`\eta^*` and :math:`\gamma^*`.

    Examples
    --------
    >>> heavy_ball_parameters(1.0, 1.0)
    (1.0, 0.0)
    """
    if lowest > highest:
        raise ValueError(
            f"lowest must not exceed highest, got lowest={lowest}, highest={highest}"
        )
    root_mu, root_l = math.sqrt(lowest), math.sqrt(highest)
    lr = 4 / (root_l + root_mu) ** 2
    momentum = ((root_l - root_mu) / (root_l + root_mu)) ** 2
    return lr, momentum
