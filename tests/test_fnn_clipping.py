"""Gradient clipping by norm and by value, against torch.nn.utils, and inside fit."""

import pytest
import torch
from helpers import randn

from nnbook.fnn import MLP, clip_by_norm, clip_by_value
from nnbook.train import fit

pytestmark = pytest.mark.fnn


def _params(grads):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    return params


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_by_norm_is_torchs_clip_grad_norm(max_norm):
    grads = [4 * randn(5, 3, seed=1), 4 * randn(5, seed=2), randn(2, 5, seed=3)]
    params = _params(grads)
    torch_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    ours, norm = clip_by_norm(grads, max_norm)
    assert torch.equal(norm, torch_norm)
    for a, p in zip(ours, params, strict=True):
        torch.testing.assert_close(a, p.grad, rtol=1e-15, atol=0)


def test_clip_by_value_is_torchs_clip_grad_value():
    grads = [3 * randn(4, 4, seed=4), 3 * randn(4, seed=5)]
    params = _params(grads)
    torch.nn.utils.clip_grad_value_(params, 1.5)
    for a, p in zip(clip_by_value(grads, 1.5), params, strict=True):
        assert torch.equal(a, p.grad)


def test_clipping_by_norm_keeps_the_direction_and_bounds_the_length():
    grads = [10 * randn(6, 4, seed=6), 10 * randn(6, seed=7)]
    clipped, norm = clip_by_norm(grads, 2.0)
    flat, flat_clipped = (torch.cat([g.flatten() for g in gs]) for gs in (grads, clipped))
    assert norm > 2.0
    torch.testing.assert_close(
        flat_clipped.norm(), torch.tensor(2.0, dtype=torch.float64), rtol=1e-6, atol=0
    )
    torch.testing.assert_close(flat_clipped / flat_clipped.norm(), flat / flat.norm())


def test_short_and_zero_gradients_pass_unchanged():
    grads = [0.01 * randn(3, 3, seed=8)]
    assert torch.equal(clip_by_norm(grads, 1.0)[0][0], grads[0])
    zero = [torch.zeros(3, dtype=torch.float64)]
    assert torch.equal(clip_by_norm(zero, 1.0)[0][0], zero[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_norm": 0.0}, ValueError, "max_norm"),
        ({"max_norm": float("nan")}, ValueError, "max_norm"),
        ({"grads": 3}, TypeError, "grads"),
    ],
)
def test_clip_by_norm_names_the_bad_argument(kwargs, error, message):
    call = {"grads": [randn(2, seed=9)], "max_norm": 1.0, **kwargs}
    with pytest.raises(error, match=message):
        clip_by_norm(**call)


def test_fit_clips_every_step_as_a_hand_written_loop_does():
    X, y = randn(40, 4, seed=10), torch.arange(40) % 3

    def run(clip):
        g = torch.Generator().manual_seed(0)
        net = MLP([4, 8, 3], generator=g, dtype=torch.float64)
        h = fit(
            net, X, y, epochs=3, lr=0.5, batch_size=8, generator=g, clip_norm=clip, progress=False
        )
        return net, h

    net, history = run(0.05)
    g = torch.Generator().manual_seed(0)
    twin = MLP([4, 8, 3], generator=g, dtype=torch.float64)
    from nnbook.fnn import softmax_cross_entropy_backward, softmax_cross_entropy_forward
    from nnbook.train import batches

    norms, clipped = [], []
    for _ in range(3):
        worst, count = 0.0, 0
        for idx in batches(40, 8, generator=g, drop_last=True):
            _, cache = softmax_cross_entropy_forward(twin.forward(X[idx]), y[idx])
            twin.backward(softmax_cross_entropy_backward(cache))
            params = list(twin.parameters())
            grads, norm = clip_by_norm([p.grad for p in params], 0.05)
            worst, count = max(worst, norm.item()), count + int(norm.item() > 0.05)
            with torch.no_grad():
                for p, grad in zip(params, grads, strict=True):
                    p -= 0.5 * grad
        norms.append(worst)
        clipped.append(count)
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)
    assert history.grad_norm == norms and history.clipped_steps == clipped
    assert run(None)[1].grad_norm == []
