r"""The book's one training loop: mini-batches, a loss, an update rule, a history.

It trains either an nnbook network (``forward``/``backward`` by hand) or a
``torch.nn.Module`` (autograd) with the same batches in the same order, so the two can
be compared step for step. The loss is the softmax cross-entropy unless another is
given. The update is plain gradient descent,
:math:`\Theta \leftarrow \Theta - \eta\, \partial J / \partial \Theta`, unless an
optimizer is given; the optimizers chapter is about everything better than that.
A learning-rate schedule and callbacks (to record more, or to stop early) hook into
the end of every epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from nnbook.contract import (
    Flag,
    Instance,
    Int,
    Methods,
    Real,
    Tensor,
    contract,
)
from nnbook.fnn._clipping import clip_by_norm
from nnbook.fnn._losses import (
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from nnbook.fnn._regularization import (
    l1_penalty_backward,
    l1_penalty_forward,
    l2_penalty_backward,
    l2_penalty_forward,
)

__all__ = [
    "EarlyStopping",
    "History",
    "accuracy",
    "batches",
    "count_parameters",
    "fit",
    "flat_gradient",
    "minimize",
    "predict",
]


@contract(model=Methods("parameters"))
def count_parameters(model):
    """The number of trainable numbers in ``model`` (batch-norm running statistics excluded).

    ``model`` is a ``torch.nn.Module`` or an nnbook :class:`~nnbook.fnn.MLP`: anything
    whose ``parameters()`` yields its tensors.
    """
    # An MLP trains every tensor it holds, by its own backward pass, without autograd.
    trained = not isinstance(model, torch.nn.Module)
    return sum(
        p.numel() for p in model.parameters() if trained or p.requires_grad
    )


@contract(
    loss=Instance(Callable),
    optimizer=Methods("step", "zero_grad"),
    steps=Int(low=1),
    scheduler=Methods("step", optional=True),
    callback=Instance(Callable, optional=True),
)
def minimize(loss, optimizer, steps, *, scheduler=None, callback=None):
    """Take ``steps`` steps of ``optimizer`` on ``loss()``, full batch.

    Each step clears the gradients, evaluates the closure ``loss()``, backpropagates
    it and steps the optimizer, then the ``scheduler`` if one is given. This is the
    loop a page writes when every step sees the whole data set; for mini-batches and
    epochs, use :func:`fit`.

    Parameters
    ----------
    loss : callable
        ``loss()`` returns a scalar tensor that depends on the optimizer's parameters.
    optimizer : object with ``step()`` and ``zero_grad()``
        A ``torch.optim`` or :mod:`nnbook.optim` optimizer.
    steps : int
        The number of steps.
    scheduler : object with ``step()``, optional
        Stepped after every step of the optimizer.
    callback : callable, optional
        ``callback(step, value)`` after every step, with ``step`` from 1 and ``value``
        the loss that the step descended, as a float.

    Returns
    -------
    list of float
        The loss before each step.
    """
    values = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        values.append(value.item())
        if callback is not None:
            callback(step, values[-1])
    return values


@dataclass
class History:
    """What :func:`fit` recorded, one entry per epoch (``epoch`` 0 is before training).

    ``seconds`` is the training time so far, and ``train_loss`` the loss over the
    whole training set. The test lists stay empty without test data;
    ``test_accuracy`` is kept when the test targets are integer labels. With
    ``clip_norm``, ``grad_norm`` holds the largest gradient norm of each trained epoch
    (before clipping) and ``clipped_steps`` how many of its steps were clipped, one entry
    per epoch from epoch 1.
    """

    epoch: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    clipped_steps: list[int] = field(default_factory=list)


@contract(
    n=Int(low=0),
    batch_size=Int(low=1),
    generator=Instance(torch.Generator, optional=True),
    drop_last=Flag(),
)
def batches(n, batch_size, *, generator=None, drop_last=False):
    """Shuffled index tensors that cover ``range(n)`` once, ``batch_size`` at a time.

    With ``drop_last`` the final batch is left out when it is smaller than
    ``batch_size`` (its samples come round again in a later, reshuffled epoch).
    """
    order = torch.randperm(n, generator=generator)
    chunks = list(order.split(batch_size))
    if drop_last and len(chunks) > 1 and len(chunks[-1]) < batch_size:
        chunks.pop()
    return chunks


@contract(X=Tensor("n", ...))
def predict(net, X):
    """Logits of ``X`` in evaluation mode (running batch-norm statistics, no dropout)."""
    if isinstance(net, torch.nn.Module):
        net.eval()
        with torch.no_grad():
            out = net(X)
        net.train()
        return out
    return net.forward(X, training=False)


@contract(
    logits=Tensor("n", "K"),
    y=Tensor("n", dtype="int", low=0, high="K"),
    reference="sklearn.metrics.accuracy_score",
)
def accuracy(logits, y):
    """The fraction of rows whose largest logit is at the label."""
    return (logits.argmax(dim=1) == y).double().mean().item()


@contract(
    X=Tensor("n", ...),
    y=Tensor("n", ..., dtype="any"),
    epochs=Int(low=0),
    lr=Real(low=0),
    batch_size=Int(low=1),
    generator=Instance(torch.Generator, optional=True),
    loss=Methods(optional=True),
    optimizer=Methods("step", "zero_grad", optional=True),
    scheduler=Methods("step", optional=True),
    callbacks=Methods(many=True),
    drop_last=Flag(),
    clip_norm=Real(low=0, low_open=True, optional=True),
    l1=Real(low=0),
    l2=Real(low=0),
    progress=Flag(),
)
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
    loss=None,
    optimizer=None,
    scheduler=None,
    callbacks=(),
    drop_last=True,
    clip_norm=None,
    l1=0.0,
    l2=0.0,
    progress=True,
):
    r"""Train a network on mini-batches and record its progress after every epoch.

    Each epoch shuffles the training set with ``generator``, and for every
    mini-batch computes the gradient of ``loss`` and takes one step: plain
    gradient descent with rate ``lr``, or ``optimizer.step()``. After the epoch
    the ``scheduler`` steps, the :class:`History` is extended, and the
    ``callbacks`` run.

    Parameters
    ----------
    net : nnbook MLP or torch.nn.Module
        An nnbook network is differentiated by its own ``backward``; a torch module by
        autograd.
    X : Tensor of shape (n, ...)
        The inputs, one sample per row.
    y : Tensor of shape (n, ...)
        The targets. For the default loss, integer labels of shape (n,).
    epochs : int
        The number of passes over the training set; 0 only records the start.
    lr : float, default 0.1
        The learning rate of plain gradient descent. With ``optimizer`` the
        optimizer's own rate applies, so ``lr`` must be left at its default.
    batch_size : int, default 64
        ``len(X)`` gives full-batch gradient descent, 1 gives stochastic.
    generator : torch.Generator, optional
        Shuffles the mini-batches.
    test : tuple (X_test, y_test), optional
        Evaluated after every epoch: its loss, and its accuracy when ``y_test``
        holds integer labels.
    loss : callable, optional
        ``loss(output, target)`` returns the mean loss of a mini-batch as a
        scalar tensor, differentiable by autograd (``torch.nn.functional.mse_loss``
        for regression, say). The default is the softmax cross-entropy, which an
        nnbook network differentiates by hand. For an nnbook network with any
        other loss, autograd gives the gradient with respect to the output and
        the network's ``backward`` takes it from there.
    optimizer : object with ``step()`` and ``zero_grad()``, optional
        Replaces plain gradient descent: an :mod:`nnbook.optim` or
        ``torch.optim`` optimizer over the parameters of ``net``.
    scheduler : object with ``step()``, optional
        A learning-rate schedule of ``optimizer`` (:mod:`nnbook.optim` or
        ``torch.optim.lr_scheduler``), stepped once at the end of every epoch.
    callbacks : list of callable, default ()
        Each is called as ``callback(epoch, history)`` after every epoch, once
        the epoch is recorded. If one returns True (or any true value),
        training stops after that epoch; the epoch's other callbacks still run.
    drop_last : bool, default True
        Skip the last, smaller mini-batch of each epoch. Its gradient averages over
        few samples, so the same learning rate makes a much noisier step.
    clip_norm : float, optional
        Before every step, rescale the gradients so that their joint norm is at most
        ``clip_norm`` (:func:`nnbook.fnn.clip_by_norm`). History then also records,
        per epoch, the largest norm seen before clipping and how many steps were
        clipped.
    l1, l2 : float, default 0
        The strengths :math:`\lambda_{L1}` and :math:`\lambda_{L2}` of the L1 and L2
        penalties on the weight matrices, :eq:`eq-fnn-l1` and :eq:`eq-fnn-l2`; biases and
        batch-norm parameters are not penalized. Their gradients join the data's
        before any clipping and any optimizer. The recorded losses leave the
        penalties out: they measure the fit to the data.
    progress : bool, default True
        Show a progress bar (``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    History
        One entry per epoch, the state before training as epoch 0.

    Raises
    ------
    TypeError
        If an argument has the wrong type, such as an optimizer without a
        ``zero_grad()`` method or a loss that is not callable; the message names
        the argument.
    ValueError
        If an argument is out of range, or if both ``lr`` (other than its
        default) and ``optimizer`` are given: the optimizer would silently ignore
        ``lr``. Likewise for a ``scheduler`` without an ``optimizer``.

    Examples
    --------
    >>> import torch
    >>> from nnbook.train import fit
    >>> net = torch.nn.Linear(3, 1).double()
    >>> X = torch.randn(32, 3, dtype=torch.float64)
    >>> y = X.sum(dim=1, keepdim=True)
    >>> history = fit(net, X, y, epochs=5, batch_size=8, progress=False,
    ...               loss=torch.nn.functional.mse_loss)
    >>> history.epoch
    [0, 1, 2, 3, 4, 5]
    >>> history.train_loss[-1] < history.train_loss[0]
    True
    """
    if loss is None:  # the labels of the softmax cross-entropy
        Tensor("n", dtype="int", low=0).check("y", y, {"n": len(X)}, {})
    if optimizer is not None and lr != 0.1:  # lr given, not left at its default
        raise ValueError(
            f"lr and optimizer cannot both be given: the optimizer uses its own "
            f"learning rate, so lr={lr} would be ignored"
        )
    if scheduler is not None and optimizer is None:
        raise ValueError(
            "scheduler needs an optimizer whose learning rate it sets; "
            "plain gradient descent (optimizer=None) has none"
        )
    if test is not None and not isinstance(test, tuple | list):
        raise TypeError(
            f"test must be a pair (X_test, y_test), got {type(test).__name__}"
        )
    if test is not None and len(test) != 2:
        raise ValueError(
            f"test must be a pair (X_test, y_test), got {len(test)} items"
        )
    history, seconds = History(), 0.0
    _record(history, net, X, y, test, 0, seconds, loss)
    bar = (
        {} if progress else {"disable": True}
    )  # an explicit False would override TQDM_DISABLE
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", **bar):
        start = time.perf_counter()
        for idx in batches(
            len(X), batch_size, generator=generator, drop_last=drop_last
        ):
            if optimizer is not None:
                optimizer.zero_grad()
            params = _gradients(net, X[idx], y[idx], loss)
            if l1 or l2:
                _penalize(_weights(net), l1, l2)
            if clip_norm is not None:
                _clip(params, clip_norm, history, epoch)
            if optimizer is not None:
                optimizer.step()
            else:
                with torch.no_grad():
                    for p in params:
                        p -= lr * p.grad
        if scheduler is not None:
            scheduler.step()
        seconds += time.perf_counter() - start
        _record(history, net, X, y, test, epoch, seconds, loss)
        stop = [bool(callback(epoch, history)) for callback in callbacks]
        if any(stop):
            break
    return history


def _weights(net):
    """The weight matrices of ``net``: what the L1 and L2 penalties act on."""
    if isinstance(net, torch.nn.Module):
        return [p for p in net.parameters() if p.ndim >= 2]
    return [layer["W"] for layer in net.layers]


def _penalize(weights, l1, l2):
    """Add the gradients of the L1 and L2 penalties to ``.grad`` of ``weights``."""
    for lam, forward, backward in [
        (l1, l1_penalty_forward, l1_penalty_backward),
        (l2, l2_penalty_forward, l2_penalty_backward),
    ]:
        if lam:
            _, cache = forward(weights, lam)
            for W, grad in zip(weights, backward(cache), strict=True):
                W.grad += grad


class EarlyStopping:
    """A callback for :func:`fit` that stops training when the held-out loss stalls.

    After every epoch it reads the last held-out loss that :func:`fit` recorded for
    its ``test`` data, which must then be a validation set, not the test set. It keeps a
    copy of the network at the epoch with the lowest such loss, and stops training
    once ``patience`` epochs have passed without the loss falling below that best by
    more than ``min_delta``. :meth:`restore` then puts the best weights back.

    Parameters
    ----------
    net : nnbook MLP or torch.nn.Module
        The network that :func:`fit` trains. Every tensor it holds is copied,
        batch-norm running statistics included.
    patience : int, default 10
        The number of epochs without improvement before training stops.
    min_delta : float, default 0
        The least decrease of the held-out loss that counts as an improvement.

    Attributes
    ----------
    best_epoch : int or None
        The epoch with the lowest held-out loss so far (None before the first).
    best_loss : float
        That loss.

    Examples
    --------
    >>> import torch
    >>> from nnbook.train import EarlyStopping, fit
    >>> net = torch.nn.Linear(3, 1).double()
    >>> X = torch.randn(64, 3, dtype=torch.float64)
    >>> y = X.sum(dim=1, keepdim=True)
    >>> stop = EarlyStopping(net, patience=5)
    >>> history = fit(net, X[:48], y[:48], epochs=20, batch_size=8, callbacks=[stop],
    ...               test=(X[48:], y[48:]), loss=torch.nn.functional.mse_loss,
    ...               progress=False)
    >>> stop.restore() is net
    True
    """

    @contract(patience=Int(low=1), min_delta=Real(low=0))
    def __init__(self, net, *, patience=10, min_delta=0.0):
        if not (isinstance(net, torch.nn.Module) or hasattr(net, "layers")):
            raise TypeError(
                "net must be an nnbook MLP or a torch.nn.Module, "
                f"got {type(net).__name__}"
            )
        self.net, self.patience, self.min_delta = net, patience, min_delta
        self.best_epoch, self.best_loss, self._best = None, math.inf, None

    def __call__(self, epoch, history):
        """Record ``epoch``; return True when training should stop."""
        if not history.test_loss:
            raise ValueError(
                "EarlyStopping watches the held-out loss, but history.test_loss is "
                "empty: give fit a validation set as test=(X_val, y_val)"
            )
        loss = history.test_loss[-1]
        if loss < self.best_loss - self.min_delta:
            self.best_epoch, self.best_loss = epoch, loss
            self._best = [t.detach().clone() for t in _tensors(self.net)]
        return epoch - self.best_epoch >= self.patience

    def restore(self):
        """Put the weights of the best epoch back into the network; return it."""
        if self._best is None:
            raise ValueError(
                "restore needs a recorded epoch, but the callback has not run yet: "
                "pass it to fit(callbacks=[...]) first"
            )
        with torch.no_grad():
            for t, best in zip(_tensors(self.net), self._best, strict=True):
                t.copy_(best)
        return self.net


def _tensors(net):
    """Every tensor of ``net`` that training changes, in a fixed order."""
    if isinstance(net, torch.nn.Module):
        return list(net.state_dict().values())
    return [t for layer in net.layers for t in layer.values()]


def _clip(params, max_norm, history, epoch):
    """Clip the gradients of ``params`` in place; record the norm for ``epoch``."""
    clipped, norm = clip_by_norm([p.grad for p in params], max_norm)
    for p, grad in zip(params, clipped, strict=True):
        p.grad = grad
    if len(history.grad_norm) < epoch:
        history.grad_norm.append(0.0)
        history.clipped_steps.append(0)
    history.grad_norm[-1] = max(history.grad_norm[-1], norm.item())
    history.clipped_steps[-1] += int(norm.item() > max_norm)


@contract(
    X=Tensor("n", ...),
    y=Tensor("n", ..., dtype="any"),
    loss=Methods(optional=True),
)
def flat_gradient(net, X, y, *, loss=None):
    """The gradient of the mean loss over ``X`` with respect to every parameter, as one vector.

    The parameters are taken in the order of ``net.parameters()``; each gradient is
    flattened, and the pieces are joined. The default loss is the softmax
    cross-entropy, as for :func:`fit`. The parameters' ``.grad`` are left holding the
    gradient.

    Returns
    -------
    Tensor of shape (number of parameters,)
    """
    params = _gradients(net, X, y, loss)
    return torch.cat([p.grad.reshape(-1) for p in params])


def _gradients(net, x, y, loss=None):
    """Set ``.grad`` of every parameter for one mini-batch; return the parameters."""
    if isinstance(net, torch.nn.Module):
        net.zero_grad()
        (F.cross_entropy if loss is None else loss)(net(x), y).backward()
        return list(net.parameters())
    if loss is None:
        _, cache = softmax_cross_entropy_forward(net.forward(x), y)
        net.backward(softmax_cross_entropy_backward(cache), input_grad=False)
        return net.parameters()
    out = net.forward(x).detach().requires_grad_(True)
    with torch.enable_grad():
        loss(out, y).backward()
    net.backward(out.grad, input_grad=False)
    return net.parameters()


def _record(history, net, X, y, test, epoch, seconds, loss=None):
    objective = F.cross_entropy if loss is None else loss
    history.epoch.append(epoch)
    history.seconds.append(seconds)
    with torch.no_grad():
        history.train_loss.append(objective(predict(net, X), y).item())
        if test is not None:
            out = predict(net, test[0])
            history.test_loss.append(objective(out, test[1]).item())
            if loss is None or _labels(out, test[1]):
                history.test_accuracy.append(accuracy(out, test[1]))


def _labels(out, y):
    """Whether ``y`` holds one integer label per row of the 2-D output ``out``."""
    integer = not y.is_floating_point() and y.dtype != torch.bool
    return integer and out.ndim == 2 and y.shape == out.shape[:1]
