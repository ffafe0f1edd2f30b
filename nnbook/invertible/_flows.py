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

from nnbook.contract import (
    Choice,
    Flag,
    Instance,
    Int,
    Real,
    Tensor,
    contract,
)
from nnbook.invertible._blocks import InvertibleResidualBlock, mlp_block
from nnbook.invertible._logdet import (
    power_series_logdet,
    russian_roulette_logdet,
)
from nnbook.invertible._spectral import COEFF

__all__ = [
    "ActNorm",
    "AffineCouplingFlow",
    "IResNetFlow",
    "InvertibleLinear",
    "fit_flow",
    "log_density_grid",
    "standard_normal_log_prob",
]


@contract(z=Tensor("N", "D"))
def standard_normal_log_prob(z):
    """``log N(z; 0, I)`` for every row of ``z`` (n, d)."""
    return -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


def _sizes(self):
    """The size and dtype of a flow's or a layer's points, by name."""
    return {"D": self.dim, "dtype": self.dtype}


class _Flow(nn.Module):
    @contract("eq-ir-change-of-variables", x=Tensor("N", "D"), bind=_sizes)
    def log_prob(self, x):
        """``log p(x)`` for every row of ``x`` (n, d). Implements :eq:`eq-ir-change-of-variables`."""
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or inf")
        z, logdet = self.forward_and_logdet(x)
        return standard_normal_log_prob(z) + logdet

    @contract(n=Int(low=1), generator=Instance(torch.Generator, optional=True))
    @torch.no_grad()
    def sample(self, n, generator=None):
        """``n`` samples: Gaussian noise pushed through the inverse."""
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype)
        return self.inverse(z)

    @property
    def dtype(self):
        return next(self.parameters()).dtype


class ActNorm(nn.Module):
    r"""A learned element-wise affine map :math:`y = e^{s} \odot (x - m)`, with log-determinant :math:`\sum_i s_i`.

    As in Glow (Kingma & Dhariwal, 2018), the first batch seen in training sets
    :math:`m` and :math:`s` so that the output has zero mean and unit variance per
    coordinate; afterwards they are ordinary parameters. A residual block can only
    stretch by a factor below 2 and shrink by one above :math:`1 - c`; a free scale and
    shift spare the blocks that work.
    """

    @contract(dim=Int(low=1))
    def __init__(self, dim):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.register_buffer("initialized", torch.tensor(False))

    def _sizes(self):
        return {"D": len(self.shift), "dtype": self.shift.dtype}

    @contract(x=Tensor("N", "D"), bind=lambda self: self._sizes())
    def forward(self, x):
        """``(y, log|det|)`` per row of ``x`` (n, d)."""
        if self.training and not self.initialized:
            with torch.no_grad():
                self.shift.copy_(x.mean(dim=0))
                self.log_scale.copy_(-torch.log(x.std(dim=0) + 1e-6))
                self.initialized.fill_(True)
        y = (x - self.shift) * torch.exp(self.log_scale)
        return y, self.log_scale.sum().expand(len(x))

    @contract(y=Tensor("N", "D"), bind=lambda self: self._sizes())
    def inverse(self, y):
        """``x = y e^{-s} + m``."""
        return y * torch.exp(-self.log_scale) + self.shift


class InvertibleLinear(nn.Module):
    r"""A learned invertible linear map :math:`y = W x`, LU-parametrized as Glow's 1 x 1 convolution.

    .. math:: W = P L \bigl(U + \operatorname{diag}(\sigma \odot e^{s})\bigr), \qquad
       \log\lvert\det W\rvert = \textstyle\sum_i s_i,

    with :math:`P` a fixed permutation, :math:`L` unit lower triangular, :math:`U`
    strictly upper triangular, :math:`\sigma` fixed signs and :math:`s` learned
    log-scales (Kingma & Dhariwal, 2018). The log-determinant costs :math:`O(D)`, and
    :math:`W` stays invertible for every value of the parameters. It starts as a random
    rotation, drawn from torch's global generator, as in Glow. Implements
    :eq:`eq-ir-lu-mixing`.

    Parameters
    ----------
    dim : int
        The dimension :math:`D`.
    """

    @contract("eq-ir-lu-mixing", dim=Int(low=1))
    def __init__(self, dim):
        super().__init__()
        rotation = torch.linalg.qr(torch.randn(dim, dim))[0]
        perm, lower, upper = torch.linalg.lu(rotation)
        diagonal = torch.diagonal(upper)
        self.register_buffer("perm", perm)
        self.register_buffer("sign", torch.sign(diagonal))
        self.lower = nn.Parameter(torch.tril(lower, -1))
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_scale = nn.Parameter(torch.log(diagonal.abs()))

    def _sizes(self):
        return {"D": len(self.log_scale), "dtype": self.log_scale.dtype}

    def weight(self):
        """The matrix :math:`W` (D, D), assembled from its factors."""
        eye = torch.eye(len(self.log_scale), dtype=self.log_scale.dtype)
        lower = torch.tril(self.lower, -1) + eye
        upper = torch.triu(self.upper, 1) + torch.diag(
            self.sign * torch.exp(self.log_scale)
        )
        return self.perm @ lower @ upper

    @contract(
        "eq-ir-lu-mixing", x=Tensor("N", "D"), bind=lambda self: self._sizes()
    )
    def forward(self, x):
        """``(x W^T, log|det W|)`` per row of ``x`` (n, d)."""
        return x @ self.weight().T, self.log_scale.sum().expand(len(x))

    @contract(y=Tensor("N", "D"), bind=lambda self: self._sizes())
    def inverse(self, y):
        """``x = W^{-1} y`` per row of ``y`` (n, d), by a linear solve."""
        return torch.linalg.solve(self.weight(), y.T).T


class _Estimator(Choice):
    """One of the named log-det estimators, or a function ``(block, z) -> (y, logdet)``."""

    def check(self, name, value, dims, arguments):
        if callable(value):
            return value
        return super().check(name, value, dims, arguments)

    def describe(self) -> str:
        return super().describe() + ", or a function (block, z) -> (y, logdet)"


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
    logdet : str or callable, default "exact"
        ``"exact"`` (full Jacobian, small ``dim`` only), ``"series"`` (truncated power
        series, ``n_terms`` terms) or ``"roulette"`` (unbiased Russian roulette); or a
        function ``estimator(block, z)`` that returns the block's output and the
        estimate of its log-determinant per row.
    n_terms : int, default 5
    actnorm : bool, default False
        Put an :class:`ActNorm` before every block.
    n_power_iter : int, default 1
        Power-iteration steps per training step in every spectrally normalized layer
        (:class:`nnbook.invertible.SpectralNormLinear`).

    Notes
    -----
    With ``logdet="exact"`` each block's Jacobian is carried through its layers
    (:meth:`nnbook.invertible.InvertibleResidualBlock.forward_and_jacobian`), and
    its log-determinant is taken in closed form for ``dim = 2``, by ``slogdet`` otherwise.
    """

    @contract(
        dim=Int(low=1),
        n_blocks=Int(low=1),
        hidden=Int(low=1),
        coeff=COEFF,
        layers=Int(low=1),
        logdet=_Estimator("exact", "series", "roulette"),
        n_terms=Int(low=1),
        actnorm=Flag(),
        n_power_iter=Int(low=1),
    )
    def __init__(
        self,
        dim,
        n_blocks=4,
        hidden=64,
        coeff=0.9,
        layers=3,
        logdet="exact",
        n_terms=5,
        actnorm=False,
        n_power_iter=1,
    ):
        super().__init__()
        self.dim, self.logdet, self.n_terms = dim, logdet, n_terms
        self.blocks = nn.ModuleList(
            InvertibleResidualBlock(
                mlp_block(
                    dim,
                    hidden,
                    coeff=coeff,
                    layers=layers,
                    n_power_iter=n_power_iter,
                )
            )
            for _ in range(n_blocks)
        )
        self.norms = nn.ModuleList(
            ActNorm(dim) if actnorm else nn.Identity() for _ in range(n_blocks)
        )

    def _block(self, block, z):
        """``(block(z), log|det J_block(z)|)`` with the chosen estimator."""
        if callable(self.logdet):
            return self.logdet(block, z)
        if self.logdet == "exact":
            y, jac = block.forward_and_jacobian(z)
            if (
                self.dim == 2
            ):  # the closed form is several times cheaper than an LU per 2 x 2 matrix
                return y, torch.log(
                    jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
                )
            return y, torch.linalg.slogdet(jac)[1]
        x = z if z.requires_grad else z.detach().requires_grad_()
        with torch.enable_grad():
            out = block.g(
                x
            )  # one evaluation of g, for the block's output and for its log-det
        if self.logdet == "series":
            logdet = power_series_logdet(
                block.g, x, self.n_terms, create_graph=self.training, out=out
            )
        else:
            logdet = russian_roulette_logdet(
                block.g, x, create_graph=self.training, out=out
            )[0]
        return x + out, logdet

    @contract(x=Tensor("N", "D"), bind=_sizes)
    def forward_and_logdet(self, x):
        """``(z, log|det J_f(x)|)``."""
        z, total = x, torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for norm, block in zip(self.norms, self.blocks, strict=True):
            if isinstance(norm, ActNorm):
                z, logdet = norm(z)
                total = total + logdet
            z, logdet = self._block(block, z)
            total = total + logdet
        return z, total

    @contract(
        z=Tensor("N", "D"),
        tol=Real(low=0, low_open=True),
        max_iter=Int(low=1),
        bind=_sizes,
    )
    @torch.no_grad()
    def inverse(self, z, *, tol=1e-8, max_iter=1000):
        """``f^{-1}(z)``, block by block in reverse order, each by fixed-point iteration."""
        for norm, block in zip(
            reversed(self.norms), reversed(self.blocks), strict=True
        ):
            z = block.inverse(z, tol=tol, max_iter=max_iter)
            if isinstance(norm, ActNorm):
                z = norm.inverse(z)
        return z


class _Coupling(nn.Module):
    """One affine coupling layer: the masked half is kept, the other half scaled and shifted."""

    def __init__(self, dim, hidden, mask):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * dim),
        )

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
    """A flow of affine coupling layers with alternating masks: RealNVP, or Glow-like.

    Each layer keeps half of the coordinates and scales and shifts the other half by
    functions of the kept half; its Jacobian is triangular, so the log-determinant is
    the sum of the log-scales, exact and cheap.

    Parameters
    ----------
    dim : int
    n_layers : int, default 8
        Coupling layers.
    hidden : int, default 64
        Width of the two hidden layers of every coupling network.
    actnorm : bool, default False
        Put an :class:`ActNorm` before every coupling layer.
    mixing : bool, default False
        Put a learned :class:`InvertibleLinear` before every coupling layer (after its
        ActNorm): with ``actnorm=True`` this is a step of Glow (Kingma & Dhariwal,
        2018), ActNorm, invertible 1 x 1 convolution, affine coupling.
    """

    @contract(
        dim=Int(low=1),
        n_layers=Int(low=1),
        hidden=Int(low=1),
        actnorm=Flag(),
        mixing=Flag(),
    )
    def __init__(
        self, dim, n_layers=8, hidden=64, *, actnorm=False, mixing=False
    ):
        super().__init__()
        self.dim = dim
        masks = [
            (torch.arange(dim) % 2 == k % 2).to(torch.get_default_dtype())
            for k in range(n_layers)
        ]
        self.layers = nn.ModuleList(_Coupling(dim, hidden, m) for m in masks)
        self.norms = nn.ModuleList(
            ActNorm(dim) if actnorm else nn.Identity() for _ in range(n_layers)
        )
        self.mixings = nn.ModuleList(
            InvertibleLinear(dim) if mixing else nn.Identity()
            for _ in range(n_layers)
        )

    def _steps(self):
        return zip(self.norms, self.mixings, self.layers, strict=True)

    @contract(x=Tensor("N", "D"), bind=_sizes)
    def forward_and_logdet(self, x):
        """``(z, log|det J_f(x)|)``."""
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for norm, mixing, layer in self._steps():
            for module in (norm, mixing, layer):
                if not isinstance(module, nn.Identity):
                    x, logdet = module(x)
                    total = total + logdet
        return x, total

    @contract(z=Tensor("N", "D"), bind=_sizes)
    @torch.no_grad()
    def inverse(self, z):
        """``f^{-1}(z)``, exactly, layer by layer in reverse order."""
        for norm, mixing, layer in reversed(list(self._steps())):
            for module in (layer, mixing, norm):
                if not isinstance(module, nn.Identity):
                    z = module.inverse(z)
        return z


@contract(
    flow=Instance(nn.Module), steps=Int(low=1), lr=Real(low=0, low_open=True)
)
def fit_flow(flow, sample_batch, steps, *, lr=5e-3):
    """Maximum likelihood: ``steps`` Adam updates on ``-mean log p(x)``, the learning rate decayed to 0 on a cosine.

    ``sample_batch()`` returns the next batch (n, d). Leaves ``flow`` in eval mode and
    returns the training losses, one per step.
    """
    if not callable(sample_batch):
        raise TypeError(
            f"sample_batch must be callable, got {type(sample_batch).__name__}"
        )
    optimizer = torch.optim.Adam(
        flow.parameters(), lr=lr, fused=True
    )  # one kernel for all parameters
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    flow.train()
    losses = []
    for _ in range(steps):
        loss = -flow.log_prob(sample_batch()).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    flow.eval()
    return torch.tensor(losses)


@contract(
    lim=Real(low=0, low_open=True),
    n=Int(low=1),
    dtype=Instance(torch.dtype),
)
@torch.no_grad()
def log_density_grid(log_prob, lim=3.0, n=120, dtype=torch.float64):
    """``(xs, log p)`` on an ``n`` x ``n`` grid over ``[-lim, lim]^2``: ``log p[i, j]`` is at ``(xs[j], xs[i])``.

    ``log_prob`` maps points (m, 2) to log-densities (m,): a flow's ``log_prob`` or a
    true density such as :func:`nnbook.invertible.toy2d_log_density`.
    """
    if not callable(log_prob):
        raise TypeError(
            f"log_prob must be callable, got {type(log_prob).__name__}"
        )
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    xs = torch.linspace(-lim, lim, n, dtype=dtype)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(
        -1, 2
    )
    return xs, log_prob(grid).reshape(n, n)
