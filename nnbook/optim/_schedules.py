r"""Learning-rate schedules with the interface of ``torch.optim.lr_scheduler``.

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``; it sets the ``lr``
of every parameter group. Implements :eq:`eq-opt-decay` (exponential and step decay),
:eq:`eq-opt-cosine` (cosine annealing) and :eq:`eq-opt-warmup` (linear warm-up), and
schedules in sequence.
"""

from __future__ import annotations

import math

from nnbook._validate import number
from nnbook.contract import Int, Real, contract

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "SequentialLR",
    "StepLR",
]


class LRScheduler:
    """Sets ``lr = lr_at(epoch)`` in every group of ``optimizer`` at each :meth:`step`."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [
            group["initial_lr"] for group in optimizer.param_groups
        ]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, base_lr, epoch):
        """The learning rate of a group with initial rate ``base_lr`` at ``epoch``."""
        raise NotImplementedError

    def _apply(self):
        for group, base in zip(
            self.optimizer.param_groups, self.base_lrs, strict=True
        ):
            group["lr"] = self.lr_at(base, self.last_epoch)

    def step(self):
        """Move on one epoch."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        """The learning rate of every group, as set by the last step."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict):
        self.last_epoch, self.base_lrs = (
            state_dict["last_epoch"],
            list(state_dict["base_lrs"]),
        )
        self._apply()


class ExponentialLR(LRScheduler):
    r"""Exponential decay: :math:`\eta_e = \eta_0\, \gamma^{e}`. Implements :eq:`eq-opt-decay`."""

    @contract("eq-opt-decay", gamma=Real(low=0, low_open=True))
    def __init__(self, optimizer, gamma):
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class StepLR(LRScheduler):
    r"""Step decay: :math:`\eta_e = \eta_0\, \gamma^{\lfloor e / s \rfloor}`, a drop every ``step_size`` epochs."""

    @contract(step_size=Int(low=1), gamma=Real(low=0, low_open=True))
    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial rate to ``eta_min`` over ``T_max`` epochs.

    :math:`\eta_e = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
    (1 + \cos(\pi e / T))` for :math:`e \le T`, :eq:`eq-opt-cosine`; after ``T_max``
    the rate stays at ``eta_min``. (``torch.optim.lr_scheduler.CosineAnnealingLR``
    follows the same formula up to ``T_max``, then climbs back along the cosine.)
    """

    @contract("eq-opt-cosine", T_max=Int(low=1), eta_min=Real(low=0))
    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        e = min(epoch, self.T_max)
        cosine = 0.5 * (1 + math.cos(math.pi * e / self.T_max))
        return self.eta_min + (base_lr - self.eta_min) * cosine


class LinearLR(LRScheduler):
    r"""Linear warm-up: the rate's factor moves linearly from ``start_factor`` to ``end_factor``.

    :math:`\eta_e = \eta_0 \bigl(f_0 + (f_1 - f_0) \min(e, w) / w\bigr)` over
    :math:`w` = ``total_iters`` epochs, :eq:`eq-opt-warmup`, as
    ``torch.optim.lr_scheduler.LinearLR``.
    """

    @contract(
        "eq-opt-warmup",
        start_factor=Real(low=0, low_open=True, high=1),
        end_factor=Real(low=0, high=1),
        total_iters=Int(low=1),
    )
    def __init__(
        self, optimizer, start_factor=1 / 3, end_factor=1.0, total_iters=5
    ):
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        share = min(epoch, self.total_iters) / self.total_iters
        factor = (
            self.start_factor + (self.end_factor - self.start_factor) * share
        )
        return base_lr * factor


class SequentialLR(LRScheduler):
    r"""Schedules one after another: warm-up, then cosine annealing, say.

    Schedule :math:`i` sets the rate from epoch ``milestones[i-1]`` on (the first from
    epoch 0), counting its own epochs from there, as
    ``torch.optim.lr_scheduler.SequentialLR`` does. Build the schedules on the same
    optimizer, and step only this one.
    """

    def __init__(self, optimizer, schedulers, milestones):
        if not isinstance(milestones, list | tuple):
            raise TypeError(
                "milestones must be a list of epochs, "
                f"got {type(milestones).__name__}"
            )
        schedulers, milestones = list(schedulers), list(milestones)
        for i, m in enumerate(milestones):
            number(f"milestones[{i}]", m, low=1, integer=True)
        if not schedulers or not all(
            isinstance(s, LRScheduler) for s in schedulers
        ):
            raise TypeError(
                "schedulers must be a non-empty list of nnbook.optim "
                f"schedulers, got {[type(s).__name__ for s in schedulers]}"
            )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"milestones must hold one epoch fewer than schedulers "
                f"({len(schedulers) - 1}), got {len(milestones)}"
            )
        if milestones != sorted(set(milestones)):
            raise ValueError(
                f"milestones must increase strictly, got {milestones}"
            )
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("schedulers must all be built on optimizer")
        self.schedulers, self.milestones = schedulers, milestones
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        starts = [0, *self.milestones]
        i = sum(epoch >= m for m in self.milestones)
        return self.schedulers[i].lr_at(base_lr, epoch - starts[i])
