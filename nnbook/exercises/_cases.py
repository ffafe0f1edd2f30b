"""Inputs shared by the exercises' cases: seeded, float64, never stored."""

from __future__ import annotations

import torch

__all__ = ["randn", "rand"]


def randn(rng, *shape, scale=1.0):
    """Standard normal float64 values of ``shape`` from ``rng``, times ``scale``."""
    return scale * torch.randn(*shape, generator=rng, dtype=torch.float64)


def rand(rng, *shape, low=0.0, high=1.0):
    """Uniform float64 values in ``[low, high)`` of ``shape`` from ``rng``."""
    u = torch.rand(*shape, generator=rng, dtype=torch.float64)
    return low + (high - low) * u
