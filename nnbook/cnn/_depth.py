r"""Plain and residual networks of growing depth: what the shortcut changes.

He et al. (2016) observed that a plain stack of convolutions trains *worse* as it gets
deeper, although the deeper stack could copy the shallower one by making its extra
layers the identity, and that the same stack with identity shortcuts does not. This
module builds the two networks so that they differ by the shortcuts and nothing else
(:func:`depth_net`, :class:`Residual`), measures the gradient that reaches the first
layer (:func:`first_layer_gradient_norm`), and trains a network while recording its
training loss (:func:`train_losses`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnbook import optim
from nnbook.contract import Flag, Instance, Int, Real, Tensor, contract
from nnbook.train import batches, minimize

__all__ = [
    "Residual",
    "depth_net",
    "first_layer_gradient_norm",
    "train_losses",
]


class Residual(nn.Module):
    r"""A residual unit, :math:`h \mapsto \mathrm{ReLU}(h + \mathcal F(h))`, around ``branch``.

    The original, post-activation unit of He et al. (2016): the ReLU comes after the
    sum, so removing the shortcut leaves the branch followed by a ReLU, which is a
    plain stack.
    """

    @contract(branch=Instance(nn.Module))
    def __init__(self, branch):
        super().__init__()
        self.branch = branch

    @contract("eq-cnn-residual", x=Tensor("N", "C", "H", "W"))
    def forward(self, x):
        """``ReLU(x + F(x))`` for ``x`` of shape (N, C, H, W). Implements :eq:`eq-cnn-residual`."""
        return torch.relu(x + self.branch(x))


@contract(
    depth=Int(low=0),
    residual=Flag(),
    width=Int(low=1),
    batch_norm=Flag(),
    in_channels=Int(low=1),
    num_classes=Int(low=1),
)
def depth_net(
    depth,
    *,
    residual,
    width=8,
    batch_norm=True,
    in_channels=1,
    num_classes=10,
):
    r"""A plain or a residual network with ``depth`` 3x3 convolutions between stem and head.

    The stem is a 3x3 convolution to ``width`` channels, batch norm, a ReLU and a 2x2
    max pooling, which halves the image's height and width as ResNet's stem does
    (and makes every later layer four times cheaper). Then come ``depth``
    convolutions of ``width`` channels, 3x3 with padding 1, which keep that size. In
    the plain network each is followed by batch norm and a ReLU. The residual network
    groups them in pairs, :math:`h \mapsto \mathrm{ReLU}(h + \mathcal F(h))` with
    :math:`\mathcal F` = conv, BN, ReLU, conv, BN (:class:`~nnbook.cnn.Residual`), so
    that deleting its shortcuts gives the plain network, layer for layer. The head
    averages each channel over the image and maps the ``width`` averages to
    ``num_classes`` logits.

    Parameters
    ----------
    depth : int
        The number of convolutions between stem and head; even for a residual
        network. The network has ``depth + 2`` layers with weights.
    residual : bool
        Add an identity shortcut around every pair of convolutions.
    width : int, default 8
        The channels of every convolution.
    batch_norm : bool, default True
        Batch norm after every convolution, which then has no bias (the batch norm's
        shift takes its place).
    in_channels : int, default 1
    num_classes : int, default 10

    Returns
    -------
    torch.nn.Sequential
        The stem, ``depth`` plain layers or ``depth / 2`` residual units, and the head;
        it maps (N, in_channels, H, W), with H and W at least 2, to (N, num_classes)
        logits.

    Examples
    --------
    >>> net = depth_net(4, residual=True)
    >>> [type(m).__name__ for m in net]
    ['Sequential', 'Residual', 'Residual', 'Sequential']
    >>> net(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    if residual and depth % 2:
        raise ValueError(
            f"depth must be even for a residual network (pairs of convolutions), "
            f"got {depth}"
        )

    def conv(c_in, relu=True):  # conv 3x3, (BN), (ReLU)
        layers = [nn.Conv2d(c_in, width, 3, padding=1, bias=not batch_norm)]
        layers += [nn.BatchNorm2d(width)] if batch_norm else []
        layers += [nn.ReLU()] if relu else []
        return layers

    stem = nn.Sequential(*conv(in_channels), nn.MaxPool2d(2))
    if residual:  # ReLU(h + conv-BN-ReLU-conv-BN(h))
        body = [
            Residual(nn.Sequential(*conv(width), *conv(width, relu=False)))
            for _ in range(depth // 2)
        ]
    else:  # conv-BN-ReLU, depth times
        body = [nn.Sequential(*conv(width)) for _ in range(depth)]
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)
    )
    return nn.Sequential(stem, *body, head)


@contract(
    net=Instance(nn.Module),
    X=Tensor("n", ...),
    y=Tensor("n", dtype="int", low=0),
)
def first_layer_gradient_norm(net, X, y):
    r"""The norm of the loss's gradient with respect to the first convolution's weights.

    .. math::

        \Bigl\lVert \frac{\partial J}{\partial W^{(1)}} \Bigr\rVert_F, \qquad
        J = -\frac1n \sum_{i=1}^{n} \log \mathrm{softmax}\bigl(f(x_i)\bigr)_{y_i},

    the Frobenius norm, for the batch ``X``, ``y``. ``net`` is run in the mode it is
    in: in training mode, batch norm uses the batch's statistics, as in a training
    step. The parameters' ``.grad`` are left as they are.

    Parameters
    ----------
    net : torch.nn.Module
        Maps ``X`` to logits (n, K); its first ``Conv2d`` in ``net.modules()`` order
        is the first layer.
    X : Tensor of shape (n, ...)
    y : Tensor of shape (n,), integer dtype
        The labels.

    Returns
    -------
    float
    """
    first = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None:
        raise ValueError(
            f"net must contain a Conv2d, got a {type(net).__name__} without one"
        )
    (grad,) = torch.autograd.grad(F.cross_entropy(net(X), y), first.weight)
    return grad.norm().item()


@contract(
    net=Instance(nn.Module),
    X=Tensor("n", ...),
    y=Tensor("n", dtype="int", low=0),
    epochs=Int(low=1),
    lr=Real(low=0, low_open=True),
    momentum=Real(low=0, high=1, high_open=True),
    batch_size=Int(low=1),
    generator=Instance(torch.Generator),
)
def train_losses(
    net, X, y, *, epochs, lr, momentum=0.9, batch_size=32, generator
):
    """Train ``net`` by SGD with momentum; return its training loss in every epoch.

    Each epoch visits ``X`` in mini-batches shuffled by ``generator``, the last,
    smaller one dropped (:func:`nnbook.train.batches`), and takes one step of
    :class:`nnbook.optim.SGD` on the cross-entropy of each
    (:func:`nnbook.train.minimize`). The training loss of an epoch is the mean of the
    losses of its mini-batches, each taken just before its step, as in the training
    curves of He et al. (2016). Batch norm normalizes by the statistics of the
    mini-batch, as it does in training. (:func:`nnbook.train.fit` records the loss in
    evaluation mode, with the running statistics, which after a short training can
    be far from the ones the network trained with.)

    Parameters
    ----------
    net : torch.nn.Module
        Maps a batch of ``X`` to logits (batch, K); trained in place.
    X : Tensor of shape (n, ...)
    y : Tensor of shape (n,), integer dtype
    epochs : int
    lr : float
        The learning rate.
    momentum : float, default 0.9
    batch_size : int, default 32
    generator : torch.Generator
        Draws the order of the mini-batches.

    Returns
    -------
    list of float
        ``epochs`` values: the mean mini-batch loss of each epoch.
    """
    order = [
        batch
        for _ in range(epochs)
        for batch in batches(
            len(X), batch_size, generator=generator, drop_last=True
        )
    ]
    todo = iter(order)

    def loss():  # the next mini-batch's cross-entropy
        batch = next(todo)
        return F.cross_entropy(net(X[batch]), y[batch])

    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    values = minimize(loss, optimizer, len(order))
    steps = len(order) // epochs  # per epoch
    return [
        sum(values[k : k + steps]) / steps for k in range(0, len(values), steps)
    ]
