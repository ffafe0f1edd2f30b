"""``torch.nn.Module`` layers whose forward and backward passes are nnbook's own.

They hold their parameters like their ``torch.nn`` namesakes (same names, shapes and
initialization), so a model can be built from them, trained with any optimizer, and
compared with the same model in ``torch.nn`` weight for weight. Autograd only chains
the hand-written backward functions.
"""

from __future__ import annotations

from torch import nn

from nnbook._pairs import autograd_function
from nnbook.conv import BatchNorm2dFunction, Conv2dFunction, MaxPool2dFunction
from nnbook.feedforward.linear import linear_backward, linear_forward

__all__ = ["BatchNorm2d", "Conv2d", "Linear", "MaxPool2d"]

LinearFunction = autograd_function(linear_forward, linear_backward, "LinearFunction")


class Conv2d(nn.Conv2d):
    """``torch.nn.Conv2d`` (square stride and padding, no groups or dilation) computed by :mod:`nnbook.conv`."""

    def forward(self, x):
        """The convolution of a batch ``x`` of shape (N, C_in, H, W)."""
        return Conv2dFunction.apply(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(nn.Module):
    """Max pooling computed by :mod:`nnbook.conv`."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        """Max pooling of a batch ``x`` of shape (N, C, H, W)."""
        return MaxPool2dFunction.apply(x, self.kernel_size, self.stride, self.padding)


class BatchNorm2d(nn.BatchNorm2d):
    """``torch.nn.BatchNorm2d`` computed by :func:`nnbook.conv.batch_norm2d_forward`."""

    def forward(self, x):
        """Normalize ``x`` (N, C, H, W) per channel; batch statistics in training mode."""
        if self.training:
            self.num_batches_tracked.add_(1)  # kept for parity with torch's state_dict
        return BatchNorm2dFunction.apply(x, self.weight, self.bias, self.running_mean, self.running_var,
                                         self.training, self.momentum, self.eps)  # fmt: skip


class Linear(nn.Linear):
    """``torch.nn.Linear`` computed by :func:`nnbook.feedforward.linear.linear_forward`."""

    def forward(self, x):
        """The weighted sum of a batch ``x`` of shape (T_mb, F_in)."""
        return LinearFunction.apply(x, self.weight, self.bias)


