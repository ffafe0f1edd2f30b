"""Plain and residual networks of growing depth: structure, exact identities, gradients, training."""

import pytest
import torch
import torch.nn.functional as F
from helpers import generator, randn
from torch import nn

from nnbook.cnn import (
    Residual,
    depth_net,
    first_layer_gradient_norm,
    reset_parameters,
    train_losses,
)
from nnbook.train import batches, count_parameters

pytestmark = pytest.mark.cnn

F64 = torch.float64
X = torch.rand(12, 1, 8, 8, generator=generator(0), dtype=F64)
Y = torch.arange(12) % 10


def _net(depth, residual, batch_norm=True, seed=0, **kwargs):
    net = depth_net(depth, residual=residual, batch_norm=batch_norm, **kwargs).double()
    return reset_parameters(net, generator=generator(seed))


def _by_hand(depth, width, batch_norm, in_channels, num_classes):
    """Parameters counted from the layers: 3x3 kernels, a bias or a BN scale and shift."""
    per_channel = 2 if batch_norm else 1  # gamma and beta, or one bias
    stem = width * in_channels * 9 + per_channel * width
    layer = width * width * 9 + per_channel * width
    head = width * num_classes + num_classes
    return stem + depth * layer + head


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("depth", [0, 2, 6])
def test_depth_counts_the_convolutions_and_the_parameters_are_counted_by_hand(
    depth, residual, batch_norm
):
    net = depth_net(depth, residual=residual, batch_norm=batch_norm, width=5, in_channels=3,
                    num_classes=7)  # fmt: skip
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == depth + 1
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert all((c.bias is None) == batch_norm for c in convs)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == (depth + 1 if batch_norm else 0)
    units = [m for m in net.modules() if isinstance(m, Residual)]
    assert len(units) == (depth // 2 if residual else 0)
    assert count_parameters(net) == _by_hand(depth, 5, batch_norm, 3, 7)
    assert net(torch.zeros(2, 3, 9, 6)).shape == (2, 7)


def test_the_shortcut_is_the_only_difference_between_the_two_networks():
    plain, residual = _net(6, False, seed=3), _net(6, True, seed=3)
    # reset_parameters draws layer by layer, so the same seed gives the same weights
    for p, q in zip(plain.parameters(), residual.parameters(), strict=True):
        assert torch.equal(p, q)
    without_shortcuts = nn.Sequential(
        residual[0],
        *[nn.Sequential(unit.branch, nn.ReLU()) for unit in residual[1:-1]],
        residual[-1],
    )
    torch.testing.assert_close(without_shortcuts(X), plain(X), rtol=0, atol=0)
    assert not torch.allclose(residual(X), plain(X))


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_residual_units_with_a_zero_last_convolution_are_the_identity(batch_norm, training):
    net = _net(8, True, batch_norm=batch_norm, seed=1)
    shallow = _net(0, True, batch_norm=batch_norm, seed=2)
    shallow[0].load_state_dict(net[0].state_dict())  # the same stem and head
    shallow[-1].load_state_dict(net[-1].state_dict())
    with torch.no_grad():
        for unit in net[1:-1]:
            last = [m for m in unit.branch if isinstance(m, nn.Conv2d)][-1]
            last.weight.zero_()
            if last.bias is not None:
                last.bias.zero_()
    net.train(training), shallow.train(training)
    # F(h) = 0, and h >= 0 after the stem's ReLU, so ReLU(h + F(h)) = h
    torch.testing.assert_close(net(X), shallow(X), rtol=0, atol=1e-15)


def test_a_plain_network_can_compute_what_a_shallower_one_computes():
    net, shallow = _net(5, False, batch_norm=False, seed=1), _net(0, False, batch_norm=False)
    shallow[0].load_state_dict(net[0].state_dict())
    shallow[-1].load_state_dict(net[-1].state_dict())
    with torch.no_grad():
        for layer in net[1:-1]:
            nn.init.dirac_(layer[0].weight)  # the identity kernel
            layer[0].bias.zero_()
    torch.testing.assert_close(net(X), shallow(X), rtol=0, atol=0)


def _by_autograd(net, X, y):
    """The same gradient, from the loss written out and .backward()."""
    net.zero_grad()
    log_p = torch.log_softmax(net(X), dim=1)
    (-log_p[torch.arange(len(y)), y].mean()).backward()
    first = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    return torch.linalg.vector_norm(first.weight.grad).item()


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_first_layer_gradient_norm_is_autograds(residual, batch_norm):
    net = _net(4, residual, batch_norm=batch_norm, seed=5)
    ours = first_layer_gradient_norm(net, X, Y)
    assert all(p.grad is None for p in net.parameters())  # .grad left untouched
    assert ours == pytest.approx(_by_autograd(net, X, Y), rel=1e-12)


def test_first_layer_gradient_norm_is_the_slope_along_the_gradient():
    # by central differences: the loss rises at rate ||dJ/dW|| along dJ/dW / ||dJ/dW||
    net = _net(2, True, batch_norm=False, seed=2)
    weight = net[0][0].weight
    norm = first_layer_gradient_norm(net, X, Y)
    (grad,) = torch.autograd.grad(F.cross_entropy(net(X), Y), weight)
    h, V = 1e-6, grad / grad.norm()
    J = []
    for step in (h, -h):
        with torch.no_grad():
            weight += step * V
            J.append(F.cross_entropy(net(X), Y).item())
            weight -= step * V
    assert (J[0] - J[1]) / (2 * h) == pytest.approx(norm, rel=1e-6)


def test_first_layer_gradient_norm_reads_the_first_convolution_of_any_network():
    from nnbook.cnn import LeNet5

    net = LeNet5().double()
    images, labels = randn(4, 1, 28, 28, seed=1), torch.tensor([0, 3, 9, 3])
    assert first_layer_gradient_norm(net, images, labels) == pytest.approx(
        _by_autograd(net, images, labels), rel=1e-12
    )


def test_train_losses_is_sgd_with_momentum_on_the_epochs_mini_batches():
    images = torch.rand(40, 1, 8, 8, generator=generator(4), dtype=F64)
    labels = torch.arange(40) % 10
    ours = _net(2, True, seed=7)
    losses = train_losses(ours, images, labels, epochs=3, lr=0.05, batch_size=16,
                          generator=generator(8))  # fmt: skip
    theirs = _net(2, True, seed=7)
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    g, expected = generator(8), []
    for _ in range(3):
        epoch = []
        for batch in batches(40, 16, generator=g, drop_last=True):  # 2 of 16, 8 dropped
            optimizer.zero_grad()
            loss = F.cross_entropy(theirs(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            epoch.append(loss.item())
        expected.append(sum(epoch) / len(epoch))
    assert losses == pytest.approx(expected, rel=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


def test_depth_net_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="depth must be even for a residual network.*got 3"):
        depth_net(3, residual=True)
    depth_net(3, residual=False)  # a plain network takes any depth
    with pytest.raises(ValueError, match="depth"):
        depth_net(-2, residual=False)
    with pytest.raises(TypeError, match="depth must be an int"):
        depth_net(2.0, residual=False)
    with pytest.raises(TypeError, match="residual must be a bool"):
        depth_net(2, residual=1)
    with pytest.raises(ValueError, match="width"):
        depth_net(2, residual=True, width=0)
    with pytest.raises(TypeError, match="batch_norm must be a bool"):
        depth_net(2, residual=True, batch_norm="yes")
    with pytest.raises(TypeError, match="branch must be a Module"):
        Residual(3)
    with pytest.raises(ValueError, match=r"x must have 4 dimensions \(N, C, H, W\)"):
        Residual(nn.Identity())(torch.zeros(2, 3, 4))


def test_the_measurements_refuse_bad_arguments_by_name():
    net = _net(2, True)
    with pytest.raises(ValueError, match="net must contain a Conv2d"):
        first_layer_gradient_norm(nn.Linear(64, 10).double(), X.flatten(1), Y)
    with pytest.raises(TypeError, match="net must be a Module"):
        first_layer_gradient_norm("net", X, Y)
    with pytest.raises(TypeError, match="y must have an integer dtype"):
        first_layer_gradient_norm(net, X, Y.double())
    with pytest.raises(ValueError, match="y must have shape"):
        first_layer_gradient_norm(net, X, Y[:5])
    kwargs = {"epochs": 1, "lr": 0.1, "generator": generator()}
    with pytest.raises(ValueError, match="epochs"):
        train_losses(net, X, Y, **{**kwargs, "epochs": 0})
    with pytest.raises(ValueError, match="lr"):
        train_losses(net, X, Y, **{**kwargs, "lr": 0.0})
    with pytest.raises(ValueError, match="momentum"):
        train_losses(net, X, Y, **{**kwargs, "momentum": 1.0})
    with pytest.raises(TypeError, match="generator must be a Generator"):
        train_losses(net, X, Y, **{**kwargs, "generator": 0})
