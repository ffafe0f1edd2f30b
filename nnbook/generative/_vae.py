r"""A variational autoencoder: the evidence lower bound and its reparameterized gradient.

A VAE is a latent-variable model :math:`p(x) = \int p(x \mid z)\, p(z)\, dz` with a
standard normal prior :math:`p(z) = \mathcal{N}(0, I)` and a decoder network for
:math:`p(x \mid z)`. The integral is intractable, so an encoder network proposes a
Gaussian :math:`q(z \mid x)`, and both are trained on the evidence lower bound (ELBO,
equation :eq:`eq-gd-elbo`),

.. math::
    \log p(x) \ge \mathbb{E}_{q(z \mid x)} \log p(x \mid z)
    - \mathrm{KL}\bigl(q(z \mid x) \,\|\, p(z)\bigr),

whose gap is :math:`\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))`. The KL term to the
prior is in closed form (:func:`gaussian_kl`); the expectation is estimated with samples
:math:`z = \mu + \sigma \odot \varepsilon` (:func:`reparameterize`), through which
gradients flow. :func:`iwae_bound` is the importance-weighted bound of Burda et al.,
tighter with more samples, used to estimate :math:`\log p(x)` itself. With a
one-dimensional code the integral itself is a quadrature (:func:`log_evidence_1d`),
which measures how far both bounds are from the model's own :math:`\log p(x)`.
"""

from __future__ import annotations

import math

import torch

from nnbook.contract import Flag, Instance, Int, Methods, Real, Tensor, contract

__all__ = [
    "GaussianVAE",
    "elbo",
    "gaussian_kl",
    "gaussian_log_density",
    "iwae_bound",
    "log_evidence_1d",
    "reparameterize",
    "train_vae",
]

_LOG_2PI = math.log(2 * math.pi)


@contract(
    "eq-gd-gaussian-kl",
    mu=Tensor(..., "L"),
    log_var=Tensor(like="mu"),
    reference="torch.distributions.kl_divergence",
)
def gaussian_kl(mu, log_var):
    r"""The KL divergence from a diagonal Gaussian to the standard normal prior.

    Implements :eq:`eq-gd-gaussian-kl`.

    Parameters
    ----------
    mu : torch.Tensor
        The means, shape (..., L).
    log_var : torch.Tensor
        The log-variances :math:`\log \sigma^2`, the shape of ``mu``.

    Returns
    -------
    torch.Tensor
        One divergence per row, shape (...), in nats.

    Notes
    -----
    .. math::
        \mathrm{KL} = \tfrac12 \sum_{j=1}^{L}
        \bigl(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\bigr)
    """
    return 0.5 * (mu.square() + log_var.exp() - 1 - log_var).sum(dim=-1)


@contract(
    "eq-gd-reparameterization",
    mu=Tensor(..., "L"),
    log_var=Tensor(like="mu"),
    eps=Tensor(..., "L"),
)
def reparameterize(mu, log_var, eps):
    r"""Samples of a diagonal Gaussian, as a differentiable function of the noise.

    Implements :eq:`eq-gd-reparameterization`. The sample is differentiable in ``mu``
    and ``log_var``, which is what lets the ELBO be trained by gradient descent.

    Parameters
    ----------
    mu, log_var : torch.Tensor
        Means and log-variances, shape (B, L) (or any (..., L)).
    eps : torch.Tensor
        Standard normal noise that broadcasts against ``mu``: (S, B, L) gives S samples
        for each of the B rows.

    Returns
    -------
    torch.Tensor
        :math:`z`, the broadcast shape of ``eps`` and ``mu``.

    Notes
    -----
    .. math:: z = \mu + \sigma \odot \varepsilon, \qquad
        \sigma = e^{\frac12 \log \sigma^2}, \quad \varepsilon \sim \mathcal{N}(0, I)
    """
    return mu + (0.5 * log_var).exp() * eps


@contract(
    None,
    x=Tensor(..., "D"),
    mean=Tensor(..., "D"),
    log_var=Tensor(..., "D"),
    reference="torch.distributions.Normal.log_prob",
)
def gaussian_log_density(x, mean, log_var):
    r"""The log-density of a diagonal Gaussian, summed over the last dimension.

    Parameters
    ----------
    x, mean, log_var : torch.Tensor
        Shapes (..., D) that broadcast against each other.

    Returns
    -------
    torch.Tensor
        The log-density summed over the last dimension, the broadcast shape without it.

    Notes
    -----
    .. math::
        \log \mathcal{N}(x; m, \operatorname{diag} \sigma^2)
        = -\tfrac12 \sum_{d=1}^{D}
        \Bigl(\log 2\pi + \log \sigma_d^2 + \frac{(x_d - m_d)^2}{\sigma_d^2}\Bigr)
    """
    return -0.5 * (
        _LOG_2PI + log_var + (x - mean).square() / log_var.exp()
    ).sum(dim=-1)


def _decoded(decoder, z, x):
    """``decoder(z)``, checked: a pair (mean, log_var) that broadcasts against ``x``."""
    out = decoder(z)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise TypeError(
            f"decoder must return a pair (mean, log_var), got {type(out).__name__}"
        )
    mean, log_var = out
    want = (*z.shape[:-1], x.shape[-1])
    for name, t in (("mean", mean), ("log_var", log_var)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"decoder must return tensors, got {type(t).__name__} as its {name}"
            )
        try:
            ok = torch.broadcast_shapes(t.shape, want) == want
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"decoder's {name} must broadcast to shape {want} for z of shape "
                f"{tuple(z.shape)}, got {tuple(t.shape)}"
            )
    return mean, log_var


@contract(
    "eq-gd-elbo",
    x=Tensor("B", "D"),
    mu=Tensor("B", "L"),
    log_var=Tensor(like="mu"),
    decoder=Methods(),
    eps=Tensor("S", "B", "L"),
)
def elbo(x, mu, log_var, decoder, eps):
    r"""The evidence lower bound of a Gaussian encoder and a Gaussian decoder, per example.

    Implements :eq:`eq-gd-elbo`: the expected log-likelihood is averaged over the S
    reparameterized samples, and the KL term is the closed form :func:`gaussian_kl`.

    Parameters
    ----------
    x : torch.Tensor
        The data, shape (B, D).
    mu, log_var : torch.Tensor
        The encoder's :math:`q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)`,
        shape (B, L).
    decoder : callable
        ``decoder(z)`` maps latents (S, B, L) to the mean and the log-variance of
        :math:`p(x \mid z)`, each of shape (S, B, D) or broadcasting to it.
    eps : torch.Tensor
        Standard normal noise, shape (S, B, L).

    Returns
    -------
    torch.Tensor
        The estimated ELBO of each example, shape (B,), in nats. Its expectation over
        ``eps`` is at most :math:`\log p(x)`.

    Notes
    -----
    .. math::
        \mathcal{L}(x) \approx \frac1S \sum_{s=1}^{S} \log p(x \mid z_s)
        - \mathrm{KL}\bigl(q(z \mid x) \,\|\, \mathcal{N}(0, I)\bigr), \qquad
        z_s = \mu + \sigma \odot \varepsilon_s
    """
    z = reparameterize(mu, log_var, eps)  # (S, B, L)
    x_mean, x_log_var = _decoded(decoder, z, x)  # (S, B, D)
    expected = gaussian_log_density(x, x_mean, x_log_var).mean(dim=0)  # (B,)
    return expected - gaussian_kl(mu, log_var)


@contract(
    "eq-gd-iwae",
    x=Tensor("B", "D"),
    mu=Tensor("B", "L"),
    log_var=Tensor(like="mu"),
    decoder=Methods(),
    eps=Tensor("K", "B", "L"),
)
def iwae_bound(x, mu, log_var, decoder, eps):
    r"""The importance-weighted lower bound on :math:`\log p(x)` with K samples, per example.

    Implements :eq:`eq-gd-iwae`. With K = 1 it is an unbiased estimate of the ELBO; its
    expectation grows with K towards :math:`\log p(x)`. When :math:`q(z \mid x)` is the
    exact posterior, every weight equals :math:`p(x)` and the bound is exact for any K.

    Parameters
    ----------
    x : torch.Tensor
        The data, shape (B, D).
    mu, log_var : torch.Tensor
        The proposal :math:`q(z \mid x)`, shape (B, L).
    decoder : callable
        As in :func:`elbo`.
    eps : torch.Tensor
        Standard normal noise, shape (K, B, L).

    Returns
    -------
    torch.Tensor
        The bound of each example, shape (B,), in nats.

    Notes
    -----
    .. math::
        \mathcal{L}_K(x) = \log \frac1K \sum_{k=1}^{K}
        \frac{p(x \mid z_k)\, p(z_k)}{q(z_k \mid x)}, \qquad
        z_k = \mu + \sigma \odot \varepsilon_k
    """
    z = reparameterize(mu, log_var, eps)  # (K, B, L)
    x_mean, x_log_var = _decoded(decoder, z, x)  # (K, B, D)
    zeros = torch.zeros_like(z)
    log_w = (
        gaussian_log_density(x, x_mean, x_log_var)  # log p(x | z)
        + gaussian_log_density(z, zeros, zeros)  # log p(z)
        - gaussian_log_density(z, mu, log_var)  # log q(z | x)
    )  # (K, B)
    return torch.logsumexp(log_w, dim=0) - math.log(eps.shape[0])


@contract(
    "eq-gd-vae-evidence",
    x=Tensor("B", "D"),
    decoder=Methods(),
    limit=Real(low=0, low_open=True),
    points=Int(low=3),
)
def log_evidence_1d(x, decoder, *, limit=9.0, points=20_001):
    r"""The exact :math:`\log p(x)` of a model with a one-dimensional code, by quadrature.

    Implements :eq:`eq-gd-vae-evidence`: the integral over the code
    :math:`z \sim \mathcal{N}(0, 1)` is taken with the trapezoidal rule on
    ``points`` evenly spaced codes in :math:`[-\ell, \ell]`, in log space. The prior
    mass outside is :math:`2\Phi(-\ell)`, about :math:`2 \times 10^{-19}` for the
    default :math:`\ell = 9`, so with a decoder that varies smoothly the error is that of
    the rule, of order :math:`h^2` for the spacing :math:`h`.

    Parameters
    ----------
    x : torch.Tensor
        The data, shape (B, D).
    decoder : callable
        ``decoder(z)`` maps codes of shape (points, 1) to the mean and the log-variance of
        the Gaussian :math:`p(x \mid z)`, each of shape (points, D) or broadcasting to it,
        as :meth:`GaussianVAE.decode` does.
    limit : float, default 9.0
        :math:`\ell`, the half-width of the range of codes.
    points : int, default 20001
        The number of codes on the grid, at least 3.

    Returns
    -------
    torch.Tensor
        :math:`\log p(x)` of each row, shape (B,), in nats.

    Notes
    -----
    .. math::
        \begin{aligned}
        \log p(x) &= \log \int p(x \mid z)\, \mathcal{N}(z; 0, 1)\, dz \\
        &\approx \log \sum_{i=1}^{n} w_i\, p(x \mid z_i)\, \mathcal{N}(z_i; 0, 1), \\
        z_i &= -\ell + (i - 1) h, \qquad h = \frac{2\ell}{n - 1},
        \end{aligned}

    with the trapezoidal weights :math:`w_i = h`, halved at the two ends.
    """
    z = torch.linspace(-limit, limit, points, dtype=x.dtype, device=x.device)[
        :, None
    ]
    mean, log_var = _decoded(decoder, z, x)  # (points, D)
    mean, log_var = (t.expand(points, x.shape[-1]) for t in (mean, log_var))
    h = 2 * limit / (points - 1)
    log_weight = torch.full(
        (points,), math.log(h), dtype=x.dtype, device=x.device
    )
    log_weight[[0, -1]] -= math.log(2)
    log_prior = -0.5 * (_LOG_2PI + z[:, 0].square())  # (points,)
    rows = []
    for part in x.split(64):  # (64, points, D) at a time
        log_lik = gaussian_log_density(part[:, None, :], mean, log_var)
        rows.append(torch.logsumexp(log_lik + log_prior + log_weight, dim=1))
    return torch.cat(rows)


def _mlp(inputs, hidden, outputs, dtype):
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden, dtype=dtype),
        torch.nn.Tanh(),
        torch.nn.Linear(hidden, hidden, dtype=dtype),
        torch.nn.Tanh(),
        torch.nn.Linear(hidden, outputs, dtype=dtype),
    )


def _vae_sizes(self):
    """The model's data size and dtype, by name."""
    return {"D": self.features, "dtype": self.decoder_log_var.dtype}


class GaussianVAE(torch.nn.Module):
    r"""A VAE with a Gaussian encoder and a Gaussian decoder, both small MLPs.

    The encoder maps :math:`x` to the mean and log-variance of
    :math:`q(z \mid x)`; the decoder maps :math:`z` to the mean of :math:`p(x \mid z)`,
    whose log-variance is one learned number per feature (the same for every
    :math:`z`). The prior is :math:`\mathcal{N}(0, I)`.

    Parameters
    ----------
    features : int
        D, the size of :math:`x`.
    latent : int
        L, the size of :math:`z`.
    hidden : int, default 64
        Width of the two hidden tanh layers of both networks.
    dtype : torch.dtype, default torch.float64
    """

    @contract(
        features=Int(low=1),
        latent=Int(low=1),
        hidden=Int(low=1),
        dtype=Instance(torch.dtype),
    )
    def __init__(self, features, latent, hidden=64, *, dtype=torch.float64):
        super().__init__()
        self.features, self.latent = features, latent
        self.encoder = _mlp(features, hidden, 2 * latent, dtype)
        self.decoder = _mlp(latent, hidden, features, dtype)
        self.decoder_log_var = torch.nn.Parameter(
            torch.zeros(features, dtype=dtype)
        )

    def encode(self, x):
        """The mean and log-variance of :math:`q(z \\mid x)`, each (B, L), for x (B, D)."""
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z):
        """The mean and log-variance of :math:`p(x \\mid z)`, each (..., D), for z (..., L)."""
        return self.decoder(z), self.decoder_log_var.expand(*z.shape[:-1], -1)

    def _noise(self, shape, generator):
        dtype, device = self.decoder_log_var.dtype, self.decoder_log_var.device
        eps = torch.randn(*shape, generator=generator, dtype=dtype)
        return eps.to(device)

    @contract(
        "eq-gd-elbo",
        x=Tensor("B", "D"),
        samples=Int(low=1),
        generator=Instance(torch.Generator, optional=True),
        bind=_vae_sizes,
    )
    def elbo(self, x, samples=1, *, generator=None):
        """The ELBO of each row of ``x`` (B, D), shape (B,), with ``samples`` draws of z.

        Implements :eq:`eq-gd-elbo` through :func:`nnbook.generative.elbo`.
        """
        mu, log_var = self.encode(x)
        eps = self._noise((samples, *mu.shape), generator)
        return elbo(x, mu, log_var, self.decode, eps)

    @contract(
        "eq-gd-iwae",
        x=Tensor("B", "D"),
        k=Int(low=1),
        generator=Instance(torch.Generator, optional=True),
        bind=_vae_sizes,
    )
    def log_likelihood(self, x, k=100, *, generator=None):
        """The importance-weighted bound with ``k`` samples for each row of ``x``, (B,).

        Implements :eq:`eq-gd-iwae` through :func:`nnbook.generative.iwae_bound`:
        an estimate of :math:`\\log p(x)` from below that tightens as ``k`` grows.
        """
        mu, log_var = self.encode(x)
        eps = self._noise((k, *mu.shape), generator)
        return iwae_bound(x, mu, log_var, self.decode, eps)

    @contract(
        n=Int(low=1),
        generator=Instance(torch.Generator, optional=True),
        noise=Flag(),
    )
    def sample(self, n, *, generator=None, noise=True):
        """``n`` samples of the model, (n, D): z from the prior, then x from the decoder.

        With ``noise=False``, the decoder's means instead: the curve or surface on which
        the model puts its mass, before the Gaussian noise of :math:`p(x \\mid z)`.
        """
        z = self._noise((n, self.latent), generator)
        mean, log_var = self.decode(z)
        if not noise:
            return mean
        return reparameterize(mean, log_var, self._noise(mean.shape, generator))


@contract(
    "eq-gd-elbo",
    model=Instance(GaussianVAE),
    X=Tensor("n", "D"),
    steps=Int(low=1),
    batch_size=Int(low=1),
    lr=Real(low=0, low_open=True),
    seed=Int(),
)
def train_vae(model, X, *, steps, batch_size=128, lr=3e-3, seed=0):
    """Train ``model`` with Adam on minus the ELBO of random mini-batches of ``X``.

    Implements :eq:`eq-gd-elbo`: one reparameterized sample of z per example and
    step, the gradient of the estimate taken through the samples by autograd. The
    learning rate falls from ``lr`` to zero along a cosine over the ``steps``.

    Parameters
    ----------
    model : GaussianVAE
        Trained in place; ``X`` is moved to its device and dtype.
    X : torch.Tensor
        The training data, shape (n, D).
    steps : int
        Number of Adam steps.
    batch_size : int, default 128
    lr : float, default 3e-3
        The initial learning rate.
    seed : int, default 0
        Seeds the mini-batches and the noise.

    Returns
    -------
    list of float
        Minus the mean ELBO of the mini-batch at every step, in nats per example.
    """
    if X.shape[1] != model.features:
        raise ValueError(
            f"X must have {model.features} features like the model, got {X.shape[1]}"
        )
    rng = torch.Generator().manual_seed(seed)
    parameter = model.decoder_log_var
    X = X.to(parameter.device, parameter.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    history = []
    for _ in range(steps):
        rows = torch.randint(0, len(X), (batch_size,), generator=rng)
        loss = -model.elbo(X[rows.to(X.device)], generator=rng).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append(loss.item())
    return history
