r"""The training recipe of the convolutional chapter's LeNet experiments.

Both pages that train LeNet, and the fully connected network it is compared with, use
one recipe: SGD with momentum from :mod:`nnbook.optim`, the learning rate divided by ten
after a fixed number of epochs (:class:`nnbook.optim.StepLR`), shuffled mini-batches
from :func:`nnbook.train.batches` with the last, smaller one dropped, the cross-entropy
loss, and the test accuracy measured after every epoch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm import tqdm

import nnbook
from nnbook import optim
from nnbook.contract import Instance, Int, Real, Tensor, contract
from nnbook.train import accuracy, batches, predict

__all__ = ["train_classifier"]


@contract(
    net=Instance(torch.nn.Module),
    X=Tensor("n", ...),
    y=Tensor("n", dtype="int", low=0),
    test=Instance(tuple),
    seed=Int(low=0, high=999),
    epochs=Int(low=1),
    lr=Real(low=0, low_open=True),
    momentum=Real(low=0, high=1, high_open=True),
    step_size=Int(low=1),
    gamma=Real(low=0, high=1, low_open=True),
    batch_size=Int(low=1),
    augment=Instance(object, optional=True),
)
def train_classifier(
    net,
    X,
    y,
    test,
    seed,
    epochs=10,
    *,
    lr=0.05,
    momentum=0.9,
    step_size=6,
    gamma=0.1,
    batch_size=64,
    augment=None,
):
    """Train a classifier with SGD, momentum and a step decay; return its test curve.

    Each epoch visits the training set in mini-batches drawn by
    ``nnbook.generator(seed)``, dropping the last batch when it is smaller,
    takes one SGD step on the cross-entropy of each, then multiplies the learning rate
    by ``gamma`` every ``step_size`` epochs and measures the test accuracy in evaluation
    mode. ``augment``, when given, transforms each mini-batch before the step, drawing
    from the same generator (data augmentation, such as
    :func:`~nnbook.cnn.random_shift`).

    Parameters
    ----------
    net : torch.nn.Module
        Maps a batch of ``X`` to logits (batch, K); trained in place.
    X : Tensor of shape (n, ...)
        The training inputs, on the device of ``net``.
    y : Tensor of shape (n,), integer dtype
        The training labels.
    test : tuple (X_test, y_test)
        The test inputs and labels.
    seed : int
        The random stream of the mini-batch order.
    epochs : int, default 10
    lr : float, default 0.05
        The initial learning rate.
    momentum : float, default 0.9
    step_size : int, default 6
        The learning rate is multiplied by ``gamma`` after every ``step_size`` epochs.
    gamma : float, default 0.1
    batch_size : int, default 64
    augment : callable, optional
        Called as ``augment(X_batch, generator=g)``; returns the batch to train on.

    Returns
    -------
    list of float
        The test accuracy after each epoch.
    """
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment must be callable or None, got {type(augment).__name__}"
        )
    if len(test) != 2:
        raise ValueError(
            f"test must be a pair (X_test, y_test), got {len(test)} items"
        )
    g = nnbook.generator(seed)
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    schedule = optim.StepLR(optimizer, step_size=step_size, gamma=gamma)
    curve = []
    for _ in tqdm(range(epochs), desc="epochs"):
        for batch in batches(len(X), batch_size, generator=g, drop_last=True):
            optimizer.zero_grad()
            inputs = (
                X[batch] if augment is None else augment(X[batch], generator=g)
            )
            F.cross_entropy(net(inputs), y[batch]).backward()
            optimizer.step()
        schedule.step()
        curve.append(accuracy(predict(net, test[0]), test[1]))
    return curve
