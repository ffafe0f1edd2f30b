"""Shared helpers for the feedforward tests: seeded float64 tensors and hypothesis shapes."""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st


def randn(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


#: A mini-batch shape (T_mb, F) small enough for fast property tests.
batch_shapes = st.tuples(st.integers(1, 7), st.integers(1, 7))
seeds = st.integers(0, 2**16)


def batch_norm_against_torch(forward, backward, shape, training, seed):
    """Compare a batch-norm pair with F.batch_norm and autograd: outputs, running statistics, gradients."""
    C = shape[1]
    a = randn(*shape, seed=seed, scale=2).requires_grad_()
    gamma = (1 + randn(C, seed=seed + 1) / 3).requires_grad_()
    beta = randn(C, seed=seed + 2).requires_grad_()
    rm, rv = randn(C, seed=seed + 3), 1 + randn(C, seed=seed + 4).abs()
    rm_t, rv_t = rm.clone(), rv.clone()
    dout = randn(*shape, seed=seed + 5)
    out, cache = forward(
        a.detach(), gamma.detach(), beta.detach(), rm, rv, training=training, momentum=0.2
    )
    out_t = F.batch_norm(a, rm_t, rv_t, gamma, beta, training=training, momentum=0.2)
    out_t.backward(dout)
    torch.testing.assert_close(out, out_t.detach())
    torch.testing.assert_close(rm, rm_t)
    torch.testing.assert_close(rv, rv_t)
    for ours, theirs in zip(backward(dout, cache), (a.grad, gamma.grad, beta.grad), strict=True):
        torch.testing.assert_close(ours, theirs)
