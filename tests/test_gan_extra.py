"""nnbook.generative.optimal_discriminator against autograd, in float64."""

import pytest
import torch

from nnbook.generative._gan import optimal_discriminator

pytestmark = pytest.mark.gd


def test_optimal_discriminator_maximizes_the_pointwise_objective():
    g = torch.Generator().manual_seed(0)
    p_data = torch.rand(50, generator=g, dtype=torch.float64) + 0.01
    p_g = torch.rand(50, generator=g, dtype=torch.float64) + 0.01
    s = optimal_discriminator(p_data, p_g)
    logit = torch.logit(s).requires_grad_()  # the discriminator outputs a logit
    objective = (
        p_data * torch.nn.functional.logsigmoid(logit)
        + p_g * torch.nn.functional.logsigmoid(-logit)
    ).sum()
    (gradient,) = torch.autograd.grad(objective, logit)
    torch.testing.assert_close(gradient, torch.zeros_like(gradient), atol=1e-12, rtol=0)
    for shift in (-1e-3, 1e-3):  # concave: any other output scores lower
        moved = logit.detach() + shift
        other = p_data * torch.nn.functional.logsigmoid(moved) + p_g * (
            torch.nn.functional.logsigmoid(-moved)
        )
        best = p_data * torch.log(s) + p_g * torch.log1p(-s)
        assert (other < best).all()


def test_optimal_discriminator_at_equilibrium_and_at_the_edges():
    p = torch.tensor([0.0, 0.3, 2.0], dtype=torch.float64)
    torch.testing.assert_close(
        optimal_discriminator(p + 1, p + 1), torch.full((3,), 0.5, dtype=torch.float64)
    )
    torch.testing.assert_close(
        optimal_discriminator(p, 2.0 - p), torch.tensor([0.0, 0.15, 1.0], dtype=torch.float64)
    )


def test_optimal_discriminator_rejects_what_is_not_a_density():
    one = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="non-negative"):
        optimal_discriminator(-one, one)
    with pytest.raises(ValueError, match="not both zero"):
        optimal_discriminator(0 * one, 0 * one)
    with pytest.raises(ValueError, match="shape"):
        optimal_discriminator(one, torch.ones(3, dtype=torch.float64))
