"""An i-ResNet classifier: injective channel padding, invertible convolutional blocks, then a linear head.

Only the head loses information. The features before it determine the input: the
blocks are inverted by fixed-point iteration and the padding is dropped. With
``coeff=None`` the same network is built from plain convolutions, an ordinary ResNet
with no Lipschitz bound and no guarantee of invertibility: the baseline.
"""

from __future__ import annotations

from torch import nn

from nnbook.contract import Int, Real, Tensor, contract
from nnbook.invertible._blocks import InvertibleResidualBlock, LipSwish
from nnbook.invertible._spectral import SpectralNormConv2d, _image_size

#: A spectral-norm bound in (0, 1), or None for plain convolutions.
_COEFF_OR_NONE = Real(
    low=0, high=1, low_open=True, high_open=True, optional=True
)

__all__ = ["IResNetClassifier", "conv_branch"]


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
