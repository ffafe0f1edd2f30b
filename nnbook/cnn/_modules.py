"""``Conv2d``, ``MaxPool2d``, ``BatchNorm2d``: ``torch.nn`` layers computed by nnbook's own passes.

They hold their parameters like their ``torch.nn`` namesakes (same names, shapes and
initialization), so a model can be built from them, trained with any optimizer, and
compared with the same model in ``torch.nn`` weight for weight. Autograd only chains
the hand-written backward functions.
"""

from __future__ import annotations

from torch import nn

from nnbook.cnn._conv import (
    BatchNorm2dFunction,
    Conv2dFunction,
    MaxPool2dFunction,
)
from nnbook.contract import Pair, Tensor, contract

__all__ = ["BatchNorm2d", "Conv2d", "MaxPool2d"]


#: A batch of feature maps.
MAPS = Tensor("N", "C", "H", "W")


def _conv_sizes(self):
    """The input channels and the dtype that a convolution's weight expects."""
    return {"C": self.in_channels, "dtype": self.weight.dtype}


class Conv2d(nn.Conv2d):
    """``torch.nn.Conv2d`` computed by :mod:`nnbook.cnn`: stride, padding, dilation, groups.

    The padding is zeros (``padding_mode="zeros"``, torch's default) and given as
    numbers; another ``padding_mode`` is refused when the layer runs.
    """

    @contract(x=MAPS, bind=_conv_sizes)
    def forward(self, x):
        """The convolution of a batch ``x`` of shape (N, C, H, W)."""
        if self.padding_mode != "zeros":
            raise ValueError(
                f"padding_mode must be 'zeros' for nnbook's Conv2d, "
                f"got {self.padding_mode!r}"
            )
        return Conv2dFunction.apply(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class MaxPool2d(nn.Module):
    """Max pooling computed by :mod:`nnbook.cnn`."""

    @contract(
        kernel_size=Pair(low=1),
        stride=Pair(low=1, optional=True),
        padding=Pair(low=0),
    )
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = (
            kernel_size,
            stride,
            padding,
        )

    @contract(x=MAPS)
    def forward(self, x):
        """Max pooling of a batch ``x`` of shape (N, C, H, W)."""
        return MaxPool2dFunction.apply(
            x, self.kernel_size, self.stride, self.padding
        )


class BatchNorm2d(nn.BatchNorm2d):
    """``torch.nn.BatchNorm2d`` computed by :func:`nnbook.cnn.batch_norm2d_forward`."""

    @contract(x=MAPS, bind=lambda self: {"C": self.num_features})
    def forward(self, x):
        """Normalize ``x`` (N, C, H, W) per channel; batch statistics in training mode."""
        if self.training:
            self.num_batches_tracked.add_(
                1
            )  # kept for parity with torch's state_dict
        return BatchNorm2dFunction.apply(
            x,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            self.training,
            self.momentum,
            self.eps,
        )
