r"""Learning-rate schedules with the interface of ``torch.optim.lr_scheduler``.

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``; it sets the ``lr``
of every parameter group. Implements :eq:`eq-opt-decay`.
"""

from __future__ import annotations

from nnbook.contract import Int, Real, contract

__all__ = ["ExponentialLR", "LRScheduler", "StepLR"]


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
