"""nnbook.train.fit: a hand-written loop reproduced bit for bit, and its hooks."""

import pytest
import torch
import torch.nn.functional as F

from nnbook import optim
from nnbook.data import digits
from nnbook.fnn import (
    MLP,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from nnbook.train import accuracy, batches, fit, minimize, predict

pytestmark = pytest.mark.fnn

F64 = torch.float64


@pytest.fixture(scope="module")
def small():
    data = digits(dtype=F64)
    return data.X_train[:192], data.y_train[:192], (data.X_test[:96], data.y_test[:96])


def _net(seed=0, sizes=(64, 16, 10)):
    return MLP(list(sizes), generator=torch.Generator().manual_seed(seed), dtype=F64)


def _by_hand(net, X, y, epochs, lr, batch_size, g, test, optimizer=None):
    """The loop the notebooks used to write: losses and test accuracies per epoch."""
    losses = [F.cross_entropy(predict(net, X), y).item()]
    accs = [accuracy(predict(net, test[0]), test[1])]
    for _ in range(epochs):
        for idx in batches(len(X), batch_size, generator=g, drop_last=True):
            _, cache = softmax_cross_entropy_forward(net.forward(X[idx]), y[idx])
            net.backward(softmax_cross_entropy_backward(cache), input_grad=False)
            if optimizer is not None:
                optimizer.step()
                continue
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
        losses.append(F.cross_entropy(predict(net, X), y).item())
        accs.append(accuracy(predict(net, test[0]), test[1]))
    return losses, accs


def test_fit_is_bit_identical_to_a_hand_written_loop(small):
    X, y, test = small
    losses, accs = _by_hand(_net(), X, y, 3, 0.3, 32, torch.Generator().manual_seed(1), test)
    history = fit(_net(), X, y, epochs=3, lr=0.3, batch_size=32, test=test,
                  generator=torch.Generator().manual_seed(1), progress=False)  # fmt: skip
    assert history.train_loss == losses  # exact, not close
    assert history.test_accuracy == accs
    assert history.epoch == [0, 1, 2, 3] and len(history.seconds) == 4
    assert len(history.test_loss) == 4 and losses[-1] < losses[0]


@pytest.mark.parametrize("make", [optim.Adam, torch.optim.Adam])
def test_fit_with_an_optimizer_is_bit_identical_to_a_hand_written_loop(small, make):
    X, y, test = small
    a, b = _net(), _net()
    losses, _ = _by_hand(a, X, y, 2, None, 32, torch.Generator().manual_seed(2), test,
                         optimizer=make(a.parameters(), lr=1e-2))  # fmt: skip
    history = fit(b, X, y, epochs=2, batch_size=32, optimizer=make(b.parameters(), lr=1e-2),
                  generator=torch.Generator().manual_seed(2), progress=False)  # fmt: skip
    assert history.train_loss == losses
    assert history.test_loss == [] and history.test_accuracy == []


def test_a_torch_scheduler_steps_once_per_epoch(small):
    X, y, _ = small
    net = torch.nn.Sequential(torch.nn.Linear(64, 10)).double()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    rates = []

    def record_lr(epoch, history):
        rates.append(optimizer.param_groups[0]["lr"])

    fit(net, X, y, epochs=5, batch_size=32, optimizer=optimizer, scheduler=scheduler,
        callbacks=[record_lr], progress=False)  # fmt: skip
    torch.testing.assert_close(rates, [0.5, 0.05, 0.05, 0.005, 0.005])
    assert scheduler.last_epoch == 5


def test_an_nnbook_scheduler_steps_once_per_epoch(small):
    X, y, _ = small
    net = _net()
    optimizer = optim.SGD(net.parameters(), lr=0.5)
    scheduler = optim.ExponentialLR(optimizer, gamma=0.5)
    fit(net, X, y, epochs=3, optimizer=optimizer, scheduler=scheduler, progress=False)
    assert scheduler.get_last_lr() == [0.5 * 0.5**3]


def test_a_callback_stops_training_early(small):
    X, y, test = small
    calls = []

    def patience(epoch, history):  # stop once the test loss rose for one epoch
        calls.append(epoch)
        return history.test_loss[-1] > history.test_loss[-2]

    def every_epoch(epoch, history):
        calls.append(-epoch)

    history = fit(_net(), X, y, epochs=40, lr=2.0, batch_size=16, test=test,
                  callbacks=(patience, every_epoch), progress=False,
                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    stopped = history.epoch[-1]
    assert 1 <= stopped < 40, "the test loss should rise before 40 epochs at this rate"
    assert history.test_loss[-1] > history.test_loss[-2]
    falls = zip(history.test_loss[:-2], history.test_loss[1:-1], strict=True)
    assert all(after <= before for before, after in falls), "no earlier rise"
    # every callback ran once per epoch, the stopping epoch included
    assert calls == [e * s for e in range(1, stopped + 1) for s in (1, -1)]
    assert len(history.train_loss) == len(history.seconds) == stopped + 1


def test_a_custom_loss_trains_a_regression(small):
    X, _, _ = small
    g = torch.Generator().manual_seed(3)
    w = torch.randn(64, 2, generator=g, dtype=F64)
    Y = X @ w
    net = _net(sizes=(64, 2))
    test = (X[:32], Y[:32])
    history = fit(net, X, Y, epochs=30, lr=0.01, batch_size=16, loss=F.mse_loss,
                  test=test, generator=g, progress=False)  # fmt: skip
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    assert history.test_accuracy == [], "no accuracy for real-valued targets"
    assert history.test_loss[-1] == F.mse_loss(predict(net, test[0]), test[1]).item()


def test_a_custom_loss_gives_nnbook_and_torch_the_same_gradients(small):
    X, _, _ = small
    Y = X[:, :3].sum(dim=1, keepdim=True)
    ours = _net(sizes=(64, 8, 1))
    theirs = ours.to_torch()

    def loss(out, target):
        return F.smooth_l1_loss(out, target)

    kwargs = dict(epochs=3, lr=0.05, batch_size=32, loss=loss, progress=False)
    h1 = fit(ours, X, Y, generator=torch.Generator().manual_seed(4), **kwargs)
    h2 = fit(theirs, X, Y, generator=torch.Generator().manual_seed(4), **kwargs)
    torch.testing.assert_close(h1.train_loss, h2.train_loss)
    assert h1.train_loss[-1] < h1.train_loss[0]


def test_a_custom_classification_loss_keeps_the_accuracy(small):
    X, y, test = small

    def smoothed(logits, labels):
        return F.cross_entropy(logits, labels, label_smoothing=0.1)

    history = fit(_net(), X, y, epochs=2, loss=smoothed, test=test, progress=False)
    assert len(history.test_accuracy) == len(history.test_loss) == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"loss": "mse"}, TypeError, r"loss must be callable, got str"),
        ({"optimizer": object()}, TypeError,
         r"optimizer must have a step\(\) method and a zero_grad\(\) method, got object"),
        ({"scheduler": 0.5}, TypeError, r"scheduler must have a step\(\) method, got float"),
        ({"callbacks": print}, TypeError,
         r"callbacks must be a list or tuple, got builtin_function_or_method"),
        ({"callbacks": [print, 1]}, TypeError, r"callbacks\[1\] must be callable, got int"),
        ({"scheduler": torch.optim.lr_scheduler.StepLR(
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1), 1)},
         ValueError, r"scheduler needs an optimizer"),
        ({"lr": 0.2, "optimizer": torch.optim.SGD([torch.zeros(1, requires_grad=True)])},
         ValueError, r"lr and optimizer cannot both be given.*lr=0.2"),
    ],
)  # fmt: skip
def test_fit_names_the_bad_argument(kwargs, error, message):
    X, y = torch.zeros(8, 4), torch.zeros(8, dtype=torch.int64)
    with pytest.raises(error, match=message):
        fit(MLP([4, 2]), X, y, epochs=1, progress=False, **kwargs)


def test_the_default_loss_needs_integer_labels():
    X = torch.zeros(8, 4)
    with pytest.raises(TypeError, match=r"y must have an integer dtype, got torch.float32"):
        fit(MLP([4, 2]), X, torch.zeros(8, 2), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"y must have 1 dimensions \(n=8,\), got 2"):
        fit(MLP([4, 2]), X, torch.zeros(8, 2, dtype=torch.int64), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"y must have shape \(n=8, \*\), got \(7, 2\)"):
        fit(MLP([4, 2]), X, torch.zeros(7, 2), epochs=1, loss=F.mse_loss, progress=False)


def test_minimize_follows_gradient_descent_on_a_quadratic_in_closed_form():
    # J(w) = |w|^2 / 2 has gradient w, so each step multiplies w by (1 - lr).
    w = torch.tensor([3.0, -4.0], dtype=torch.float64, requires_grad=True)
    seen = []
    values = minimize(
        lambda: 0.5 * (w * w).sum(),
        torch.optim.SGD([w], lr=0.1),
        5,
        callback=lambda step, value: seen.append((step, value)),
    )
    expected = [12.5 * 0.81**k for k in range(5)]
    torch.testing.assert_close(
        torch.tensor(values, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64)
    )
    torch.testing.assert_close(w.detach(), torch.tensor([3.0, -4.0], dtype=torch.float64) * 0.9**5)
    assert seen == list(zip(range(1, 6), values, strict=True))


def test_minimize_is_bit_identical_to_a_hand_written_adam_loop_with_a_schedule():
    def run(use_minimize):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1, dtype=torch.float64)
        X, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 30)
        loss = lambda: torch.nn.functional.mse_loss(model(X), y)  # noqa: E731
        if use_minimize:
            minimize(loss, optimizer, 30, scheduler=schedule)
        else:
            for _ in range(30):
                value = loss()
                optimizer.zero_grad()
                value.backward()
                optimizer.step()
                schedule.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(True), run(False))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"optimizer": object()}, TypeError, "optimizer"),
        ({"loss": 3.0}, TypeError, "loss"),
    ],
)
def test_minimize_names_the_bad_argument(kwargs, error, message):
    w = torch.zeros(2, requires_grad=True)
    call = {"loss": lambda: (w * w).sum(), "optimizer": torch.optim.SGD([w], lr=0.1), "steps": 3}
    with pytest.raises(error, match=message):
        minimize(**{**call, **kwargs})


def _penalized_by_hand(net, X, y, epochs, lr, batch_size, g, l1, l2):
    """The regularization page's loop: each penalty's gradient joins the data's."""
    for _ in range(epochs):
        for idx in batches(len(X), batch_size, generator=g, drop_last=True):
            _, cache = softmax_cross_entropy_forward(net.forward(X[idx]), y[idx])
            net.backward(softmax_cross_entropy_backward(cache), input_grad=False)
            for layer in net.layers:
                layer["W"].grad += l1 * torch.sign(layer["W"]) + l2 * layer["W"]
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
    return net


def test_fit_penalties_match_a_hand_written_loop(small):
    X, y, _ = small
    expected = _penalized_by_hand(_net(), X, y, 2, 0.3, 32,
                                  torch.Generator().manual_seed(1), 1e-3, 1e-2)  # fmt: skip
    net = _net()
    fit(net, X, y, epochs=2, lr=0.3, batch_size=32, l1=1e-3, l2=1e-2,
        generator=torch.Generator().manual_seed(1), progress=False)  # fmt: skip
    for p, q in zip(net.parameters(), expected.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


def test_fit_penalties_are_autograd_of_the_penalized_loss_for_a_module():
    # One full-batch step on a torch module: the step equals lr times the gradient
    # that autograd gives for the loss plus both penalties on the weight matrix.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                              torch.nn.Linear(3, 2)).double()  # fmt: skip
    X = torch.randn(16, 4, dtype=F64)
    y = (X[:, 0] > 0).long()
    ref = [p.detach().clone().requires_grad_() for p in net.parameters()]
    h = torch.tanh(X @ ref[0].T + ref[1])
    J = F.cross_entropy(h @ ref[2].T + ref[3], y)
    J = J + 0.01 * (ref[0].abs().sum() + ref[2].abs().sum())
    J = J + 0.05 / 2 * (ref[0].pow(2).sum() + ref[2].pow(2).sum())
    J.backward()
    fit(net, X, y, epochs=1, lr=0.5, batch_size=16, l1=0.01, l2=0.05, progress=False)
    for p, r in zip(net.parameters(), ref, strict=True):
        torch.testing.assert_close(p.detach(), (r - 0.5 * r.grad).detach())


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(small):
    from nnbook.train import EarlyStopping

    X, y, test = small
    net = _net()
    stop = EarlyStopping(net, patience=3)
    history = fit(net, X, y, epochs=60, lr=2.0, batch_size=16, test=test,
                  callbacks=[stop], progress=False,
                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    losses = history.test_loss[1:]  # the epochs the callback saw
    stopped = history.epoch[-1]
    assert stopped < 60, "the held-out loss should stall before 60 epochs at this rate"
    assert stop.best_loss == min(losses)
    assert stop.best_epoch == 1 + losses.index(min(losses))
    assert stopped == stop.best_epoch + 3
    assert all(loss >= stop.best_loss for loss in losses[stop.best_epoch :])
    assert stop.restore() is net
    restored = F.cross_entropy(predict(net, test[0]), test[1]).item()
    assert restored == stop.best_loss  # the very weights of the best epoch


def test_early_stopping_min_delta_ignores_small_improvements():
    from nnbook.train import EarlyStopping, History

    stop, history = EarlyStopping(torch.nn.Linear(2, 1), patience=2, min_delta=0.1), History()
    decisions = []
    for epoch, loss in enumerate([1.0, 0.95, 0.92, 0.5], start=1):
        history.test_loss.append(loss)
        decisions.append(stop(epoch, history))
    assert decisions == [False, False, True, False] and stop.best_epoch == 4


def test_early_stopping_restores_batch_norm_statistics():
    from nnbook.train import EarlyStopping, History

    net = MLP([3, 4, 2], batch_norm=True, generator=torch.Generator().manual_seed(0),
              dtype=F64)  # fmt: skip
    stop, history = EarlyStopping(net), History()
    history.test_loss.append(1.0)
    stop(1, history)
    saved = [t.clone() for layer in net.layers for t in layer.values()]
    net.forward(torch.randn(8, 3, dtype=F64))  # moves the running statistics
    net.layers[0]["W"] += 1
    stop.restore()
    after = [t for layer in net.layers for t in layer.values()]
    assert all(torch.equal(a, b) for a, b in zip(after, saved, strict=True))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda E: E(None),
            TypeError,
            r"net must be an nnbook MLP or a torch.nn.Module, got NoneType",
        ),
        (lambda E: E(torch.nn.Linear(2, 1), patience=0), ValueError, r"patience"),
        (lambda E: E(torch.nn.Linear(2, 1), patience=2.5), TypeError, r"patience"),
        (lambda E: E(torch.nn.Linear(2, 1), min_delta=float("nan")), ValueError, r"min_delta"),
        (
            lambda E: E(torch.nn.Linear(2, 1)).restore(),
            ValueError,
            r"restore needs a recorded epoch",
        ),
    ],
)
def test_early_stopping_names_the_bad_argument(make, error, message):
    from nnbook.train import EarlyStopping

    with pytest.raises(error, match=message):
        make(EarlyStopping)


def test_early_stopping_needs_a_held_out_set(small):
    from nnbook.train import EarlyStopping

    X, y, _ = small
    net = _net()
    with pytest.raises(ValueError, match=r"give fit a validation set as test=\(X_val, y_val\)"):
        fit(net, X, y, epochs=1, callbacks=[EarlyStopping(net)], progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"l1": -1.0}, ValueError, r"l1"),
        ({"l2": float("nan")}, ValueError, r"l2"),
        ({"l2": "0.1"}, TypeError, r"l2"),
    ],
)
def test_fit_penalties_name_the_bad_argument(small, kwargs, error, message):
    X, y, _ = small
    with pytest.raises(error, match=message):
        fit(_net(), X, y, epochs=1, progress=False, **kwargs)
