r"""What every scikit-learn-style estimator of nnbook shares: input checks and prediction.

Inputs may be numpy arrays or torch tensors; they are converted to float64 tensors.
Fitted attributes end with ``_``. A classifier implements ``_log_scores(X)``, of shape
(n, K): any score that differs from :math:`\log p(y = k \mid x)` by a constant per row,
such as the joint log-likelihood of a generative model or the logits of a discriminative
one. It inherits ``predict_log_proba``, ``predict_proba``, ``predict`` and ``score``.
"""

from __future__ import annotations

import numpy as np
import torch

from nnbook import _validate
from nnbook.contract import Int, contract

__all__ = ["Classifier", "NotFittedError", "check_X", "check_Xy"]


class NotFittedError(RuntimeError):
    """An estimator was used before its ``fit`` method."""


@contract(n_features=Int(low=1, optional=True))
def check_X(X, *, n_features=None, name="X"):
    """``X`` as a float64 tensor of shape (n, F): finite, 2-D, with ``n_features`` columns if given."""
    if isinstance(X, np.ndarray | list):
        X = torch.as_tensor(np.asarray(X))
    elif not isinstance(X, torch.Tensor):
        raise TypeError(
            f"{name} must be a numpy array or torch tensor, got {type(X).__name__}"
        )
    dims = {} if n_features is None else {"F": n_features}
    X = _validate.tensor(name, X, shape=("n", "F"), dims=dims, floating=False)
    X = X.double()
    if len(X) == 0:
        raise ValueError(
            f"{name} must hold at least one sample, got shape {tuple(X.shape)}"
        )
    if not torch.isfinite(X).all():
        bad = (~torch.isfinite(X)).any(dim=1).nonzero().flatten()[:3].tolist()
        raise ValueError(
            f"{name} must be finite, but rows {bad} contain NaN or inf"
        )
    return X


@contract(min_classes=Int(low=1))
def check_Xy(X, y, *, min_classes=2):
    """``X`` (n, F) float64 and ``y`` (n,) int64, with the same n and at least ``min_classes`` classes."""
    X = check_X(X)
    y = torch.as_tensor(y if isinstance(y, torch.Tensor) else np.asarray(y))
    y = _validate.tensor(
        "y", y, shape=("n",), dims={"n": len(X)}, floating=False
    )
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ValueError(
            "y must hold class labels (integers), got non-integer values"
        )
    classes, y = torch.unique(y.long(), return_inverse=True)
    if len(classes) < min_classes:
        raise ValueError(
            f"y must contain at least {min_classes} classes, got {len(classes)}: {classes.tolist()}"
        )
    return X, y, classes


class Classifier:
    """Shared prediction for classifiers that define ``_log_scores``."""

    def _check_fitted(self):
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(X, y) first"
            )

    def _check_X(self, X):
        self._check_fitted()
        return check_X(X, n_features=self.n_features_in_)

    def predict_log_proba(self, X):
        r"""Log posterior :math:`\log p(y = k \mid x)`, shape (n, K), classes in the order of ``classes_``."""
        joint = self._log_scores(self._check_X(X))
        return joint - torch.logsumexp(joint, dim=1, keepdim=True)

    def predict_proba(self, X):
        r"""Posterior :math:`p(y = k \mid x)`, shape (n, K); each row sums to 1."""
        return self.predict_log_proba(X).exp()

    def predict(self, X):
        """The most probable class of each row, shape (n,), as a label from ``classes_``."""
        best = self.predict_log_proba(X).argmax(dim=1)
        return self.classes_[best]

    def score(self, X, y):
        """Accuracy on ``(X, y)``."""
        y = torch.as_tensor(
            np.asarray(y) if not isinstance(y, torch.Tensor) else y
        )
        return (self.predict(X) == y).double().mean().item()
