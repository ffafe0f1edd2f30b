r"""Two measurements that guide the choice of a learning rate and a batch size.

:func:`lr_range_test` raises the learning rate geometrically, one mini-batch at a time,
and records the loss: where it falls fastest and where it blows up bracket the useful
rates (Smith's range test). :func:`gradient_noise_scale` measures how noisy the
mini-batch gradient is compared with the gradient itself, :eq:`eq-opt-noise-scale`: the
batch size below which a larger batch buys almost proportionally faster progress
(McCandlish et al.'s simple noise scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nnbook.contract import Int, Methods, Real, Tensor, contract
from nnbook.train import _gradients, batches, predict

__all__ = ["NoiseScale", "RangeTest", "gradient_noise_scale", "lr_range_test"]


@contract(
    X=Tensor("n", ...),
    y=Tensor("n", ..., dtype="any"),
    optimizer=Methods("step", "zero_grad"),
    lr_min=Real(low=0, low_open=True),
    lr_max=Real(low=0, low_open=True),
    steps=Int(low=2),
    batch_size=Int(low=1),
    stop_factor=Real(low=1, low_open=True, optional=True),
    beta=Real(low=0, high=1, high_open=True),
    loss=Methods(optional=True),
)
def lr_range_test(
    net,
    X,
    y,
    optimizer,
    *,
    lr_min,
    lr_max,
    steps,
    batch_size=64,
    generator=None,
    stop_factor=4.0,
    beta=0.9,
    loss=None,
):
    r"""Train with a learning rate that grows geometrically, and record the loss.

    Step :math:`k = 0, \dots, K-1` uses the rate
    :math:`\eta_k = \eta_{\min} (\eta_{\max} / \eta_{\min})^{k / (K-1)}` in every
    parameter group. Before the step, the loss of its mini-batch is recorded (in
    evaluation mode). Mini-batches come in shuffled epochs of full batches (a last,
    smaller batch is left out, as :func:`nnbook.train.fit` does by default). The test
    trains ``net``: use a fresh network afterwards. This is the geometric, smoothed
    variant of the test that fast.ai popularized; Smith (2017) raised the rate
    linearly and watched the accuracy.

    Parameters
    ----------
    net : nnbook MLP or torch.nn.Module
        The network; it is trained by the test.
    X, y : Tensor
        The training inputs and targets.
    optimizer : object with ``step()`` and ``zero_grad()``
        An optimizer over the parameters of ``net``; its ``lr`` is overwritten.
    lr_min, lr_max : float
        The first and last rates, :math:`\eta_{\min} < \eta_{\max}`.
    steps : int
        The number of steps :math:`K`, at least 2.
    batch_size : int, default 64
    generator : torch.Generator, optional
        Shuffles the mini-batches.
    stop_factor : float or None, default 4.0
        Stop once the smoothed loss (:meth:`RangeTest.smoothed` with ``beta``)
        exceeds this multiple of its smallest value so far, or a loss is not finite;
        None runs every step. Smoothing keeps a single noisy mini-batch from ending
        the test.
    beta : float, default 0.9
        The smoothing of the stopping rule, and the default of the result's
        :meth:`RangeTest.smoothed`.
    loss : callable, optional
        As for :func:`nnbook.train.fit`; the default is the softmax cross-entropy.

    Returns
    -------
    RangeTest
        The rates and losses, one entry per step taken.

    Raises
    ------
    ValueError
        If ``lr_min`` is not below ``lr_max``.
    """
    if not lr_min < lr_max:
        raise ValueError(
            f"lr_min must be below lr_max, got lr_min={lr_min} and "
            f"lr_max={lr_max}"
        )
    objective = F.cross_entropy if loss is None else loss
    ratio = math.log(lr_max / lr_min) / (steps - 1)
    rates, losses = [], []
    average, best = 0.0, math.inf
    while len(rates) < steps:
        for idx in batches(
            len(X), batch_size, generator=generator, drop_last=True
        ):
            rate = lr_min * math.exp(ratio * len(rates))
            for group in optimizer.param_groups:
                group["lr"] = rate
            with torch.no_grad():
                value = objective(predict(net, X[idx]), y[idx]).item()
            rates.append(rate)
            losses.append(value)
            average = beta * average + (1 - beta) * value
            smoothed = average / (1 - beta ** len(rates))
            best = min(best, smoothed)
            blown = stop_factor is not None and smoothed > stop_factor * best
            if not math.isfinite(value) or blown or len(rates) == steps:
                return RangeTest(_float64(rates), _float64(losses), beta)
            optimizer.zero_grad()
            _gradients(net, X[idx], y[idx], loss)
            optimizer.step()
    return RangeTest(
        _float64(rates), _float64(losses), beta
    )  # pragma: no cover


def _float64(values):
    return torch.tensor(values, dtype=torch.float64)


@dataclass(frozen=True)
class RangeTest:
    r"""The result of :func:`lr_range_test`.

    Attributes
    ----------
    rates, losses : Tensor
        The rate of every step and the loss of its mini-batch before the step.
    beta : float
        The default smoothing of :meth:`smoothed`, :meth:`minimum` and
        :meth:`steepest`.
    """

    rates: torch.Tensor
    losses: torch.Tensor
    beta: float = 0.9

    def smoothed(self, beta=None):
        r"""The losses averaged exponentially, :math:`s_k = \beta s_{k-1} +
        (1 - \beta) \ell_k`, divided by :math:`1 - \beta^{k+1}` to remove the
        bias towards :math:`s_{-1} = 0`, as for Adam's moments."""
        beta = self.beta if beta is None else beta
        out, average = [], 0.0
        for k, value in enumerate(self.losses.tolist()):
            average = beta * average + (1 - beta) * value
            out.append(average / (1 - beta ** (k + 1)))
        return _float64(out)

    def minimum(self, beta=None):
        """The rate at which the smoothed loss is lowest."""
        return self.rates[int(self.smoothed(beta).argmin())].item()

    def steepest(self, beta=None):
        """The rate at which the smoothed loss falls fastest per step, before its
        minimum. The first :math:`1 / (1 - \beta)` steps, over which the average
        is still settling, are left out."""
        beta = self.beta if beta is None else beta
        s = self.smoothed(beta)
        start = min(math.ceil(1 / (1 - beta)), len(s) - 2)
        end = max(int(s.argmin()), start + 1)
        drops = s[start + 1 : end + 1] - s[start:end]
        return self.rates[start + int(drops.argmin())].item()


@dataclass(frozen=True)
class NoiseScale:
    r"""What :func:`gradient_noise_scale` measures.

    Attributes
    ----------
    gradient_sq : float
        :math:`|G|^2`, the squared norm of the full-batch gradient.
    trace : float
        :math:`\operatorname{tr}\Sigma`, the summed variance of the per-example
        gradients.
    scale : float
        :math:`B_{\text{simple}} = \operatorname{tr}\Sigma / |G|^2`, the simple noise scale.
    """

    gradient_sq: float
    trace: float
    scale: float

    def batch_gradient_sq(self, batch_size):
        r"""The expected :math:`|G_B|^2 = |G|^2 + \operatorname{tr}\Sigma / B` of a
        mini-batch of ``batch_size`` examples drawn with replacement."""
        return self.gradient_sq + self.trace / batch_size


@contract(
    "eq-opt-noise-scale",
    X=Tensor("n", ...),
    y=Tensor("n", ..., dtype="any"),
    loss=Methods(optional=True),
)
def gradient_noise_scale(net, X, y, *, loss=None):
    r"""The simple gradient noise scale :math:`\operatorname{tr}\Sigma / |G|^2`.

    :math:`G` is the gradient of the mean loss over ``X``, and :math:`\Sigma` the
    covariance of the per-example gradients :math:`g_i` over the same examples,
    :math:`\operatorname{tr}\Sigma = \frac1n \sum_i |g_i - G|^2`
    by :eq:`eq-opt-noise-scale`. Each :math:`g_i` is computed exactly, one example at
    a time, by the same backward pass that training uses. The parameters' ``.grad``
    are left holding the last example's gradient.

    Parameters
    ----------
    net : nnbook MLP or torch.nn.Module
    X, y : Tensor
        The examples, one per row.
    loss : callable, optional
        As for :func:`nnbook.train.fit`; the default is the softmax cross-entropy.

    Returns
    -------
    NoiseScale
    """
    total, total_sq = None, 0.0
    for i in range(len(X)):
        params = _gradients(net, X[i : i + 1], y[i : i + 1], loss)  # unchecked
        g = torch.cat([p.grad.reshape(-1) for p in params]).double()
        total = g.clone() if total is None else total + g
        total_sq += float(g @ g)
    n = len(X)
    mean = total / n
    gradient_sq = float(mean @ mean)
    trace = total_sq / n - gradient_sq
    scale = trace / gradient_sq if gradient_sq > 0 else math.inf
    return NoiseScale(gradient_sq, trace, scale)
