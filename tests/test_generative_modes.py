"""Mode coverage: assignments, shares, the distance to an even split, the Jacobian norm.

Each measure is checked in float64 on constructed samples whose answer is known by hand,
against scipy where it has the same quantity, and the Jacobian norm against finite
differences. The callback of train_gan is checked to observe without changing training.
"""

import math

import numpy as np
import pytest
import torch
from helpers import randn
from scipy.stats import entropy

from nnbook.generative import (
    ModeCoverage,
    assign_modes,
    jacobian_norm,
    mode_coverage,
    mode_imbalance,
    mode_shares,
    train_gan,
)

pytestmark = pytest.mark.gd

CENTRES = torch.tensor([[0.0, 0.0], [4.0, 0.0]], dtype=torch.float64)


def _double(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_assign_modes_takes_the_nearest_centre_within_the_radius():
    x = _double([0.1, 0.0], [3.7, 0.2], [2.0, 0.0], [0.0, -0.5], [4.0, 0.3])
    assert assign_modes(x, CENTRES, radius=0.5).tolist() == [0, 1, -1, 0, 1]
    assert assign_modes(x, CENTRES, radius=0.2).tolist() == [0, -1, -1, -1, -1]


def test_a_sample_exactly_at_the_radius_is_on_its_mode():
    x = _double([0.0, 0.25], [4.0, -0.25])
    assert assign_modes(x, CENTRES, radius=0.25).tolist() == [0, 1]


def test_assign_modes_works_in_more_dimensions_and_agrees_with_a_loop():
    centres = randn(5, 3, seed=1, scale=3.0)
    x = centres[torch.arange(40) % 5] + randn(40, 3, seed=2, scale=0.4)
    got = assign_modes(x, centres, radius=1.0)
    for i in range(len(x)):
        d = [float((x[i] - c).norm()) for c in centres]
        want = int(np.argmin(d)) if min(d) <= 1.0 else -1
        assert got[i].item() == want


def test_mode_shares_counts_each_mode_and_the_off_mode_rest():
    shares, off = mode_shares(torch.tensor([0, 0, 1, -1, 2, 0, -1, 1]), 4)
    torch.testing.assert_close(shares, _double(3, 2, 1, 0) / 8)
    assert off.item() == pytest.approx(2 / 8, abs=1e-15)
    assert shares.sum().item() + off.item() == pytest.approx(1.0, abs=1e-15)


def test_mode_shares_of_samples_drawn_on_the_modes_match_the_mixture_weights():
    g = torch.Generator().manual_seed(0)
    weights = torch.tensor([0.5, 0.3, 0.2])
    centres = _double([0.0, 0.0], [5.0, 0.0], [0.0, 5.0])
    labels = torch.multinomial(weights, 20000, replacement=True, generator=g)
    x = centres[labels] + 0.1 * torch.randn(20000, 2, generator=g, dtype=torch.float64)
    shares, off = mode_shares(assign_modes(x, centres, radius=0.4), 3)  # 4 sigma
    # 2-D Gaussian: P(r > 4 sigma) = exp(-8) = 3.4e-4
    assert off.item() < 2e-3
    torch.testing.assert_close(shares, weights.double(), atol=0.015, rtol=0)


def test_mode_imbalance_is_zero_for_an_even_split_and_largest_for_one_mode():
    tv, kl = mode_imbalance(torch.full((8,), 0.1, dtype=torch.float64))
    assert tv.item() == pytest.approx(0.0, abs=1e-15)
    assert kl.item() == pytest.approx(0.0, abs=1e-15)
    tv, kl = mode_imbalance(_double(0, 0.7, 0, 0, 0, 0, 0, 0))
    assert tv.item() == pytest.approx(1 - 1 / 8, abs=1e-15)
    assert kl.item() == pytest.approx(math.log(8), abs=1e-15)


def test_mode_imbalance_of_a_hand_example():
    # q = (1/2, 1/4, 1/4, 0): TV = (1/4 + 0 + 0 + 1/4) / 2; KL = (1/2) log 2
    tv, kl = mode_imbalance(_double(0.4, 0.2, 0.2, 0.0))  # off-mode 0.2 ignored
    assert tv.item() == pytest.approx(0.25, abs=1e-15)
    assert kl.item() == pytest.approx(0.5 * math.log(2), abs=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_mode_imbalance_agrees_with_scipy(seed):
    shares = torch.rand(6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    shares[seed % 6] = 0.0
    tv, kl = mode_imbalance(shares)
    q = shares.numpy() / shares.numpy().sum()
    uniform = np.full(6, 1 / 6)
    assert kl.item() == pytest.approx(entropy(q, uniform), abs=1e-14)
    assert tv.item() == pytest.approx(0.5 * np.abs(q - uniform).sum(), abs=1e-14)


def test_mode_coverage_on_constructed_samples():
    centres = _double([0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0])
    # 6 on mode 0, 2 on mode 1, 0 on mode 2, 0.5 % on mode 3, and 2 bridges
    x = torch.cat([centres[[0] * 6 + [1] * 2 + [3]], _double([2.0, 0.0], [2.0, 2.0])])
    result = mode_coverage(x, centres, radius=0.5, min_share=0.1)
    assert isinstance(result, ModeCoverage)
    torch.testing.assert_close(result.shares, _double(6, 2, 0, 1) / 11)
    assert result.off_mode == pytest.approx(2 / 11, abs=1e-15)
    assert result.covered == 2  # 1/11 < 0.1
    q = np.array([6, 2, 0, 1]) / 9
    assert result.total_variation == pytest.approx(0.5 * np.abs(q - 0.25).sum(), abs=1e-15)
    assert result.kl == pytest.approx(entropy(q, np.full(4, 0.25)), abs=1e-14)


def test_mode_coverage_with_every_sample_off_mode_has_no_imbalance():
    result = mode_coverage(_double([2.0, 0.0]), CENTRES, radius=0.5)
    assert result.off_mode == 1.0 and result.covered == 0
    assert math.isnan(result.total_variation) and math.isnan(result.kl)


def test_jacobian_norm_of_a_linear_generator_is_the_norm_of_its_weight():
    layer = torch.nn.Linear(3, 2).double()
    got = jacobian_norm(layer, randn(5, 3, seed=1))
    torch.testing.assert_close(got, layer.weight.detach().norm().expand(5))


def test_jacobian_norm_agrees_with_central_differences():
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
    ).double()
    z = randn(6, 2, seed=4)
    h = 1e-6
    with torch.no_grad():
        columns = [
            (net(z + h * e) - net(z - h * e)) / (2 * h) for e in torch.eye(2, dtype=torch.float64)
        ]
    want = torch.stack(columns, dim=2).flatten(1).norm(dim=1)
    torch.testing.assert_close(jacobian_norm(net, z), want, atol=1e-8, rtol=1e-8)
    assert not jacobian_norm(net, z).requires_grad


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: mode_shares(torch.tensor([0, 3]), 3),
            ValueError,
            r"modes must be below n_modes=3, got 3",
        ),
        (lambda: mode_shares(torch.tensor([0, -2]), 3), ValueError, r"modes"),
        (
            lambda: mode_shares(torch.tensor([], dtype=torch.int64), 3),
            ValueError,
            r"modes must hold at least one sample",
        ),
        (lambda: mode_shares(torch.tensor([0.0, 1.0]), 3), TypeError, r"modes"),
        (
            lambda: mode_imbalance(_double(0.5, -0.1)),
            ValueError,
            r"shares must be non-negative and not all zero, got \[0.5, -0.1\]",
        ),
        (
            lambda: mode_imbalance(_double(0.0, 0.0)),
            ValueError,
            r"shares must be non-negative and not all zero",
        ),
        (lambda: mode_imbalance(_double(0.5, math.nan)), ValueError, r"shares"),
        (
            lambda: assign_modes(_double([0.0, 0.0]), CENTRES, radius=math.nan),
            ValueError,
            r"radius",
        ),
        (lambda: assign_modes(_double([0.0, 0.0]), CENTRES, radius=0.0), ValueError, r"radius"),
        (
            lambda: assign_modes(_double([0.0, 0.0, 0.0]), CENTRES, radius=1.0),
            ValueError,
            r"centres|x",
        ),
        (
            lambda: mode_coverage(_double([0.0, 0.0]), CENTRES, radius=1.0, min_share=1.5),
            ValueError,
            r"min_share",
        ),
        (lambda: jacobian_norm("net", randn(2, 2)), TypeError, r"generator"),
        (lambda: jacobian_norm(torch.nn.Linear(2, 2).double(), randn(2)), ValueError, r"z"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _tiny_gan():
    torch.manual_seed(0)
    generator = torch.nn.Linear(1, 1).double()
    discriminator = torch.nn.Sequential(
        torch.nn.Linear(1, 4), torch.nn.LeakyReLU(0.2), torch.nn.Linear(4, 1)
    ).double()
    return generator, discriminator


def _real(n, g):
    return 3 + 0.5 * torch.randn(n, 1, generator=g)


def test_train_gan_calls_back_after_every_step_without_changing_training():
    seen = []
    g1, d1 = _tiny_gan()
    with_callback = train_gan(
        g1,
        d1,
        _real,
        latent_dim=1,
        steps=5,
        batch_size=8,
        callback=lambda step, g, d: seen.append((step, g is g1, d is d1)),
    )
    g2, d2 = _tiny_gan()
    without = train_gan(g2, d2, _real, latent_dim=1, steps=5, batch_size=8)
    assert seen == [(k, True, True) for k in range(1, 6)]
    assert with_callback == without
    torch.testing.assert_close(g1.weight, g2.weight, rtol=0, atol=0)


def test_train_gan_refuses_a_callback_that_cannot_be_called():
    g, d = _tiny_gan()
    with pytest.raises(TypeError, match="callback"):
        train_gan(g, d, _real, latent_dim=1, steps=1, callback=3)
