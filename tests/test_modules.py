"""nnbook.modules: hand-written layers inside torch models, checked against torch.nn."""

import pytest
import torch
import torch.nn.functional as F
from helpers import generator, randn

from nnbook.cnn import _conv as conv
from nnbook.cnn._architectures import LeNet5

pytestmark = pytest.mark.cnn


@pytest.mark.parametrize("batch_norm", [False, True])
def test_handwritten_lenet_matches_torch(batch_norm):
    ours = LeNet5(batch_norm=batch_norm, handwritten=True).double()
    theirs = LeNet5(batch_norm=batch_norm).double()
    theirs.load_state_dict(ours.state_dict())
    x, y = (
        randn(6, 1, 28, 28),
        torch.randint(0, 10, (6,), generator=generator(1)),
    )
    F.cross_entropy(ours(x), y).backward()
    F.cross_entropy(theirs(x), y).backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    for (name, b), c in zip(ours.named_buffers(), theirs.buffers(), strict=True):
        torch.testing.assert_close(b, c, msg=name)  # running statistics moved alike
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))


def test_pooling_and_batch_norm_functions_pass_gradcheck():
    x = randn(2, 3, 6, 6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: conv.MaxPool2dFunction.apply(t, 2, None, 0), (x,))
    gamma, beta = randn(3, seed=1).requires_grad_(), randn(3, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t, g, b: conv.BatchNorm2dFunction.apply(t, g, b, None, None, True, 0.1, 1e-5),
        (x, gamma, beta),
    )
