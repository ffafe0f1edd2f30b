"""Penalties, dropout and batch normalization against torch and autograd, in float64."""

import pytest
import torch
import torch.nn.functional as F
from helpers import assert_all_close, batch_norm_against_torch, generator, randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.fnn import _regularization as reg

pytestmark = pytest.mark.fnn


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalties_match_autograd(kind):
    forward = getattr(reg, f"{kind}_penalty_forward")
    backward = getattr(reg, f"{kind}_penalty_backward")
    weights = [randn(3, 4, seed=1).requires_grad_(), randn(2, 3, seed=2).requires_grad_()]
    with torch.no_grad():
        weights[0][0, 0] = 0.0  # the L1 kink
    J, cache = forward([W.detach() for W in weights], 0.3)
    if kind == "l2":
        J_ref = 0.3 / 2 * sum((W**2).sum() for W in weights)
    else:
        J_ref = 0.3 * sum(W.abs().sum() for W in weights)
    J_ref.backward()
    torch.testing.assert_close(J, J_ref.detach())
    assert_all_close(backward(cache), [W.grad for W in weights])


def test_l2_gradient_is_torch_weight_decay():
    W = randn(3, 3)
    (grad,) = reg.l2_penalty_backward(reg.l2_penalty_forward([W], 0.01)[1])
    p = W.clone()
    p.grad = torch.zeros_like(p)
    torch.optim.SGD([p], lr=1.0, weight_decay=0.01).step()
    torch.testing.assert_close(W - p, grad)


def test_dropout_is_inverted_and_identity_in_eval():
    h = torch.ones(2000, 50, dtype=torch.float64)
    g = generator(0)
    out, mask = reg.dropout_forward(h, 0.3, generator=g)
    kept = out != 0
    assert abs(kept.double().mean().item() - 0.7) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.7))
    assert abs(out.mean().item() - 1.0) < 0.02  # expectation preserved
    out_eval, cache = reg.dropout_forward(h, 0.3, training=False)
    assert out_eval is h and cache is None
    assert reg.dropout_backward(h, None) is h


def test_dropout_backward_matches_autograd_for_the_same_mask():
    h, dout = randn(5, 4).requires_grad_(), randn(5, 4, seed=1)
    out, mask = reg.dropout_forward(h.detach(), 0.5, generator=generator(3))
    (h * mask).backward(dout)
    torch.testing.assert_close(out, (h * mask).detach())
    torch.testing.assert_close(reg.dropout_backward(dout, mask), h.grad)


def test_dropout_with_a_given_mask():
    h, keep = randn(3, 4), torch.rand(3, 4, generator=generator(0)) > 0.3
    out, mask = reg.dropout_forward(h, 0.3, keep=keep)
    torch.testing.assert_close(out, h * keep / 0.7)
    with pytest.raises(TypeError, match=r"keep must have dtype torch.bool, got torch.float32"):
        reg.dropout_forward(h, 0.3, keep=torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"keep must have the shape of h, \(3, 4\), got \(4, 3\)"):
        reg.dropout_forward(h, 0.3, keep=torch.ones(4, 3, dtype=torch.bool))


def test_dropout_matches_torch_in_distribution():
    torch.manual_seed(0)
    ours = reg.dropout(torch.ones(100_000, dtype=torch.float64), 0.25)
    theirs = F.dropout(torch.ones(100_000, dtype=torch.float64), 0.25)
    assert set(ours.unique().tolist()) == set(theirs.unique().tolist()) == {0.0, 4 / 3}
    assert abs((ours == 0).double().mean() - (theirs == 0).double().mean()) < 0.01


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(2, 1), (5, 3), (16, 7), (3, 2, 4), (2, 3, 4, 5)]),
    training=st.booleans(),
    seed=seeds,
)
def test_batch_norm_matches_torch(shape, training, seed):
    batch_norm_against_torch(reg.batch_norm_forward, reg.batch_norm_backward, shape, training, seed)


def test_batch_norm_gradcheck_in_training():
    def f(a, gamma, beta):
        return reg.batch_norm(a, gamma, beta)

    inputs = (randn(6, 3).requires_grad_(), randn(3, seed=1).requires_grad_(),
              randn(3, seed=2).requires_grad_())  # fmt: skip
    assert torch.autograd.gradcheck(f, inputs)


def test_batch_norm_normalizes_the_batch():
    out = reg.batch_norm(randn(64, 5, scale=7) + 3, torch.ones(5, dtype=torch.float64),
                         torch.zeros(5, dtype=torch.float64))  # fmt: skip
    torch.testing.assert_close(out.mean(0), torch.zeros(5, dtype=torch.float64))
    torch.testing.assert_close(out.var(0, correction=0), torch.ones(5, dtype=torch.float64),
                               atol=1e-5, rtol=0)  # fmt: skip


Z = torch.zeros


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: reg.dropout_forward(Z(3), 1.0), ValueError, r"p must be in \[0, 1\), got 1.0"),
        (lambda: reg.dropout_forward(Z(3), -0.1), ValueError, r"p must be in \[0, 1\), got -0.1"),
        (lambda: reg.batch_norm_forward(Z(1, 4), Z(4), Z(4)), ValueError,
         r"batch norm in training mode needs at least 2 values per feature, got a of shape \(1, 4\)"),
        (lambda: reg.batch_norm_forward(Z(5, 4), Z(3), Z(4)), ValueError,
         r"gamma must have shape \(F=4,\), got \(3,\)"),
        (lambda: reg.batch_norm_forward(Z(5, 4), Z(4), Z(4), training=False), ValueError,
         r"evaluation mode needs running_mean and running_var"),
        (lambda: reg.batch_norm_forward(Z(5), Z(5), Z(5)), ValueError,
         r"a must have at least 2 dimensions"),
        (lambda: reg.batch_norm_forward(Z(5, 4), Z(4), Z(4), momentum=2), ValueError,
         r"momentum must be in \[0, 1\], got 2"),
        (lambda: reg.l2_penalty_forward(Z(3), 0.1), TypeError,
         r"weights must be a list of tensors, got Tensor"),
        (lambda: reg.l1_penalty_forward([Z(3)], -1), ValueError, r"lam must be in \[0, inf\], got -1"),
    ],
)  # fmt: skip
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_batch_norm_in_eval_accepts_a_single_sample():
    out = reg.batch_norm(Z(1, 4), torch.ones(4), Z(4), Z(4), torch.ones(4), training=False)
    assert out.shape == (1, 4)


def test_batch_norm_of_a_huge_constant_map_is_zero_in_float32():
    from nnbook.cnn import _conv as conv

    x = torch.full((8, 3, 5, 5), 1e30)
    out = conv.batch_norm2d(x, torch.ones(3), torch.zeros(3))
    assert torch.equal(out, torch.zeros_like(x))


def test_the_l1_proximal_step_reaches_exact_zeros_where_the_subgradient_step_hovers():
    from nnbook.fnn import l1_penalty_backward, l1_penalty_forward, l1_proximal_step

    lr, lam = 0.1, 0.5  # lr * lam = 0.05
    W = torch.tensor([0.3, 0.02, -0.01, -0.4], dtype=torch.float64)
    torch.testing.assert_close(
        l1_proximal_step(W, lr, lam), torch.tensor([0.25, 0.0, 0.0, -0.35], dtype=torch.float64)
    )
    # the subgradient step on the penalty alone overshoots zero and oscillates
    w = torch.tensor([0.02], dtype=torch.float64)
    seen = []
    for _ in range(6):
        _, cache = l1_penalty_forward([w], lam)
        w = w - lr * l1_penalty_backward(cache)[0]
        seen.append(w.item())
    assert all(abs(v) <= lr * lam + 1e-15 for v in seen) and all(v != 0 for v in seen)
    w = torch.tensor([0.02], dtype=torch.float64)
    assert l1_proximal_step(w, lr, lam).item() == 0.0
