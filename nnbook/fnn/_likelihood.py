r"""The losses as negative log-likelihoods, and the penalties as negative log-priors.

A network that outputs :math:`\hat y` can be read as a model of the targets: Gaussian
noise of spread :math:`\sigma` around :math:`\hat y` for regression, a categorical
distribution with the softmax's probabilities for classification. Maximizing the
likelihood of the training targets under that model is minimizing the mean squared error
(up to a factor and a constant) or the cross-entropy (exactly). A prior on the weights
adds its negative logarithm to the loss: a Gaussian prior gives the L2 penalty, a
Laplace prior the L1 penalty.
"""

from __future__ import annotations

import math

from nnbook.contract import Choice, Real, Tensor, Tensors, contract

__all__ = ["gaussian_nll", "neg_log_prior"]


@contract(
    "eq-fnn-gaussian-nll",
    y_hat=Tensor("T_mb", "F_N"),
    y=Tensor("T_mb", "F_N"),
    sigma=Real(low=0, low_open=True),
    reference="torch.nn.functional.gaussian_nll_loss",
)
def gaussian_nll(y_hat, y, sigma=1.0):
    r"""Mean negative log-likelihood of Gaussian targets. Implements :eq:`eq-fnn-gaussian-nll`.

    Every target is modelled as :math:`y^{(t)} \sim \mathcal N(\hat y^{(t)}, \sigma^2 I)`.
    The result equals the book's mean squared error (:func:`mse_forward`) divided by
    :math:`\sigma^2`, plus :math:`F_N \log(\sigma\sqrt{2\pi})`, which no weight changes.

    Parameters
    ----------
    y_hat : Tensor of shape (T_mb, F_N)
        The network's outputs, the means of the Gaussians.
    y : Tensor of shape (T_mb, F_N)
        The targets.
    sigma : float, default 1.0
        The noise's standard deviation, greater than 0.

    Returns
    -------
    Tensor of shape ()
        :math:`-\frac{1}{T_{mb}} \sum_t \log \mathcal N(y^{(t)}; \hat y^{(t)}, \sigma^2 I)`.
    """
    T_mb, F_N = y.shape
    squares = (y_hat - y).pow(2).sum() / (2 * sigma**2 * T_mb)
    return squares + F_N * math.log(sigma * math.sqrt(2 * math.pi))


@contract(
    "eq-fnn-priors",
    weights=Tensors(),
    scale=Real(low=0, low_open=True),
    kind=Choice("gaussian", "laplace"),
    reference="torch.distributions.Normal, torch.distributions.Laplace",
)
def neg_log_prior(weights, scale, kind="gaussian"):
    r"""Negative log-density of the weights under a prior. Implements :eq:`eq-fnn-priors`.

    Every weight is independent, :math:`\mathcal N(0, s^2)` for ``"gaussian"`` and
    :math:`\text{Laplace}(0, s)` for ``"laplace"``. Up to a constant the first is the L2
    penalty with :math:`\lambda_{L2} = 1/s^2`, the second the L1 penalty with
    :math:`\lambda_{L1} = 1/s`.

    Parameters
    ----------
    weights : list of Tensor
        The weights, of any shapes; biases are usually left out.
    scale : float
        The prior's scale :math:`s`: the standard deviation of the Gaussian, or the
        Laplace's :math:`b`, greater than 0.
    kind : {"gaussian", "laplace"}, default "gaussian"

    Returns
    -------
    Tensor of shape ()
        :math:`-\log p(\Theta)`, summed over every weight.
    """
    n = sum(W.numel() for W in weights)
    if kind == "gaussian":
        squares = sum(W.pow(2).sum() for W in weights)
        return squares / (2 * scale**2) + n * math.log(
            scale * math.sqrt(2 * math.pi)
        )
    absolute = sum(W.abs().sum() for W in weights)
    return absolute / scale + n * math.log(2 * scale)
