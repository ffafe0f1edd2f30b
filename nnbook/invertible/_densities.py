"""The 2-D toy densities of the invertible-ResNet chapter: samples, log-densities, entropies."""

from __future__ import annotations

import math

import torch

from nnbook.contract import Choice, Instance, Int, Tensor, contract
from nnbook.data._images import FLOATS

__all__ = ["TOY2D", "toy2d", "toy2d_entropy", "toy2d_log_density"]


#: The 2-D densities of the invertible-ResNet chapter.
TOY2D = ("8gaussians", "checkerboard", "moons", "spirals")
_NOISE = {"8gaussians": 0.5 / math.sqrt(2), "moons": 0.1, "spirals": 0.1}


def _curve(name, t):
    """Points on the noiseless curves, for a parameter t in [0, 1); shape (len(t), 2)."""
    if name == "8gaussians":
        angle = torch.floor(8 * t) * torch.pi / 4
        return (
            2
            * math.sqrt(2)
            * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        )
    if name == "moons":  # two interleaved half circles of radius 1
        upper = t < 0.5
        a = torch.where(upper, 2 * t, 2 * t - 1) * torch.pi
        x = torch.where(upper, torch.cos(a), 1 - torch.cos(a)) - 0.5
        y = torch.where(upper, torch.sin(a), 0.5 - torch.sin(a)) - 0.25
        return 1.6 * torch.stack([x, y], dim=1)
    first = t < 0.5  # spirals: two arms, the second rotated by pi
    r = torch.sqrt(torch.where(first, 2 * t, 2 * t - 1)) * 3 * torch.pi
    sign = torch.where(first, 1.0, -1.0)
    return (
        sign[:, None]
        * torch.stack([r * torch.cos(r), r * torch.sin(r)], dim=1)
        / 3
    )


@contract(
    name=Choice(*TOY2D),
    n=Int(low=0),
    generator=Instance(torch.Generator, optional=True),
    dtype=Choice(*FLOATS),
)
def toy2d(name, n, *, generator=None, dtype=torch.float64):
    """``n`` samples of a 2-D toy density: "8gaussians", "checkerboard", "moons" or "spirals".

    8 Gaussians: 8 equal components of sd 0.5 on a circle of radius 4, everything divided
    by sqrt(2) (the proportions of the i-ResNet and FFJORD experiments). Checkerboard:
    uniform on 8 of the 16 unit squares of [-2, 2]^2. Moons and spirals: a point drawn
    uniformly along the curves, plus Gaussian noise (sd 0.1).
    """
    if name == "checkerboard":
        x1 = torch.rand(n, generator=generator, dtype=dtype) * 4 - 2
        x2 = (
            torch.rand(n, generator=generator, dtype=dtype)
            - torch.randint(0, 2, (n,), generator=generator) * 2
        )
        x2 = x2 + (torch.floor(x1) % 2)
        return torch.stack([x1, x2], dim=1)
    t = torch.rand(n, generator=generator, dtype=dtype)
    return _curve(name, t).to(dtype) + _NOISE[name] * torch.randn(
        n, 2, generator=generator, dtype=dtype
    )


@contract(name=Choice(*TOY2D), x=Tensor("n", 2))
def toy2d_log_density(name, x):
    """The true ``log p(x)`` of a toy density, shape (n,).

    Exact for the 8 Gaussians and the checkerboard (``-inf`` outside its squares); for
    the moons and spirals, the noise density averaged over 4,000 evenly spaced points of
    the curves (a quadrature of the exact integral: against 32,000 points, its error in
    log p averages about 1e-5 over the data and reaches a few 1e-3 only near the centre
    of the spirals, where the points along the curve are furthest apart).
    """
    if name == "checkerboard":
        inside = (x.abs() <= 2).all(dim=1) & (
            (torch.floor(x[:, 0]) + torch.floor(x[:, 1])) % 2 == 0
        )
        return torch.where(inside, -math.log(8.0), -math.inf).to(x.dtype)
    m = 8 if name == "8gaussians" else 4000
    t = (torch.arange(m, dtype=x.dtype, device=x.device) + 0.5) / m
    centres = _curve(name, t).to(x.dtype)
    sd = _NOISE[name]
    log_norm = math.log(len(t)) + math.log(2 * math.pi * sd**2)
    chunks = []
    for part in x.split(
        256
    ):  # 256 x 4000 distances at a time, which stay in the cache
        exponent = torch.cdist(part, centres).square().mul_(-1 / (2 * sd**2))
        chunks.append(torch.logsumexp(exponent, dim=1) - log_norm)
    return torch.cat(chunks)


@contract(name=Choice(*TOY2D), n=Int(low=1), seed=Int(low=0))
def toy2d_entropy(name, n=20_000, seed=0):
    """The differential entropy ``-E[log p(x)]`` in nats: the lower bound of any model's expected NLL.

    Exact for the checkerboard (log 8); a Monte Carlo estimate over ``n`` samples
    otherwise, whose standard error is about 0.01 nats.
    """
    if name == "checkerboard":
        return math.log(8.0)
    x = toy2d(name, n, generator=torch.Generator().manual_seed(seed))
    return -toy2d_log_density(name, x).mean().item()
