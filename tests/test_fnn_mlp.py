"""The hand-written MLP against the same network in torch.nn with autograd."""

import pytest
import torch
import torch.nn.functional as F

from nnbook.fnn import MLP, softmax_cross_entropy_backward, softmax_cross_entropy_forward

pytestmark = pytest.mark.fnn


def _data(T_mb=16, F_0=6, C=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T_mb, F_0, generator=g, dtype=torch.float64), torch.randint(
        0, C, (T_mb,), generator=g
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "elu"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_gradients_match_autograd(activation, batch_norm):
    x, y = _data()
    net = MLP([6, 8, 5, 4], activation=activation, batch_norm=batch_norm,
              generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # fmt: skip
    ref = net.to_torch()
    J, cache = softmax_cross_entropy_forward(net.forward(x), y)
    dx = net.backward(softmax_cross_entropy_backward(cache))

    x_ref = x.clone().requires_grad_()
    J_ref = F.cross_entropy(ref(x_ref), y)
    J_ref.backward()
    torch.testing.assert_close(J, J_ref.detach())
    torch.testing.assert_close(dx, x_ref.grad)
    ref_params = dict(ref.named_parameters())
    for name, p in net.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, msg=name)
    # Batch norm's running statistics moved in step with torch's.
    for name, buffer in ref.named_buffers():
        if "running" in name:
            layer = net.layers[int(name.split(".")[0]) // 3]
            torch.testing.assert_close(layer[name.split(".")[1]], buffer, msg=name)


def test_dropout_network_in_eval_matches_torch():
    x, _ = _data()
    net = MLP([6, 8, 4], dropout=0.5, batch_norm=True, dtype=torch.float64,
              generator=torch.Generator().manual_seed(2))  # fmt: skip
    net.forward(x)  # one training step moves the running statistics
    ref = net.to_torch().eval()
    torch.testing.assert_close(net.forward(x, training=False), ref(x))


def test_dropout_gradients_match_autograd_with_the_same_mask():
    x, y = _data()
    net = MLP(
        [6, 8, 4], dropout=0.5, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    J, cache = softmax_cross_entropy_forward(net.forward(x), y)
    net.backward(softmax_cross_entropy_backward(cache))

    # Replay the same mask: re-seed, draw the weights' worth of numbers, then the mask.
    W0, b0, W1, b1 = (p.detach().clone().requires_grad_() for p in net.parameters())
    g = torch.Generator().manual_seed(2)
    MLP([6, 8, 4], dtype=torch.float64, generator=g)  # consumes the same draws as the weights
    mask = (torch.rand(16, 8, generator=g, dtype=torch.float64) >= 0.5) / 0.5
    logits = (F.relu(x @ W0.T + b0) * mask) @ W1.T + b1
    F.cross_entropy(logits, y).backward()
    for p, ref in zip(net.parameters(), (W0, b0, W1, b1), strict=True):
        torch.testing.assert_close(p.grad, ref.grad)


def test_torch_optim_can_train_it():
    x, _ = _data(64)
    y = x[:, :4].argmax(dim=1)  # a learnable rule
    net = MLP([6, 16, 4], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for _ in range(50):
        J, cache = softmax_cross_entropy_forward(net.forward(x), y)
        net.backward(softmax_cross_entropy_backward(cache))
        opt.step()
        losses.append(J.item())
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_zero_grad_and_backward_without_forward():
    net = MLP([3, 2])
    net.forward(torch.zeros(4, 3))
    net.backward(torch.ones(4, 2))
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(RuntimeError, match=r"backward needs a forward pass first"):
        net.backward(torch.ones(4, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [3]}, ValueError, r"sizes must hold at least 2 widths"),
        ({"sizes": [3, 0]}, ValueError, r"sizes\[1\] must be in \[1, inf\], got 0"),
        ({"sizes": [3, 2], "activation": "softplus"}, ValueError, r"activation must be one of"),
        ({"sizes": [3, 2], "dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\)"),
        ({"sizes": [3, 2], "init": "magic"}, ValueError, r"init must be one of"),
    ],
)
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        MLP(**kwargs)


def test_forward_checks_the_input_width():
    with pytest.raises(ValueError, match=r"x must have shape \(T_mb, F_0=3\), got \(4, 5\)"):
        MLP([3, 2]).forward(torch.zeros(4, 5))


def test_backward_can_skip_the_input_gradient():
    x, y = _data()
    nets = [MLP([6, 8, 4], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
            for _ in range(2)]  # fmt: skip
    results = []
    for net, input_grad in zip(nets, [True, False], strict=True):
        _, cache = softmax_cross_entropy_forward(net.forward(x), y)
        results.append(net.backward(softmax_cross_entropy_backward(cache), input_grad=input_grad))
    assert results[0].shape == x.shape and results[1] is None
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)
