r"""How well samples cover the modes of a mixture: shares per mode and samples between modes.

A generator trained on a mixture of well-separated blobs can miss blobs, favour some of
them, or put samples between them. Three measurements tell these apart. Each sample is
assigned to its nearest mode when it lies within a radius of it, and is *off-mode*
otherwise (equation :eq:`eq-gd-mode-assign`). The assignments give each mode's share of
the samples and the fraction that fell off-mode (equation :eq:`eq-gd-mode-shares`). The
shares, renormalized over the on-mode samples, are compared with the uniform split by
total variation and Kullback-Leibler divergence (equation :eq:`eq-gd-mode-divergence`).

Some off-mode samples of a GAN are forced by topology: a continuous generator maps the
connected latent space onto a connected set, so a generator that reaches two disjoint
balls around modes also puts some mass outside them. Topology does not say how much:
the generator can make that mass small by being steep there, which the norm of its
Jacobian measures (equation :eq:`eq-gd-jacobian-norm`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.func import jacrev, vmap

from nnbook.contract import Instance, Int, Real, Tensor, contract

__all__ = [
    "ModeCoverage",
    "assign_modes",
    "jacobian_norm",
    "mode_coverage",
    "mode_imbalance",
    "mode_shares",
]


@contract(
    "eq-gd-mode-assign",
    x=Tensor("N", "F"),
    centres=Tensor("K", "F"),
    radius=Real(low=0, low_open=True),
)
def assign_modes(x, centres, *, radius):
    r"""The nearest mode of each sample, or -1 where no mode lies within ``radius``.

    Implements :eq:`eq-gd-mode-assign`.

    Parameters
    ----------
    x : torch.Tensor
        Samples, shape (N, F).
    centres : torch.Tensor
        The modes' centres, shape (K, F).
    radius : float
        The largest distance at which a sample still counts as on a mode, for a
        Gaussian mode with standard deviation :math:`\tau` per coordinate
        typically :math:`k \tau` with :math:`k = 3` or 4.

    Returns
    -------
    torch.Tensor
        Shape (N,), dtype int64: the index :math:`j` of the nearest centre, or -1
        for an off-mode sample.

    Notes
    -----
    .. math::
        m(x) = \begin{cases} \arg\min_j \lVert x - \mu_j \rVert
        & \text{if } \min_j \lVert x - \mu_j \rVert \le r, \\
        -1 \ (\text{off-mode}) & \text{otherwise.} \end{cases}
    """
    distance = (x[:, None, :] - centres[None, :, :]).norm(dim=2)  # (N, K)
    nearest, mode = distance.min(dim=1)
    return torch.where(nearest <= radius, mode, torch.full_like(mode, -1))


@contract(
    "eq-gd-mode-shares",
    modes=Tensor("N", dtype="int", low=-1),
    n_modes=Int(low=1),
)
def mode_shares(modes, n_modes):
    r"""Each mode's share of all the samples, and the fraction that lies off every mode.

    Implements :eq:`eq-gd-mode-shares`.

    Parameters
    ----------
    modes : torch.Tensor
        Shape (N,), integers from -1 (off-mode) to ``n_modes - 1``, as
        :func:`assign_modes` returns them; at least one sample.
    n_modes : int
        The number of modes K.

    Returns
    -------
    shares : torch.Tensor
        Shape (K,), float64: :math:`s_j`, the fraction of the N samples assigned to
        mode j.
    off_mode : torch.Tensor
        Scalar, float64: :math:`b = 1 - \sum_j s_j`, the fraction on no mode.

    Notes
    -----
    .. math::
        s_j = \frac{1}{N} \sum_{i=1}^N [m(x_i) = j], \qquad
        b = 1 - \sum_{j=1}^K s_j .
    """
    if len(modes) == 0:
        raise ValueError("modes must hold at least one sample, got shape (0,)")
    if int(modes.max()) >= n_modes:
        raise ValueError(
            f"modes must be below n_modes={n_modes}, got {int(modes.max())}"
        )
    on = modes >= 0
    counts = torch.bincount(modes[on], minlength=n_modes)
    shares = counts.double() / len(modes)
    return shares, 1 - on.double().mean()


@contract("eq-gd-mode-divergence", shares=Tensor("K"))
def mode_imbalance(shares):
    r"""How far the on-mode shares are from an even split: total variation and KL.

    Implements :eq:`eq-gd-mode-divergence`.

    Parameters
    ----------
    shares : torch.Tensor
        Shape (K,): non-negative shares of the modes, not all zero, such as
        :func:`mode_shares` returns. They are renormalized to sum to one, so the
        off-mode samples do not count.

    Returns
    -------
    total_variation : torch.Tensor
        Scalar in :math:`[0, 1 - 1/K]`; 0 for an even split.
    kl : torch.Tensor
        Scalar in :math:`[0, \log K]`: :math:`\mathrm{KL}(q \,\|\, u)` in nats, with
        :math:`0 \log 0 = 0`; it is :math:`\log K` when all samples sit on one mode.

    Notes
    -----
    .. math::
        \begin{aligned}
        q_j &= \frac{s_j}{\sum_l s_l}, \\
        \mathrm{TV}(q, u) &= \frac12 \sum_{j=1}^K \Bigl| q_j - \frac1K \Bigr|, \\
        \mathrm{KL}(q \,\|\, u) &= \sum_{j=1}^K q_j \log (K q_j) .
        \end{aligned}
    """
    if (shares < 0).any() or not shares.sum() > 0:
        raise ValueError(
            "shares must be non-negative and not all zero, "
            f"got {shares.tolist()}"
        )
    k = len(shares)
    q = shares / shares.sum()
    total_variation = 0.5 * (q - 1 / k).abs().sum()
    kl = torch.where(q > 0, q * torch.log(k * q), torch.zeros_like(q)).sum()
    return total_variation, kl


class ModeCoverage(NamedTuple):
    """What :func:`mode_coverage` measures; floats and ints, ready to print."""

    #: Each mode's share of all the samples, a tensor of shape (K,).
    shares: torch.Tensor
    #: The fraction of samples on no mode (on the bridges between modes).
    off_mode: float
    #: How many modes hold at least ``min_share`` of the samples.
    covered: int
    #: Total variation between the renormalized shares and the even split.
    total_variation: float
    #: KL divergence from the renormalized shares to the even split, in nats.
    kl: float


@contract(
    "eq-gd-mode-shares",
    x=Tensor("N", "F"),
    centres=Tensor("K", "F"),
    radius=Real(low=0, low_open=True),
    min_share=Real(low=0, high=1),
)
def mode_coverage(x, centres, *, radius, min_share=0.01):
    r"""Shares per mode, the off-mode fraction, modes covered and the distance to even.

    Implements :eq:`eq-gd-mode-shares`, through :func:`assign_modes`,
    :func:`mode_shares` and :func:`mode_imbalance`.

    Parameters
    ----------
    x : torch.Tensor
        Samples, shape (N, F).
    centres : torch.Tensor
        The modes' centres, shape (K, F).
    radius : float
        As in :func:`assign_modes`.
    min_share : float, default 0.01
        A mode counts as covered when it holds at least this share of all samples.

    Returns
    -------
    ModeCoverage
        ``shares`` (K,), ``off_mode``, ``covered``, ``total_variation`` and ``kl``;
        ``covered`` counts the modes with :math:`s_j \ge` ``min_share``;
        ``total_variation`` and ``kl`` are NaN when every sample is off-mode.

    Notes
    -----
    .. math::
        s_j = \frac{1}{N} \sum_{i=1}^N [m(x_i) = j], \qquad
        b = 1 - \sum_{j=1}^K s_j .
    """
    shares, off_mode = mode_shares(
        assign_modes(x, centres, radius=radius), len(centres)
    )
    covered = int((shares >= min_share).sum())
    if shares.sum() > 0:
        total_variation, kl = mode_imbalance(shares)
    else:  # every sample off-mode: no split to compare with the even one
        total_variation = kl = math.nan
    return ModeCoverage(
        shares, float(off_mode), covered, float(total_variation), float(kl)
    )


@contract(
    "eq-gd-jacobian-norm",
    generator=Instance(torch.nn.Module),
    z=Tensor("N", "D"),
)
def jacobian_norm(generator, z):
    r"""The Frobenius norm of the generator's Jacobian at each latent point.

    Implements :eq:`eq-gd-jacobian-norm`. A large norm marks a latent point where
    the generator is steep: a small step in :math:`z` moves the sample far, which is
    how a continuous generator crosses the gap between two modes quickly.

    Parameters
    ----------
    generator : torch.nn.Module
        Maps latent points (B, d_z) to samples (B, d_x), one row at a time (no batch
        statistics such as batch normalization in training mode).
    z : torch.Tensor
        Latent points, shape (N, d_z), of the generator's dtype.

    Returns
    -------
    torch.Tensor
        Shape (N,): :math:`\lVert J_G(z_i) \rVert_F`, computed by automatic
        differentiation.

    Notes
    -----
    .. math::
        \lVert J_G(z) \rVert_F = \Bigl( \sum_{a=1}^{d_x} \sum_{b=1}^{d_z}
        \Bigl( \frac{\partial G_a(z)}{\partial z_b} \Bigr)^2 \Bigr)^{1/2} .
    """

    def one(point):  # (d_z,) -> (d_x,)
        return generator(point[None, :])[0]

    jacobians = vmap(jacrev(one))(z)  # (N, d_x, d_z)
    return jacobians.flatten(start_dim=1).norm(dim=1).detach()
