r"""A small training loop for classifiers: mini-batches, plain gradient descent, history.

It trains either an nnbook network (``forward``/``backward`` by hand) or a
``torch.nn.Module`` (autograd) with the same batches in the same order, so the two can
be compared step for step. The update is plain gradient descent,
:math:`\Theta \leftarrow \Theta - \eta\, \partial J / \partial \Theta`, unless an
optimizer is given; the optimizers chapter is about everything better than that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from nnbook import _validate as v
from nnbook.feedforward.losses import (
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)

__all__ = ["History", "accuracy", "batches", "fit", "predict"]


@dataclass
class History:
    """What :func:`fit` recorded, one entry per epoch (``epoch`` 0 is before training)."""

    epoch: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # training time so far
    train_loss: list[float] = field(
        default_factory=list
    )  # over the whole training set
    test_accuracy: list[float] = field(
        default_factory=list
    )  # when test data is given


def batches(n, batch_size, *, generator=None, drop_last=False):
    """Shuffled index tensors that cover ``range(n)`` once, ``batch_size`` at a time.

    With ``drop_last`` the final batch is left out when it is smaller than
    ``batch_size`` (its samples come round again in a later, reshuffled epoch).
    """
    v.number("batch_size", batch_size, low=1, integer=True)
    order = torch.randperm(n, generator=generator)
    chunks = list(order.split(batch_size))
    if drop_last and len(chunks) > 1 and len(chunks[-1]) < batch_size:
        chunks.pop()
    return chunks


def predict(net, X):
    """Logits of ``X`` in evaluation mode (running batch-norm statistics, no dropout)."""
    if isinstance(net, torch.nn.Module):
        net.eval()
        with torch.no_grad():
            out = net(X)
        net.train()
        return out
    return net.forward(X, training=False)


def accuracy(logits, y):
    """The fraction of rows whose largest logit is at the label."""
    return (logits.argmax(dim=1) == y).double().mean().item()


def fit(
    net,
    X,
    y,
    *,
    epochs,
    lr=0.1,
    batch_size=64,
    generator=None,
    test=None,
    optimizer=None,
    drop_last=True,
    progress=True,
):
    """Train a classifier with the softmax cross-entropy loss.

    Parameters
    ----------
    net : nnbook MLP or torch.nn.Module
        An nnbook network is differentiated by its own ``backward``; a torch module by
        autograd.
    X : Tensor of shape (n, F_0)
    y : Tensor of shape (n,)
        Integer labels.
    epochs : int
    lr : float, default 0.1
        The learning rate of plain gradient descent (ignored with ``optimizer``).
    batch_size : int, default 64
        ``len(X)`` gives full-batch gradient descent, 1 gives stochastic.
    generator : torch.Generator, optional
        Shuffles the mini-batches.
    test : tuple (X_test, y_test), optional
        Evaluated after every epoch.
    optimizer : object with ``step()``, optional
        Replaces plain gradient descent.
    drop_last : bool, default True
        Skip the last, smaller mini-batch of each epoch. Its gradient averages over
        few samples, so the same learning rate makes a much noisier step.
    progress : bool, default True
        Show a progress bar (``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    History
    """
    v.number("epochs", epochs, low=0, integer=True)
    v.number("lr", lr, low=0)
    history, seconds = History(), 0.0
    _record(history, net, X, y, test, 0, seconds)
    bar = (
        {} if progress else {"disable": True}
    )  # an explicit False would override TQDM_DISABLE
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", **bar):
        start = time.perf_counter()
        for idx in batches(
            len(X), batch_size, generator=generator, drop_last=drop_last
        ):
            params = _gradients(net, X[idx], y[idx])
            if optimizer is not None:
                optimizer.step()
            else:
                with torch.no_grad():
                    for p in params:
                        p -= lr * p.grad
        seconds += time.perf_counter() - start
        _record(history, net, X, y, test, epoch, seconds)
    return history


def _gradients(net, x, y):
    """Set ``.grad`` of every parameter for one mini-batch; return the parameters."""
    if isinstance(net, torch.nn.Module):
        net.zero_grad()
        F.cross_entropy(net(x), y).backward()
        return list(net.parameters())
    _, cache = softmax_cross_entropy_forward(net.forward(x), y)
    net.backward(softmax_cross_entropy_backward(cache), input_grad=False)
    return net.parameters()


def _record(history, net, X, y, test, epoch, seconds):
    history.epoch.append(epoch)
    history.seconds.append(seconds)
    history.train_loss.append(F.cross_entropy(predict(net, X), y).item())
    if test is not None:
        history.test_accuracy.append(accuracy(predict(net, test[0]), test[1]))
