r"""Normalizing flows for density estimation: an i-ResNet and an affine-coupling baseline.

A flow maps data :math:`x` to a latent :math:`z = f(x)` with a standard Gaussian
distribution through an invertible :math:`f`. By the change of variables
(equation :eq:`eq-ir-change-of-variables`),

.. math:: \log p(x) = \log \mathcal{N}\bigl(f(x); 0, I\bigr) + \log\bigl\lvert\det J_f(x)\bigr\rvert,

and samples are :math:`f^{-1}(z)` with :math:`z \sim \mathcal{N}(0, I)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnbook.invertible.blocks import InvertibleResidualBlock, mlp_block
from nnbook.invertible.logdet import exact_logdet, power_series_logdet, russian_roulette_logdet

__all__ = ["AffineCouplingFlow", "IResNetFlow", "standard_normal_log_prob"]


def standard_normal_log_prob(z):
    """``log N(z; 0, I)`` for every row of ``z`` (n, d)."""
    return -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class _Flow(nn.Module):
    def _check(self, x):
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or inf")

    def log_prob(self, x):
        """``log p(x)`` for every row of ``x`` (n, d)."""
        self._check(x)
        z, logdet = self.forward_and_logdet(x)
        return standard_normal_log_prob(z) + logdet

    @torch.no_grad()
    def sample(self, n, generator=None):
        """``n`` samples: Gaussian noise pushed through the inverse."""
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype)
        return self.inverse(z)

    @property
    def dtype(self):
        return next(self.parameters()).dtype


class IResNetFlow(_Flow):
    """A stack of invertible residual blocks on a standard Gaussian base.

    Parameters
    ----------
    dim : int
    n_blocks : int, default 4
    hidden : int, default 64
    coeff : float, default 0.9
        The spectral-norm bound of every linear layer.
    layers : int, default 3
        Linear layers per residual branch.
    logdet : str, default "exact"
        ``"exact"`` (full Jacobian, small ``dim`` only), ``"series"`` (truncated power
        series, ``n_terms`` terms) or ``"roulette"`` (unbiased Russian roulette).
    n_terms : int, default 5
    """

    def __init__(self, dim, n_blocks=4, hidden=64, coeff=0.9, layers=3, logdet="exact", n_terms=5):
        super().__init__()
        if logdet not in ("exact", "series", "roulette"):
            raise ValueError(f"logdet must be 'exact', 'series' or 'roulette', got {logdet!r}")
        self.dim, self.logdet, self.n_terms = dim, logdet, n_terms
        self.blocks = nn.ModuleList(
            InvertibleResidualBlock(mlp_block(dim, hidden, coeff=coeff, layers=layers)) for _ in range(n_blocks)
        )

    def _block_logdet(self, block, z):
        if self.logdet == "exact":
            return exact_logdet(block.g, z)
        if self.logdet == "series":
            return power_series_logdet(block.g, z, self.n_terms, create_graph=self.training)
        return russian_roulette_logdet(block.g, z, create_graph=self.training)[0]

    def forward_and_logdet(self, x):
        """``(z, log|det J_f(x)|)``."""
        z, total = x, torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for block in self.blocks:
            total = total + self._block_logdet(block, z)
            z = block(z)
        return z, total

    @torch.no_grad()
    def inverse(self, z, *, tol=1e-8, max_iter=200):
        """``f^{-1}(z)``, block by block in reverse order, each by fixed-point iteration."""
        for block in reversed(self.blocks):
            z = block.inverse(z, tol=tol, max_iter=max_iter)
        return z


class _Coupling(nn.Module):
    """One affine coupling layer: the masked half is kept, the other half scaled and shifted."""

    def __init__(self, dim, hidden, mask):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * dim))  # fmt: skip

    def _scale_shift(self, kept):
        s, t = self.net(kept).chunk(2, dim=1)
        return torch.tanh(s) * (1 - self.mask), t * (1 - self.mask)

    def forward(self, x):
        kept = x * self.mask
        s, t = self._scale_shift(kept)
        return kept + (1 - self.mask) * (x * torch.exp(s) + t), s.sum(dim=1)

    def inverse(self, y):
        kept = y * self.mask
        s, t = self._scale_shift(kept)
        return kept + (1 - self.mask) * ((y - t) * torch.exp(-s))


class AffineCouplingFlow(_Flow):
    """A RealNVP-style flow of affine coupling layers with alternating masks: the baseline.

    Each layer keeps half of the coordinates and scales and shifts the other half by
    functions of the kept half; its Jacobian is triangular, so the log-determinant is
    the sum of the log-scales, exact and cheap.
    """

    def __init__(self, dim, n_layers=8, hidden=64):
        super().__init__()
        self.dim = dim
        masks = [(torch.arange(dim) % 2 == k % 2).to(torch.get_default_dtype()) for k in range(n_layers)]
        self.layers = nn.ModuleList(_Coupling(dim, hidden, m) for m in masks)

    def forward_and_logdet(self, x):
        """``(z, log|det J_f(x)|)``."""
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    @torch.no_grad()
    def inverse(self, z):
        """``f^{-1}(z)``, exactly, layer by layer in reverse order."""
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z
