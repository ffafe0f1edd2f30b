"""Samples and references for the contracts of nnbook.cnn."""

import math

import torch
import torch.nn.functional as F
from helpers import from_forward, randn

from nnbook.cnn import _conv as conv

X = randn(2, 3, 5, 4, seed=1)
W = randn(4, 3, 3, 2, seed=2)


def _two(value):
    """An int or a pair, as a pair."""
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _im2col(x, kernel, stride, padding, pad_value):
    (ph, pw) = _two(padding)
    padded = F.pad(x, (pw, pw, ph, ph), value=pad_value)
    return F.unfold(padded, kernel, stride=stride)


def _output_size(size, kernel, stride, padding):
    x, w = torch.zeros(1, 1, size), torch.zeros(1, 1, kernel)
    return F.conv1d(x, w, stride=stride, padding=padding).shape[-1]


def _receptive_field(kernels, strides):
    """The inputs that one output of ones-filters sees, counted by their gradient."""
    fields = []
    for depth in range(1, len(kernels) + 1):
        length = 1 + sum(kernels) * math.prod(strides)
        x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
        h = x
        for k, s in zip(kernels[:depth], strides[:depth], strict=True):
            h = F.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s)
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
    "nnbook.cnn.receptive_field": lambda: (([5, 2, 5, 2], [1, 2, 1, 2]), {}),
    "nnbook.cnn.col2im": lambda: (
        (conv.im2col(X, (3, 2), 2, 1), tuple(X.shape), (3, 2), 2, 1),
        {},
    ),
    "nnbook.cnn.conv2d_backward": from_forward(conv.conv2d_forward, X, W, randn(4), (2, 1), 1),
    "nnbook.cnn.max_pool2d_backward": from_forward(conv.max_pool2d_forward, X, 2, 1, 1),
    "nnbook.cnn.avg_pool2d_backward": from_forward(conv.avg_pool2d_forward, X, (3, 2), 2, 1),
    "nnbook.cnn.batch_norm2d_backward": from_forward(
        conv.batch_norm2d_forward, X, torch.ones(3, dtype=X.dtype), randn(3)
    ),
    "nnbook.cnn.conv2d_input_grad": lambda: (
        (randn(2, 4, 3, 5, seed=3), W, tuple(X.shape), (2, 1), 1),
        {},
    ),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    "nnbook.cnn.output_size": _output_size,
    "nnbook.cnn.receptive_field": _receptive_field,
    "nnbook.cnn.im2col": _im2col,
    "nnbook.cnn.col2im": lambda cols, x_shape, kernel, stride, padding: F.fold(
        cols, x_shape[2:], kernel, padding=padding, stride=stride
    ),
    "nnbook.cnn.conv2d_forward": F.conv2d,
    "nnbook.cnn.conv2d_naive": F.conv2d,
    "nnbook.cnn.conv2d_backward": lambda dout, cache: torch.nn.grad.conv2d_input(
        cache.x_shape, cache.w, dout, cache.stride, cache.padding
    ),
    "nnbook.cnn.conv2d_input_grad": lambda dout, w, x_shape, stride, padding: (
        torch.nn.grad.conv2d_input(x_shape, w, dout, stride, padding)
    ),
    "nnbook.cnn.max_pool2d_forward": F.max_pool2d,
    "nnbook.cnn.avg_pool2d_forward": F.avg_pool2d,
    "nnbook.cnn.avg_pool2d_backward": _avg_pool_grad,
    "nnbook.cnn.batch_norm2d_forward": _batch_norm,
}
