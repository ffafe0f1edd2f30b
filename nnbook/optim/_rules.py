r"""The update rules of the optimizers chapter, one function each, in their functional form.

Every rule updates one parameter tensor ``p`` in place, given its gradient ``grad`` and
its ``state`` dict (empty on the first step, filled by the rule). The classes in
:mod:`nnbook.optim` only loop over parameters and call these.

The formulas follow ``torch.optim`` exactly, so trajectories match it step for step; where
the book's (the survey's) way of writing a rule differs, the docstring says how the two
map onto each other.
"""

from __future__ import annotations

import torch

from nnbook.contract import Flag, Instance, Real, Reals, Tensor, contract

__all__ = [
    "adadelta_update",
    "adagrad_update",
    "adam_update",
    "adamw_update",
    "rmsprop_update",
    "sgd_update",
]

#: The hyperparameters the rules share, declared once; the optimizers use them too.
LR = Real(low=0)
DECAY = Real(low=0)
EPS = Real(low=0, low_open=True)
AVERAGING = Real(low=0, high=1)
BETAS = Reals(2, low=0, high=1, high_open=True)
#: The hyperparameters of each rule; its optimizer class in
#: :mod:`nnbook.optim` checks the same ones when it is built.
SGD = dict(
    lr=LR,
    momentum=DECAY,
    dampening=AVERAGING,
    nesterov=Flag(),
    weight_decay=DECAY,
)
ADAGRAD = dict(lr=LR, lr_decay=DECAY, weight_decay=DECAY, eps=EPS)
RMSPROP = dict(
    lr=LR,
    alpha=AVERAGING,
    eps=EPS,
    weight_decay=DECAY,
    momentum=DECAY,
    centered=Flag(),
)
ADADELTA = dict(lr=LR, rho=AVERAGING, eps=EPS, weight_decay=DECAY)
ADAM = dict(lr=LR, betas=BETAS, eps=EPS, weight_decay=DECAY)
#: The parameter, its gradient and its state, as every rule takes them.
TENSORS = dict(p=Tensor(), grad=Tensor(like="p"), state=Instance(dict))


@contract(
    "eq-opt-gd",
    **TENSORS,
    **SGD,
    reference="torch.optim.SGD",
)
def sgd_update(
    p,
    grad,
    state,
    *,
    lr,
    momentum=0.0,
    dampening=0.0,
    nesterov=False,
    weight_decay=0.0,
):
    r"""Gradient descent :eq:`eq-opt-gd`, with momentum :eq:`eq-opt-momentum` or Nesterov's :eq:`eq-opt-nesterov`.

    .. math::
        \begin{aligned}
        & g_t = \nabla J(\Theta_{t-1}) + \lambda\,\Theta_{t-1} \\
        & b_t = \begin{cases} g_t & t = 1 \\ \gamma\, b_{t-1} + (1 - \tau)\, g_t & t > 1 \end{cases} \\
        & \Theta_t = \Theta_{t-1} - \eta \cdot \begin{cases}
              g_t & \gamma = 0 \\ b_t & \text{momentum} \\ g_t + \gamma\, b_t & \text{Nesterov}
          \end{cases}
        \end{aligned}

    with learning rate :math:`\eta`, momentum :math:`\gamma`, dampening :math:`\tau` and
    weight decay :math:`\lambda`.

    .. note:: The survey writes momentum as :math:`v_t = \gamma v_{t-1} + \eta\, g_t`,
       :math:`\Theta_t = \Theta_{t-1} - v_t`. With a constant :math:`\eta` this is the same
       rule with :math:`v_t = \eta\, b_t`; they differ only when :math:`\eta` changes
       during training, where torch's form (used here) applies the new rate to the whole
       buffer at once.
    """
    if weight_decay:
        grad = grad + weight_decay * p
    if momentum:
        b = state.get("momentum_buffer")
        if b is None:
            b = state["momentum_buffer"] = grad.clone()
        else:
            b.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad + momentum * b if nesterov else b
    p.add_(grad, alpha=-lr)


@contract(
    "eq-opt-adagrad",
    **TENSORS,
    **ADAGRAD,
    reference="torch.optim.Adagrad",
)
def adagrad_update(
    p, grad, state, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10
):
    r"""Adagrad: a learning rate per coordinate, shrinking with its gradient history.

    Implements :eq:`eq-opt-adagrad`.

    .. math::
        \begin{aligned}
        & g_t = \nabla J(\Theta_{t-1}) + \lambda\,\Theta_{t-1}, \qquad
          \eta_t = \frac{\eta}{1 + (t - 1)\,\delta} \\
        & G_t = G_{t-1} + g_t^2 \\
        & \Theta_t = \Theta_{t-1} - \eta_t\, \frac{g_t}{\sqrt{G_t} + \epsilon}
        \end{aligned}

    with :math:`G_0 = 0` and learning-rate decay :math:`\delta` (torch's ``lr_decay``).
    """
    state["step"] = t = state.get("step", 0) + 1
    G = state.setdefault("sum", torch.zeros_like(p))
    if weight_decay:
        grad = grad + weight_decay * p
    G.addcmul_(grad, grad)  # G_t
    eta_t = lr / (1 + (t - 1) * lr_decay)
    p.addcdiv_(grad, G.sqrt().add_(eps), value=-eta_t)


@contract(
    "eq-opt-rmsprop",
    **TENSORS,
    **RMSPROP,
    reference="torch.optim.RMSprop",
)
def rmsprop_update(
    p,
    grad,
    state,
    *,
    lr,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
):
    r"""RMSprop: divide by a running root mean square of the gradients. Implements :eq:`eq-opt-rmsprop`.

    .. math::
        \begin{aligned}
        & g_t = \nabla J(\Theta_{t-1}) + \lambda\,\Theta_{t-1} \\
        & E[g^2]_t = \alpha\, E[g^2]_{t-1} + (1 - \alpha)\, g_t^2 \\
        & \Theta_t = \Theta_{t-1} - \eta\, \frac{g_t}{\sqrt{E[g^2]_t} + \epsilon}
        \end{aligned}

    with :math:`E[g^2]_0 = 0`. ``centered`` subtracts the square of a running mean of the
    gradients under the root (an estimate of their variance); ``momentum`` accumulates
    the scaled steps in a buffer :math:`b_t = \gamma b_{t-1} + g_t / (\sqrt{\cdot} + \epsilon)`.

    .. note:: The survey's decay parameter :math:`\gamma = 0.9` is torch's ``alpha``
       (default 0.99), and the survey's :math:`\eta = 10^{-3}` is its usual learning rate.
    """
    if weight_decay:
        grad = grad + weight_decay * p
    square_avg = state.setdefault("square_avg", torch.zeros_like(p))
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)  # E[g^2]_t
    if centered:
        grad_avg = state.setdefault("grad_avg", torch.zeros_like(p))
        grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
        rms = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_().add_(eps)
    else:
        rms = square_avg.sqrt().add_(eps)
    if momentum:
        b = state.setdefault("momentum_buffer", torch.zeros_like(p))
        b.mul_(momentum).addcdiv_(grad, rms)
        p.add_(b, alpha=-lr)
    else:
        p.addcdiv_(grad, rms, value=-lr)


@contract(
    "eq-opt-adadelta",
    **TENSORS,
    **ADADELTA,
    reference="torch.optim.Adadelta",
)
def adadelta_update(
    p, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0
):
    r"""Adadelta: step sizes in the units of the parameters. Implements :eq:`eq-opt-adadelta`.

    .. math::
        \begin{aligned}
        & g_t = \nabla J(\Theta_{t-1}) + \lambda\,\Theta_{t-1} \\
        & E[g^2]_t = \rho\, E[g^2]_{t-1} + (1 - \rho)\, g_t^2 \\
        & \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\; g_t \\
        & E[\Delta^2]_t = \rho\, E[\Delta^2]_{t-1} + (1 - \rho)\, \Delta_t^2 \\
        & \Theta_t = \Theta_{t-1} - \eta\, \Delta_t
        \end{aligned}

    with both averages starting at 0. Zeiler's rule has no learning rate
    (:math:`\eta = 1`, torch's default). Note that :math:`\epsilon` sits *inside* the square
    roots here, and outside in RMSprop and Adam.
    """
    if weight_decay:
        grad = grad + weight_decay * p
    square_avg = state.setdefault("square_avg", torch.zeros_like(p))
    acc_delta = state.setdefault("acc_delta", torch.zeros_like(p))
    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)  # E[g^2]_t
    delta = (
        (acc_delta + eps).sqrt_().div_((square_avg + eps).sqrt_()).mul_(grad)
    )  # Delta_t
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # E[Delta^2]_t
    p.add_(delta, alpha=-lr)


@contract(
    "eq-opt-adam",
    **TENSORS,
    **ADAM,
    reference="torch.optim.Adam",
)
def adam_update(
    p, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0
):
    r"""Adam: momentum and RMSprop together, with bias correction. Implements :eq:`eq-opt-adam`.

    .. math::
        \begin{aligned}
        & g_t = \nabla J(\Theta_{t-1}) + \lambda\,\Theta_{t-1} \\
        & m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
          v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        & \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        & \Theta_t = \Theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
        \end{aligned}

    with :math:`m_0 = v_0 = 0`. Weight decay here is L2 regularization added to the
    gradient, as in ``torch.optim.Adam`` (not the decoupled decay of AdamW).
    """
    state["step"] = t = state.get("step", 0) + 1
    m = state.setdefault("exp_avg", torch.zeros_like(p))
    v = state.setdefault("exp_avg_sq", torch.zeros_like(p))
    if weight_decay:
        grad = grad + weight_decay * p
    beta1, beta2 = betas
    m.mul_(beta1).add_(grad, alpha=1 - beta1)  # m_t
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v_t
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)


@contract(
    "eq-opt-adamw",
    **TENSORS,
    **ADAM,
    reference="torch.optim.AdamW",
)
def adamw_update(
    p, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2
):
    r"""AdamW: Adam with weight decay decoupled from the gradient. Implements :eq:`eq-opt-adamw`.

    .. math::
        \begin{aligned}
        & \Theta' = (1 - \eta\lambda)\, \Theta_{t-1} \\
        & \Theta_t = \Theta' - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
        \end{aligned}

    with :math:`\hat m_t, \hat v_t` computed from the gradient alone, exactly as in
    :func:`adam_update` with no weight decay. The decay shrinks every weight by the same
    factor, whatever its gradient history; Adam's ``weight_decay`` instead adds
    :math:`\lambda\,\Theta` to the gradient, where the adaptive denominator rescales it.
    """
    p.mul_(1 - lr * weight_decay)
    adam_update.__wrapped__(p, grad, state, lr=lr, betas=betas, eps=eps)
