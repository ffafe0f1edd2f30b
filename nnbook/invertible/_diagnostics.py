r"""Diagnostics of a trained i-ResNet: Jacobian spectra, Lipschitz constants against their bounds, inverse iterations.

A block :math:`F(x) = x + g(x)` with :math:`\mathrm{Lip}(g) \le L < 1` is bi-Lipschitz
(equation :eq:`eq-ir-bi-lipschitz`): every singular value of :math:`I + J_g(x)` lies in
:math:`[1 - L, 1 + L]`. The functions here measure, on a given model, how close the
Jacobians :math:`J_g` come to the bound :math:`L`, what their spectra look like, how
many fixed-point iterations each block's inverse takes, and how far each spectrally
normalized layer's :math:`\sigma_1` is from its target :math:`c`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnbook.contract import Instance, Int, Real, Tensor, contract
from nnbook.invertible._blocks import InvertibleResidualBlock
from nnbook.invertible._spectral import (
    SpectralNormConv2d,
    SpectralNormLinear,
    exact_spectral_norm,
)

__all__ = [
    "ascend_jacobian_norm",
    "bi_lipschitz_bounds",
    "block_inputs",
    "exact_lipschitz_bound",
    "inverse_per_block",
    "jacobian_spectra",
    "residual_jacobians",
    "sigma_ratios",
]

_LIP = Real(low=0, high=1, low_open=False, high_open=True)


@contract("eq-ir-bi-lipschitz", lipschitz=_LIP, dim=Int(low=1))
def bi_lipschitz_bounds(lipschitz, dim=1):
    r"""What :math:`\mathrm{Lip}(g) \le L < 1` implies for the block :math:`F(x) = x + g(x)` in ``dim`` dimensions.

    Implements :eq:`eq-ir-bi-lipschitz`.

    .. math::

        \begin{aligned}
        1 - L &\le \sigma_i\bigl(I + J_g(x)\bigr) \le 1 + L, \\
        d \log(1 - L) &\le \log\det\bigl(I + J_g(x)\bigr) \le d \log(1 + L),
        \end{aligned}

    so :math:`\mathrm{Lip}(F) \le 1 + L` and :math:`\mathrm{Lip}(F^{-1}) \le 1 / (1 - L)`.

    Parameters
    ----------
    lipschitz : float
        The bound :math:`L` in [0, 1).
    dim : int, default 1
        The dimension :math:`d`.

    Returns
    -------
    tuple
        ``(sigma_min, sigma_max, logdet_min, logdet_max)``: the four bounds, as floats.
    """
    L = float(lipschitz)
    return 1 - L, 1 + L, dim * math.log1p(-L), dim * math.log1p(L)


def _sizes(block):
    """The dtype of a block's points, from its first parameter (nothing for a wrong block)."""
    if not isinstance(block, nn.Module):
        return {}  # the contract refuses it next, by name
    return {"dtype": next(block.parameters()).dtype}


@contract(
    block=Instance(InvertibleResidualBlock),
    x=Tensor("N", "D"),
    bind=lambda block: _sizes(block),
)
def residual_jacobians(block, x):
    r"""The Jacobians :math:`J_g(x)` of a block's residual branch at every row of ``x``.

    .. math:: \bigl(J_g(x)\bigr)_{ij} = \frac{\partial g_i}{\partial x_j}(x)

    Parameters
    ----------
    block : torch.nn.Module
        With a branch made by :func:`nnbook.invertible.mlp_block`, whose Jacobian
        :meth:`~nnbook.invertible.InvertibleResidualBlock.forward_and_jacobian` carries.
    x : torch.Tensor
        Shape (n, d).

    Returns
    -------
    torch.Tensor
        Shape (n, d, d).

    Notes
    -----
    In training mode every call moves the power-iteration vectors of the layers; call
    ``block.eval()`` first.
    """
    _, jac = block.forward_and_jacobian(x)
    return jac - torch.eye(x.shape[1], dtype=x.dtype, device=x.device)


@contract(
    block=Instance(InvertibleResidualBlock),
    x=Tensor("N", "D"),
    bind=lambda block: _sizes(block),
)
@torch.no_grad()
def jacobian_spectra(block, x):
    r"""The singular values and the eigenvalues of :math:`J_g` at every row of ``x``.

    .. math:: \sigma_1\bigl(J_g(x)\bigr) \ge \dots \ge \sigma_d\bigl(J_g(x)\bigr), \qquad
              \lvert \lambda_i\bigl(J_g(x)\bigr) \rvert \le \sigma_1\bigl(J_g(x)\bigr) \le \mathrm{Lip}(g)

    Parameters
    ----------
    block : torch.nn.Module
    x : torch.Tensor
        Shape (n, d).

    Returns
    -------
    tuple
        ``(singular_values, eigenvalues)``: shapes (n, d), real and descending, and
        (n, d), complex. ``singular_values[:, 0]`` is the spectral norm of :math:`J_g`.
    """
    jac = residual_jacobians(block, x)
    return torch.linalg.svdvals(jac), torch.linalg.eigvals(jac)


@contract(
    block=Instance(InvertibleResidualBlock),
    x=Tensor("N", "D"),
    steps=Int(low=1),
    lr=Real(low=0, low_open=True),
    bind=lambda block: _sizes(block),
)
def ascend_jacobian_norm(block, x, steps=50, lr=0.05):
    r"""Gradient ascent on :math:`\lVert J_g(x) \rVert_2` from every row of ``x``: a search for the worst input.

    .. math:: x \leftarrow x + \eta\, \nabla_x \lVert J_g(x) \rVert_2

    with Adam's step sizes (learning rate :math:`\eta`), every row independently.

    Parameters
    ----------
    block : torch.nn.Module
    x : torch.Tensor
        Shape (n, d): the starting points.
    steps : int, default 50
    lr : float, default 0.05

    Returns
    -------
    tuple
        ``(points, norms)``: the last points (n, d) and :math:`\lVert J_g \rVert_2` there (n,).
        Each norm is at least the one at its start or at any visited point, because
        the best point seen is kept per row.
    """
    with torch.no_grad():
        best = jacobian_spectra(block, x)[0][:, 0]
    best_points = x.detach().clone()
    point = x.detach().clone().requires_grad_()
    optimizer = torch.optim.Adam([point], lr=lr, maximize=True)
    for _ in range(steps):
        norms = torch.linalg.matrix_norm(residual_jacobians(block, point), 2)
        optimizer.zero_grad()
        norms.sum().backward()
        optimizer.step()
        with torch.no_grad():
            now = jacobian_spectra(block, point.detach())[0][:, 0]
            better = now > best
            best = torch.where(better, now, best)
            best_points[better] = point.detach()[better]
    for p in block.parameters():
        p.grad = None  # the ascent differentiates through the weights too
    return best_points, best


def _spectral_layers(module):
    return [
        m
        for m in module.modules()
        if isinstance(m, SpectralNormLinear | SpectralNormConv2d)
    ]


@contract(module=Instance(nn.Module))
@torch.no_grad()
def sigma_ratios(module):
    r"""The exact :math:`\sigma_1 / c` of every spectrally normalized layer in ``module``.

    .. math:: \frac{\sigma_1\bigl(W / \max(1, \hat\sigma / c)\bigr)}{c}

    with the layer's current estimate :math:`\hat\sigma`: at most 1 when that estimate
    is exact, above 1 when it lags behind the weights.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    torch.Tensor
        Shape (n_layers,), in the order of ``module.modules()``.
    """
    layers = _spectral_layers(module)
    if not layers:
        raise ValueError("module has no spectrally normalized layers")
    return torch.stack([exact_spectral_norm(m) / m.coeff for m in layers])


@contract(block=Instance(InvertibleResidualBlock))
@torch.no_grad()
def exact_lipschitz_bound(block):
    r"""The product of the exact spectral norms of a block's normalized layers: a bound on :math:`\mathrm{Lip}(g)`.

    .. math:: \mathrm{Lip}(g) \le \prod_i \sigma_1(\tilde W_i)

    valid for 1-Lipschitz activations. It is at most ``block.lipschitz``, the product of
    the ``c``, when every estimate has caught up with its weight, and above it when some
    have not.

    Parameters
    ----------
    block : torch.nn.Module

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    layers = _spectral_layers(block.g)
    if not layers:
        raise ValueError("block has no spectrally normalized layers")
    return torch.stack([exact_spectral_norm(m) for m in layers]).prod()


def _check_flow(flow):
    if not hasattr(flow, "blocks") or not hasattr(flow, "norms"):
        raise TypeError(
            f"flow must have blocks and norms (an IResNetFlow), got {type(flow).__name__}"
        )


@contract(flow=Instance(nn.Module), x=Tensor("N", "D"))
@torch.no_grad()
def block_inputs(flow, x):
    r"""The points each residual block of a flow sees when ``x`` goes forward.

    .. math:: z_0 = x, \qquad z_b = F_b\bigl(\mathrm{norm}_b(z_{b-1})\bigr),

    and block :math:`b` sees :math:`\mathrm{norm}_b(z_{b-1})` (the ActNorm, where there is one).

    Parameters
    ----------
    flow : torch.nn.Module
        An :class:`~nnbook.invertible.IResNetFlow`: ``flow.blocks`` and ``flow.norms``.
    x : torch.Tensor
        Shape (n, d).

    Returns
    -------
    list
        One tensor (n, d) per block, in order.
    """
    _check_flow(flow)
    inputs, z = [], x
    for norm, block in zip(flow.norms, flow.blocks, strict=True):
        z = z if isinstance(norm, nn.Identity) else norm(z)[0]
        inputs.append(z)
        z = block(z)
    return inputs


@contract(
    flow=Instance(nn.Module),
    x=Tensor("N", "D"),
    tol=Real(low=0, low_open=True),
    max_iter=Int(low=1),
)
@torch.no_grad()
def inverse_per_block(flow, x, *, tol=1e-10, max_iter=1000):
    r"""Invert every residual block of a flow at the points it sees when ``x`` goes forward.

    For each block :math:`F_b`, with input :math:`x_b` (n, d) from the forward pass of
    ``x``, computes :math:`y_b = F_b(x_b)`, then :math:`\hat x_b` by the fixed-point
    iteration with the stopping rule

    .. math:: \frac{L}{1 - L} \lVert x_n - x_{n-1} \rVert < \mathrm{tol},

    and measures the true error :math:`\max_{\text{rows}} \lVert \hat x_b - x_b \rVert`.

    Parameters
    ----------
    flow : torch.nn.Module
        An :class:`~nnbook.invertible.IResNetFlow`: ``flow.blocks`` and ``flow.norms``.
    x : torch.Tensor
        Shape (n, d).
    tol : float, default 1e-10
    max_iter : int, default 1000

    Returns
    -------
    tuple
        ``(iterations, errors)``: an int tensor (n_blocks,) and a float tensor (n_blocks,).
    """
    _check_flow(flow)
    iterations, errors = [], []
    for block, z in zip(flow.blocks, block_inputs(flow, x), strict=True):
        recovered = block.inverse(block(z), tol=tol, max_iter=max_iter)
        iterations.append(block.inverse_iterations_)
        errors.append((recovered - z).norm(dim=1).max())
    return torch.tensor(iterations), torch.stack(errors)
