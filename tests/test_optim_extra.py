"""nnbook.optim.adamw_update against torch.optim.AdamW, 100 steps in float64."""

import pytest
import torch

from nnbook.optim._rules import adam_update, adamw_update

pytestmark = pytest.mark.optim


def _run(update, torch_make, steps=100):
    g = torch.Generator().manual_seed(0)
    ours = torch.randn(5, 3, generator=g, dtype=torch.float64)
    theirs = ours.clone().requires_grad_(True)
    opt, state = torch_make([theirs]), {}
    for step in range(steps):
        noise = torch.Generator().manual_seed(1000 + step)
        grad = ours + 0.5 * torch.randn(ours.shape, generator=noise, dtype=torch.float64)
        update(ours, grad, state)
        theirs.grad = grad.clone()
        opt.step()
    return ours, theirs.detach()


@pytest.mark.parametrize("lr", [1e-3, 0.1])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2, 0.5])
@pytest.mark.parametrize("eps", [1e-8, 0.1])
def test_adamw_matches_torch(lr, weight_decay, eps):
    hyper = {"lr": lr, "betas": (0.8, 0.99), "eps": eps}
    ours, theirs = _run(
        lambda p, grad, state: adamw_update(p, grad, state, weight_decay=weight_decay, **hyper),
        lambda ps: torch.optim.AdamW(ps, weight_decay=weight_decay, foreach=False, **hyper),
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-10)


def test_adamw_defaults_match_torch():
    ours, theirs = _run(
        lambda p, grad, state: adamw_update(p, grad, state),
        lambda ps: torch.optim.AdamW(ps, foreach=False),
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-10)


def test_adamw_differs_from_adam_with_l2():
    p, q = (torch.ones(3, dtype=torch.float64) for _ in range(2))
    grad = torch.tensor([1e-3, 1.0, 100.0], dtype=torch.float64)
    adamw_update(p, grad, {}, lr=0.1, weight_decay=0.5)
    adam_update(q, grad, {}, lr=0.1, weight_decay=0.5)
    assert (p - q).abs().max() > 1e-2
