"""nnbook.optim against torch.optim: 100-step trajectories in float64, checkpoints, errors."""

import itertools

import pytest
import torch
from helpers import assert_all_close

from nnbook import optim

pytestmark = pytest.mark.optim


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(5, 3, generator=g, dtype=torch.float64),
            torch.randn(4, generator=g, dtype=torch.float64)]  # fmt: skip


def _gradients(params, step):
    """A fixed, parameter-dependent gradient sequence (a noisy quadratic bowl)."""
    g = torch.Generator().manual_seed(1000 + step)
    return [p + 0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]


def _trajectory(make, steps=100, scheduler=None):
    params = _params()
    opt = make(params)
    sched = scheduler(opt) if scheduler else None
    for step in range(steps):
        for p, grad in zip(params, _gradients(params, step), strict=True):
            p.grad = grad
        opt.step()
        if sched:
            sched.step()
    return params


def _grid(**options):
    keys = list(options)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*options.values())]


CASES = (
    [("SGD", kw) for kw in _grid(lr=[0.01, 0.1], momentum=[0.0, 0.9], weight_decay=[0.0, 0.1])]
    + [("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
       ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01})]
    + [("Adagrad", kw) for kw in _grid(lr=[0.01, 0.5], lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.1])]
    + [("Adagrad", {"lr": 0.1, "eps": 1e-3})]
    + [("RMSprop", kw) for kw in _grid(lr=[1e-3, 1e-2], alpha=[0.9, 0.99], momentum=[0.0, 0.9])]
    + [("RMSprop", {"lr": 1e-2, "centered": True, "weight_decay": 0.1, "eps": 1e-4})]
    + [("Adadelta", kw) for kw in _grid(lr=[1.0, 0.5], rho=[0.9, 0.95], eps=[1e-6, 1e-3])]
    + [("Adadelta", {"weight_decay": 0.1})]
    + [("Adam", kw) for kw in _grid(lr=[1e-3, 1e-1], betas=[(0.9, 0.999), (0.5, 0.9)], eps=[1e-8, 1e-3])]
    + [("Adam", {"lr": 1e-2, "weight_decay": 0.1})]
    + [("AdamW", kw) for kw in _grid(lr=[1e-3, 1e-1], weight_decay=[0.0, 0.01, 0.3])]
    + [("AdamW", {"lr": 1e-2, "betas": (0.5, 0.9), "eps": 1e-3})]
)  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=lambda c: str(c))
def test_trajectory_matches_torch(name, kwargs):
    ours = _trajectory(lambda ps: getattr(optim, name)(ps, **kwargs))
    theirs = _trajectory(lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kwargs))
    assert_all_close(ours, theirs, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda o: optim.ExponentialLR(o, gamma=0.95),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)),
        (lambda o: optim.StepLR(o, step_size=7, gamma=0.5),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ],
)  # fmt: skip
def test_schedules_match_torch(ours, theirs):
    a = _trajectory(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), 40, ours)
    b = _trajectory(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), 40, theirs)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-10)


def test_schedule_learning_rates():
    opt = optim.SGD(_params(), lr=1.0)
    sched = optim.StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(7):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_identically(name):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    straight = _trajectory(lambda ps: getattr(optim, name)(ps, **kwargs), steps=60)

    params = _params()
    opt = getattr(optim, name)(params, **kwargs)
    for step in range(30):
        for p, grad in zip(params, _gradients(params, step), strict=True):
            p.grad = grad
        opt.step()
    checkpoint = opt.state_dict()
    resumed = [p.clone() for p in params]
    opt2 = getattr(optim, name)(resumed, **kwargs)
    opt2.load_state_dict(checkpoint)
    for step in range(30, 60):
        for p, grad in zip(resumed, _gradients(resumed, step), strict=True):
            p.grad = grad
        opt2.step()
    for a, b in zip(straight, resumed, strict=True):
        assert torch.equal(a, b)


def test_state_dict_is_a_copy():
    params = _params()
    opt = optim.Adam(params)
    params[0].grad = torch.ones_like(params[0])
    opt.step()
    saved = opt.state_dict()
    opt.step()
    assert saved["state"][0]["step"] == 1


def test_parameters_without_gradient_are_skipped():
    params = _params()
    before = params[1].clone()
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = torch.ones_like(params[0])
    opt.step()
    assert torch.equal(params[1], before) and params[1] not in opt.state


def test_param_groups_override_defaults():
    a, b = _params()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a0, b0 = a.clone(), b.clone()
    a.grad, b.grad = torch.ones_like(a), torch.ones_like(b)
    opt.step()
    torch.testing.assert_close(a0 - a, torch.full_like(a, 0.1))
    torch.testing.assert_close(b0 - b, torch.full_like(b, 1.0))


def test_zero_grad():
    params = _params()
    opt = optim.SGD(params, lr=0.1)
    params[0].grad = torch.ones_like(params[0])
    opt.zero_grad(set_to_none=False)
    assert torch.equal(params[0].grad, torch.zeros_like(params[0])) and params[1].grad is None
    opt.zero_grad()
    assert params[0].grad is None


def test_it_trains_requires_grad_leaves_too():
    w = torch.tensor([3.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert w.abs().max() < 0.05


P = _params


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: optim.SGD(P(), lr=-0.1), ValueError, r"lr must be in \[0, inf\], got -0.1"),
        (lambda: optim.SGD(P(), momentum=-0.5), ValueError, r"momentum must be in \[0, inf\]"),
        (lambda: optim.SGD(P(), nesterov=True), ValueError, r"nesterov requires momentum > 0"),
        (lambda: optim.SGD(P(), momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         r"nesterov requires momentum > 0 and dampening = 0"),
        (lambda: optim.Adam(P(), betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\), got 1.0"),
        (lambda: optim.Adam(P(), betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
        (lambda: optim.Adam(P(), betas=0.9), TypeError, r"betas must be a tuple of 2 numbers"),
        (lambda: optim.Adam(P(), eps=0.0), ValueError, r"eps must be in \(0, inf\], got 0.0"),
        (lambda: optim.RMSprop(P(), eps=-1e-8), ValueError, r"eps must be in \(0, inf\]"),
        (lambda: optim.Adagrad(P(), weight_decay=-1), ValueError, r"weight_decay must be in \[0, inf\]"),
        (lambda: optim.Adadelta(P(), rho=1.5), ValueError, r"rho must be in \[0, 1\], got 1.5"),
        (lambda: optim.Adam([]), ValueError, r"params must not be empty"),
        (lambda: optim.Adam([1.0]), TypeError, r"params\[0\] must be a torch.Tensor, got float"),
        (lambda: optim.StepLR(optim.SGD(P()), step_size=0), ValueError, r"step_size must be in \[1, inf\]"),
        (lambda: optim.ExponentialLR(optim.SGD(P()), gamma=0), ValueError, r"gamma must be in \(0, inf\]"),
    ],
)  # fmt: skip
def test_bad_input(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_load_state_dict_checks_the_groups():
    opt = optim.SGD(_params(), lr=0.1)
    other = optim.SGD(_params()[:1], lr=0.1)
    with pytest.raises(ValueError, match=r"same parameter groups and sizes"):
        opt.load_state_dict(other.state_dict())


def test_adamw_differs_from_adam_with_l2_where_the_gradients_differ_in_size():
    # Two weights, one with gradients a hundred times larger. Adam's L2 term is divided
    # by each weight's own gradient scale, so the weight with small gradients is decayed
    # far more strongly than the one with large gradients; AdamW decays both alike.
    def run(make):
        w = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
        opt = make([w])
        for step in range(200):
            sign = 1.0 if step % 2 == 0 else -1.0  # zero-mean gradients
            w.grad = torch.tensor([100.0 * sign, 1.0 * sign], dtype=torch.float64)
            opt.step()
        return w.detach()

    adam = run(lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=0.5))
    adamw = run(lambda ps: optim.AdamW(ps, lr=1e-3, weight_decay=0.5))
    reference = run(lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.5, foreach=False))
    torch.testing.assert_close(adamw, reference, rtol=0, atol=1e-12)
    # AdamW: both weights end alike (0.903 here), whatever their gradients
    assert abs(adamw[0] - adamw[1]) < 1e-3
    # Adam with L2: the small-gradient weight is decayed far more (0.087 against
    # 0.003 here)
    assert 1 - adam[1] > 10 * (1 - adam[0])
