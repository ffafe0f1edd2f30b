"""Convolution forward + backward against torch.nn.functional.conv2d."""

import torch
import torch.nn.functional as F

from benchmarks import Benchmark, register
from nnbook.cnn import _conv as conv

LAYERS = {  # name: (N, C_in, H, W, C_out, k, padding, groups)
    "LeNet layer (64 x 1 x 28 x 28, 6 filters 5x5)": (64, 1, 28, 28, 6, 5, 0, 1),
    "VGG block layer (64 x 64 x 32 x 32, 64 filters 3x3)": (64, 64, 32, 32, 64, 3, 1, 1),
    "depthwise layer (64 x 64 x 32 x 32, 3x3, groups=64)": (64, 64, 32, 32, 64, 3, 1, 64),
}


def _inputs(spec):
    def make(scale):
        N, C_in, H, W, C_out, k, p, G = spec
        N = max(1, int(N * scale))
        g = torch.Generator().manual_seed(0)
        return (torch.randn(N, C_in, H, W, generator=g), torch.randn(C_out, C_in // G, k, k, generator=g),
                torch.randn(C_out, generator=g), p, G)  # fmt: skip

    return make


def _ours(x, w, b, padding, groups):
    out, cache = conv.conv2d_forward(x, w, b, padding=padding, groups=groups)
    dx, dw, _ = conv.conv2d_backward(torch.ones_like(out), cache)
    return out, dx, dw


def _naive(x, w, b, padding, groups):
    return conv.conv2d_naive(x, w, b, padding=padding, groups=groups)


def _torch(x, w, b, padding, groups):
    x, w = x.clone().requires_grad_(), w.clone().requires_grad_()
    out = F.conv2d(x, w, b, padding=padding, groups=groups)
    out.backward(torch.ones_like(out))
    return out.detach(), x.grad, w.grad


def _torch_forward(x, w, b, padding, groups):
    return F.conv2d(x, w, b, padding=padding, groups=groups)


for name, spec in LAYERS.items():
    register(Benchmark(f"conv2d forward+backward, {name}", _ours, _torch, _inputs(spec)))
register(Benchmark("conv2d naive loops, forward only, LeNet layer", _naive, _torch_forward,
                   _inputs(LAYERS["LeNet layer (64 x 1 x 28 x 28, 6 filters 5x5)"])))  # fmt: skip
