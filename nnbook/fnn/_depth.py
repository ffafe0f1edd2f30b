r"""What depth buys: ReLU networks built by hand, and the pieces they cut a line into.

A ReLU network of one input computes a piecewise-linear function. One hidden layer of
:math:`W` neurons bends it at most :math:`W` times, so it has at most :math:`W + 1`
linear pieces; :func:`interpolant` builds one that follows any polyline, which is
the universal approximation theorem in one dimension. Stacking layers multiplies
the pieces instead of adding them: :func:`sawtooth` composes the tent map with two
neurons per layer, and doubles the pieces with every layer. :func:`linear_regions`
counts the pieces a network actually has on a grid.
"""

from __future__ import annotations

import torch

from nnbook.contract import Instance, Int, Tensor, contract
from nnbook.fnn._mlp import MLP

__all__ = ["interpolant", "linear_regions", "sawtooth"]


def _increasing(knots_x, knots_y):
    if len(knots_x) < 2:
        raise ValueError(
            f"knots_x must hold at least 2 knots, got {len(knots_x)}"
        )
    if not bool((knots_x[1:] > knots_x[:-1]).all()):
        raise ValueError("knots_x must be strictly increasing")
    return {}


@contract(
    knots_x=Tensor("K"),
    knots_y=Tensor("K"),
    equation="eq-fnn-interpolant",
)
def interpolant(knots_x, knots_y):
    r"""A one-hidden-layer ReLU network equal to the polyline through the knots.

    On :math:`[x_0, x_{K-1}]` the network computes the piecewise-linear interpolant of
    the points :math:`(x_i, y_i)`, with one hidden neuron per segment,

    .. math::

        \hat f(x) = y_0 + \sum_{i=0}^{K-2} (s_i - s_{i-1})\, \max(0, x - x_i),
        \qquad s_i = \frac{y_{i+1} - y_i}{x_{i+1} - x_i},\ s_{-1} = 0 .

    Implements :eq:`eq-fnn-interpolant`. Left of :math:`x_0` it is constant, right of
    :math:`x_{K-1}` it continues the last segment.

    Parameters
    ----------
    knots_x : Tensor of shape (K,)
        Strictly increasing inputs, at least 2.
    knots_y : Tensor of shape (K,)
        The values there.

    Returns
    -------
    MLP
        A 1-(K-1)-1 ReLU network, in the dtype and on the device of ``knots_x``.

    Examples
    --------
    >>> x = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    >>> net = interpolant(x, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    >>> net.forward(torch.tensor([[0.5], [1.5]], dtype=torch.float64)).flatten()
    tensor([0.5000, 0.5000], dtype=torch.float64)
    """
    _increasing(knots_x, knots_y)
    slopes = (knots_y[1:] - knots_y[:-1]) / (knots_x[1:] - knots_x[:-1])
    change = slopes - torch.cat([slopes.new_zeros(1), slopes[:-1]])
    K = len(knots_x)
    net = MLP([1, K - 1, 1], dtype=knots_x.dtype, device=knots_x.device)
    hidden, out = net.layers
    hidden["W"] = torch.ones_like(hidden["W"])
    hidden["b"] = -knots_x[:-1].clone()
    out["W"] = change[None, :].clone()
    out["b"] = knots_y[:1].clone()
    return net


@contract(depth=Int(low=1), dtype=Instance(torch.dtype), equation="eq-fnn-tent")
def sawtooth(depth, *, dtype=torch.float64):
    r"""A ReLU network of width 2 and ``depth`` hidden layers: the tent map, composed.

    The tent map :math:`t(x) = 2\max(0, x) - 4\max(0, x - \tfrac12)` folds
    :math:`[0, 1]` onto itself: it rises from 0 to 1 and falls back. Each hidden layer
    computes the two ReLUs of :math:`t` from the previous layer's :math:`t`, so the
    network computes :math:`t^{\circ\,\text{depth}}`, which has
    :math:`2^{\text{depth}-1}` teeth and :math:`2^{\text{depth}}` linear pieces on
    :math:`[0, 1]`, from :math:`6\,\text{depth} + 1` parameters: :eq:`eq-fnn-tent`.

    Parameters
    ----------
    depth : int
        The number of hidden layers, at least 1.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    MLP
        A 1-2-...-2-1 ReLU network.

    Examples
    --------
    >>> net = sawtooth(2)
    >>> x = torch.tensor([[0.0], [0.25], [0.5], [0.75], [1.0]], dtype=torch.float64)
    >>> net.forward(x).flatten()
    tensor([0., 1., 0., 1., 0.], dtype=torch.float64)
    """
    net = MLP([1, *[2] * depth, 1], dtype=dtype)
    fold = torch.tensor([[2.0, -4.0]], dtype=dtype)  # t from the two ReLUs
    for nu, layer in enumerate(net.layers):
        incoming = torch.ones(1, 1, dtype=dtype) if nu == 0 else fold
        if nu == depth:
            layer["W"], layer["b"] = fold.clone(), torch.zeros(1, dtype=dtype)
        else:
            layer["W"] = incoming.expand(2, -1).clone()
            layer["b"] = torch.tensor([0.0, -0.5], dtype=dtype)
    return net


@contract(net=Instance(MLP), x=Tensor("n", 1))
def linear_regions(net, x):
    """The number of linear pieces of a ReLU network of one input, along the inputs ``x``.

    Each piece of a ReLU network's function has its own pattern of active and inactive
    neurons, so walking along the sorted inputs and counting the changes of that
    pattern counts the pieces. The patterns are read halfway between neighbouring
    inputs, so that a kink that falls exactly on an input counts once. A piece
    narrower than the spacing of ``x`` can be missed; a neuron that switches without
    changing the output's slope (because the layers after it ignore it) is counted.
    For the constructions of this module, on a fine grid, the count is exact; for a
    trained network it is an upper bound on the pieces of its output.

    Parameters
    ----------
    net : MLP
        A network with ``activation="relu"``, one input and no batch normalization.
    x : Tensor of shape (n, 1)
        The inputs, sorted in increasing order, at least 2.

    Returns
    -------
    int

    Examples
    --------
    >>> x = torch.linspace(0, 1, 1025, dtype=torch.float64)[:, None]
    >>> linear_regions(sawtooth(3), x)
    8
    """
    if net.activation != "relu" or net.batch_norm:
        raise ValueError(
            "net must be a ReLU network without batch normalization, got "
            f"activation={net.activation!r}, batch_norm={net.batch_norm}"
        )
    if len(x) < 2 or not bool((x[1:] > x[:-1]).all()):
        raise ValueError(
            f"x must hold at least 2 inputs in increasing order, got {len(x)} inputs"
            + ("" if len(x) < 2 else " out of order")
        )
    patterns, h = (
        [],
        (x[1:] + x[:-1]) / 2,
    )  # between the inputs, off any kink on them
    for layer in net.layers[:-1]:
        a = h @ layer["W"].T + layer["b"]
        patterns.append(a > 0)
        h = torch.relu(a)
    pattern = torch.cat(patterns, dim=1)
    changes = (pattern[1:] != pattern[:-1]).any(dim=1)
    return 1 + int(changes.sum())
