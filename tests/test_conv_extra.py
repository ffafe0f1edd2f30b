"""nnbook.cnn.conv2d_input_grad against torch autograd, in float64."""

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.cnn import _conv as conv

pytestmark = pytest.mark.cnn


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding"),
    [
        ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0),
        ((1, 2, 8, 8), (2, 2, 3, 3), 2, 1),
        ((2, 1, 9, 7), (3, 1, 2, 3), (2, 3), (1, 0)),
        ((1, 4, 5, 5), (1, 4, 5, 5), 1, 2),
        ((3, 2, 10, 11), (5, 2, 4, 1), 3, (0, 2)),
    ],
)
def test_conv2d_input_grad_matches_autograd(x_shape, w_shape, stride, padding):
    x = randn(*x_shape).requires_grad_()
    w = randn(*w_shape, seed=1)
    out = F.conv2d(x, w, stride=stride, padding=padding)
    dout = randn(*out.shape, seed=2)
    out.backward(dout)
    dx = conv.conv2d_input_grad(dout, w, x_shape, stride, padding)
    torch.testing.assert_close(dx, x.grad)
    _, cache = conv.conv2d_forward(x.detach(), w, None, stride, padding)
    torch.testing.assert_close(dx, conv.conv2d_backward(dout, cache)[0])


def test_conv2d_input_grad_rejects_a_dout_of_the_wrong_shape():
    w = randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match="dout must have shape"):
        conv.conv2d_input_grad(randn(1, 4, 5, 5), w, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="w expects 3 input channels"):
        conv.conv2d_input_grad(randn(1, 4, 6, 6), w, (1, 2, 8, 8))
