r"""A small generative adversarial network trainer.

A GAN learns to *sample* without ever writing down a density. A generator :math:`G` maps
noise :math:`z \sim \mathcal{N}(0, I)` to data space; a discriminator :math:`D` outputs
the logit of "this sample is real". They are trained in turns on the minimax objective
(equation :eq:`eq-gd-gan`),

.. math::
    \min_G \max_D \; \mathbb{E}_{x \sim p_{\text{data}}} \log \sigma(D(x))
    + \mathbb{E}_{z} \log\bigl(1 - \sigma(D(G(z)))\bigr),

with the generator's step using the *non-saturating* loss
:math:`-\log \sigma(D(G(z)))`, whose gradient does not vanish when the discriminator
wins early on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from nnbook.contract import Instance, Int, Real, Tensor, contract

__all__ = ["optimal_discriminator", "train_gan"]


@contract(
    "eq-gd-gan",
    generator=Instance(torch.nn.Module),
    discriminator=Instance(torch.nn.Module),
    latent_dim=Int(low=1),
    steps=Int(low=1),
    batch_size=Int(low=1),
    lr=Real(low=0, low_open=True),
    seed=Int(),
    callback=Instance(Callable, optional=True),
)
def train_gan(
    generator,
    discriminator,
    sample_real,
    *,
    latent_dim,
    steps,
    batch_size=128,
    lr=1e-3,
    seed=0,
    device="cpu",
    callback=None,
):
    """Train ``generator`` and ``discriminator`` in alternation; return their loss curves.

    Parameters
    ----------
    generator : torch.nn.Module
        Maps noise of shape (B, latent_dim) to samples of shape (B, F).
    discriminator : torch.nn.Module
        Maps samples (B, F) to one logit each, (B, 1).
    sample_real : callable
        ``sample_real(batch_size, generator)`` returns a batch of real data (B, F) on the
        CPU, drawn with the given ``torch.Generator``; it is cast to the generator's dtype.
    latent_dim : int
    steps : int
        Alternating updates: one discriminator step, then one generator step.
    batch_size : int, default 128
    lr : float, default 1e-3
        Adam's rate for both networks, with betas (0.5, 0.999) as is usual for GANs.
    seed : int, default 0
        Seeds the noise and the real batches.
    device : str or torch.device, default "cpu"
        Where both networks train. The noise, the real batches and the labels take the
        dtype of ``generator``'s parameters, so that a float64 pair of networks
        (``.double()``) trains in float64 throughout.
    callback : callable, optional
        ``callback(step, generator, discriminator)`` after every step, with ``step``
        from 1: to measure the samples every few hundred steps, say.

    Returns
    -------
    dict
        ``"discriminator"`` and ``"generator"``: the loss at every step.
    """
    if not callable(sample_real):
        raise TypeError(
            f"sample_real must be callable, got {type(sample_real).__name__}"
        )
    rng = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(
        discriminator.parameters(), lr=lr, betas=(0.5, 0.999)
    )
    dtype = next(generator.parameters()).dtype
    ones = torch.ones(batch_size, 1, dtype=dtype, device=device)
    history = {"discriminator": [], "generator": []}
    for step in range(steps):
        real = sample_real(batch_size, rng).to(device, dtype)
        noise = torch.randn(batch_size, latent_dim, generator=rng, dtype=dtype)
        fake = generator(noise.to(device))
        d_loss = F.binary_cross_entropy_with_logits(
            discriminator(real), ones
        ) + F.binary_cross_entropy_with_logits(
            discriminator(fake.detach()), 0 * ones
        )
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        g_loss = F.binary_cross_entropy_with_logits(
            discriminator(fake), ones
        )  # non-saturating
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history["discriminator"].append(d_loss.item())
        history["generator"].append(g_loss.item())
        if callback is not None:
            callback(step + 1, generator, discriminator)
    return history


@contract("eq-gd-gan", p_data=Tensor(), p_g=Tensor(like="p_data"))
def optimal_discriminator(p_data, p_g):
    r"""The best discriminator for a fixed generator: :math:`\sigma(D^*(x))`.

    For a fixed generator, the objective of equation :eq:`eq-gd-gan` is, point by
    point, :math:`p_{\text{data}}(x) \log s + p_G(x) \log(1 - s)` with
    :math:`s = \sigma(D(x))`, a concave function of :math:`s` that is largest at

    .. math:: s^* = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_G(x)} .

    Parameters
    ----------
    p_data, p_g : Tensor
        The data's and the generator's densities at the same points, non-negative,
        not both zero at any point; any shape, the same for both.

    Returns
    -------
    Tensor
        The probability of "real" that the best discriminator gives each point.
    """
    if (p_data < 0).any() or (p_g < 0).any() or ((p_data + p_g) == 0).any():
        raise ValueError(
            "p_data and p_g must be non-negative densities, not both zero at a point"
        )
    return p_data / (p_data + p_g)
