"""Optimizers: the update rules of the optimizers chapter, with ``torch.optim``'s interface.

- :mod:`~nnbook.optim.rules`: each rule as a function of one parameter, its gradient
  and its state
- :mod:`~nnbook.optim.optimizers`: ``SGD``, ``Adagrad``, ``RMSprop``, ``Adadelta``, ``Adam``
- :mod:`~nnbook.optim.schedules`: ``ExponentialLR``, ``StepLR``
- :mod:`~nnbook.optim.landscapes`: two-dimensional test functions and optimizer paths
"""

from nnbook.optim.landscapes import quadratic, rosenbrock, saddle, trajectory
from nnbook.optim.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
)
from nnbook.optim.rules import (
    adadelta_update,
    adagrad_update,
    adam_update,
    rmsprop_update,
    sgd_update,
)
from nnbook.optim.schedules import ExponentialLR, LRScheduler, StepLR

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "adadelta_update",
    "adagrad_update",
    "adam_update",
    "quadratic",
    "rosenbrock",
    "saddle",
    "trajectory",
    "rmsprop_update",
    "sgd_update",
]
