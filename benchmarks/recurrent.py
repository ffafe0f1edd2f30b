"""LSTM forward + backpropagation through time against torch.nn.LSTM."""

import torch

from benchmarks import Benchmark, register
from nnbook.rnn import _recurrent as recurrent


def _inputs(scale):
    T, B, D, H = max(2, int(50 * scale)), 32, 64, 64
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H)
    return torch.randn(T, B, D, generator=g), module


def _ours(x, module):
    weights = [
        getattr(module, f"{n}_l0").detach()
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    out, _, cache = recurrent.lstm_forward(x, None, None, *weights)
    dx, *_ = recurrent.lstm_backward(torch.ones_like(out), None, None, cache)
    return out, dx


def _torch(x, module):
    x = x.clone().requires_grad_()
    module.zero_grad()
    out, _ = module(x)
    out.backward(torch.ones_like(out))
    return out.detach(), x.grad


register(Benchmark("LSTM forward+BPTT, T=50, B=32, D=H=64", _ours, _torch, _inputs))
