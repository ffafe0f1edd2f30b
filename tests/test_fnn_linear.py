"""nnbook.fnn against torch in float64: values, gradients and errors."""

import pytest
import torch
import torch.nn.functional as F
from helpers import randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.fnn import linear, linear_backward, linear_forward

pytestmark = pytest.mark.fnn


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    h, W = randn(7, 5, seed=1), randn(3, 5, seed=2)
    b = randn(3, seed=3) if bias else None
    torch.testing.assert_close(linear(h, W, b), F.linear(h, W, b))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_backward_matches_autograd(bias):
    h = randn(7, 5, seed=1).requires_grad_()
    W = randn(3, 5, seed=2).requires_grad_()
    b = randn(3, seed=3).requires_grad_() if bias else None
    delta = randn(7, 3, seed=4)
    F.linear(h, W, b).backward(delta)

    _, cache = linear_forward(h.detach(), W.detach(), None if b is None else b.detach())
    dh, dW, db = linear_backward(delta, cache)
    torch.testing.assert_close(dh, h.grad)
    torch.testing.assert_close(dW, W.grad)
    if bias:
        torch.testing.assert_close(db, b.grad)
    else:
        assert db is None


def test_linear_gradcheck():
    inputs = (
        randn(4, 3).requires_grad_(),
        randn(2, 3, seed=1).requires_grad_(),
        randn(2, seed=2).requires_grad_(),
    )
    assert torch.autograd.gradcheck(linear, inputs)


@settings(max_examples=40, deadline=None)
@given(
    T_mb=st.integers(1, 6),
    F_in=st.integers(1, 6),
    F_out=st.integers(1, 6),
    seed=seeds,
    alpha=st.floats(-3, 3),
)
def test_linear_is_linear_in_its_input(T_mb, F_in, F_out, seed, alpha):
    h1, h2 = randn(T_mb, F_in, seed=seed), randn(T_mb, F_in, seed=seed + 1)
    W = randn(F_out, F_in, seed=seed + 2)
    torch.testing.assert_close(linear(alpha * h1 + h2, W), alpha * linear(h1, W) + linear(h2, W))


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (torch.zeros(4), torch.zeros(3, 4)),
            ValueError,
            r"h must have 2 dimensions \(T_mb, F_in\), got 1: \(4,\)",
        ),
        (
            (torch.zeros(2, 4), torch.zeros(3, 5)),
            ValueError,
            r"W must have shape \(F_out, F_in=4\), got \(3, 5\)",
        ),
        (
            (torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(4)),
            ValueError,
            r"b must have shape \(F_out=3,\), got \(4,\)",
        ),
        (
            (torch.zeros(2, 4), torch.zeros(3, 4, dtype=torch.float64)),
            TypeError,
            r"W must have dtype torch.float32 like the other inputs, got torch.float64",
        ),
        (
            (torch.zeros(2, 4, dtype=torch.int64), torch.zeros(3, 4)),
            TypeError,
            r"h must have a floating-point dtype, got torch.int64",
        ),
        (([[0.0]], torch.zeros(1, 1)), TypeError, r"h must be a torch.Tensor, got list"),
    ],
)
def test_linear_rejects_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        linear_forward(*args)


def test_linear_backward_checks_delta():
    _, cache = linear_forward(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(
        ValueError, match=r"delta must have shape \(T_mb=2, F_out=3\), got \(3, 2\)"
    ):
        linear_backward(torch.zeros(3, 2), cache)
