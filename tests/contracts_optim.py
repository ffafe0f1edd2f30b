"""Samples for the contracts of nnbook.optim: the rules need a parameter and a state."""

from helpers import randn

P = randn(3, 2, seed=1)


def _rule():
    return (P.clone(), randn(3, 2, seed=2), {}), {"lr": 0.1}


def _adam_like():
    return (P.clone(), randn(3, 2, seed=2), {}), {}


def _optimizer():
    return ([P.clone().requires_grad_()],), {}


def _scheduler(*args):
    def sample():
        from nnbook import optim

        return (optim.SGD([P.clone().requires_grad_()], lr=0.1), *args), {}

    return sample


def _trajectory():
    from nnbook import optim
    from nnbook.optim._landscapes import quadratic

    return (lambda ps: optim.SGD(ps, lr=0.1), quadratic, (1.0, 1.0), 3), {}


def _regression(**kwargs):
    def sample():
        import torch
        import torch.nn.functional as F

        net = torch.nn.Linear(2, 1).double()
        X = randn(6, 2, seed=3)
        return (net, X, X.sum(dim=1, keepdim=True)), {"loss": F.mse_loss, **kwargs}

    return sample


def _range_test():
    (net, X, y), kwargs = _regression()()
    from nnbook import optim

    opt = optim.SGD(net.parameters(), lr=1.0)
    return (net, X, y, opt), {"lr_min": 1e-3, "lr_max": 1.0, "steps": 4, **kwargs}


SAMPLES = {
    "nnbook.optim.ExponentialLR.__init__": _scheduler(0.9),
    "nnbook.optim.CosineAnnealingLR.__init__": _scheduler(10),
    "nnbook.optim.LinearLR.__init__": _scheduler(0.5),
    "nnbook.optim.lr_range_test": _range_test,
    "nnbook.optim.gradient_noise_scale": _regression(),
    "nnbook.train.flat_gradient": _regression(),
    "nnbook.optim.StepLR.__init__": _scheduler(2),
    "nnbook.optim.trajectory": _trajectory,
    "nnbook.optim.sgd_update": _rule,
    "nnbook.optim.adagrad_update": _rule,
    "nnbook.optim.rmsprop_update": _rule,
    "nnbook.optim.adadelta_update": _adam_like,
    "nnbook.optim.adam_update": _adam_like,
    "nnbook.optim.adamw_update": _adam_like,
    **{
        f"nnbook.optim.{name}.__init__": _optimizer
        for name in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW")
    },
}

REFERENCES = {}
