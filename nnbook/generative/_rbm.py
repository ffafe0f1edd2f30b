r"""The restricted Boltzmann machine with binary visible and hidden units.

An RBM assigns every pair of a visible vector :math:`v \in \{0, 1\}^V` and a hidden vector
:math:`h \in \{0, 1\}^H` an energy (equation :eq:`eq-gd-rbm-energy`),

.. math:: E(v, h) = -b^\top v - c^\top h - h^\top W v,

and a probability :math:`p(v, h) = e^{-E(v, h)} / Z`. Units of one layer are independent
given the other layer, which makes Gibbs sampling and the free energy cheap, while
:math:`Z`, a sum over :math:`2^{V + H}` states, is intractable except for tiny models.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from nnbook.contract import Instance, Int, Real, Tensor, contract
from nnbook.generative._estimator import NotFittedError, check_X

__all__ = ["BernoulliRBM", "binary_states"]

#: Exact likelihoods enumerate 2**units states of the smaller layer; this is the limit.
MAX_ENUMERATED_UNITS = 20


def _sizes(self):
    """The fitted model's layer sizes and dtype, by name; refuses an unfitted model."""
    self._check_fitted()
    H, V = self.W_.shape
    return {"H": H, "V": V, "dtype": self.W_.dtype}


def _binary(name, X):
    """``X`` if every entry is 0 or 1, else a ValueError naming it."""
    if not ((X == 0) | (X == 1)).all():
        bad = X[(X != 0) & (X != 1)][:3].tolist()
        raise ValueError(
            f"{name} must be binary (0 or 1) for a Bernoulli RBM, got values "
            f"such as {bad}; threshold it first, for example {name} > 0.5"
        )
    return X


class BernoulliRBM:
    r"""A binary RBM trained by contrastive divergence (CD-k).

    Parameters
    ----------
    n_hidden : int, default 64
    lr : float, default 0.05
        Learning rate of the CD updates, applied to mini-batch means.
    k : int, default 1
        Gibbs steps per update (CD-k, equation :eq:`eq-gd-cd`).
    epochs : int, default 10
    batch_size : int, default 32
    seed : int, default 0
        Seeds the initial weights, the mini-batch order and every Gibbs sample.

    Attributes
    ----------
    W_ : Tensor of shape (H, V)
    b_ : Tensor of shape (V,)
        Visible biases.
    c_ : Tensor of shape (H,)
        Hidden biases.
    """

    @contract(
        n_hidden=Int(low=1),
        lr=Real(low=0, low_open=True),
        k=Int(low=1),
        epochs=Int(low=1),
        batch_size=Int(low=1),
        seed=Int(),
    )
    def __init__(
        self, n_hidden=64, *, lr=0.05, k=1, epochs=10, batch_size=32, seed=0
    ):
        self.n_hidden, self.lr, self.k = n_hidden, lr, k
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed

    # -- the model ------------------------------------------------------------------
    @contract(
        "eq-gd-rbm-energy",
        v=Tensor("n", "V"),
        h=Tensor("n", "H"),
        bind=_sizes,
    )
    def energy(self, v, h):
        """:math:`E(v, h)` for paired rows of ``v`` (n, V) and ``h`` (n, H), shape (n,)."""
        return -(v @ self.b_) - (h @ self.c_) - ((h @ self.W_) * v).sum(dim=1)

    @contract("eq-gd-rbm-conditionals", v=Tensor("n", "V"), bind=_sizes)
    def h_given_v(self, v):
        r""":math:`p(h_j = 1 \mid v) = \sigma(c_j + W_{j\cdot} v)`, shape (n, H).

        Equation :eq:`eq-gd-rbm-conditionals`.
        """
        return torch.sigmoid(v @ self.W_.T + self.c_)

    @contract("eq-gd-rbm-conditionals", h=Tensor("n", "H"), bind=_sizes)
    def v_given_h(self, h):
        r""":math:`p(v_i = 1 \mid h) = \sigma(b_i + W_{\cdot i}^\top h)`, shape (n, V)."""
        return torch.sigmoid(h @ self.W_ + self.b_)

    @contract("eq-gd-rbm-free-energy", v=Tensor("n", "V"), bind=_sizes)
    def free_energy(self, v):
        r"""The free energy :math:`F(v) = -\log \sum_h e^{-E(v, h)}`, shape (n,).

        .. math:: F(v) = -b^\top v - \sum_j \log\bigl(1 + e^{c_j + W_{j\cdot} v}\bigr)

        Equation :eq:`eq-gd-rbm-free-energy`; then :math:`p(v) = e^{-F(v)} / Z`.
        """
        v = _binary("v", v)
        return -(v @ self.b_) - F.softplus(v @ self.W_.T + self.c_).sum(dim=1)

    def log_partition(self):
        r""":math:`\log Z`, exactly, by enumerating the states of the smaller layer."""
        self._check_fitted()
        H, V = self.W_.shape
        if min(H, V) > MAX_ENUMERATED_UNITS:
            raise ValueError(
                f"log_partition enumerates 2**min(V, H) states; V = {V} and H = {H} are both above "
                f"{MAX_ENUMERATED_UNITS}"
            )
        if V <= H:
            states = binary_states(V, self.W_.dtype)
            return torch.logsumexp(-self.free_energy(states), dim=0)
        states = binary_states(
            H, self.W_.dtype
        )  # the free energy of h, by symmetry
        return torch.logsumexp(
            states @ self.c_
            + F.softplus(states @ self.W_ + self.b_).sum(dim=1),
            dim=0,
        )

    @contract()
    def log_likelihood(self, X):
        r"""The mean exact :math:`\log p(v)` over the rows of ``X``: tiny models only."""
        X = self._check_binary(X)
        return (-self.free_energy(X) - self.log_partition()).mean().item()

    # -- sampling and training --------------------------------------------------------
    @contract(
        v=Tensor("n", "V"),
        steps=Int(low=0),
        generator=Instance(torch.Generator, optional=True),
        bind=_sizes,
    )
    def gibbs(self, v, steps=1, *, generator=None):
        """Run ``steps`` rounds of block Gibbs sampling v -> h -> v; return the final v sample."""
        generator = self._generator if generator is None else generator
        for _ in range(steps):
            h = torch.bernoulli(self.h_given_v(v), generator=generator)
            v = torch.bernoulli(self.v_given_h(h), generator=generator)
        return v

    @contract(
        n=Int(low=1),
        steps=Int(low=0),
        generator=Instance(torch.Generator, optional=True),
    )
    def sample(self, n, steps=1000, *, generator=None):
        """``n`` samples from Gibbs chains started at uniformly random visible vectors."""
        self._check_fitted()
        generator = self._generator if generator is None else generator
        start = torch.bernoulli(
            torch.full((n, self.W_.shape[1]), 0.5, dtype=self.W_.dtype),
            generator=generator,
        )
        return self.gibbs(start, steps, generator=generator)

    @contract()
    def fit(self, X):
        """Initialize and train for ``epochs`` passes of CD-k over ``X`` (n, V) in {0, 1}; return self."""
        X = self._check_binary(X, fitted=False)
        self._generator = torch.Generator().manual_seed(self.seed)
        V = X.shape[1]
        self.W_ = 0.01 * torch.randn(
            self.n_hidden, V, generator=self._generator, dtype=X.dtype
        )
        mean = X.mean(dim=0).clamp(1e-3, 1 - 1e-3)
        self.b_ = torch.log(
            mean / (1 - mean)
        )  # visible biases start at the data's log-odds
        self.c_ = torch.zeros(self.n_hidden, dtype=X.dtype)
        self.reconstruction_error_ = []
        for _ in range(self.epochs):
            self.partial_fit(X)
        return self

    @contract("eq-gd-cd")
    def partial_fit(self, X):
        r"""One pass of CD-k over ``X`` in shuffled mini-batches; return self.

        For each mini-batch :math:`v^{(0)}`, the chain :math:`v^{(0)} \to h \to \dots \to v^{(k)}`
        gives the update :math:`\Delta W = \eta \bigl(\langle h v^\top \rangle_{0} - \langle h v^\top \rangle_{k}\bigr)`
        with hidden probabilities in place of samples in both terms (equation :eq:`eq-gd-cd`).
        """
        if not hasattr(self, "W_"):
            return self.fit(X)
        X = self._check_binary(X)
        order = torch.randperm(len(X), generator=self._generator)
        error = 0.0
        for start in range(0, len(X), self.batch_size):
            v0 = X[order[start : start + self.batch_size]]
            p0 = self.h_given_v(v0)
            vk = self.gibbs(v0, self.k)
            pk = self.h_given_v(vk)
            m = len(v0)
            self.W_ += self.lr * (p0.T @ v0 - pk.T @ vk) / m
            self.b_ += self.lr * (v0 - vk).mean(dim=0)
            self.c_ += self.lr * (p0 - pk).mean(dim=0)
            error += ((v0 - self.v_given_h(p0)) ** 2).sum().item()
        self.reconstruction_error_.append(error / len(X))
        return self

    @contract()
    def transform(self, X):
        """The hidden probabilities of ``X``: features for a downstream classifier, shape (n, H)."""
        return self.h_given_v(self._check_binary(X))

    # -- checks ---------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "W_"):
            raise NotFittedError(
                "this BernoulliRBM is not fitted yet: call fit(X) first"
            )

    def _check_binary(self, X, fitted=True):
        if fitted:
            self._check_fitted()
        X = check_X(X, n_features=self.W_.shape[1] if fitted else None)
        return _binary("X", X)


@contract(n=Int(low=0, high=MAX_ENUMERATED_UNITS), dtype=Instance(torch.dtype))
def binary_states(n, dtype=torch.float64):
    """All 2**n binary vectors of length n, shape (2**n, n), for ``n`` up to 20."""
    return torch.tensor(
        list(itertools.product([0, 1], repeat=n)), dtype=dtype
    ).reshape(2**n, n)
