"""``Linear``: the ``torch.nn`` layer computed by nnbook's own passes.

They hold their parameters like their ``torch.nn`` namesakes (same names, shapes and
initialization), so a model can be built from them, trained with any optimizer, and
compared with the same model in ``torch.nn`` weight for weight. Autograd only chains
the hand-written backward functions.
"""

from __future__ import annotations

from torch import nn

from nnbook._pairs import autograd_function
from nnbook.contract import Tensor, contract
from nnbook.fnn._linear import linear_backward, linear_forward

__all__ = ["Linear"]


LinearFunction = autograd_function(
    linear_forward, linear_backward, "LinearFunction"
)


def _linear_sizes(self):
    """The input features and the dtype that a linear layer's weight expects."""
    return {"F_in": self.in_features, "dtype": self.weight.dtype}


class Linear(nn.Linear):
    """``torch.nn.Linear`` computed by :func:`nnbook.fnn.linear_forward`."""

    @contract(x=Tensor("T_mb", "F_in"), bind=_linear_sizes)
    def forward(self, x):
        """The weighted sum of a batch ``x`` of shape (T_mb, F_in)."""
        return LinearFunction.apply(x, self.weight, self.bias)
