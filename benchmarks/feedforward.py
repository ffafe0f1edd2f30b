"""Feedforward kernels against torch."""

import torch
import torch.nn.functional as F

from benchmarks import Benchmark, register
from nnbook import fnn as ff

LR = 0.01


def _linear_inputs(scale):
    T_mb = max(1, int(256 * scale))
    g = torch.Generator().manual_seed(0)
    return (torch.randn(T_mb, 784, generator=g), torch.randn(256, 784, generator=g),
            torch.randn(256, generator=g))  # fmt: skip


register(Benchmark("linear forward, 256 x 784 -> 256", ff.linear, F.linear, _linear_inputs))


def _step_inputs(scale):
    """One network twice (nnbook and torch.nn, same weights) and a mini-batch of 128."""
    T_mb = max(2, int(128 * scale))
    g = torch.Generator().manual_seed(0)
    net = ff.MLP([784, 256, 128, 10], generator=g)
    x, y = torch.rand(T_mb, 784, generator=g), torch.randint(0, 10, (T_mb,), generator=g)
    return net, net.to_torch(), x, y


def _nnbook_step(net, _, x, y):
    """Forward, loss, backward by hand, and a plain gradient step."""
    J, cache = ff.softmax_cross_entropy_forward(net.forward(x), y)
    net.backward(ff.softmax_cross_entropy_backward(cache), input_grad=False)
    with torch.no_grad():
        for p in net.parameters():
            p -= LR * p.grad
    return J


def _torch_step(_, model, x, y):
    """The same step with torch.nn and autograd."""
    model.zero_grad()
    J = F.cross_entropy(model(x), y)
    J.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= LR * p.grad
    return J.detach()


register(
    Benchmark(
        "MLP training step, 784-256-128-10, batch 128", _nnbook_step, _torch_step, _step_inputs
    )
)
