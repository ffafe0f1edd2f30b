"""Softmax, MSE, cross-entropy and KL divergence against torch, in float64."""

import pytest
import torch
import torch.nn.functional as F
from helpers import batch_shapes, generator, randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.fnn import _losses as losses

pytestmark = pytest.mark.fnn


@settings(max_examples=30, deadline=None)
@given(shape=batch_shapes, seed=seeds, scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_softmax_family_matches_torch(shape, seed, scale):
    a = randn(*shape, seed=seed, scale=scale)
    torch.testing.assert_close(losses.logsumexp(a), torch.logsumexp(a, dim=-1))
    torch.testing.assert_close(losses.log_softmax(a), F.log_softmax(a, dim=-1))
    torch.testing.assert_close(losses.softmax(a), F.softmax(a, dim=-1))
    torch.testing.assert_close(losses.softmax(a, dim=0), F.softmax(a, dim=0))


def test_logsumexp_handles_minus_infinity():
    a = torch.tensor([[-torch.inf, -torch.inf], [0.0, -torch.inf]], dtype=torch.float64)
    torch.testing.assert_close(losses.logsumexp(a), torch.logsumexp(a, dim=-1))


@settings(max_examples=30, deadline=None)
@given(shape=batch_shapes, seed=seeds)
def test_mse_matches_torch_up_to_its_convention(shape, seed):
    y_hat, y = randn(*shape, seed=seed).requires_grad_(), randn(*shape, seed=seed + 1)
    J, cache = losses.mse_forward(y_hat.detach(), y)
    T_mb, F_N = shape
    J_torch = F.mse_loss(y_hat, y) * F_N / 2  # torch averages over all elements, no 1/2
    J_torch.backward()
    torch.testing.assert_close(J, J_torch.detach())
    torch.testing.assert_close(losses.mse_backward(cache), y_hat.grad)


@settings(max_examples=30, deadline=None)
@given(shape=batch_shapes, seed=seeds, scale=st.sampled_from([1.0, 1e4]))
def test_softmax_cross_entropy_matches_torch(shape, seed, scale):
    T_mb, C = shape
    a = randn(T_mb, C, seed=seed, scale=scale).requires_grad_()
    y = torch.randint(0, C, (T_mb,), generator=generator(seed))
    J, cache = losses.softmax_cross_entropy_forward(a.detach(), y)
    J_torch = F.cross_entropy(a, y)
    J_torch.backward()
    torch.testing.assert_close(J, J_torch.detach())
    delta = losses.softmax_cross_entropy_backward(cache)
    torch.testing.assert_close(delta, a.grad)
    assert torch.isfinite(J) and torch.isfinite(delta).all()


def test_cross_entropy_is_entropy_plus_kl():
    p = losses.softmax(randn(5, 4, seed=1))
    q = losses.softmax(randn(5, 4, seed=2))
    torch.testing.assert_close(
        losses.cross_entropy(p, q), losses.entropy(p) + losses.kl_divergence(p, q)
    )
    torch.testing.assert_close(
        losses.kl_divergence(p, q), F.kl_div(q.log(), p, reduction="none").sum(-1)
    )
    assert (losses.kl_divergence(p, q) >= 0).all()
    torch.testing.assert_close(losses.kl_divergence(p, p), torch.zeros(5, dtype=torch.float64))


def test_one_hot_cross_entropy_is_the_classification_loss():
    a, y = randn(6, 3), torch.tensor([0, 2, 1, 1, 0, 2])
    p = F.one_hot(y, 3).to(torch.float64)
    J, _ = losses.softmax_cross_entropy_forward(a, y)
    torch.testing.assert_close(losses.cross_entropy(p, losses.softmax(a)).mean(), J)
    assert torch.equal(losses.entropy(p), torch.zeros(6, dtype=torch.float64))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: losses.softmax_cross_entropy_forward(torch.zeros(3, 4), torch.tensor([0, 1, 4])),
         ValueError, r"y must have values in \[0, C=4\), got 4"),
        (lambda: losses.softmax_cross_entropy_forward(torch.zeros(3, 4), torch.tensor([0, -1, 2])),
         ValueError, r"y must have values in \[0, C=4\), got -1"),
        (lambda: losses.softmax_cross_entropy_forward(torch.zeros(3, 4), torch.zeros(3)),
         TypeError, r"y must have an integer dtype, got torch.float32"),
        (lambda: losses.softmax_cross_entropy_forward(torch.zeros(3, 4), torch.zeros(2).long()),
         ValueError, r"y must have shape \(T_mb=3,\), got \(2,\)"),
        (lambda: losses.softmax_cross_entropy_forward(torch.zeros(3, 4).long(), torch.zeros(3)),
         TypeError, r"a must have a floating-point dtype, got torch.int64"),
        (lambda: losses.mse_forward(torch.zeros(3, 2), torch.zeros(3, 1)),
         ValueError, r"y must have shape \(T_mb=3, F_N=2\), got \(3, 1\)"),
        (lambda: losses.cross_entropy(torch.zeros(3, 2), torch.zeros(2, 3)),
         ValueError, r"q must have the shape of p, \(3, 2\), got \(2, 3\)"),
    ],
)  # fmt: skip
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("logits", "dtype"),
    [([[1e30, 1e30, -1e30]], torch.float64), ([[1e4, 1e4, -1e4]], torch.float32)],
)
def test_softmax_subtracts_the_maximum_before_the_log_of_the_sum(logits, dtype):
    # a - (m + log s) rounds m + log s back to m and gives [1, 1, 0]; the book's
    # (a - m) - log s gives the exact [1/2, 1/2, 0].
    a = torch.tensor(logits, dtype=dtype)
    expected = torch.tensor([[0.5, 0.5, 0.0]], dtype=dtype)
    torch.testing.assert_close(losses.softmax(a), expected)
    torch.testing.assert_close(losses.log_softmax(a)[0, :2], torch.log(expected[0, :2]))
