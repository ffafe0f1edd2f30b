"""Exercises of the optimizers chapter.

Each reference runs the chapter's own code (the update rules of
:mod:`nnbook.optim`, the optimizers and schedules of :mod:`nnbook.optim`, the
training loop of :mod:`nnbook.train`) on copies of its inputs and returns the results,
so the reader's function may be pure.
"""

from __future__ import annotations

import functools
import math

import torch

import nnbook
from nnbook import optim
from nnbook.check import Case, exercise
from nnbook.exercises._cases import rand, randn
from nnbook.fnn import MLP
from nnbook.fnn._losses import (
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from nnbook.optim import _rules as rules
from nnbook.train import accuracy, fit, predict

__all__ = [
    "adagrad_step",
    "heavy_ball",
    "adam_bias_correction",
    "adam_first_step",
    "adamw_step",
    "divergence_lr",
    "escape_time",
    "largest_stable_lr",
    "momentum_step",
    "nesterov_step",
    "rate_sweep",
    "search_around",
    "step_decay",
    "two_batch_noise",
    "warmup_cosine",
]

F64 = torch.float64


def _zeros(*shape):
    return torch.zeros(*shape, dtype=F64)


def _spd(rng, eigenvalues):
    """A symmetric matrix with the given eigenvalues and random eigenvectors."""
    n = len(eigenvalues)
    Q, _ = torch.linalg.qr(randn(rng, n, n))
    return Q @ torch.diag(torch.tensor(eigenvalues, dtype=F64)) @ Q.T


# --- gradient_descent -----------------------------------------------------------


def _stable_cases(rng):
    return [
        Case(
            "the bowl of the section, curvatures 1 and 10",
            (torch.diag(torch.tensor([1.0, 10.0], dtype=F64)),),
        ),
        Case(
            "coupled coordinates: [[2, 1], [1, 2]]",
            (torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=F64),),
        ),
        Case("3 x 3, eigenvalues 0.5, 2 and 8", (_spd(rng, [0.5, 2.0, 8.0]),)),
        Case(
            "5 x 5, nearly isotropic",
            (_spd(rng, [3.0, 3.5, 4.0, 4.5, 5.0]),),
        ),
    ]


def _one_over_lambda_max(H):
    return 1 / torch.linalg.eigvalsh(H).max().item()


def _two_over_lambda_min(H):
    return 2 / torch.linalg.eigvalsh(H).min().item()


def _diagonal_as_curvatures(H):
    return 2 / H.diagonal().max().item()


def _power_iteration(H):
    x = torch.ones(H.shape[0], dtype=H.dtype)
    for _ in range(500):
        x = H @ x
        x = x / x.norm()
    return 2 / (x @ H @ x).item()


def _spectral_norm(H):
    return 2 / torch.linalg.matrix_norm(H, ord=2).item()


@exercise(
    statement=(
        "largest_stable_lr(H) returns, as a float, the learning rate below which "
        "gradient descent on J(theta) = theta^T H theta / 2 converges from every "
        "starting point and above which it diverges from almost every one; H is a "
        "symmetric positive definite matrix of shape (n, n), not necessarily "
        "diagonal."
    ),
    cases=_stable_cases,
    equation="eq-opt-quadratic",
    kind="derive",
    section="optimizers/gradient_descent",
    outputs=("eta_max",),
    hint=(
        "Write the step as a linear map theta_t = (I - eta H) theta_{t-1} and ask "
        "when every eigenvalue of that map has a magnitude below 1. Which direction "
        "sets the limit: the steepest or the flattest? And what are the "
        "curvatures of a matrix that is not diagonal?"
    ),
    wrong={
        "1 / lambda_max (the rate that lands on the minimum of the steepest "
        "direction, not the edge of stability)": _one_over_lambda_max,
        "2 / lambda_min (the flattest direction sets the speed, not the limit)": (
            _two_over_lambda_min
        ),
        "the diagonal of H read as its curvatures": _diagonal_as_curvatures,
    },
    alternatives=(_power_iteration, _spectral_norm),
)
def largest_stable_lr(H):
    """2 over the largest eigenvalue of H, as the section derives."""
    return 2 / torch.linalg.eigvalsh(H).max().item()


def _decay_cases(rng):
    return [
        Case("epoch 9, one epoch before the first drop", (0.1, 0.5, 10, 9)),
        Case("epoch 10, exactly at the first drop", (0.1, 0.5, 10, 10)),
        Case("three drops later", (1.0, 0.1, 3, 11)),
        Case("epoch 0: the initial rate", (0.3, 0.2, 5, 0)),
        Case("a drop every epoch", (0.2, 0.9, 1, 7)),
    ]


def _decay_counts_from_one(lr0, gamma, step_size, epoch):
    return lr0 * gamma ** ((epoch + 1) // step_size)


def _decay_one_epoch_late(lr0, gamma, step_size, epoch):
    return lr0 * gamma ** (max(epoch - 1, 0) // step_size)


def _decay_continuous(lr0, gamma, step_size, epoch):
    return lr0 * gamma ** (epoch / step_size)


def _decay_loop(lr0, gamma, step_size, epoch):
    lr = lr0
    for e in range(1, epoch + 1):
        if e % step_size == 0:
            lr *= gamma
    return lr


def _torch_rate(make_schedule, lr0, epoch):
    """The rate at ``epoch`` of a ``torch.optim.lr_scheduler`` schedule, stepped there."""
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    schedule = make_schedule(sgd)
    for _ in range(epoch):
        sgd.step()
        schedule.step()
    return schedule.get_last_lr()[0]


def _decay_scheduler(lr0, gamma, step_size, epoch):
    return _torch_rate(
        lambda sgd: torch.optim.lr_scheduler.StepLR(
            sgd, step_size, gamma=gamma
        ),
        lr0,
        epoch,
    )


@exercise(
    statement=(
        "step_decay(lr0, gamma, step_size, epoch) returns the learning rate of the "
        "step schedule at epoch e = epoch, counted from 0 (the rate before any "
        "scheduler.step()), for an initial rate lr0 that is multiplied by gamma "
        "every step_size epochs; a float."
    ),
    cases=_decay_cases,
    equation="eq-opt-decay",
    kind="implement",
    section="optimizers/gradient_descent",
    outputs=("eta_e",),
    hint=(
        "At epoch 0 the rate is lr0 and the first drop happens at epoch step_size, "
        "not one epoch before or after it. How many whole periods of step_size "
        "epochs have passed at epoch e?"
    ),
    wrong={
        "off by one: epochs counted from 1": _decay_counts_from_one,
        "off by one: the drop comes an epoch late": _decay_one_epoch_late,
        "continuous decay, without rounding down": _decay_continuous,
    },
    alternatives=(_decay_loop, _decay_scheduler),
)
def step_decay(lr0, gamma, step_size, epoch):
    """The rate of the book's StepLR at ``epoch``."""
    schedule = optim.StepLR(
        optim.SGD([torch.zeros(1)], lr=lr0), step_size=step_size, gamma=gamma
    )
    return schedule.lr_at(lr0, epoch)


#: Bisection stops when the bracket is narrower than this.
DIVERGENCE_TOL = 1e-4


def _regression(rng, T, F, scale, noise=0.3):
    X = randn(rng, T, F) * torch.tensor(scale, dtype=F64)
    w_true = randn(rng, F)
    return X, X @ w_true + noise * randn(rng, T)


def _diverges(X, y, lr, steps, loss_scale=None):
    """Whether ``steps`` steps of the book's SGD from w = 0 raise the loss."""
    T = len(X) if loss_scale is None else loss_scale
    w = torch.zeros(X.shape[1], dtype=F64)
    sgd = optim.SGD([w], lr=lr)

    def loss():
        return ((X @ w - y) ** 2).sum().item() / T

    start = loss()
    for _ in range(steps):
        w.grad = 2 * X.T @ (X @ w - y) / T
        sgd.step()
    return loss() > start


def _bisect(diverges, lo, hi, tol=DIVERGENCE_TOL):
    while hi - lo >= tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if diverges(mid) else (mid, hi)
    return (lo + hi) / 2


def _divergence_cases(rng):
    return [
        Case(
            "20 samples, 2 features of different scales, 50 steps",
            (*_regression(rng, 20, 2, [1.0, 3.0]), 50, 0.0, 1.0),
        ),
        Case(
            "30 samples, 4 features, 100 steps",
            (*_regression(rng, 30, 4, [0.5, 1.0, 1.5, 2.0]), 100, 0.0, 1.0),
        ),
        Case(
            "10 samples, 3 features, only 5 steps",
            (*_regression(rng, 10, 3, [1.0, 1.0, 2.0]), 5, 0.0, 2.0),
        ),
    ]


def _divergence_sum_loss(X, y, steps, lo, hi):
    return _bisect(lambda lr: _diverges(X, y, lr, steps, loss_scale=1), lo, hi)


def _divergence_overflow(X, y, steps, lo, hi):
    def overflows(lr):
        w = torch.zeros(X.shape[1], dtype=F64)
        for _ in range(steps):
            w = w - lr * 2 * X.T @ (X @ w - y) / len(X)
        return not torch.isfinite(((X @ w - y) ** 2).mean()).item()

    return _bisect(overflows, lo, hi)


def _divergence_first_step(X, y, steps, lo, hi):
    return _bisect(lambda lr: _diverges(X, y, lr, 1), lo, hi)


def _divergence_theory(X, y, steps, lo, hi):
    H = 2 * X.T @ X / len(X)
    return 2 / torch.linalg.eigvalsh(H).max().item()


def _divergence_eigenbasis(X, y, steps, lo, hi):
    # Gradient descent solved in the eigenbasis of the Hessian: each component of
    # w - w* is multiplied by (1 - lr * lambda_i) at every step.
    T = len(X)
    lam, Q = torch.linalg.eigh(2 * X.T @ X / T)
    w_star = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    floor = ((X @ w_star - y) ** 2).mean().item()
    e0 = Q.T @ (0 - w_star)

    def loss(e):
        return floor + (lam / 2 * e**2).sum().item()

    def diverges(lr):
        return loss((1 - lr * lam) ** steps * e0) > loss(e0)

    while hi - lo >= DIVERGENCE_TOL:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


@exercise(
    statement=(
        "divergence_lr(X, y, steps, lo, hi) measures the smallest learning rate at "
        "which gradient descent diverges on the linear regression J(w) = mean over "
        "the T rows of (x_t . w - y_t)^2, X of shape (T, F), y of shape (T,). A "
        "rate diverges when the loss after `steps` steps from w = 0 exceeds the "
        "loss at w = 0. The rate lo converges and hi diverges; narrow the bracket "
        "by bisection until it is narrower than 1e-4 and return its midpoint. "
        "The checker accepts any answer within 1e-4 of its own."
    ),
    cases=_divergence_cases,
    equation="eq-opt-gd",
    kind="experiment",
    section="optimizers/gradient_descent",
    outputs=("eta_diverge",),
    hint=(
        "Use the loss exactly as defined: a mean, not a sum, so the gradient is "
        "2 X^T (X w - y) / T. Judge divergence after all `steps` steps, by "
        "comparing losses, not by waiting for an overflow. The result lies a "
        "little above 2 / lambda_max: in a finite number of steps the steepest "
        "direction must grow enough to outweigh what the others lose."
    ),
    wrong={
        "the loss summed over the samples instead of averaged": (
            _divergence_sum_loss
        ),
        "divergence judged by an overflow to inf or nan": _divergence_overflow,
        "divergence judged after the first step only": _divergence_first_step,
        "2 / lambda_max from the Hessian instead of the measurement": (
            _divergence_theory
        ),
    },
    alternatives=(_divergence_eigenbasis,),
    rtol=0.0,
    atol=DIVERGENCE_TOL,
)
def divergence_lr(X, y, steps, lo, hi):
    """Bisection, with the book's SGD, on whether the loss has grown."""
    return _bisect(lambda lr: _diverges(X, y, lr, steps), lo, hi, tol=1e-7)


# --- update_rules ---------------------------------------------------------------


def _momentum_cases(rng):
    return [
        Case(
            "first step: no buffer yet",
            (randn(rng, 3), randn(rng, 3), None, 0.1, 0.9),
        ),
        Case(
            "a later step",
            (randn(rng, 2, 2), randn(rng, 2, 2), randn(rng, 2, 2), 0.05, 0.9),
        ),
        Case(
            "momentum 0.5, rate 0.2",
            (randn(rng, 4), randn(rng, 4), randn(rng, 4), 0.2, 0.5),
        ),
    ]


def _momentum_stale_buffer(theta, grad, buffer, lr, momentum):
    old = grad if buffer is None else buffer
    new = grad.clone() if buffer is None else momentum * buffer + grad
    return theta - lr * old, new


def _momentum_lr_in_buffer(theta, grad, buffer, lr, momentum):
    b = lr * grad if buffer is None else momentum * buffer + lr * grad
    return theta - b, b


def _momentum_damped(theta, grad, buffer, lr, momentum):
    b = (
        grad.clone()
        if buffer is None
        else momentum * buffer + (1 - momentum) * grad
    )
    return theta - lr * b, b


def _torch_sgd_step(theta, grad, buffer, lr, momentum, nesterov):
    p = theta.clone().requires_grad_(True)
    sgd = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov)
    if buffer is not None:
        sgd.state[p]["momentum_buffer"] = buffer.clone()
    p.grad = grad.clone()
    sgd.step()
    return p.detach(), sgd.state[p]["momentum_buffer"]


def _momentum_torch(theta, grad, buffer, lr, momentum):
    return _torch_sgd_step(theta, grad, buffer, lr, momentum, nesterov=False)


def _sgd_step(theta, grad, buffer, lr, momentum, nesterov):
    theta = theta.clone()
    state = {} if buffer is None else {"momentum_buffer": buffer.clone()}
    rules.sgd_update(
        theta, grad.clone(), state, lr=lr, momentum=momentum, nesterov=nesterov
    )
    return theta, state["momentum_buffer"]


@exercise(
    statement=(
        "momentum_step(theta, grad, buffer, lr, momentum) returns (theta_t, b_t): "
        "one step of momentum in PyTorch's form, where the buffer b holds past "
        "gradients without the learning rate; buffer is None on the first step. "
        "Tensors of any shape, all the same shape."
    ),
    cases=_momentum_cases,
    equation="eq-opt-momentum",
    kind="implement",
    section="optimizers/update_rules",
    outputs=("theta_t", "b_t"),
    hint=(
        "Update the buffer first, then step along the new buffer. In PyTorch's "
        "form the buffer adds the plain gradient (no learning rate, no factor "
        "1 - momentum), and the learning rate multiplies the whole buffer."
    ),
    wrong={
        "the step taken along the old buffer": _momentum_stale_buffer,
        "the learning rate inside the buffer (the survey's v_t) returned as "
        "PyTorch's b_t": _momentum_lr_in_buffer,
        "the buffer averaged with 1 - momentum, as in Adam": _momentum_damped,
    },
    alternatives=(_momentum_torch,),
)
def momentum_step(theta, grad, buffer, lr, momentum):
    """One call of the book's sgd_update with momentum."""
    return _sgd_step(theta, grad, buffer, lr, momentum, nesterov=False)


def _nesterov_no_lookahead(theta, grad, buffer, lr, momentum):
    return _sgd_step(theta, grad, buffer, lr, momentum, nesterov=False)


def _nesterov_old_buffer(theta, grad, buffer, lr, momentum):
    old = torch.zeros_like(grad) if buffer is None else buffer
    new = grad.clone() if buffer is None else momentum * buffer + grad
    return theta - lr * (grad + momentum * old), new


def _nesterov_buffer_twice(theta, grad, buffer, lr, momentum):
    b = grad.clone() if buffer is None else momentum * buffer + grad
    return theta - lr * (b + momentum * b), b


def _nesterov_torch(theta, grad, buffer, lr, momentum):
    return _torch_sgd_step(theta, grad, buffer, lr, momentum, nesterov=True)


@exercise(
    statement=(
        "nesterov_step(theta, grad, buffer, lr, momentum) returns (theta_t, b_t): "
        "one step of Nesterov's accelerated gradient in PyTorch's form, with the "
        "same buffer b_t as momentum_step; buffer is None on the first step."
    ),
    cases=_momentum_cases,
    equation="eq-opt-nesterov",
    kind="implement",
    section="optimizers/update_rules",
    outputs=("theta_t", "b_t"),
    hint=(
        "The buffer is updated exactly as for momentum. The step is not along the "
        "buffer alone: it is the gradient plus one more look along the new "
        "buffer, scaled by the momentum."
    ),
    wrong={
        "the look-ahead left out (plain momentum)": _nesterov_no_lookahead,
        "the look-ahead along the old buffer": _nesterov_old_buffer,
        "the buffer instead of the gradient plus the look-ahead": (
            _nesterov_buffer_twice
        ),
    },
    alternatives=(_nesterov_torch,),
)
def nesterov_step(theta, grad, buffer, lr, momentum):
    """One call of the book's sgd_update with nesterov=True."""
    return _sgd_step(theta, grad, buffer, lr, momentum, nesterov=True)


def _adagrad_cases(rng):
    return [
        Case(
            "from an empty accumulator",
            (randn(rng, 3), randn(rng, 3), _zeros(3), 0.1),
        ),
        Case(
            "with history",
            (
                randn(rng, 2, 2),
                randn(rng, 2, 2),
                rand(rng, 2, 2, high=5.0),
                0.5,
            ),
        ),
        Case(
            "a zero gradient leaves theta alone",
            (randn(rng, 2), _zeros(2), _zeros(2), 0.1),
        ),
        Case(
            "eps = 0.01, small gradients",
            (
                randn(rng, 4),
                randn(rng, 4, scale=0.1),
                rand(rng, 4, high=0.01),
                0.1,
            ),
            {"eps": 1e-2},
        ),
        Case(
            "eps = 1, as large as the accumulator",
            (randn(rng, 3), randn(rng, 3), rand(rng, 3, high=2.0), 1.0),
            {"eps": 1.0},
        ),
    ]


def _adagrad_eps_inside(theta, grad, G, lr, eps=1e-10):
    G = G + grad**2
    return theta - lr * grad / (G + eps).sqrt(), G


def _adagrad_old_sum(theta, grad, G, lr, eps=1e-10):
    step = lr * grad / (G.sqrt() + eps)
    return theta - step, G + grad**2


def _adagrad_abs(theta, grad, G, lr, eps=1e-10):
    G = G + grad.abs()
    return theta - lr * grad / (G.sqrt() + eps), G


def _adagrad_addcmul(theta, grad, G, lr, eps=1e-10):
    G = torch.addcmul(G, grad, grad)
    return torch.addcdiv(theta, grad, torch.sqrt(G) + eps, value=-lr), G


@exercise(
    statement=(
        "adagrad_step(theta, grad, G, lr, eps=1e-10) returns (theta_t, G_t): one "
        "step of Adagrad without learning-rate decay, from parameters theta, "
        "gradient grad and the accumulator G of the previous steps (all of one "
        "shape). The cases include large values of eps."
    ),
    cases=_adagrad_cases,
    equation="eq-opt-adagrad",
    kind="implement",
    section="optimizers/update_rules",
    outputs=("theta_t", "G_t"),
    hint=(
        "Two things to check in the section's equation: the accumulator takes "
        "this step's squared gradient before it divides, and eps is added to "
        "the square root, not under it. With eps = 1 the two placements differ "
        "a lot."
    ),
    wrong={
        "eps inside the square root": _adagrad_eps_inside,
        "the step divided by the old accumulator": _adagrad_old_sum,
        "|g| accumulated instead of g^2": _adagrad_abs,
    },
    alternatives=(_adagrad_addcmul,),
)
def adagrad_step(theta, grad, G, lr, eps=1e-10):
    """One call of the book's adagrad_update, from the state after earlier steps."""
    theta, state = theta.clone(), {"step": 1, "sum": G.clone()}
    rules.adagrad_update(theta, grad.clone(), state, lr=lr, eps=eps)
    return theta, state["sum"]


def _bias_cases(rng):
    return [
        Case(
            "the first step",
            (randn(rng, 3), randn(rng, 3).abs(), 1, 0.9, 0.999),
        ),
        Case(
            "step 10",
            (randn(rng, 2, 3), randn(rng, 2, 3).abs(), 10, 0.9, 0.999),
        ),
        Case(
            "late in training: almost no correction of m",
            (randn(rng, 3), randn(rng, 3).abs(), 5000, 0.9, 0.999),
        ),
        Case(
            "beta1 = 0.5, beta2 = 0.8, step 3",
            (randn(rng, 4), randn(rng, 4).abs(), 3, 0.5, 0.8),
        ),
    ]


def _bias_from_zero(m, v, t, beta1, beta2):
    return m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))


def _bias_without_power(m, v, t, beta1, beta2):
    return m / (1 - beta1), v / (1 - beta2)


def _bias_multiplied(m, v, t, beta1, beta2):
    return m * (1 - beta1**t), v * (1 - beta2**t)


def _bias_one_beta(m, v, t, beta1, beta2):
    return m / (1 - beta1**t), v / (1 - beta1**t)


def _bias_logs(m, v, t, beta1, beta2):
    def correction(beta):
        return -math.expm1(t * math.log(beta))

    return m / correction(beta1), v / correction(beta2)


@exercise(
    statement=(
        "adam_bias_correction(m, v, t, beta1, beta2) returns (m_hat, v_hat), "
        "Adam's bias-corrected averages at step t (counted from 1), from the "
        "running averages m and v of that step (tensors of one shape)."
    ),
    cases=_bias_cases,
    equation="eq-opt-adam",
    kind="implement",
    section="optimizers/update_rules",
    outputs=("m_hat", "v_hat"),
    hint=(
        "Both averages start at 0, so after t steps their weights sum to "
        "1 - beta^t, with each average's own beta, and the correction divides "
        "by that sum. Steps count from 1: at t = 1 the corrected m is the "
        "gradient itself."
    ),
    wrong={
        "steps counted from 0": _bias_from_zero,
        "1 - beta without the power t": _bias_without_power,
        "multiplied by the correction instead of divided": _bias_multiplied,
        "beta1 used for both averages": _bias_one_beta,
    },
    alternatives=(_bias_logs,),
)
def adam_bias_correction(m, v, t, beta1, beta2):
    """The two quotients of the section's Adam equation.

    The book's :func:`~nnbook.optim.adam_update` folds them into its step and
    never stores them, so the reference writes them out as the equation does.
    """
    return m / (1 - beta1**t), v / (1 - beta2**t)


def _first_step_cases(rng):
    g = torch.tensor([0.5, -3.0, 1e-3, 1e3, 0.0], dtype=F64)
    return [
        Case(
            "mixed gradients, default hyperparameters",
            (g, 1e-3, 0.9, 0.999, 1e-8),
        ),
        Case(
            "beta1 = 0.5, beta2 = 0.9, rate 0.1",
            (randn(rng, 4), 0.1, 0.5, 0.9, 1e-8),
        ),
        Case(
            "gradients as small as eps",
            (
                torch.tensor([1e-8, -3e-8, 1e-7], dtype=F64),
                1.0,
                0.9,
                0.999,
                1e-8,
            ),
        ),
        Case(
            "a large eps = 0.1",
            (randn(rng, 4, scale=0.2), 0.01, 0.8, 0.99, 0.1),
        ),
    ]


def _first_step_uncorrected(g, lr, beta1, beta2, eps):
    m, v = (1 - beta1) * g, (1 - beta2) * g**2
    return -lr * m / (v.sqrt() + eps)


def _first_step_sign(g, lr, beta1, beta2, eps):
    return -lr * g.sign()


def _first_step_eps_inside(g, lr, beta1, beta2, eps):
    return -lr * g / (g**2 + eps).sqrt()


def _first_step_ratio(g, lr, beta1, beta2, eps):
    return -lr * g.sign() * (g.abs() / (g.abs() + eps))


@exercise(
    statement=(
        "adam_first_step(g, lr, beta1, beta2, eps) returns theta_1 - theta_0, "
        "the change that Adam's first step makes to the parameters for a first "
        "gradient g (a tensor), derived on paper as a function of g, lr and eps "
        "(and, if they matter, beta1 and beta2)."
    ),
    cases=_first_step_cases,
    equation="eq-opt-adam",
    kind="derive",
    section="optimizers/update_rules",
    outputs=("delta_theta",),
    hint=(
        "Write m_1, v_1 and their bias corrections at t = 1 with m_0 = v_0 = 0. "
        "What is left of beta1 and beta2? Then see what eps does to a coordinate "
        "whose gradient is about as small as eps."
    ),
    wrong={
        "without bias correction: lr (1 - beta1) / sqrt(1 - beta2) per "
        "coordinate": _first_step_uncorrected,
        "lr sign(g), forgetting eps": _first_step_sign,
        "eps inside the square root": _first_step_eps_inside,
    },
    alternatives=(_first_step_ratio,),
)
def adam_first_step(g, lr, beta1, beta2, eps):
    """One call of the book's adam_update from a fresh state, at theta = 0."""
    p = torch.zeros_like(g)
    rules.adam_update(p, g.clone(), {}, lr=lr, betas=(beta1, beta2), eps=eps)
    return p


def _adamw_cases(rng):
    spread = torch.tensor([1e-3, 1e-1, 1.0, 1e2], dtype=F64)
    return [
        Case(
            "the first step, gradients of very different sizes",
            (randn(rng, 4), randn(rng, 4) * spread, _zeros(4), _zeros(4), 1),
            {"lr": 0.1, "weight_decay": 0.1},
        ),
        Case(
            "step 10 with history",
            (
                randn(rng, 2, 3),
                randn(rng, 2, 3),
                randn(rng, 2, 3, scale=0.1),
                rand(rng, 2, 3, high=0.01),
                10,
            ),
            {"lr": 0.01, "weight_decay": 0.5},
        ),
        Case(
            "strong decay, beta1 = 0.8, beta2 = 0.99",
            (
                randn(rng, 4),
                randn(rng, 4) * spread,
                randn(rng, 4),
                rand(rng, 4, high=2.0),
                3,
            ),
            {"lr": 0.05, "weight_decay": 2.0, "betas": (0.8, 0.99)},
        ),
    ]


def _adam_averages(grad, m, v, t, betas):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return m, v, m / (1 - beta1**t), v / (1 - beta2**t)


def _adamw_l2(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    theta = theta.clone()
    state = {"step": t - 1, "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    rules.adam_update(
        theta, grad.clone(), state, lr=lr, betas=betas, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    return theta, state["exp_avg"], state["exp_avg_sq"]


def _adamw_scaled_decay(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    m, v, m_hat, v_hat = _adam_averages(grad, m, v, t, betas)
    step = (m_hat + weight_decay * theta) / (v_hat.sqrt() + eps)
    return theta - lr * step, m, v


def _adamw_decay_without_lr(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    m, v, m_hat, v_hat = _adam_averages(grad, m, v, t, betas)
    step = lr * m_hat / (v_hat.sqrt() + eps)
    return (1 - weight_decay) * theta - step, m, v


def _adamw_uncorrected(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    m, v, _, _ = _adam_averages(grad, m, v, t, betas)
    step = lr * m / (v.sqrt() + eps)
    return (1 - lr * weight_decay) * theta - step, m, v


def _adamw_one_line(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    m, v, m_hat, v_hat = _adam_averages(grad, m, v, t, betas)
    return (
        theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta),
        m,
        v,
    )


@exercise(
    statement=(
        "adamw_step(theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), "
        "eps=1e-8) returns (theta_t, m_t, v_t): one step t (counted from 1) of "
        "AdamW, Adam with weight decay decoupled from the gradient as in "
        "torch.optim.AdamW, from the averages m and v of step t - 1."
    ),
    cases=_adamw_cases,
    equation="eq-opt-adamw",
    kind="implement",
    section="optimizers/adamw",
    outputs=("theta_t", "m_t", "v_t"),
    hint=(
        "The averages m and v, and so Adam's step, see the gradient alone. The "
        "decay is a separate shrinking of the weights, by the factor "
        "1 - lr * weight_decay, that the adaptive denominator never touches."
    ),
    wrong={
        "L2 added to the gradient (Adam's weight_decay)": _adamw_l2,
        "the decay divided by the adaptive denominator": _adamw_scaled_decay,
        "the decay not multiplied by the learning rate": _adamw_decay_without_lr,
        "no bias correction": _adamw_uncorrected,
    },
    alternatives=(_adamw_one_line,),
)
def adamw_step(
    theta, grad, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8
):
    """One call of :func:`nnbook.optim.adamw_update`."""
    theta = theta.clone()
    state = {"step": t - 1, "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    rules.adamw_update(
        theta, grad.clone(), state, lr=lr, betas=betas, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    return theta, state["exp_avg"], state["exp_avg_sq"]


# --- trajectories ---------------------------------------------------------------


def _escape_cases(rng):
    return [
        Case("gradient descent, theta2 = 1e-6", (0.05, 1e-6, 0.0, 200)),
        Case("gradient descent, theta2 = 1e-3", (0.05, 1e-3, 0.0, 100)),
        Case("a larger rate, 0.2", (0.2, 1e-6, 0.0, 60)),
        Case("momentum 0.9", (0.05, 1e-6, 0.9, 80)),
        Case("still on the saddle after 50 steps", (0.01, 1e-6, 0.0, 50)),
    ]


def _escape_path(lr, theta2, momentum, limit):
    return optim.trajectory(
        lambda ps: optim.SGD(ps, lr=lr, momentum=momentum),
        optim.saddle,
        (1.0, theta2),
        limit,
    )


def _escape_from_one(lr, theta2, momentum=0.0, limit=400):
    t = escape_time.reference(lr, theta2, momentum, limit)
    return None if t is None else t + 1


def _escape_no_momentum(lr, theta2, momentum=0.0, limit=400):
    return escape_time.reference(lr, theta2, 0.0, limit)


def _escape_below_zero(lr, theta2, momentum=0.0, limit=400):
    below = (
        optim.saddle(_escape_path(lr, theta2, momentum, limit)) < 0
    ).nonzero()
    return below[0].item() if len(below) else None


def _escape_by_hand(lr, theta2, momentum=0.0, limit=400):
    x, y = 1.0, theta2
    bx = by = None
    for t in range(limit + 1):
        if x**2 - y**2 + y**4 / 4 < -0.5:
            return t
        gx, gy = 2 * x, -2 * y + y**3
        bx = gx if bx is None else momentum * bx + gx
        by = gy if by is None else momentum * by + gy
        x, y = x - lr * bx, y - lr * by
    return None


@exercise(
    statement=(
        "escape_time(lr, theta2, momentum=0.0, limit=400) runs nnbook.optim.SGD "
        "with that rate and momentum on the saddle function from (1, theta2) for "
        "at most `limit` steps and returns the first step t (t = 0 is the start) "
        "at which the loss is below -0.5, or None if it never is. Exact: the "
        "count must agree."
    ),
    cases=_escape_cases,
    equation="eq-opt-saddle",
    kind="experiment",
    section="optimizers/trajectories",
    outputs=("t",),
    hint=(
        "Count the starting point as step 0, so that the answer is the number "
        "of steps taken. The threshold is -0.5, well past the saddle's level of "
        "0. And pass the momentum on to the optimizer."
    ),
    wrong={
        "the start counted as step 1": _escape_from_one,
        "the momentum ignored": _escape_no_momentum,
        "escape judged by a loss below 0": _escape_below_zero,
    },
    alternatives=(_escape_by_hand,),
)
def escape_time(lr, theta2, momentum=0.0, limit=400):
    """The section's escape time, on the book's trajectory."""
    path = _escape_path(lr, theta2, momentum, limit)
    below = (optim.saddle(path) < -0.5).nonzero()
    return below[0].item() if len(below) else None


# --- real_network and mnist -----------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda ps, lr: optim.SGD(ps, lr=lr),
    "momentum": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9),
    "Adam": lambda ps, lr: optim.Adam(ps, lr=lr),
}

#: The layer widths of the small network of these two exercises.
SIZES = [64, 32, 10]


@functools.cache
def _digits():
    from nnbook.data import digits  # scikit-learn loads only when needed

    return digits(dtype=F64)


def _images(start, stop):
    data = _digits()
    return data.X_train[start:stop], data.y_train[start:stop]


def _train(name, lr, X, y, steps, seed, test=None):
    """The training run of the section: the book's MLP, optimizer and fit."""
    g = nnbook.generator(seed)
    net = MLP(SIZES, generator=g, dtype=F64)
    optimizer = OPTIMIZERS[name](net.parameters(), lr)
    history = fit(
        net,
        X,
        y,
        epochs=steps,
        batch_size=len(X),
        generator=g,
        optimizer=optimizer,
        test=test,
        progress=False,
    )
    return history


def _sweep_cases(rng):
    return [
        Case("SGD, 100 images, 10 steps", ("SGD", [0.03, 0.3, 3.0], 100, 10)),
        Case(
            "momentum, 100 images, 10 steps",
            ("momentum", [0.01, 0.1, 1.0], 100, 10),
        ),
        Case(
            "Adam, 100 images, 10 steps", ("Adam", [1e-3, 1e-2, 1e-1], 100, 10)
        ),
        Case("Adam, seed 1", ("Adam", [3e-3, 3e-2], 50, 5), {"seed": 1}),
    ]


def _loop(name, lr, net, X, y, steps, fresh_optimizer=False):
    """A hand-written full-batch loop; returns the loss of its last forward pass."""
    optimizer = OPTIMIZERS[name](net.parameters(), lr)
    for _ in range(steps):
        if fresh_optimizer:
            optimizer = OPTIMIZERS[name](net.parameters(), lr)
        loss, cache = softmax_cross_entropy_forward(net.forward(X), y)
        net.backward(softmax_cross_entropy_backward(cache), input_grad=False)
        optimizer.step()
    return loss


def _final_loss(net, X, y):
    return softmax_cross_entropy_forward(predict(net, X), y)[0].item()


def _sweep_by_hand(name, rates, n, steps, seed=0):
    X, y = _images(0, n)
    losses = []
    for lr in rates:
        net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
        _loop(name, lr, net, X, y, steps)
        losses.append(_final_loss(net, X, y))
    return torch.tensor(losses, dtype=F64)


def _sweep_one_network(name, rates, n, steps, seed=0):
    X, y = _images(0, n)
    net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
    losses = []
    for lr in rates:
        _loop(name, lr, net, X, y, steps)
        losses.append(_final_loss(net, X, y))
    return torch.tensor(losses, dtype=F64)


def _sweep_fresh_optimizer(name, rates, n, steps, seed=0):
    X, y = _images(0, n)
    losses = []
    for lr in rates:
        net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
        _loop(name, lr, net, X, y, steps, fresh_optimizer=True)
        losses.append(_final_loss(net, X, y))
    return torch.tensor(losses, dtype=F64)


def _sweep_last_forward(name, rates, n, steps, seed=0):
    X, y = _images(0, n)
    losses = []
    for lr in rates:
        net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
        losses.append(_loop(name, lr, net, X, y, steps).item())
    return torch.tensor(losses, dtype=F64)


@exercise(
    statement=(
        "rate_sweep(name, rates, n, steps, seed=0) returns a float64 tensor of "
        "the training losses, one per rate: for each rate, a fresh "
        "MLP([64, 32, 10], generator=nnbook.generator(seed), dtype=torch.float64) "
        "trained by full-batch gradient steps with the optimizer `name` ('SGD', "
        "'momentum' for SGD with momentum 0.9, or 'Adam', from nnbook.optim) on "
        "the first n training images of nnbook.data.digits(dtype=torch.float64), "
        "and its mean softmax cross-entropy on those images after `steps` steps. "
        "Tolerance: relative 1e-6."
    ),
    cases=_sweep_cases,
    equation=None,
    kind="experiment",
    section="optimizers/real_network",
    outputs=("losses",),
    hint=(
        "Every rate starts from the same initial weights: build a new network "
        "with a new generator for each. Build the optimizer once per run, since "
        "momentum and Adam keep state between steps. And measure the loss after "
        "the last step, not the one computed in the last forward pass."
    ),
    wrong={
        "one network trained on through all the rates": _sweep_one_network,
        "a new optimizer at every step, losing its state": _sweep_fresh_optimizer,
        "the loss of the last forward pass, one step early": _sweep_last_forward,
    },
    alternatives=(_sweep_by_hand,),
)
def rate_sweep(name, rates, n, steps, seed=0):
    """The section's sweep: nnbook.train.fit with the book's optimizers."""
    X, y = _images(0, n)
    losses = [
        _train(name, lr, X, y, steps, seed).train_loss[-1] for lr in rates
    ]
    return torch.tensor(losses, dtype=F64)


def _search_cases(rng):
    return [
        Case("SGD around 0.3", ("SGD", 0.3, 100, 100, 10)),
        Case("momentum around 0.1", ("momentum", 0.1, 100, 100, 8)),
        Case("Adam around 0.01", ("Adam", 0.01, 100, 100, 8), {"seed": 2}),
    ]


def _search_by_hand(name, lr, n_train, n_val, steps, seed=0):
    X, y = _images(0, n_train)
    X_val, y_val = _images(n_train, n_train + n_val)
    out = []
    for rate in (lr / 3, lr, 3 * lr):
        net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
        _loop(name, rate, net, X, y, steps)
        out.append(accuracy(predict(net, X_val), y_val))
    return torch.tensor(out, dtype=F64)


def _search_on_training(name, lr, n_train, n_val, steps, seed=0):
    X, y = _images(0, n_train)
    out = []
    for rate in (lr / 3, lr, 3 * lr):
        net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
        _loop(name, rate, net, X, y, steps)
        out.append(accuracy(predict(net, X), y))
    return torch.tensor(out, dtype=F64)


def _search_one_generator(name, lr, n_train, n_val, steps, seed=0):
    X, y = _images(0, n_train)
    X_val, y_val = _images(n_train, n_train + n_val)
    g, out = nnbook.generator(seed), []
    for rate in (lr / 3, lr, 3 * lr):
        net = MLP(SIZES, generator=g, dtype=F64)
        _loop(name, rate, net, X, y, steps)
        out.append(accuracy(predict(net, X_val), y_val))
    return torch.tensor(out, dtype=F64)


def _search_one_network(name, lr, n_train, n_val, steps, seed=0):
    X, y = _images(0, n_train)
    X_val, y_val = _images(n_train, n_train + n_val)
    net = MLP(SIZES, generator=nnbook.generator(seed), dtype=F64)
    out = []
    for rate in (lr / 3, lr, 3 * lr):
        _loop(name, rate, net, X, y, steps)
        out.append(accuracy(predict(net, X_val), y_val))
    return torch.tensor(out, dtype=F64)


@exercise(
    statement=(
        "search_around(name, lr, n_train, n_val, steps, seed=0) runs the short "
        "search of the section around a rate lr carried over from another "
        "problem: for each of lr / 3, lr and 3 lr, a fresh network, set up and "
        "trained as in rate_sweep on the first n_train training images of the "
        "digits, scored by its accuracy on the next n_val training images, held "
        "out for validation. Returns the three accuracies as a float64 tensor. "
        "Exact, up to rounding."
    ),
    cases=_search_cases,
    equation=None,
    kind="experiment",
    section="optimizers/mnist",
    outputs=("val_accuracy",),
    hint=(
        "Score on the held-out images, never on the ones the network trained "
        "on. Each rate gets its own network with the same initial weights: a "
        "new generator per network, not one generator shared by the three."
    ),
    wrong={
        "scored on the training images": _search_on_training,
        "one generator shared by the three networks": _search_one_generator,
        "one network trained on through the three rates": _search_one_network,
    },
    alternatives=(_search_by_hand,),
)
def search_around(name, lr, n_train, n_val, steps, seed=0):
    """The section's search, with nnbook.train.fit scoring the held-out images."""
    X, y = _images(0, n_train)
    held_out = _images(n_train, n_train + n_val)
    return torch.tensor(
        [
            _train(name, rate, X, y, steps, seed, test=held_out).test_accuracy[
                -1
            ]
            for rate in (lr / 3, lr, 3 * lr)
        ],
        dtype=F64,
    )


# --------------------------------------------------------------------------
# momentum on a quadratic
# --------------------------------------------------------------------------


def _heavy_ball_cases(rng):
    return [
        Case("curvatures 1 and 10", (1.0, 10.0)),
        Case("curvatures 0.5 and 200", (0.5, 200.0)),
        Case("a round bowl: no momentum needed", (2.0, 2.0)),
        Case("small curvatures", (1e-3, 0.4)),
    ]


def _heavy_ball_unsquared(mu, L):
    root = math.sqrt(L / mu)
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, (root - 1) / (root + 1)


def _heavy_ball_gd_rate(mu, L):
    root = math.sqrt(L / mu)
    return 2 / (mu + L), ((root - 1) / (root + 1)) ** 2


def _heavy_ball_one_over_l(mu, L):
    root = math.sqrt(L / mu)
    return 1 / L, ((root - 1) / (root + 1)) ** 2


def _heavy_ball_from_rates(mu, L):
    # The momentum is the square of the best rate; the rate then follows from
    # requiring both curvatures to sit on the circle |z| = sqrt(momentum).
    rate = (math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))
    momentum = rate**2
    return (1 + momentum) * 2 / (mu + L), momentum


@exercise(
    statement=(
        "heavy_ball(mu, L) returns (lr, momentum), the learning rate and the "
        "momentum of gradient descent with heavy-ball momentum (torch.optim.SGD "
        "with momentum, no Nesterov) that make it converge fastest on a quadratic "
        "whose curvatures lie between mu and L, 0 < mu <= L, derived on paper."
    ),
    cases=_heavy_ball_cases,
    equation="eq-opt-heavy-ball",
    kind="derive",
    section="optimizers/momentum",
    outputs=("lr", "momentum"),
    hint=(
        "Both roots of the step's characteristic polynomial have the same size, "
        "the square root of the momentum, when they are complex; the best choice "
        "makes the smallest and the largest curvature reach that bound together."
    ),
    wrong={
        "the momentum not squared": _heavy_ball_unsquared,
        "gradient descent's best rate 2/(mu + L)": _heavy_ball_gd_rate,
        "the rate 1/L": _heavy_ball_one_over_l,
    },
    alternatives=(_heavy_ball_from_rates,),
)
def heavy_ball(mu, L):
    return optim.heavy_ball_parameters(mu, L)


# --------------------------------------------------------------------------
# learning-rate schedules
# --------------------------------------------------------------------------


def _warmup_cosine_cases(rng):
    return [
        Case("the first epoch of the warm-up", (0.3, 0.1, 3, 12, 0)),
        Case("half-way through the warm-up", (1.0, 0.2, 4, 20, 2)),
        Case("the first epoch at the full rate", (0.3, 0.1, 3, 12, 3)),
        Case("inside the cosine", (0.3, 0.1, 3, 12, 7)),
        Case("the last epoch of the run", (0.5, 0.1, 5, 25, 25)),
        Case("a one-epoch warm-up", (0.1, 0.5, 1, 10, 4)),
    ]


def _warmup_cosine_whole_run(lr0, start_factor, warmup, total, epoch):
    if epoch < warmup:
        return lr0 * (start_factor + (1 - start_factor) * epoch / warmup)
    return lr0 * 0.5 * (1 + math.cos(math.pi * epoch / total))


def _warmup_cosine_late(lr0, start_factor, warmup, total, epoch):
    if epoch <= warmup:
        return lr0 * (start_factor + (1 - start_factor) * epoch / (warmup + 1))
    cosine = 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / (total - warmup)))
    return lr0 * cosine


def _warmup_cosine_product(lr0, start_factor, warmup, total, epoch):
    share = min(epoch, warmup) / warmup
    factor = start_factor + (1 - start_factor) * share
    return lr0 * factor * 0.5 * (1 + math.cos(math.pi * epoch / total))


def _warmup_cosine_torch(lr0, start_factor, warmup, total, epoch):
    schedules = torch.optim.lr_scheduler

    def make(sgd):
        return schedules.SequentialLR(
            sgd,
            [
                schedules.LinearLR(sgd, start_factor, total_iters=warmup),
                schedules.CosineAnnealingLR(sgd, T_max=total - warmup),
            ],
            milestones=[warmup],
        )

    return _torch_rate(make, lr0, epoch)


@exercise(
    statement=(
        "warmup_cosine(lr0, start_factor, warmup, total, epoch) returns the "
        "learning rate at epoch e = epoch (counted from 0) of a run of total "
        "epochs: a linear warm-up from start_factor * lr0 that reaches lr0 at "
        "epoch warmup, then cosine annealing from lr0 to 0 over the remaining "
        "total - warmup epochs; a float."
    ),
    cases=_warmup_cosine_cases,
    equation="eq-opt-cosine",
    kind="implement",
    section="optimizers/schedules",
    outputs=("eta_e",),
    hint=(
        "Two phases, each with its own clock: the warm-up counts epochs from 0, "
        "the cosine counts them from the epoch where the warm-up ends, and its "
        "period is what remains of the run."
    ),
    wrong={
        "the cosine runs over the whole run": _warmup_cosine_whole_run,
        "the warm-up ends one epoch late": _warmup_cosine_late,
        "warm-up times cosine, as ChainedScheduler": _warmup_cosine_product,
    },
    alternatives=(_warmup_cosine_torch,),
)
def warmup_cosine(lr0, start_factor, warmup, total, epoch):
    """The rate of the book's warm-up and cosine schedule at ``epoch``."""
    sgd = optim.SGD([torch.zeros(1)], lr=lr0)
    schedule = optim.SequentialLR(
        sgd,
        [
            optim.LinearLR(sgd, start_factor, total_iters=warmup),
            optim.CosineAnnealingLR(sgd, T_max=total - warmup),
        ],
        milestones=[warmup],
    )
    return schedule.lr_at(lr0, epoch)


# --------------------------------------------------------------------------
# batch size and gradient noise
# --------------------------------------------------------------------------


def _two_batch_cases(rng):
    return [
        Case("batches of 8 and 128", (11.73, 3.41, 8, 128)),
        Case("batches of 32 and 1024", (0.62, 0.081, 32, 1024)),
        Case("little noise", (2.05, 2.0, 1, 100)),
        Case("neighbouring sizes", (5.0, 4.0, 16, 32)),
    ]


def _two_batch_swapped(sq_small, sq_big, b_small, b_big):
    gradient_sq = (b_small * sq_big - b_big * sq_small) / (b_small - b_big)
    trace = (sq_big - sq_small) / (1 / b_small - 1 / b_big)
    return gradient_sq, trace


def _two_batch_big_only(sq_small, sq_big, b_small, b_big):
    trace = (sq_small - sq_big) / (1 / b_small - 1 / b_big)
    return sq_big, trace


def _two_batch_linear_in_b(sq_small, sq_big, b_small, b_big):
    trace = (sq_small - sq_big) / (b_big - b_small)
    return sq_big - trace * b_big, trace


def _two_batch_solve(sq_small, sq_big, b_small, b_big):
    A = torch.tensor([[1.0, 1 / b_small], [1.0, 1 / b_big]], dtype=F64)
    solution = torch.linalg.solve(
        A, torch.tensor([sq_small, sq_big], dtype=F64)
    )
    return solution[0].item(), solution[1].item()


@exercise(
    statement=(
        "two_batch_noise(sq_small, sq_big, b_small, b_big) returns "
        "(gradient_sq, trace): the squared norm |G|^2 of the full gradient and the "
        "trace of the per-example covariance, from the mean squared norms "
        "sq_small and sq_big of mini-batch gradients measured at the batch sizes "
        "b_small < b_big, derived on paper."
    ),
    cases=_two_batch_cases,
    equation="eq-opt-noise-scale",
    kind="derive",
    section="optimizers/batch_size",
    outputs=("gradient_sq", "trace"),
    hint=(
        "The expected squared norm is a straight line in 1/B: its intercept is "
        "|G|^2 and its slope is the trace. Two measurements fix a line."
    ),
    wrong={
        "the two batch sizes swapped": _two_batch_swapped,
        "|G|^2 taken as the big batch's squared norm": _two_batch_big_only,
        "a straight line in B instead of 1/B": _two_batch_linear_in_b,
    },
    alternatives=(_two_batch_solve,),
)
def two_batch_noise(sq_small, sq_big, b_small, b_big):
    """The intercept and slope of E|G_B|^2 in 1/B, through two measurements."""
    slope = (sq_small - sq_big) / (1 / b_small - 1 / b_big)
    return sq_big - slope / b_big, slope
