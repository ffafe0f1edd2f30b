"""What depth buys: the hand-built ReLU networks against closed forms and numpy."""

import numpy as np
import pytest
import torch

from nnbook.fnn import MLP, interpolant, linear_regions, sawtooth

pytestmark = pytest.mark.fnn

F64 = torch.float64


def test_interpolant_is_numpys_linear_interpolation_inside_the_knots():
    g = torch.Generator().manual_seed(0)
    knots = torch.sort(torch.rand(9, generator=g, dtype=F64) * 6 - 3).values
    values = torch.randn(9, generator=g, dtype=F64)
    x = knots[0] + (knots[-1] - knots[0]) * torch.rand(500, generator=g, dtype=F64)
    net = interpolant(knots, values)
    expected = np.interp(x.numpy(), knots.numpy(), values.numpy())
    got = net.forward(x[:, None], training=False)[:, 0]
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)
    assert net.sizes == [1, 8, 1] and net.activation == "relu"


def test_interpolant_extends_as_the_docstring_says():
    knots = torch.tensor([0.0, 1.0, 3.0], dtype=F64)
    net = interpolant(knots, torch.tensor([1.0, 3.0, 2.0], dtype=F64))
    out = net.forward(torch.tensor([[-2.0], [4.0]], dtype=F64))[:, 0]
    assert out.tolist() == [1.0, 1.5]  # constant on the left, last slope on the right


def test_sawtooth_is_the_composed_tent_map():
    x = torch.linspace(0, 1, 2049, dtype=F64)[:, None]
    tent = 1 - (2 * x - 1).abs()
    composed = x
    for depth in range(1, 8):
        composed = 1 - (2 * composed - 1).abs()
        net = sawtooth(depth)
        torch.testing.assert_close(net.forward(x), composed, rtol=0, atol=1e-12)
        assert net.sizes == [1, *[2] * depth, 1]
        n_params = sum(p.numel() for p in net.parameters())
        assert n_params == 6 * depth + 1
    torch.testing.assert_close(sawtooth(1).forward(x), tent)


def test_linear_regions_counts_the_pieces_of_known_functions():
    x = torch.linspace(0, 1, 4097, dtype=F64)[:, None]
    for depth in range(1, 9):
        assert linear_regions(sawtooth(depth), x) == 2**depth
    knots = torch.linspace(0, 1, 6, dtype=F64)
    assert linear_regions(interpolant(knots, knots**2), x) == 5


def test_linear_regions_of_a_random_shallow_net_is_one_plus_its_kinks():
    g = torch.Generator().manual_seed(3)
    net = MLP([1, 12, 1], generator=g, dtype=F64)
    net.layers[0]["b"] = torch.randn(12, generator=g, dtype=F64)
    x = torch.linspace(-2, 2, 20001, dtype=F64)[:, None]
    kinks = -net.layers[0]["b"] / net.layers[0]["W"][:, 0]
    inside = ((kinks > -2) & (kinks < 2)).sum().item()
    assert linear_regions(net, x) == 1 + inside


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: interpolant(torch.tensor([0.0]), torch.tensor([1.0])), ValueError,
         r"knots_x must hold at least 2 knots, got 1"),
        (lambda: interpolant(torch.tensor([0.0, 2.0, 1.0]), torch.zeros(3)), ValueError,
         r"knots_x must be strictly increasing"),
        (lambda: interpolant(torch.tensor([0.0, 1.0]), torch.zeros(3)), ValueError, r"knots_y"),
        (lambda: interpolant([0.0, 1.0], torch.zeros(2)), TypeError, r"knots_x"),
        (lambda: sawtooth(0), ValueError, r"depth"),
        (lambda: sawtooth(2.0), TypeError, r"depth"),
        (lambda: linear_regions(sawtooth(2), torch.tensor([[1.0], [0.0]], dtype=F64)),
         ValueError, r"x must hold at least 2 inputs in increasing order, got 2 inputs out of order"),
        (lambda: linear_regions(MLP([1, 3, 1], activation="tanh"), torch.rand(4, 1)),
         ValueError, r"net must be a ReLU network without batch normalization, got activation='tanh'"),
        (lambda: linear_regions("net", torch.rand(4, 1)), TypeError, r"net"),
    ],
)  # fmt: skip
def test_depth_functions_name_the_bad_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
