"""Optimizers with the interface of ``torch.optim``: ``step``, ``zero_grad``, ``state_dict``.

Each class validates its hyperparameters and applies one rule of
:mod:`nnbook.optim` to every parameter that has a gradient. Parameters are any
tensors whose ``.grad`` is set, by autograd or by a hand-written backward pass such as
:meth:`nnbook.fnn.MLP.backward`.
"""

from __future__ import annotations

import copy

import torch

from nnbook.contract import contract
from nnbook.optim import _rules as rules

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
]


class Optimizer:
    """The shared machinery: parameter groups, per-parameter state, and checkpoints.

    Parameters
    ----------
    params : iterable of Tensor, or of dict
        The tensors to optimize, or parameter groups: dicts with a ``"params"`` list and
        hyperparameters that override ``defaults`` for that group.
    defaults : dict
        The hyperparameters of every group.
    """

    #: The update rule of :mod:`nnbook.optim` the subclass applies.
    rule = None

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError(
                "params must not be empty: the optimizer has nothing to optimize"
            )
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for i, p in enumerate(group["params"]):
                if not isinstance(p, torch.Tensor):
                    raise TypeError(
                        f"params[{i}] must be a torch.Tensor, got {type(p).__name__}"
                    )
            self.param_groups.append(group)
        self.defaults = defaults
        self.state = {}  # tensor -> its state dict

    def _hyperparameters(self, group):
        return {
            k: val
            for k, val in group.items()
            if k not in ("params", "initial_lr")
        }

    @torch.no_grad()
    def step(self):
        """Update every parameter that has a gradient; parameters without one are skipped.

        The rule's contract checks the hyperparameters of each group, and the first
        parameter with its gradient and state, at every step; the group's other
        parameters are updated by the same rule unchecked, which saves time in long
        training runs.
        """
        checked = type(self).rule
        unchecked = getattr(checked, "__wrapped__", checked)
        for group in self.param_groups:
            hyper = self._hyperparameters(group)
            rule = checked
            for p in group["params"]:
                if p.grad is not None:
                    rule(p, p.grad, self.state.setdefault(p, {}), **hyper)
                    rule = unchecked

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set them to None (the default) or to zero."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """A checkpoint: the state of every parameter by position, and the groups."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()}
        groups = [
            {
                **{k: val for k, val in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a checkpoint of :meth:`state_dict` onto this optimizer's parameters."""
        params = self._params()
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(g["params"]) != len(own["params"])
            for g, own in zip(groups, self.param_groups, strict=False)
        ):
            raise ValueError(
                "state_dict must have the same parameter groups and sizes as this optimizer"
            )
        for g, own in zip(groups, self.param_groups, strict=True):
            own.update({k: val for k, val in g.items() if k != "params"})
        self.state = {
            params[i]: copy.deepcopy(s) for i, s in state_dict["state"].items()
        }


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: :func:`~nnbook.optim.sgd_update`."""

    rule = staticmethod(rules.sgd_update)

    @contract(**rules.SGD)
    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov requires momentum > 0 and dampening = 0, got momentum={momentum}, "
                f"dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        super().__init__(params, defaults)


class Adagrad(Optimizer):
    """Adagrad: :func:`~nnbook.optim.adagrad_update`."""

    rule = staticmethod(rules.adagrad_update)

    @contract(**rules.ADAGRAD)
    def __init__(
        self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10
    ):
        super().__init__(
            params,
            dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps),
        )


class RMSprop(Optimizer):
    """RMSprop: :func:`~nnbook.optim.rmsprop_update`."""

    rule = staticmethod(rules.rmsprop_update)

    @contract(**rules.RMSPROP)
    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)


class Adadelta(Optimizer):
    """Adadelta: :func:`~nnbook.optim.adadelta_update`."""

    rule = staticmethod(rules.adadelta_update)

    @contract(**rules.ADADELTA)
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(
            params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        )


class Adam(Optimizer):
    """Adam: :func:`~nnbook.optim.adam_update`."""

    rule = staticmethod(rules.adam_update)

    @contract(**rules.ADAM)
    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0
    ):
        super().__init__(
            params,
            dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay),
        )


class AdamW(Optimizer):
    """AdamW: Adam with decoupled weight decay, :func:`~nnbook.optim.adamw_update`.

    ``weight_decay`` shrinks every weight by the factor ``1 - lr * weight_decay`` at each
    step, outside Adam's arithmetic, instead of adding ``weight_decay * p`` to the
    gradient as :class:`Adam` does. The default of 0.01 is ``torch.optim.AdamW``'s.
    """

    rule = staticmethod(rules.adamw_update)

    @contract(**rules.ADAM)
    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2
    ):
        super().__init__(
            params,
            dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay),
        )
