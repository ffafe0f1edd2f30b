r"""Invertible residual blocks: :math:`y = x + g(x)` with :math:`\mathrm{Lip}(g) < 1`.

If :math:`g` is a contraction, :math:`x \mapsto x + g(x)` is invertible, and the inverse
is the fixed point of :math:`x \leftarrow y - g(x)` (equation :eq:`eq-ir-fixed-point`),
which Banach's theorem guarantees to exist, to be unique, and to be reached from any
start, with the error after :math:`n` steps bounded by
:math:`\frac{L^n}{1 - L} \lVert x_1 - x_0 \rVert` (equation :eq:`eq-ir-banach`).
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.contract import Flag, Instance, Int, Real, Tensor, contract
from nnbook.invertible._spectral import (
    COEFF,
    SpectralNormConv2d,
    SpectralNormLinear,
)

__all__ = [
    "InverseNotConverged",
    "InvertibleResidualBlock",
    "LipSwish",
    "mlp_block",
]


class InverseNotConverged(RuntimeError):
    """The fixed-point iteration did not reach the requested tolerance."""


class LipSwish(nn.Module):
    r"""LipSwish :math:`x \sigma(\beta x) / 1.1`, with :math:`\beta = \mathrm{softplus}(\cdot) > 0` learned.

    Swish's derivative reaches about 1.1 in magnitude, so dividing by 1.1 makes it
    1-Lipschitz for every :math:`\beta`; unlike ELU or ReLU its derivative is smooth and
    not saturated at 1 over half the line (Chen et al., 2019).
    """

    def __init__(self):
        super().__init__()
        self.raw_beta = nn.Parameter(
            torch.tensor(0.5413)
        )  # softplus(0.5413) = 1

    @contract(x=Tensor())
    def forward(self, x):
        """LipSwish applied element-wise."""
        return x * torch.sigmoid(F.softplus(self.raw_beta) * x) / 1.1

    @contract(x=Tensor())
    def value_and_derivative(self, x):
        r"""``(LipSwish(x), LipSwish'(x))``.

        The slope is :math:`(s + \beta x\, s (1 - s)) / 1.1` with :math:`s = \sigma(\beta x)`.
        """
        beta_x = F.softplus(self.raw_beta) * x
        s = torch.sigmoid(beta_x)
        return x * s / 1.1, s * (1 + beta_x * (1 - s)) / 1.1


@contract(
    dim=Int(low=1),
    hidden=Int(low=1),
    coeff=COEFF,
    layers=Int(low=1),
    n_power_iter=Int(low=1),
)
def mlp_block(
    dim, hidden, *, coeff=0.9, layers=2, activation=LipSwish, n_power_iter=1
):
    """``g``: spectrally normalized linear layers with 1-Lipschitz activations between them.

    ``activation`` is called with no arguments to make each activation module.
    """
    if not callable(activation):
        raise TypeError(
            f"activation must be a class or function that makes a module, "
            f"got {type(activation).__name__}"
        )
    sizes = [dim] + [hidden] * (layers - 1) + [dim]
    modules = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        modules.append(
            SpectralNormLinear(a, b, coeff=coeff, n_power_iter=n_power_iter)
        )
        if k < len(sizes) - 2:
            modules.append(activation())
    return nn.Sequential(*modules)


class InvertibleResidualBlock(nn.Module):
    """``y = x + g(x)``, with a fixed-point inverse.

    Parameters
    ----------
    g : torch.nn.Module
        The residual branch. Its Lipschitz constant must be below 1.
    lipschitz : float, optional
        A bound :math:`L < 1` on ``Lip(g)``. By default, the product of the ``coeff``
        of the spectrally normalized layers in ``g``: a valid bound when they are
        composed with 1-Lipschitz activations, as :func:`mlp_block` builds.
    """

    @contract(
        g=Instance(nn.Module),
        lipschitz=Real(
            low=0, high=1, low_open=True, high_open=True, optional=True
        ),
    )
    def __init__(self, g, lipschitz=None):
        super().__init__()
        self.g = g
        if lipschitz is None:
            coeffs = [
                m.coeff
                for m in g.modules()
                if isinstance(m, SpectralNormLinear | SpectralNormConv2d)
            ]
            if not coeffs:
                raise ValueError(
                    "g has no spectrally normalized layers: pass its Lipschitz bound as lipschitz"
                )
            lipschitz = math.prod(coeffs)  # each coeff is in (0, 1), so is this
        self.lipschitz = float(lipschitz)

    @contract(x=Tensor("N", ...))
    def forward(self, x):
        """``x + g(x)``."""
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or inf")
        return x + self.g(x)

    @contract(x=Tensor("N", "D"))
    def forward_and_jacobian(self, x):
        """``(x + g(x), I + J_g(x))`` for ``x`` (n, d), the Jacobians (n, d, d) carried forward with the activations.

        For ``g`` built by :func:`mlp_block` (linear layers and activations with a
        ``value_and_derivative`` method), by the chain rule: each linear layer multiplies the carried
        Jacobian by its weight, each activation scales its rows by its slope. One pass,
        with the weights normalized once; cheap when d is small.
        """
        # jac_t[n, j, i] = d h_i / d x_j: the transposed Jacobian, so that a layer is one F.linear (one GEMM)
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        h, jac_t = x, None  # None stands for the identity, d x / d x
        for module in self.g:
            if isinstance(module, SpectralNormLinear):
                weight = module.normalized_weight()
                # after a first linear layer, the Jacobian is its weight, the same for every row
                jac_t = (
                    weight.T.expand(len(x), -1, -1)
                    if jac_t is None
                    else F.linear(jac_t, weight)
                )
                h = F.linear(h, weight, module.bias)
            elif hasattr(module, "value_and_derivative"):
                h, slope = module.value_and_derivative(h)
                jac_t = slope[:, None, :] * (eye if jac_t is None else jac_t)
            else:
                raise TypeError(
                    f"forward_and_jacobian needs linear layers and activations with value_and_derivative, "
                    f"got {type(module).__name__}"
                )
        jac_t = eye.expand(len(x), -1, -1) if jac_t is None else jac_t
        return x + h, eye + jac_t.transpose(1, 2)

    @contract(
        "eq-ir-fixed-point",
        y=Tensor("N", ...),
        tol=Real(low=0, low_open=True),
        max_iter=Int(low=1),
        strict=Flag(),
    )
    @torch.no_grad()
    def inverse(self, y, *, tol=1e-10, max_iter=500, strict=False):
        """The x with ``x + g(x) = y``, by the fixed-point iteration ``x <- y - g(x)``.

        Implements :eq:`eq-ir-fixed-point`.

        Iteration stops when Banach's a-posteriori bound
        ``L / (1 - L) * |x_n - x_{n-1}|`` (largest over the batch) falls below ``tol``.
        That bounds the error only if ``L = self.lipschitz`` bounds ``Lip(g)``: after
        training, call :func:`nnbook.invertible.converge_spectral_norms` first.
        Otherwise, after ``max_iter`` steps, a ``RuntimeWarning`` (or, with
        ``strict=True``, an :class:`InverseNotConverged` error) reports the residual
        ``|x + g(x) - y|``.
        """
        if not torch.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        L = self.lipschitz
        x = y.clone()
        for iteration in range(1, max_iter + 1):
            x_new = y - self.g(x)
            step = (x_new - x).flatten(1).norm(dim=1).max().item()
            x = x_new
            if L / (1 - L) * step < tol:
                self.inverse_iterations_ = iteration
                return x
        residual = (x + self.g(x) - y).flatten(1).norm(dim=1).max().item()
        message = (
            f"inverse did not converge in {max_iter} iterations: residual |x + g(x) - y| = {residual:.3e}, "
            f"error bound {L / (1 - L) * step:.3e} > tol = {tol:.1e}"
        )
        if strict:
            raise InverseNotConverged(message)
        # past torch.no_grad's wrapper and the contract's, to the caller
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        self.inverse_iterations_ = max_iter
        return x
