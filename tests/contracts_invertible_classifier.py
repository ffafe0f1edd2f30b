"""Samples and references for the contracts of nnbook.invertible's dense i-ResNet classifier."""

import math

import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.invertible import _classifier as classifier


def _blank(cls):
    """An instance whose ``__init__`` has not run yet: the ``self`` of a constructor call."""
    return cls.__new__(cls)


def _dense(coeff=0.9):
    """A small dense classifier in float64 and eval mode, its power iterations settled."""
    torch.manual_seed(0)
    net = classifier.DenseIResNetClassifier(4, 3, coeff, hidden=5, n_blocks=2).double()
    with torch.no_grad():
        for _ in range(100):
            net(randn(2, 4))
    return net.eval()


def _plain_forward(net, x):
    """``x + g(x)`` per block, then the head: torch.nn.functional, by hand."""
    for block in net.blocks:
        h = x
        for module in block.g:
            if isinstance(module, torch.nn.Linear):
                h = F.linear(h, module.weight, module.bias)
            else:  # LipSwish: x sigmoid(beta x) / 1.1 = silu(beta x) / (1.1 beta)
                beta = F.softplus(module.raw_beta)
                h = F.silu(beta * h) / (1.1 * beta)
        x = x + h
    return F.linear(x, net.head.weight, net.head.bias)


def _bounds(net):
    L = [block.lipschitz for block in net.blocks]
    return math.prod(1 - v for v in L), math.prod(1 + v for v in L)


P = "nnbook.invertible."
SAMPLES = {
    P + "dense_branch": lambda: ((4, 5, 0.9), {"layers": 3}),
    P + "DenseIResNetClassifier.__init__": lambda: (
        (_blank(classifier.DenseIResNetClassifier), 4, 3),
        {"hidden": 5, "n_blocks": 2},
    ),
    P + "DenseIResNetClassifier.features": lambda: ((_dense(), randn(2, 4)), {}),
    P + "DenseIResNetClassifier.forward": lambda: ((_dense(None), randn(2, 4)), {}),
    P + "DenseIResNetClassifier.block_inputs": lambda: ((_dense(), randn(2, 4)), {}),
    P + "DenseIResNetClassifier.invert_features": lambda: (
        (_dense(), randn(2, 4)),
        {"tol": 1e-12},
    ),
    P + "DenseIResNetClassifier.distance_bounds": lambda: ((_dense(),), {}),
    P + "DenseIResNetClassifier.exact_lipschitz": lambda: ((_dense(),), {}),
}


def _exact_lipschitz(net):
    """Per block, the product of the largest singular values (torch.linalg.svdvals) of the normalized weights."""
    out = []
    for block in net.blocks:
        product = torch.tensor(1.0, dtype=torch.float64)
        for m in block.g:
            if hasattr(m, "coeff"):  # W / max(1, sigma / c), with the exact sigma
                sigma = torch.linalg.svdvals(m.weight)[0]
                product = product * sigma / torch.clamp(sigma / m.coeff, min=1.0)
        out.append(product)
    return torch.stack(out)


#: The reference each function is compared with, given the same call.
REFERENCES = {
    P + "DenseIResNetClassifier.forward": _plain_forward,
    P + "DenseIResNetClassifier.distance_bounds": lambda self: _bounds(self)[0],
    P + "DenseIResNetClassifier.exact_lipschitz": _exact_lipschitz,
}
