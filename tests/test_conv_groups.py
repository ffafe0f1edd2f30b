"""Grouped and dilated convolutions of nnbook.cnn against torch, in float64."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook import cnn
from nnbook.cnn import _conv as conv

pytestmark = pytest.mark.cnn

#: (C_in, C_out, groups): plain, two groups, depthwise with two filters per channel.
GROUPS = {"plain": (4, 6, 1), "two groups": (4, 6, 2), "depthwise": (4, 8, 4)}
DILATIONS = [1, 2, (2, 1)]
#: (stride, padding)
GEOMETRIES = [(1, 0), ((2, 1), (1, 2))]


def _case(groups, seed):
    """x (2, C_in, 9, 8), w (C_out, C_in / groups, 3, 2) and b (C_out,), with groups."""
    C_in, C_out, G = GROUPS[groups]
    x = randn(2, C_in, 9, 8, seed=seed)
    w = randn(C_out, C_in // G, 3, 2, seed=seed + 1)
    return x, w, randn(C_out, seed=seed + 2), G


GRID = [
    pytest.param(
        groups,
        dilation,
        stride,
        padding,
        bias,
        id=f"{groups}-d{dilation}-s{stride}-p{padding}-{bias}",
    )
    for groups, dilation, (stride, padding), bias in itertools.product(
        GROUPS, DILATIONS, GEOMETRIES, ("bias", "no bias")
    )
]


@pytest.mark.parametrize(("groups", "dilation", "stride", "padding", "bias"), GRID)
def test_forward_and_backward_match_torch(groups, dilation, stride, padding, bias):
    x, w, b, G = _case(groups, seed=0)
    b = b if bias == "bias" else None
    geometry = {"stride": stride, "padding": padding, "dilation": dilation, "groups": G}
    xt, wt = x.clone().requires_grad_(), w.clone().requires_grad_()
    bt = None if b is None else b.clone().requires_grad_()
    out_ref = F.conv2d(xt, wt, bt, **geometry)
    dout = randn(*out_ref.shape, seed=3)
    out_ref.backward(dout)

    out, cache = conv.conv2d_forward(x, w, b, **geometry)
    torch.testing.assert_close(out, out_ref.detach())
    dx, dw, db = conv.conv2d_backward(dout, cache)
    torch.testing.assert_close(dx, xt.grad)
    torch.testing.assert_close(dw, wt.grad)
    if b is None:
        assert db is None
    else:
        torch.testing.assert_close(db, bt.grad)
    torch.testing.assert_close(conv.conv2d_input_grad(dout, w, tuple(x.shape), **geometry), xt.grad)


@pytest.mark.parametrize(("groups", "dilation", "stride", "padding", "bias"), GRID[::3])
def test_naive_loops_match_torch(groups, dilation, stride, padding, bias):
    x, w, b, G = _case(groups, seed=10)
    b = b if bias == "bias" else None
    geometry = {"stride": stride, "padding": padding, "dilation": dilation, "groups": G}
    torch.testing.assert_close(
        conv.conv2d_naive(x, w, b, **geometry), F.conv2d(x, w, b, **geometry)
    )


def test_the_cache_carries_the_dilation_and_the_groups():
    x, w, b, G = _case("two groups", seed=20)
    _, cache = conv.conv2d_forward(x, w, b, 1, 0, (2, 1), G)
    assert (cache.dilation, cache.groups) == ((2, 1), 2)


def test_float32_in_float32_out():
    x, w, b, G = _case("depthwise", seed=30)
    out, cache = conv.conv2d_forward(x.float(), w.float(), b.float(), dilation=2, groups=G)
    assert out.dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in conv.conv2d_backward(torch.ones_like(out), cache))


def test_conv2d_function_passes_gradcheck():
    x, w, b, G = _case("two groups", seed=40)
    inputs = (x[:1, :, :6, :5].requires_grad_(), w.requires_grad_(), b.requires_grad_())
    assert torch.autograd.gradcheck(
        lambda x, w, b: conv.Conv2dFunction.apply(x, w, b, (2, 1), 1, (2, 1), G), inputs
    )


@pytest.mark.parametrize(
    ("C_in", "C_out", "groups", "dilation", "stride", "padding"),
    [(4, 6, 2, 2, 1, 2), (4, 4, 4, (2, 1), (1, 2), 1), (3, 6, 3, 1, 2, 0), (2, 3, 1, 3, 1, 3)],
)
def test_module_matches_torch_nn_conv2d(C_in, C_out, groups, dilation, stride, padding):
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    ours = cnn.Conv2d(C_in, C_out, 3, **kwargs).double()
    theirs = torch.nn.Conv2d(C_in, C_out, 3, **kwargs).double()
    theirs.load_state_dict(ours.state_dict())
    x = randn(2, C_in, 8, 7, seed=50).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    out, out_ref = ours(x), theirs(x_ref)
    torch.testing.assert_close(out, out_ref)
    dout = randn(*out.shape, seed=51)
    out.backward(dout)
    out_ref.backward(dout)
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad)
    torch.testing.assert_close(ours.bias.grad, theirs.bias.grad)


def test_module_refuses_a_padding_mode_other_than_zeros():
    layer = cnn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect").double()
    with pytest.raises(ValueError, match="padding_mode must be 'zeros'.*got 'reflect'"):
        layer(randn(1, 2, 5, 5))


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [
        (9, 3, 1, 0, 2),
        (9, 3, 2, 1, 3),
        (10, 2, 3, 2, 4),
        (7, 1, 1, 0, 5),
        (5, 3, 1, 0, 2),
        (16, 5, 2, 4, 2),
    ],
)
def test_output_size_with_dilation_is_the_real_output_length(
    size, kernel, stride, padding, dilation
):
    x, w = torch.zeros(1, 1, size, size + 1), torch.zeros(1, 1, kernel, 1)
    out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    assert conv.output_size(size, kernel, stride, padding, dilation) == out.shape[2]


def test_output_size_refuses_a_dilated_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match=r"kernel 3 \(with dilation 3, span 7\) is larger than"):
        conv.output_size(6, 3, dilation=3)
    x, w = randn(1, 2, 6, 6), randn(2, 2, 3, 3)
    with pytest.raises(ValueError, match=r"with padding \(0, 0\) and dilation \(3, 3\)"):
        conv.conv2d_forward(x, w, dilation=3)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"),
    [(3, 1, 0, 2), ((3, 2), (2, 1), (1, 2), (2, 3)), (2, 2, 1, (1, 4))],
)
def test_im2col_with_dilation_matches_unfold_and_col2im_matches_fold(
    kernel, stride, padding, dilation
):
    x = randn(2, 3, 9, 10, seed=60)
    geometry = {"dilation": dilation, "padding": padding, "stride": stride}
    cols = conv.im2col(x, kernel, stride, padding, dilation)
    torch.testing.assert_close(cols, F.unfold(x, kernel, **geometry))
    y = randn(*cols.shape, seed=61)
    torch.testing.assert_close(
        conv.col2im(y, x.shape, kernel, stride, padding, dilation),
        F.fold(y, x.shape[2:], kernel, **geometry),
    )


def test_receptive_field_with_dilations():
    # WaveNet's stack: kernels of 2, dilations doubling, one output sees 2 ** layers inputs
    assert conv.receptive_field([2] * 4, dilations=[1, 2, 4, 8]) == [2, 4, 8, 16]
    # three 3x3 layers with dilations 1, 2, 4 (Yu and Koltun's context module): 3, 7, 15
    assert conv.receptive_field([3, 3, 3], [1, 1, 1], [1, 2, 4]) == [3, 7, 15]
    assert conv.receptive_field([3, 3], [2, 1], [1, 2]) == [3, 3 + 2 * 2 * 2]
    with pytest.raises(ValueError, match=r"dilations must have one entry per kernel \(2\), got 1"):
        conv.receptive_field([3, 3], dilations=[2])


def _x_w(C_in=6, C_out=4, per_group=3):
    return randn(1, C_in, 5, 5), randn(C_out, per_group, 3, 3, seed=1)


@pytest.mark.parametrize(
    ("x_w", "kwargs", "error", "match"),
    [
        (
            _x_w(),
            {"groups": 4},
            ValueError,
            r"^groups must divide the 6 input channels; got groups=4$",
        ),
        (
            _x_w(C_out=3),
            {"groups": 2},
            ValueError,
            r"^groups must divide the 3 output channels; got groups=2$",
        ),
        (
            _x_w(per_group=2),
            {"groups": 2},
            ValueError,
            r"^w must have shape \(C_out, C_in/groups=3, kh, kw\) for C_in=6 and groups=2, got \(4, 2, 3, 3\)$",
        ),
        (
            _x_w(per_group=3),
            {},
            ValueError,
            r"^w must have shape \(C_out, C_in=6, kh, kw\), got \(4, 3, 3, 3\)$",
        ),
        (_x_w(per_group=6), {"groups": 0}, ValueError, r"^groups must be in \[1, inf\], got 0$"),
        (_x_w(per_group=6), {"groups": 2.0}, TypeError, r"^groups must be an int, got float$"),
        (_x_w(per_group=6), {"groups": math.nan}, TypeError, r"^groups must be an int, got float$"),
        (
            _x_w(per_group=6),
            {"dilation": 0},
            ValueError,
            r"^dilation must be in \[1, inf\], got 0$",
        ),
        (
            _x_w(per_group=6),
            {"dilation": (1, 0)},
            ValueError,
            r"^dilation must be in \[1, inf\], got 0$",
        ),
        (_x_w(per_group=6), {"dilation": "2"}, TypeError, r"^dilation must be an int, got str$"),
        (_x_w(per_group=6), {"dilation": 1.5}, TypeError, r"^dilation must be an int, got float$"),
        (
            _x_w(per_group=6),
            {"dilation": math.nan},
            TypeError,
            r"^dilation must be an int, got float$",
        ),
        (
            _x_w(per_group=6),
            {"dilation": (1, 2, 3)},
            ValueError,
            r"^dilation must be an int or a pair of ints",
        ),
    ],
)
@pytest.mark.parametrize("function", [conv.conv2d_forward, conv.conv2d, conv.conv2d_naive])
def test_bad_groups_and_dilations_are_refused_by_name(function, x_w, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(*x_w, **kwargs)


def test_bad_dilations_are_refused_by_the_other_functions():
    x = randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"^dilation must be in \[1, inf\], got 0$"):
        conv.im2col(x, 3, dilation=0)
    with pytest.raises(TypeError, match=r"^dilation must be an int, got float$"):
        conv.col2im(randn(1, 18, 9), x.shape, 3, dilation=math.nan)
    with pytest.raises(ValueError, match=r"^dilation must be in \[1, inf\], got 0$"):
        conv.output_size(5, 3, dilation=0)
    with pytest.raises(ValueError, match=r"^dilations\[1\] must be in \[1, inf\], got 0$"):
        conv.receptive_field([3, 3], dilations=[1, 0])


def test_input_grad_refuses_an_input_shape_that_does_not_fit_the_groups():
    w = randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"^w expects 6 input channels \(3 in each of 2 groups\)"):
        conv.conv2d_input_grad(randn(1, 4, 3, 3), w, (1, 4, 5, 5), groups=2)
    with pytest.raises(
        ValueError, match=r"^groups must divide the 4 output channels; got groups=3$"
    ):
        conv.conv2d_input_grad(randn(1, 4, 3, 3), w, (1, 9, 5, 5), groups=3)


def test_module_refuses_a_weight_that_does_not_fit_its_input():
    layer = cnn.Conv2d(4, 6, 3, groups=2).double()
    with pytest.raises(
        ValueError, match=r"^x must have shape \(N, C=4, H, W\), got \(1, 6, 5, 5\)$"
    ):
        layer(randn(1, 6, 5, 5))


@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "size", "groups", "bias"),
    [
        (3, 8, 3, 10, 1, True),
        (8, 16, (3, 1), 7, 2, False),
        (12, 12, 5, 9, 12, True),  # depthwise
        (16, 32, 1, 6, 4, True),  # grouped 1x1
    ],
)
def test_conv2d_cost_counts_what_torch_builds_and_computes(c_in, c_out, kernel, size, groups, bias):
    from torch.utils.flop_counter import FlopCounterMode

    layer = torch.nn.Conv2d(c_in, c_out, kernel, groups=groups, bias=bias, padding=1)
    x = torch.zeros(1, c_in, size, size)
    with FlopCounterMode(display=False) as counter:
        out = layer(x)
    output = tuple(out.shape[2:])
    parameters, macs = conv.conv2d_cost(c_in, c_out, kernel, output, groups, bias)
    assert parameters == sum(p.numel() for p in layer.parameters())
    assert 2 * macs == counter.get_total_flops()  # a multiply and an add each


def test_conv2d_cost_rejects_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="groups must divide the 6 input channels; got groups=4"):
        conv.conv2d_cost(6, 8, 3, 5, groups=4)
    with pytest.raises(ValueError, match="groups must divide the 6 output channels; got groups=4"):
        conv.conv2d_cost(8, 6, 3, 5, groups=4)
