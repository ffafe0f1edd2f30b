"""i-ResNet classifiers: invertible residual blocks, then a linear head.

:class:`IResNetClassifier` pads images with zero channels (an injective map) and
passes them through convolutional blocks; :class:`DenseIResNetClassifier` works on
vectors with dense blocks and needs no padding.

Only the head loses information. The features before it determine the input: the
blocks are inverted by fixed-point iteration and the padding is dropped. With
``coeff=None`` the same network is built from plain convolutions, an ordinary ResNet
(or plain dense layers) with no Lipschitz bound and no guarantee of invertibility: the
baseline.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.contract import Int, Real, Tensor, contract
from nnbook.invertible._blocks import (
    InvertibleResidualBlock,
    LipSwish,
    mlp_block,
)
from nnbook.invertible._spectral import (
    SpectralNormConv2d,
    SpectralNormLinear,
    _image_size,
)

#: A spectral-norm bound in (0, 1), or None for plain convolutions.
_COEFF_OR_NONE = Real(
    low=0, high=1, low_open=True, high_open=True, optional=True
)

__all__ = [
    "DenseIResNetClassifier",
    "IResNetClassifier",
    "conv_branch",
    "dense_branch",
    "fit_side_by_side",
]


@contract(channels=Int(low=1), hidden=Int(low=1), coeff=_COEFF_OR_NONE)
def conv_branch(channels, hidden, image_size, coeff=None):
    """``g``: 3x3, 1x1 and 3x3 convolutions (channels -> hidden -> hidden -> channels) with LipSwish between them.

    With a ``coeff`` every convolution is spectrally normalized to it; with ``None`` they are plain.
    """
    image_size = _image_size("image_size", image_size)
    sizes = [(channels, hidden, 3), (hidden, hidden, 1), (hidden, channels, 3)]
    layers = []
    for k, (a, b, kernel) in enumerate(sizes):
        if coeff is None:
            layers.append(nn.Conv2d(a, b, kernel, padding=kernel // 2))
        else:
            layers.append(
                SpectralNormConv2d(a, b, kernel, image_size, coeff=coeff)
            )
        if k < len(sizes) - 1:
            layers.append(LipSwish())
    return nn.Sequential(*layers)


class _Residual(nn.Module):
    """``x + g(x)`` with no constraint on ``g``: a plain ResNet block."""

    def __init__(self, g):
        super().__init__()
        self.g = g

    def forward(self, x):
        """``x + g(x)``."""
        return x + self.g(x)


class IResNetClassifier(nn.Module):
    """Images (n, in_channels, H, W) or flat (n, in_channels * H * W) -> class logits.

    Parameters
    ----------
    image_size : tuple of int
        (H, W).
    n_classes : int
    coeff : float or None, default 0.9
        The spectral-norm bound of every convolution; ``None`` for a plain ResNet.
    in_channels : int, default 1
    channels : int, default 16
        Width of the blocks; the input is zero-padded from ``in_channels`` to it.
    hidden : int, default 32
    n_blocks : int, default 4
    """

    @contract(
        n_classes=Int(low=1),
        coeff=_COEFF_OR_NONE,
        in_channels=Int(low=1),
        channels=Int(low=1),
        hidden=Int(low=1),
        n_blocks=Int(low=1),
    )
    def __init__(
        self,
        image_size,
        n_classes,
        coeff=0.9,
        *,
        in_channels=1,
        channels=16,
        hidden=32,
        n_blocks=4,
    ):
        super().__init__()
        image_size = _image_size("image_size", image_size)
        if channels < in_channels:
            raise ValueError(
                f"channels must be >= in_channels = {in_channels}, got {channels}"
            )
        self.image_size, self.in_channels, self.channels, self.coeff = (
            image_size,
            in_channels,
            channels,
            coeff,
        )
        block = _Residual if coeff is None else InvertibleResidualBlock
        self.blocks = nn.ModuleList(
            block(conv_branch(channels, hidden, image_size, coeff))
            for _ in range(n_blocks)
        )
        self.head = nn.Linear(
            channels * self.image_size[0] * self.image_size[1], n_classes
        )

    def _sizes(self):
        """The sizes (and dtype) of the features, by name."""
        height, width = self.image_size
        dtype = self.head.weight.dtype
        return {"C": self.channels, "H": height, "W": width, "dtype": dtype}

    @contract(x=Tensor("N", None, ...), bind=lambda self: self._sizes())
    def features(self, x):
        """The input padded with zero channels (an injective map) and passed through the blocks."""
        pixels = self.in_channels * self.image_size[0] * self.image_size[1]
        if x.shape[1:].numel() != pixels:
            raise ValueError(
                f"x must hold in_channels * H * W = {pixels} values per image, "
                f"got shape {tuple(x.shape)}"
            )
        x = x.reshape(len(x), self.in_channels, *self.image_size)
        z = nn.functional.pad(
            x, (0, 0, 0, 0, 0, self.channels - self.in_channels)
        )
        for block in self.blocks:
            z = block(z)
        return z

    @contract(x=Tensor("N", None, ...), bind=lambda self: self._sizes())
    def forward(self, x):
        """Logits (n, n_classes)."""
        return self.head(self.features(x).flatten(1))

    @contract(z=Tensor("N", "C", "H", "W"), bind=lambda self: self._sizes())
    def invert_features(self, z, **inverse_options):
        """The input images whose features are ``z``: every block inverted, the padded channels dropped."""
        if self.coeff is None:
            raise TypeError(
                "a plain ResNet (coeff=None) has no guaranteed inverse"
            )
        for block in reversed(self.blocks):
            z = block.inverse(z, **inverse_options)
        return z[:, : self.in_channels]


@contract(
    dim=Int(low=1), hidden=Int(low=1), coeff=_COEFF_OR_NONE, layers=Int(low=2)
)
def dense_branch(dim, hidden, coeff=None, *, layers=3):
    """``g``: ``layers`` linear layers (dim -> hidden -> ... -> dim) with LipSwish between them.

    The dense counterpart of :func:`conv_branch`. With a ``coeff`` every layer is
    spectrally normalized to it (:func:`~nnbook.invertible.mlp_block`), so that
    :math:`\\mathrm{Lip}(g) \\le c^{\\text{layers}}`; with ``None`` the layers are plain
    ``torch.nn.Linear`` with the same parameters.
    """
    if coeff is not None:
        return mlp_block(dim, hidden, coeff=coeff, layers=layers)
    sizes = [dim] + [hidden] * (layers - 1) + [dim]
    modules = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        modules.append(nn.Linear(a, b))
        if k < layers - 1:
            modules.append(LipSwish())
    return nn.Sequential(*modules)


class DenseIResNetClassifier(nn.Module):
    r"""Vectors (n, d) -> class logits: invertible residual blocks on all d inputs, then a linear head.

    The i-ResNet classifier of Behrmann et al. (2019) with dense branches instead of
    convolutions. The blocks keep the dimension d, so no padding is needed, and the
    features before the head determine the input. With ``coeff=None`` the blocks are
    plain residual blocks with the same parameters: the unconstrained baseline.

    Parameters
    ----------
    n_features : int
        The input dimension d.
    n_classes : int
    coeff : float or None, default 0.9
        The spectral-norm bound :math:`c` of every layer; ``None`` for a plain ResNet.
    hidden : int, default 32
        The width inside each branch.
    n_blocks : int, default 3
    layers : int, default 3
        Linear layers per branch; each branch then has
        :math:`\mathrm{Lip}(g) \le c^{\text{layers}}`.
    """

    @contract(
        n_features=Int(low=1),
        n_classes=Int(low=1),
        coeff=_COEFF_OR_NONE,
        hidden=Int(low=1),
        n_blocks=Int(low=1),
        layers=Int(low=2),
    )
    def __init__(
        self,
        n_features,
        n_classes,
        coeff=0.9,
        *,
        hidden=32,
        n_blocks=3,
        layers=3,
    ):
        super().__init__()
        self.n_features, self.coeff = n_features, coeff
        block = _Residual if coeff is None else InvertibleResidualBlock
        self.blocks = nn.ModuleList(
            block(dense_branch(n_features, hidden, coeff, layers=layers))
            for _ in range(n_blocks)
        )
        self.head = nn.Linear(n_features, n_classes)

    def _sizes(self):
        return {"D": self.n_features, "dtype": self.head.weight.dtype}

    @contract(x=Tensor("N", "D"), bind=lambda self: self._sizes())
    def features(self, x):
        """``F(x)``: ``x`` (n, d) through every block, (n, d)."""
        for block in self.blocks:
            x = block(x)
        return x

    @contract(x=Tensor("N", "D"), bind=lambda self: self._sizes())
    def forward(self, x):
        """Logits (n, n_classes)."""
        return self.head(self.features(x))

    @contract(x=Tensor("N", "D"), bind=lambda self: self._sizes())
    @torch.no_grad()
    def block_inputs(self, x):
        """The input of every block when ``x`` goes forward: ``x``, then each block's output; a list of (n, d)."""
        inputs = []
        for block in self.blocks:
            inputs.append(x)
            x = block(x)
        return inputs

    @contract(
        z=Tensor("N", "D"),
        tol=Real(low=0, low_open=True),
        max_iter=Int(low=1),
        bind=lambda self: self._sizes(),
    )
    def invert_features(self, z, *, tol=1e-10, max_iter=500):
        """The inputs (n, d) whose features are ``z``: every block inverted, last first.

        Each block runs its fixed-point iteration
        (:meth:`~nnbook.invertible.InvertibleResidualBlock.inverse`) to ``tol``, for at
        most ``max_iter`` steps.
        """
        if self.coeff is None:
            raise TypeError(
                "a plain ResNet (coeff=None) has no guaranteed inverse"
            )
        for block in reversed(self.blocks):
            z = block.inverse(z, tol=tol, max_iter=max_iter)
        return z

    @contract(reference="torch.linalg.svdvals")
    @torch.no_grad()
    def exact_lipschitz(self):
        r"""Per block, the product of the exact largest singular values of its weights.

        A bound on :math:`\mathrm{Lip}(g)`,

        .. math:: \mathrm{Lip}(g) \le \prod_{j} \sigma_1(\tilde W_j),

        with :math:`\tilde W_j` the normalized weights of an i-ResNet (as the layers use
        them in evaluation mode) and the plain weights of a plain ResNet. The activations
        are 1-Lipschitz. Unlike ``block.lipschitz``, the product of the ``c``, this does
        not rely on the power iteration having caught up with the weights.

        Returns
        -------
        torch.Tensor
            Shape (n_blocks,).
        """
        training = self.training
        self.eval()  # the power iterations stand still
        bounds = []
        for block in self.blocks:
            sigmas = [
                torch.linalg.matrix_norm(
                    m.normalized_weight()
                    if isinstance(m, SpectralNormLinear)
                    else m.weight,
                    2,
                )
                for m in block.g
                if isinstance(m, SpectralNormLinear | nn.Linear)
            ]
            bounds.append(torch.stack(sigmas).prod())
        self.train(training)
        return torch.stack(bounds)

    @contract("eq-ir-feature-bounds")
    def distance_bounds(self):
        r"""The bounds ``(lower, upper)`` on how far the features move, from the blocks' Lipschitz bounds.

        Implements :eq:`eq-ir-feature-bounds`: for any inputs :math:`a \ne b`,

        .. math::

            \prod_{i=1}^{m} (1 - L_i) \le
            \frac{\lVert F(a) - F(b) \rVert}{\lVert a - b \rVert} \le
            \prod_{i=1}^{m} (1 + L_i),

        with :math:`L_i` the bound of block :math:`i` (``block.lipschitz``).

        Returns
        -------
        tuple
            Two floats, ``(lower, upper)``.
        """
        if self.coeff is None:
            raise TypeError(
                "a plain ResNet (coeff=None) has no Lipschitz bound"
            )
        bounds = [block.lipschitz for block in self.blocks]
        return math.prod(1 - L for L in bounds), math.prod(
            1 + L for L in bounds
        )


def _stack(nets, get):
    """``get(net)`` of every net, stacked along a new first axis, as a leaf tensor."""
    return torch.stack([get(net).detach() for net in nets]).clone()


class _SideBySide:
    """The parameters of several :class:`DenseIResNetClassifier` stacked along a first axis.

    Member ``k`` computes exactly what ``nets[k]`` computes; batched matrix products
    evaluate all members in one pass, which costs little more than one member.
    """

    def __init__(self, nets):
        self.nets = nets
        first = nets[0]
        coeffs = [math.inf if n.coeff is None else n.coeff for n in nets]
        dtype = first.head.weight.dtype
        self.coeff = torch.tensor(coeffs, dtype=dtype)[:, None]
        self.blocks = []
        for b in range(len(first.blocks)):
            layers = []
            for j, module in enumerate(first.blocks[b].g):
                modules = [n.blocks[b].g[j] for n in nets]
                if isinstance(module, LipSwish):
                    layers.append(
                        ("act", _stack(modules, lambda m: m.raw_beta))
                    )
                    continue
                weight = _stack(modules, lambda m: m.weight)
                bias = _stack(modules, lambda m: m.bias)
                u = torch.stack(
                    [
                        m.u.clone()
                        if isinstance(m, SpectralNormLinear)
                        else torch.ones(len(m.weight), dtype=dtype)
                        for m in modules
                    ]
                )
                layers.append(("linear", weight, bias, u))
            self.blocks.append(layers)
        self.head = (
            _stack(nets, lambda n: n.head.weight),
            _stack(nets, lambda n: n.head.bias),
        )

    def parameters(self):
        """Every stacked parameter, in a fixed order."""
        params = []
        for layers in self.blocks:
            for layer in layers:
                params.extend(layer[1:2] if layer[0] == "act" else layer[1:3])
        params.extend(self.head)
        for p in params:
            p.requires_grad_(True)
        return params

    def _weight(self, weight, u, training):
        """The normalized weights, updating ``u`` in training as SpectralNormLinear does."""
        with torch.no_grad():
            if training:
                v = F.normalize(torch.einsum("koi,ko->ki", weight, u), dim=1)
                u.copy_(
                    F.normalize(torch.einsum("koi,ki->ko", weight, v), dim=1)
                )
            fixed = u.clone()
            v = F.normalize(torch.einsum("koi,ko->ki", weight, fixed), dim=1)
        sigma = torch.einsum("ko,koi,ki->k", fixed, weight, v)[:, None]
        scale = torch.clamp(sigma / self.coeff, min=1.0)
        return weight / scale[:, :, None]

    def __call__(self, x, training):
        """Logits (members, n, classes) of inputs ``x`` (members, n, d)."""
        for layers in self.blocks:
            h = x
            for layer in layers:
                if layer[0] == "act":
                    beta = F.softplus(layer[1])[:, None, None]
                    h = h * torch.sigmoid(beta * h) / 1.1
                else:
                    _, weight, bias, u = layer
                    w = self._weight(weight, u, training)
                    h = torch.baddbmm(bias[:, None, :], h, w.transpose(1, 2))
            x = x + h
        weight, bias = self.head
        return torch.baddbmm(bias[:, None, :], x, weight.transpose(1, 2))

    @torch.no_grad()
    def write_back(self):
        """Copy every member's parameters and power-iteration vectors into its net."""
        for k, net in enumerate(self.nets):
            for b, layers in enumerate(self.blocks):
                for module, layer in zip(net.blocks[b].g, layers, strict=True):
                    if layer[0] == "act":
                        module.raw_beta.copy_(layer[1][k])
                        continue
                    module.weight.copy_(layer[1][k])
                    module.bias.copy_(layer[2][k])
                    if isinstance(module, SpectralNormLinear):
                        module.u.copy_(layer[3][k])
            net.head.weight.copy_(self.head[0][k])
            net.head.bias.copy_(self.head[1][k])


def _record_side_by_side(model, histories, X, y, test, epoch, seconds):
    """What :func:`nnbook.train.fit` records after an epoch, for every member."""
    with torch.no_grad():
        train = model(X.expand(len(histories), *X.shape), training=False)
        if test is not None:
            out = model(test[0].expand(len(histories), *test[0].shape), False)
    for k, history in enumerate(histories):
        history.epoch.append(epoch)
        history.seconds.append(seconds)
        history.train_loss.append(F.cross_entropy(train[k], y).item())
        if test is not None:
            history.test_loss.append(F.cross_entropy(out[k], test[1]).item())
            history.test_accuracy.append(
                (out[k].argmax(dim=1) == test[1]).double().mean().item()
            )


def fit_side_by_side(
    nets,
    X,
    y,
    *,
    epochs,
    generators,
    batch_size=128,
    lr=0.01,
    test=None,
    record_every=1,
):
    r"""Train several dense classifiers at once, each as :func:`nnbook.train.fit` would alone.

    Member ``k`` is trained by Adam at the rate ``lr``, decayed to zero along a cosine
    over ``epochs`` (``torch.optim.lr_scheduler.CosineAnnealingLR``), on mini-batches
    of ``batch_size`` drawn by ``generators[k]`` with the last, smaller batch dropped,
    on the mean softmax cross-entropy. That is what ``fit(nets[k], X, y, ...,
    optimizer=Adam, scheduler=cosine, generator=generators[k])`` does, and it gives the
    same weights up to rounding. The members' parameters are stacked and evaluated by
    batched matrix products, so that the whole set costs little more than one
    network; Adam acts element by element, so the stacking changes no update.

    Parameters
    ----------
    nets : list of DenseIResNetClassifier
        Networks of one architecture and dtype, i-ResNets and plain ones mixed;
        trained in place.
    X : torch.Tensor
        Shape (n, d): the training inputs.
    y : torch.Tensor
        Shape (n,): integer labels.
    epochs : int
    generators : list of torch.Generator
        One per net: the order of its mini-batches.
    batch_size : int, default 128
    lr : float, default 0.01
    test : tuple, optional
        ``(X_test, y_test)``, evaluated whenever the histories are extended.
    record_every : int, default 1
        Extend the histories after every ``record_every`` epochs (and after the
        last); evaluating every member on the whole training and test sets costs
        about a fifth of an epoch.

    Returns
    -------
    list of nnbook.train.History
        One per net, as :func:`nnbook.train.fit` records it (epoch 0 is the start),
        at the epochs listed in its ``epoch``.
    """
    from nnbook.train import History, batches  # noqa: PLC0415 (no import cycle)

    if not isinstance(nets, list | tuple) or not nets:
        raise TypeError(
            f"nets must be a non-empty list of DenseIResNetClassifier, got {nets!r}"
        )
    for k, net in enumerate(nets):
        if not isinstance(net, DenseIResNetClassifier):
            raise TypeError(
                f"nets[{k}] must be a DenseIResNetClassifier, "
                f"got {type(net).__name__}"
            )
    shapes = {
        tuple((n, tuple(p.shape), p.dtype) for n, p in net.named_parameters())
        for net in nets
    }
    if len(shapes) != 1:
        raise ValueError(
            "nets must share one architecture and dtype, got networks whose "
            "parameters differ in shape or dtype"
        )
    if not isinstance(generators, list | tuple) or len(generators) != len(nets):
        raise ValueError(
            f"generators must be a list with one torch.Generator per net "
            f"({len(nets)}), got {generators!r}"
        )
    for arg, value in (("epochs", epochs), ("record_every", record_every)):
        if not isinstance(value, int) or value < (arg == "record_every"):
            raise ValueError(
                f"{arg} must be an int >= {int(arg == 'record_every')}, "
                f"got {value!r}"
            )
    if not isinstance(X, torch.Tensor) or X.ndim != 2:
        raise ValueError(f"X must be a tensor of shape (n, d), got {X!r}")
    model = _SideBySide(list(nets))
    params = model.parameters()
    optimizer = torch.optim.Adam(params, lr=lr, foreach=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    histories = [History() for _ in nets]
    _record_side_by_side(model, histories, X, y, test, 0, 0.0)
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        orders = [
            batches(len(X), batch_size, generator=g, drop_last=True)
            for g in generators
        ]
        for idx in zip(*orders, strict=True):
            index = torch.stack(idx)
            optimizer.zero_grad()
            logits = model(X[index], training=True)
            loss = F.cross_entropy(
                logits.flatten(0, 1), y[index].flatten(), reduction="none"
            )
            loss.view(len(nets), -1).mean(dim=1).sum().backward()
            optimizer.step()
        schedule.step()
        seconds += time.perf_counter() - start
        if epoch % record_every == 0 or epoch == epochs:
            _record_side_by_side(model, histories, X, y, test, epoch, seconds)
    model.write_back()
    return histories
