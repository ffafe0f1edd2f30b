"""Momentum on a quadratic: the iteration matrix against torch.optim.SGD, the rate, Polyak's tuning."""

import math

import pytest
import torch

from nnbook.optim import heavy_ball_parameters, momentum_matrix, momentum_rate

pytestmark = pytest.mark.optim


def _torch_path(lr, momentum, curvature, nesterov, steps, start=1.0):
    """The parameter after every step of torch.optim.SGD on J = curvature * theta^2 / 2."""
    theta = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum, nesterov=nesterov)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * curvature * theta**2).sum().backward()
        opt.step()
        path.append(theta.item())
    return path


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize(
    ("lr", "momentum", "curvature"), [(0.1, 0.9, 1.0), (0.02, 0.5, 20.0), (0.3, 0.0, 3.0)]
)
def test_the_matrix_reproduces_torch_sgd_step_for_step(lr, momentum, curvature, nesterov):
    if nesterov and momentum == 0:
        pytest.skip("torch refuses Nesterov without momentum")
    M = momentum_matrix(lr, momentum, curvature, nesterov=nesterov)
    # torch's buffer starts as the first gradient, as if b_0 = 0 before step 1
    state = torch.tensor([1.0, 0.0], dtype=torch.float64)
    expected = _torch_path(lr, momentum, curvature, nesterov, 40)
    for value in expected:
        state = M @ state
        assert state[0].item() == pytest.approx(value, rel=1e-10, abs=1e-300)


def test_heavy_ball_determinant_is_the_momentum_and_nesterovs_is_damped():
    for lr, gamma, lam in [(0.1, 0.9, 1.0), (0.01, 0.5, 30.0)]:
        assert momentum_matrix(lr, gamma, lam).det().item() == pytest.approx(gamma)
        nesterov = momentum_matrix(lr, gamma, lam, nesterov=True).det().item()
        assert nesterov == pytest.approx(gamma * (1 - lr * lam))


def _envelope_rate(path, span=200, window=40):
    """The decay per step of the largest |theta| over a window, ``span`` steps apart."""
    late = max(abs(v) for v in path[-window:])
    early = max(abs(v) for v in path[-window - span : -span])
    return (late / early) ** (1 / span)


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_rate_is_the_measured_decay_per_step(nesterov):
    lr, gamma, curvatures = 0.02, 0.8, [1.0, 20.0]
    rate = momentum_rate(lr, gamma, curvatures, nesterov=nesterov)
    measured = [_envelope_rate(_torch_path(lr, gamma, lam, nesterov, 400)) for lam in curvatures]
    assert max(measured) == pytest.approx(rate, rel=1e-2)


def test_gradient_descent_rate_is_the_classic_formula():
    for kappa in [2.0, 10.0, 1000.0]:
        rate = momentum_rate(2 / (1 + kappa), 0.0, [1.0, kappa])
        assert rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)


@pytest.mark.parametrize("kappa", [4.0, 10.0, 100.0])
def test_polyak_parameters_reach_their_rate_and_no_grid_point_beats_them(kappa):
    lr, gamma = heavy_ball_parameters(1.0, kappa)
    best = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert gamma == pytest.approx(best**2)
    assert momentum_rate(lr, gamma, [1.0, kappa]) == pytest.approx(best, rel=1e-6)
    grid = [
        momentum_rate(lr * a, g, [1.0, kappa])
        for a in [0.5, 0.8, 0.9, 1.1, 1.25, 2.0]
        for g in [0.0, 0.5 * gamma, 0.9 * gamma, gamma, min(1.0, 1.1 * gamma)]
    ]
    assert min(grid) >= best * (1 - 1e-9)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: momentum_matrix(0.1, 1.5, 1.0), ValueError, r"momentum"),
        (lambda: momentum_matrix(0.1, 0.5, 0.0), ValueError, r"curvature"),
        (lambda: momentum_matrix(-0.1, 0.5, 1.0), ValueError, r"lr"),
        (lambda: momentum_matrix(0.1, 0.5, float("nan")), ValueError, r"curvature"),
        (lambda: momentum_rate(0.1, 0.5, []), ValueError, r"curvatures"),
        (lambda: momentum_rate(0.1, 0.5, "1"), TypeError, r"curvatures"),
        (lambda: heavy_ball_parameters(10.0, 1.0), ValueError,
         r"lowest must not exceed highest, got lowest=10.0, highest=1.0"),
        (lambda: heavy_ball_parameters("1", 2.0), TypeError, r"lowest"),
    ],
)  # fmt: skip
def test_momentum_functions_name_the_bad_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
