"""Shared helpers for the feedforward tests: seeded float64 tensors and hypothesis shapes."""

import torch
from hypothesis import strategies as st


def randn(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


#: A mini-batch shape (T_mb, F) small enough for fast property tests.
batch_shapes = st.tuples(st.integers(1, 7), st.integers(1, 7))
seeds = st.integers(0, 2**16)
