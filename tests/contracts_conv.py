"""Samples and references for the contracts of nnbook.cnn."""

import math

import torch
import torch.nn.functional as F
from helpers import from_forward, randn

from nnbook.cnn import _conv as conv

X = randn(2, 3, 5, 4, seed=1)
W = randn(4, 3, 3, 2, seed=2)
#: A grouped, dilated convolution: 6 input channels, 4 filters, 2 groups.
X6 = randn(2, 6, 7, 6, seed=4)
W6 = randn(4, 3, 3, 2, seed=5)
GROUPED = {"stride": (2, 1), "padding": 1, "dilation": (2, 1), "groups": 2}


def _two(value):
    """An int or a pair, as a pair."""
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _im2col(x, kernel, stride, padding, dilation, pad_value):
    (ph, pw) = _two(padding)
    padded = F.pad(x, (pw, pw, ph, ph), value=pad_value)
    return F.unfold(padded, kernel, dilation=dilation, stride=stride)


def _output_size(size, kernel, stride, padding, dilation):
    x, w = torch.zeros(1, 1, size), torch.zeros(1, 1, kernel)
    return F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


def _receptive_field(kernels, strides, dilations=None):
    """The inputs that one output of ones-filters sees, counted by their gradient."""
    dilations = dilations or [1] * len(kernels)
    spans = [d * (k - 1) + 1 for k, d in zip(kernels, dilations, strict=True)]
    length = 1 + sum(spans) * math.prod(strides)  # room for every layer's window
    fields = []
    for depth in range(1, len(kernels) + 1):
        x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
        h = x
        layers = zip(kernels[:depth], strides[:depth], dilations[:depth], strict=True)
        for k, s, d in layers:
            ones = torch.ones(1, 1, k, dtype=torch.float64)
            h = F.conv1d(h, ones, stride=s, dilation=d)
        h[0, 0, 0].backward()
        fields.append(int((x.grad != 0).sum()))
    return fields


def _avg_pool_grad(dout, cache):
    """Average pooling is linear: its gradient is the same at every input."""
    x = torch.zeros(cache.x_shape, dtype=dout.dtype, requires_grad=True)
    F.avg_pool2d(x, cache.kernel, cache.stride, cache.padding).backward(dout)
    return x.grad


def _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    stats = [None if s is None else s.clone() for s in (running_mean, running_var)]
    return F.batch_norm(x, *stats, gamma, beta, training, momentum, eps)


SAMPLES = {
    "nnbook.cnn.receptive_field": lambda: (([5, 2, 5, 2], [1, 2, 1, 2], [1, 1, 2, 3]), {}),
    "nnbook.cnn.col2im": lambda: (
        (conv.im2col(X, (3, 2), 2, 1, (1, 2)), tuple(X.shape), (3, 2), 2, 1, (1, 2)),
        {},
    ),
    # groups=2 would not divide the sizes that the specs alone pick
    "nnbook.cnn.conv2d_forward": lambda: ((X6, W6, randn(4)), GROUPED),
    "nnbook.cnn.conv2d_naive": lambda: ((X6, W6, randn(4)), GROUPED),
    "nnbook.cnn.conv2d_backward": from_forward(conv.conv2d_forward, X6, W6, randn(4), **GROUPED),
    "nnbook.cnn.max_pool2d_backward": from_forward(conv.max_pool2d_forward, X, 2, 1, 1),
    "nnbook.cnn.avg_pool2d_backward": from_forward(conv.avg_pool2d_forward, X, (3, 2), 2, 1),
    "nnbook.cnn.batch_norm2d_backward": from_forward(
        conv.batch_norm2d_forward, X, torch.ones(3, dtype=X.dtype), randn(3)
    ),
    "nnbook.cnn.conv2d_input_grad": lambda: (
        (randn(*F.conv2d(X6, W6, **GROUPED).shape, seed=3), W6, tuple(X6.shape)),
        GROUPED,
    ),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    "nnbook.cnn.output_size": _output_size,
    "nnbook.cnn.receptive_field": _receptive_field,
    "nnbook.cnn.im2col": _im2col,
    "nnbook.cnn.col2im": lambda cols, x_shape, kernel, stride, padding, dilation: F.fold(
        cols, x_shape[2:], kernel, dilation=dilation, padding=padding, stride=stride
    ),
    "nnbook.cnn.conv2d_forward": F.conv2d,
    "nnbook.cnn.conv2d_naive": F.conv2d,
    "nnbook.cnn.conv2d_backward": lambda dout, cache: torch.nn.grad.conv2d_input(
        cache.x_shape, cache.w, dout, cache.stride, cache.padding, cache.dilation, cache.groups
    ),
    "nnbook.cnn.conv2d_input_grad": lambda dout, w, x_shape, *geometry: torch.nn.grad.conv2d_input(
        x_shape, w, dout, *geometry
    ),
    "nnbook.cnn.max_pool2d_forward": F.max_pool2d,
    "nnbook.cnn.avg_pool2d_forward": F.avg_pool2d,
    "nnbook.cnn.avg_pool2d_backward": _avg_pool_grad,
    "nnbook.cnn.batch_norm2d_forward": _batch_norm,
}


def _depth_samples():
    """Samples for nnbook.cnn's plain and residual networks of any depth (_depth.py)."""
    from torch import nn

    from nnbook.cnn import Residual, depth_net

    def net():
        return depth_net(2, residual=True).double()

    images, labels = randn(4, 1, 8, 8, seed=6), torch.tensor([0, 3, 9, 3])
    return {
        "nnbook.cnn.Residual.__init__": lambda: ((nn.Identity(),), {}),
        "nnbook.cnn.Residual.forward": lambda: (
            (Residual(nn.Conv2d(3, 3, 3, padding=1)).double(), randn(2, 3, 4, 4)),
            {},
        ),
        "nnbook.cnn.depth_net": lambda: ((2,), {"residual": True}),
        "nnbook.cnn.first_layer_gradient_norm": lambda: ((net(), images, labels), {}),
        "nnbook.cnn.train_losses": lambda: (
            (net(), images, labels),
            {"epochs": 1, "lr": 0.1, "batch_size": 2, "generator": torch.Generator()},
        ),
    }


SAMPLES.update(_depth_samples())


def _invariance_samples():
    """Samples for nnbook.cnn's whole-pixel moves and equivariance_gap (_invariance.py)."""

    def conv(x):
        return F.conv2d(x, randn(2, 1, 3, 3, seed=7), padding=1)

    return {
        "nnbook.cnn.equivariance_gap": lambda: (
            (conv, randn(2, 1, 8, 8, seed=8), 1),
            {"stride": 1, "margin": 2},
        ),
        "nnbook.cnn.random_shift": lambda: (
            (randn(3, 1, 6, 6, seed=9), 2),
            {"generator": torch.Generator().manual_seed(0)},
        ),
    }


SAMPLES.update(_invariance_samples())
