"""nnbook.cnn against torch.nn.functional and autograd, in float64."""

import pytest
import torch
import torch.nn.functional as F
from helpers import batch_norm_against_torch, randn, seeds
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnbook.cnn import _conv as conv

pytestmark = pytest.mark.cnn


configs = st.fixed_dictionaries(
    {
        "N": st.integers(1, 4),
        "C_in": st.integers(1, 5),
        "C_out": st.integers(1, 5),
        "H": st.integers(1, 9),
        "W": st.integers(1, 9),
        "kh": st.integers(1, 5),
        "kw": st.integers(1, 5),
        "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
        "bias": st.booleans(),
        "seed": seeds,
    }
)


@settings(max_examples=60, deadline=None)
@given(c=configs)
def test_conv2d_matches_torch(c):
    assume(c["kh"] <= c["H"] + 2 * c["padding"][0] and c["kw"] <= c["W"] + 2 * c["padding"][1])
    x = randn(c["N"], c["C_in"], c["H"], c["W"], seed=c["seed"]).requires_grad_()
    w = randn(c["C_out"], c["C_in"], c["kh"], c["kw"], seed=c["seed"] + 1).requires_grad_()
    b = randn(c["C_out"], seed=c["seed"] + 2).requires_grad_() if c["bias"] else None
    out_ref = F.conv2d(x, w, b, stride=c["stride"], padding=c["padding"])
    dout = randn(*out_ref.shape, seed=c["seed"] + 3)
    out_ref.backward(dout)

    out, cache = conv.conv2d_forward(x.detach(), w.detach(), None if b is None else b.detach(),
                                     c["stride"], c["padding"])  # fmt: skip
    torch.testing.assert_close(out, out_ref.detach())
    dx, dw, db = conv.conv2d_backward(dout, cache)
    torch.testing.assert_close(dx, x.grad)
    torch.testing.assert_close(dw, w.grad)
    if b is not None:
        torch.testing.assert_close(db, b.grad)
    else:
        assert db is None
    naive = conv.conv2d_naive(x.detach(), w.detach(), None if b is None else b.detach(),
                              c["stride"], c["padding"])  # fmt: skip
    torch.testing.assert_close(naive, out_ref.detach())


@settings(max_examples=40, deadline=None)
@given(c=configs)
def test_im2col_matches_unfold_and_col2im_is_its_adjoint(c):
    k, s, p = (c["kh"], c["kw"]), c["stride"], c["padding"]
    assume(k[0] <= c["H"] + 2 * p[0] and k[1] <= c["W"] + 2 * p[1])
    x = randn(c["N"], c["C_in"], c["H"], c["W"], seed=c["seed"])
    cols = conv.im2col(x, k, s, p)
    torch.testing.assert_close(cols, F.unfold(x, k, padding=p, stride=s))
    y = randn(*cols.shape, seed=c["seed"] + 1)
    # <im2col(x), y> = <x, col2im(y)>: col2im is the transpose of im2col.
    torch.testing.assert_close((cols * y).sum(), (x * conv.col2im(y, x.shape, k, s, p)).sum())
    torch.testing.assert_close(
        conv.col2im(y, x.shape, k, s, p), F.fold(y, (c["H"], c["W"]), k, padding=p, stride=s)
    )


pool_configs = st.fixed_dictionaries(
    {
        "N": st.integers(1, 3),
        "C": st.integers(1, 4),
        "H": st.integers(2, 9),
        "W": st.integers(2, 9),
        "k": st.tuples(st.integers(1, 4), st.integers(1, 4)),
        "stride": st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
        "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
        "seed": seeds,
    }
)


@pytest.mark.parametrize("kind", ["max", "avg"])
@settings(max_examples=50, deadline=None)
@given(c=pool_configs)
def test_pooling_matches_torch(kind, c):
    k, s, p = c["k"], c["stride"], c["padding"]
    assume(
        2 * p[0] <= k[0]
        and 2 * p[1] <= k[1]
        and k[0] <= c["H"] + 2 * p[0]
        and k[1] <= c["W"] + 2 * p[1]
    )
    x = randn(c["N"], c["C"], c["H"], c["W"], seed=c["seed"]).requires_grad_()
    reference = F.max_pool2d if kind == "max" else F.avg_pool2d
    out_ref = reference(x, k, s, p)
    dout = randn(*out_ref.shape, seed=c["seed"] + 1)
    out_ref.backward(dout)
    forward = getattr(conv, f"{kind}_pool2d_forward")
    backward = getattr(conv, f"{kind}_pool2d_backward")
    out, cache = forward(x.detach(), k, s, p)
    torch.testing.assert_close(out, out_ref.detach())
    torch.testing.assert_close(backward(dout, cache), x.grad)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm2d_matches_torch(training):
    batch_norm_against_torch(
        conv.batch_norm2d_forward, conv.batch_norm2d_backward, (4, 3, 5, 6), training, 0
    )


def test_autograd_function_passes_gradcheck():
    inputs = (randn(2, 3, 6, 5).requires_grad_(), randn(4, 3, 3, 2, seed=1).requires_grad_(),
              randn(4, seed=2).requires_grad_())  # fmt: skip
    assert torch.autograd.gradcheck(
        lambda x, w, b: conv.Conv2dFunction.apply(x, w, b, (2, 1), 1), inputs
    )


def test_output_size_formula():
    assert conv.output_size(28, 5) == 24
    assert conv.output_size(224, 11, stride=4, padding=2) == 55  # AlexNet's first layer
    assert conv.output_size(32, 3, padding=1) == 32  # VGG keeps the size


Z = torch.zeros


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: conv.conv2d(Z(2, 3, 8, 8), Z(4, 2, 3, 3)), ValueError,
         r"w must have shape \(C_out, C_in=3, kh, kw\), got \(4, 2, 3, 3\)"),
        (lambda: conv.conv2d(Z(2, 3, 4, 4), Z(4, 3, 7, 7)), ValueError,
         r"kernel \(7, 7\) does not fit input \(2, 3, 4, 4\) with padding \(0, 0\)"),
        (lambda: conv.conv2d(Z(2, 3, 8, 8), Z(4, 3, 3, 3), stride=0), ValueError,
         r"stride must be in \[1, inf\], got 0"),
        (lambda: conv.conv2d(Z(2, 3, 8, 8), Z(4, 3, 3, 3), padding=-1), ValueError,
         r"padding must be in \[0, inf\], got -1"),
        (lambda: conv.conv2d(Z(3, 8, 8), Z(4, 3, 3, 3)), ValueError,
         r"x must have 4 dimensions \(N, C_in, H, W\), got 3: \(3, 8, 8\)"),
        (lambda: conv.conv2d(Z(2, 3, 8, 8), Z(4, 3, 3, 3, dtype=torch.float64)), TypeError,
         r"w must have dtype torch.float32"),
        (lambda: conv.conv2d(Z(2, 3, 8, 8), Z(4, 3, 3, 3), Z(5)), ValueError,
         r"b must have shape \(C_out=4,\), got \(5,\)"),
        (lambda: conv.max_pool2d(Z(1, 1, 4, 4), 2, padding=2), ValueError,
         r"padding \(2, 2\) must be at most half the kernel"),
        (lambda: conv.avg_pool2d(Z(1, 1, 4, 4), (2, 2, 2)), ValueError, r"kernel must be an int or a pair"),
        (lambda: conv.output_size(4, 7), ValueError, r"kernel 7 is larger than the padded input 4"),
    ],
)  # fmt: skip
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_receptive_field_growth():
    assert conv.receptive_field([3, 3, 3]) == [3, 5, 7]  # stacked 3x3: +2 per layer
    assert conv.receptive_field([5, 2, 5, 2], [1, 2, 1, 2]) == [5, 6, 14, 16]  # LeNet
    with pytest.raises(ValueError, match=r"strides must have one entry per kernel \(2\), got 1"):
        conv.receptive_field([3, 3], [1])


def test_receptive_field_by_gradient():
    # The field is the set of inputs whose gradient is non-zero for one output pixel.
    x = torch.zeros(1, 1, 40, 40, requires_grad=True)
    h = torch.nn.functional.conv2d(x, torch.ones(1, 1, 5, 5))
    h = torch.nn.functional.avg_pool2d(h, 2)  # (max pooling would route to one pixel per window)
    h = torch.nn.functional.conv2d(h, torch.ones(1, 1, 5, 5))
    h[0, 0, 3, 3].backward()
    rows = (x.grad[0, 0].abs().sum(dim=1) > 0).sum().item()
    assert rows == conv.receptive_field([5, 2, 5], [1, 2, 1])[-1] == 14
