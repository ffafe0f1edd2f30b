"""Schedules beyond decay, the learning-rate range test and the gradient noise scale.

The schedules are checked against torch.optim.lr_scheduler, the range test against a
hand-written loop with torch.optim.SGD on the same batches, and the noise scale against
per-example gradients from torch.func and against the closed form of linear regression.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import generator, randn

from nnbook import optim
from nnbook.train import batches, flat_gradient

pytestmark = pytest.mark.optim
T = torch.optim.lr_scheduler


def _rates(scheduler, optimizer, epochs):
    """The rate of the first group at epochs 0 .. epochs - 1, stepping as fit does."""
    out = []
    for _ in range(epochs):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


def _pair(lr=0.3):
    ours = optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)
    return ours, theirs


@pytest.mark.parametrize(
    ("make", "make_torch", "epochs"),
    [
        (lambda o: optim.CosineAnnealingLR(o, T_max=30),
         lambda o: T.CosineAnnealingLR(o, T_max=30), 31),
        (lambda o: optim.CosineAnnealingLR(o, T_max=12, eta_min=0.01),
         lambda o: T.CosineAnnealingLR(o, T_max=12, eta_min=0.01), 13),
        (lambda o: optim.LinearLR(o, start_factor=0.1, total_iters=4),
         lambda o: T.LinearLR(o, start_factor=0.1, total_iters=4), 10),
        (lambda o: optim.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
         lambda o: T.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5), 9),
        (lambda o: optim.SequentialLR(
            o, [optim.LinearLR(o, 0.1, total_iters=3), optim.CosineAnnealingLR(o, 9)], [3]),
         lambda o: T.SequentialLR(
            o, [T.LinearLR(o, 0.1, total_iters=3), T.CosineAnnealingLR(o, 9)], [3]), 13),
        (lambda o: optim.SequentialLR(
            o, [optim.LinearLR(o, 0.5, total_iters=2), optim.StepLR(o, 3, 0.5),
                optim.ExponentialLR(o, 0.9)], [2, 8]),
         lambda o: T.SequentialLR(
            o, [T.LinearLR(o, 0.5, total_iters=2), T.StepLR(o, 3, 0.5),
                T.ExponentialLR(o, 0.9)], [2, 8]), 14),
    ],
)  # fmt: skip
def test_schedules_give_torchs_rates(make, make_torch, epochs):
    ours, theirs = _pair()
    got = _rates(make(ours), ours, epochs)
    want = _rates(make_torch(theirs), theirs, epochs)
    assert got == pytest.approx(want, rel=0, abs=1e-15)


def test_cosine_closed_form_and_its_end():
    opt = optim.SGD([torch.zeros(1)], lr=2.0)
    cosine = optim.CosineAnnealingLR(opt, T_max=8, eta_min=0.5)
    assert cosine.lr_at(2.0, 4) == pytest.approx(1.25)  # half-way: the mean
    assert cosine.lr_at(2.0, 8) == pytest.approx(0.5)
    assert cosine.lr_at(2.0, 20) == pytest.approx(0.5)  # stays at the floor


def test_sequential_schedule_sets_the_optimizers_rate():
    opt = optim.SGD([torch.zeros(1)], lr=1.0)
    warm = optim.LinearLR(opt, start_factor=0.25, total_iters=3)
    schedule = optim.SequentialLR(opt, [warm, optim.CosineAnnealingLR(opt, 4)], [3])
    seen = _rates(schedule, opt, 8)
    assert seen == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.5 * (1 + math.cos(math.pi / 4)),
                                  0.5, 0.5 * (1 - math.cos(math.pi / 4)), 0.0])  # fmt: skip
    assert opt.param_groups[0]["lr"] == schedule.lr_at(1.0, 8) == 0.0  # epoch 8
    assert schedule.state_dict()["last_epoch"] == 8


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda o: optim.SequentialLR(o, [optim.LinearLR(o)], 3),
         TypeError, "milestones must be a list of epochs, got int"),
        (lambda o: optim.SequentialLR(o, ["warm-up", optim.LinearLR(o)], [2]),
         TypeError, "schedulers must be a non-empty list of nnbook.optim schedulers"),
        (lambda o: optim.SequentialLR(o, [optim.LinearLR(o), optim.LinearLR(o)], [2, 4]),
         ValueError, "milestones must hold one epoch fewer than schedulers (1), got 2"),
        (lambda o: optim.SequentialLR(
            o, [optim.LinearLR(o), optim.LinearLR(o), optim.LinearLR(o)], [4, 4]),
         ValueError, "milestones must increase strictly, got [4, 4]"),
        (lambda o: optim.SequentialLR(o, [optim.LinearLR(o), optim.LinearLR(o)], [0]),
         ValueError, "milestones[0]"),
        (lambda o: optim.SequentialLR(o, [optim.LinearLR(o), optim.LinearLR(o)], [1.5]),
         TypeError, "milestones[0]"),
        (lambda o: optim.SequentialLR(
            o, [optim.LinearLR(o), optim.LinearLR(optim.SGD([torch.zeros(1)], lr=1.0))],
            [2]),
         ValueError, "schedulers must all be built on optimizer"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=5, eta_min=float("nan")),
         ValueError, "eta_min"),
        (lambda o: optim.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
        (lambda o: optim.LinearLR(o, total_iters=2.0), TypeError, "total_iters"),
    ],
)  # fmt: skip
def test_schedule_errors_name_the_argument(call, error, message):
    opt = optim.SGD([torch.zeros(1)], lr=1.0)
    with pytest.raises(error) as info:
        call(opt)
    assert message in str(info.value)


# --- the range test ---------------------------------------------------------------


def _regression_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()


def _regression_data():
    X = randn(40, 3, seed=1)
    y = torch.sin(X.sum(dim=1, keepdim=True))
    return X, y


def test_range_test_matches_a_hand_written_loop():
    X, y = _regression_data()
    net = _regression_net()
    twin = _regression_net()
    result = optim.lr_range_test(
        net, X, y, optim.SGD(net.parameters(), lr=1.0), lr_min=1e-3, lr_max=1.0,
        steps=25, batch_size=8, generator=generator(5), stop_factor=None,
        loss=F.mse_loss,
    )  # fmt: skip
    sgd = torch.optim.SGD(twin.parameters(), lr=1.0)
    g, rates, losses = generator(5), [], []
    while len(rates) < 25:
        for idx in batches(len(X), 8, generator=g):
            k = len(rates)
            if k == 25:
                break
            rate = 1e-3 * 1000 ** (k / 24)
            with torch.no_grad():
                losses.append(F.mse_loss(twin(X[idx]), y[idx]).item())
            rates.append(rate)
            for group in sgd.param_groups:
                group["lr"] = rate
            sgd.zero_grad()
            F.mse_loss(twin(X[idx]), y[idx]).backward()
            sgd.step()
    torch.testing.assert_close(result.rates, torch.tensor(rates, dtype=torch.float64))
    torch.testing.assert_close(result.losses, torch.tensor(losses, dtype=torch.float64))
    assert result.rates[0] == pytest.approx(1e-3) and result.rates[-1] == pytest.approx(1.0)


def test_range_test_stops_when_the_loss_blows_up():
    X, y = _regression_data()
    net = _regression_net()
    result = optim.lr_range_test(
        net, X, y, optim.SGD(net.parameters(), lr=1.0), lr_min=1e-2, lr_max=1e4,
        steps=200, batch_size=8, generator=generator(0), loss=F.mse_loss,
    )  # fmt: skip
    assert len(result.rates) < 200
    last = result.losses[-1].item()
    assert not math.isfinite(last) or last > 4 * result.losses[:-1].min().item()


def test_range_test_smoothing_and_suggestions():
    rates = torch.logspace(-3, 0, 40, dtype=torch.float64)
    flat = optim.RangeTest(rates, torch.full((40,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(flat.smoothed(), flat.losses)  # bias corrected
    # a loss that falls fastest at step 20 and is lowest at step 30
    k = torch.arange(40, dtype=torch.float64)
    curve = 2 - torch.tanh((k - 20) / 3) + 0.02 * (k - 30).clamp(min=0) ** 2
    test = optim.RangeTest(rates, curve)
    assert abs(int((rates == test.minimum(beta=0.0)).nonzero()) - 30) <= 1
    assert abs(int((rates == test.steepest(beta=0.0)).nonzero()) - 20) <= 1
    ema, s = [], 0.0
    for j, value in enumerate(curve.tolist()):
        s = 0.9 * s + 0.1 * value
        ema.append(s / (1 - 0.9 ** (j + 1)))
    torch.testing.assert_close(test.smoothed(0.9), torch.tensor(ema, dtype=torch.float64))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr_min": 1.0, "lr_max": 0.1}, ValueError,
         "lr_min must be below lr_max, got lr_min=1.0 and lr_max=0.1"),
        ({"lr_min": 0.0}, ValueError, "lr_min"),
        ({"steps": 1}, ValueError, "steps"),
        ({"stop_factor": 1.0}, ValueError, "stop_factor"),
        ({"optimizer": "sgd"}, TypeError, "optimizer"),
    ],
)  # fmt: skip
def test_range_test_errors(kwargs, error, message):
    X, y = _regression_data()
    net = _regression_net()
    args = {"optimizer": optim.SGD(net.parameters(), lr=1.0), "lr_min": 1e-3,
            "lr_max": 1.0, "steps": 10, "loss": F.mse_loss} | kwargs  # fmt: skip
    with pytest.raises(error) as info:
        optim.lr_range_test(net, X, y, **args)
    assert message in str(info.value)


# --- the gradient noise scale -----------------------------------------------------


def test_noise_scale_of_linear_regression_in_closed_form():
    X, y = randn(30, 4, seed=2), randn(30, 1, seed=3)
    net = torch.nn.Linear(4, 1).double()
    noise = optim.gradient_noise_scale(net, X, y, loss=F.mse_loss)
    # per example: J_i = (x_i . w + b - y_i)^2, g_i = 2 r_i (x_i, 1)
    with torch.no_grad():
        r = (net(X) - y).squeeze(1)
    g = 2 * r[:, None] * torch.cat([X, torch.ones(30, 1, dtype=X.dtype)], dim=1)
    G = g.mean(dim=0)
    trace = ((g - G) ** 2).sum(dim=1).mean()
    assert noise.gradient_sq == pytest.approx((G @ G).item(), rel=1e-12)
    assert noise.trace == pytest.approx(trace.item(), rel=1e-12)
    assert noise.scale == pytest.approx((trace / (G @ G)).item(), rel=1e-12)
    assert noise.batch_gradient_sq(5) == pytest.approx(noise.gradient_sq + noise.trace / 5)


def test_noise_scale_of_a_network_against_torch_func():
    from nnbook.fnn import MLP

    X, y = randn(25, 6, seed=4), torch.randint(0, 3, (25,), generator=generator(1))
    net = MLP([6, 7, 3], generator=generator(2), dtype=torch.float64)
    noise = optim.gradient_noise_scale(net, X, y)
    model = torch.nn.Sequential(torch.nn.Linear(6, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    model = model.double()
    with torch.no_grad():
        for linear, layer in zip([model[0], model[2]], net.layers, strict=True):
            linear.weight.copy_(layer["W"])
            linear.bias.copy_(layer["b"])
    params = dict(model.named_parameters())

    def loss(p, x, t):
        out = torch.func.functional_call(model, p, (x[None],))
        return F.cross_entropy(out, t[None])

    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(params, X, y)
    g = torch.cat([v.reshape(25, -1) for v in grads.values()], dim=1)
    G = g.mean(dim=0)
    assert noise.gradient_sq == pytest.approx((G @ G).item(), rel=1e-10)
    assert noise.trace == pytest.approx(((g - G) ** 2).sum(dim=1).mean().item(), rel=1e-10)


def test_batch_gradients_follow_the_noise_formula():
    X, y = randn(200, 4, seed=6), randn(200, 1, seed=7)
    net = torch.nn.Linear(4, 1).double()
    noise = optim.gradient_noise_scale(net, X, y, loss=F.mse_loss)
    g = generator(3)
    for B in (2, 10):
        draws = [torch.randint(200, (B,), generator=g) for _ in range(3000)]
        mean = sum(flat_gradient(net, X[i], y[i], loss=F.mse_loss).square().sum().item()
                   for i in draws) / len(draws)  # fmt: skip
        assert mean == pytest.approx(noise.batch_gradient_sq(B), rel=0.06)


def test_flat_gradient_joins_the_parameters_gradients_in_order():
    X, y = randn(10, 3, seed=8), randn(10, 2, seed=9)
    net = torch.nn.Linear(3, 2).double()
    got = flat_gradient(net, X, y, loss=F.mse_loss)
    net.zero_grad()
    F.mse_loss(net(X), y).backward()
    torch.testing.assert_close(got, torch.cat([net.weight.grad.reshape(-1), net.bias.grad]))
