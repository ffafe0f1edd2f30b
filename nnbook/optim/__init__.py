"""Optimizers: the update rules of the optimizers chapter, with ``torch.optim``'s interface.

Each rule as a function of one parameter, its gradient and its state (``sgd_update`` to
``adam_update``); the optimizers built on them (:class:`SGD`, :class:`Adagrad`,
:class:`RMSprop`, :class:`Adadelta`, :class:`Adam`, :class:`AdamW`); learning-rate schedules
(:class:`ExponentialLR`, :class:`StepLR`, :class:`CosineAnnealingLR`, :class:`LinearLR`,
:class:`SequentialLR`); two-dimensional test functions with the path an optimizer
takes on them; momentum on a quadratic in closed form (:func:`momentum_matrix`,
:func:`momentum_rate`, :func:`heavy_ball_parameters`); and two probes for choosing a
learning rate and a batch size (:func:`lr_range_test`, :func:`gradient_noise_scale`).
"""

from nnbook.optim import (
    _landscapes,
    _momentum,
    _optimizers,
    _probes,
    _rules,
    _schedules,
)
from nnbook.optim._landscapes import *  # noqa: F403
from nnbook.optim._momentum import *  # noqa: F403
from nnbook.optim._optimizers import *  # noqa: F403
from nnbook.optim._probes import *  # noqa: F403
from nnbook.optim._rules import *  # noqa: F403
from nnbook.optim._schedules import *  # noqa: F403

__all__ = [
    *_rules.__all__,
    *_optimizers.__all__,
    *_schedules.__all__,
    *_landscapes.__all__,
    *_momentum.__all__,
    *_probes.__all__,
]
