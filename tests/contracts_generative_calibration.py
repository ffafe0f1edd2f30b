"""Samples and references for the contracts of the calibration scores of nnbook.generative."""

import numpy as np
import torch
from helpers import generator
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss


def _proba(n=12, k=3, seed=0):
    """Seeded (n, k) probabilities and (n,) labels drawn from them."""
    g = generator(seed)
    proba = torch.softmax(2 * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    return proba, torch.multinomial(proba, 1, generator=g).flatten()


def _binary(n=40, seed=1):
    proba, y = _proba(n, 2, seed)
    return proba[:, 1], y


def _sk_log_loss(log_proba, y):
    proba = log_proba.exp().numpy()
    loss = sk_log_loss(y.numpy(), proba, labels=range(proba.shape[1]))
    return torch.tensor(loss, dtype=log_proba.dtype)


def _sk_brier(proba, y):
    return torch.tensor(brier_score_loss(y.numpy(), proba.numpy()), dtype=proba.dtype)


def _sk_confidence(proba, y, n_bins):
    """scikit-learn's mean predicted probability per bin, the curve's first field."""
    _, confidence = calibration_curve(y.numpy(), proba.numpy(), n_bins=n_bins)
    return torch.tensor(np.asarray(confidence), dtype=proba.dtype)


G = "nnbook.generative."
SAMPLES = {
    G + "log_loss": lambda: ((_proba()[0].log(), _proba()[1]), {}),
    G + "brier_score": lambda: (_binary(), {}),
    G + "reliability_curve": lambda: ((*_binary(), 5), {}),
    G + "expected_calibration_error": lambda: ((*_proba(), 5), {}),
    G + "ece_noise_floor": lambda: ((_binary()[0], 5, 50, generator(2)), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    G + "log_loss": _sk_log_loss,
    G + "brier_score": _sk_brier,
    G + "reliability_curve": _sk_confidence,
}
