"""nnbook.cnn: the SGD recipe of the convolutional chapter, on a tiny problem."""

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

import nnbook
from nnbook.cnn._training import train_classifier

pytestmark = pytest.mark.cnn

N, D, K = 40, 3, 3
X = randn(N, D, seed=1)
Y = torch.randint(0, K, (N,), generator=torch.Generator().manual_seed(2))
TEST = (
    randn(12, D, seed=3),
    torch.randint(0, K, (12,), generator=torch.Generator().manual_seed(4)),
)
RECIPE = {"epochs": 3, "lr": 0.1, "momentum": 0.9, "step_size": 2, "gamma": 0.5, "batch_size": 8}


def _net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(D, 5), torch.nn.ReLU(), torch.nn.Linear(5, K)
    ).double()


def _reference(net, X, y, test, seed, epochs, lr, momentum, step_size, gamma, batch_size):
    """The same recipe written with torch's optimizer and scheduler."""
    g = nnbook.generator(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    curve = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(net(X[batch]), y[batch]).backward()
            optimizer.step()
        schedule.step()
        with torch.no_grad():
            curve.append((net(test[0]).argmax(1) == test[1]).double().mean().item())
    return curve


def test_one_accuracy_per_epoch():
    curve = train_classifier(_net(), X, Y, TEST, seed=0, **RECIPE)
    assert len(curve) == RECIPE["epochs"]
    assert all(isinstance(a, float) and 0 <= a <= 1 for a in curve)


def test_agrees_with_a_reference_loop():
    ours, theirs = _net(), _net()
    curve = train_classifier(ours, X, Y, TEST, seed=5, **RECIPE)
    assert curve == _reference(theirs, X, Y, TEST, 5, **RECIPE)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_drops_the_last_smaller_batch():
    # 40 samples in batches of 16: two steps per epoch, the last 8 samples left out
    ours, theirs = _net(), _net()
    recipe = {**RECIPE, "batch_size": 16}
    train_classifier(ours, X, Y, TEST, seed=0, **recipe)
    _reference(theirs, X, Y, TEST, 0, **recipe)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_is_deterministic_and_seeded():
    first, second, other = _net(), _net(), _net()
    curve1 = train_classifier(first, X, Y, TEST, seed=1, **RECIPE)
    torch.rand(3)  # the global generator plays no part
    curve2 = train_classifier(second, X, Y, TEST, seed=1, **RECIPE)
    train_classifier(other, X, Y, TEST, seed=2, **RECIPE)
    assert curve1 == curve2
    assert all(
        torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True)
    )
    assert not torch.equal(first[0].weight, other[0].weight)


def test_learns_a_separable_problem():
    y = (X[:, 0] > 0).long()
    test = (X, y)
    curve = train_classifier(_net(), X, y, test, seed=0, epochs=20, lr=0.1, batch_size=8)
    assert curve[-1] >= 0.9


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("epochs", 0, ValueError),
        ("epochs", 1.5, TypeError),
        ("lr", 0.0, ValueError),
        ("momentum", 1.0, ValueError),
        ("gamma", 0.0, ValueError),
        ("step_size", 0, ValueError),
        ("batch_size", 0, ValueError),
        ("seed", -1, ValueError),
        ("y", Y.double(), TypeError),
        ("y", Y[:-1], ValueError),
        ("test", (TEST[0], TEST[1], TEST[1]), ValueError),
        ("test", [TEST[0], TEST[1]], TypeError),
        ("net", "net", TypeError),
    ],
)
def test_refuses_bad_arguments(name, value, error):
    call = {"net": _net(), "X": X, "y": Y, "test": TEST, "seed": 0, **RECIPE, name: value}
    with pytest.raises(error, match=name):
        train_classifier(**call)
