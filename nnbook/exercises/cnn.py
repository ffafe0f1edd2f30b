"""Exercises of the convolutional chapter, one group per section."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnbook import optim
from nnbook.check import Case, exercise
from nnbook.cnn import _conv as conv
from nnbook.cnn._architectures import reset_parameters
from nnbook.cnn._invariance import shift as conv_shift
from nnbook.exercises._cases import rand, randn
from nnbook.train import accuracy, batches, count_parameters, predict

__all__ = [
    "ablation_parameters",
    "batch_norm_backward",
    "conv_input_grad",
    "conv_parameters",
    "dense_parameters",
    "equivariance_error",
    "im2col",
    "matching_width",
    "max_pool_backward",
    "output_size",
    "receptive_field",
    "residual_jacobian",
    "separable_cost",
    "shift_images",
    "small_cnn_parameters",
    "train_curve",
]


def _count(layers):
    """The parameters of ``layers``, built on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return count_parameters(nn.Sequential(*layers()))


# --------------------------------------------------------------------------
# why_convolutions
# --------------------------------------------------------------------------


def _dense_cases(rng):
    return [
        Case("MNIST, 1 -> 6 maps", (1, 28, 6)),
        Case("a colour image, 3 -> 4 maps", (3, 8, 4)),
        Case("one pixel, one channel", (1, 1, 1)),
        Case("ImageNet, 3 -> 64 maps", (3, 224, 64)),
    ]


def _dense_no_bias(c_in, size, c_out):
    return (c_in * size * size) * (c_out * size * size)


def _dense_bias_per_map(c_in, size, c_out):
    return (c_in * size * size) * (c_out * size * size) + c_out


def _dense_one_channel(c_in, size, c_out):
    n_in, n_out = size * size, c_out * size * size
    return n_out * n_in + n_out


def _dense_by_neuron(c_in, size, c_out):
    per_neuron = c_in * size**2 + 1  # its weights and its bias
    return per_neuron * c_out * size**2


@exercise(
    statement=(
        "dense_parameters(c_in, size, c_out) returns the number of parameters "
        "of a fully connected layer from an image of c_in channels of size x "
        "size pixels to c_out feature maps of the same size, each neuron with "
        "a bias."
    ),
    cases=_dense_cases,
    equation="eq-fnn-weight-avg",
    kind="derive",
    section="cnn/why_convolutions",
    outputs=("count",),
    hint=(
        "Count neurons first: how many outputs are there, and how many inputs "
        "does each see? In a fully connected layer nothing is shared, not even "
        "the bias of a map."
    ),
    wrong={
        "the biases forgotten": _dense_no_bias,
        "one bias per map, as in a convolution": _dense_bias_per_map,
        "the input channels forgotten": _dense_one_channel,
    },
    alternatives=(_dense_by_neuron,),
)
def dense_parameters(c_in, size, c_out):
    n_in, n_out = c_in * size * size, c_out * size * size
    return _count(lambda: [nn.Linear(n_in, n_out)])


def _bordered(rng, n, size, border):
    """Images (n, 1, size, size) that are zero within ``border`` of every edge."""
    x = torch.zeros(n, 1, size, size, dtype=torch.float64)
    inner = size - 2 * border
    x[:, :, border:-border, border:-border] = rand(rng, n, 1, inner, inner)
    return x


def _equivariance_cases(rng):
    return [
        Case(
            "images with an empty border, a 3x3 filter, shift 2",
            (
                _bordered(rng, 3, 12, 3),
                randn(rng, 1, 1, 3, 3),
                randn(rng, 144, 144),
                2,
            ),
        ),
        Case(
            "a 5x5 filter, shift 1 to the left",
            (
                _bordered(rng, 2, 10, 3),
                randn(rng, 1, 1, 5, 5),
                randn(rng, 100, 100),
                -1,
            ),
        ),
        Case(
            "a pattern that reaches the border: wrap-around and padding",
            (
                rand(rng, 2, 1, 8, 8),
                randn(rng, 1, 1, 3, 3),
                randn(rng, 64, 64),
                2,
            ),
        ),
        Case(
            "two filters, images not square",
            (
                torch.nn.functional.pad(rand(rng, 2, 1, 4, 6), (3, 3, 2, 2)),
                randn(rng, 2, 1, 3, 3),
                randn(rng, 96, 96),
                3,
            ),
        ),
    ]


def _layers(x, w, dense):
    def convolve(z):
        return conv.conv2d(z, w, padding=w.shape[-1] // 2)

    def fully_connected(z):
        return (z.flatten(1) @ dense.T).reshape(z.shape)

    return convolve, fully_connected


def _invariance_instead(x, w, dense, shift):
    errors = []
    for f in _layers(x, w, dense):
        a, b = f(x), f(torch.roll(x, shift, dims=3))
        errors.append(((b - a).norm() / a.norm()).item())
    return tuple(errors)


def _output_shifted_back(x, w, dense, shift):
    errors = []
    for f in _layers(x, w, dense):
        a, b = f(x), f(torch.roll(x, shift, dims=3))
        errors.append(
            ((b - torch.roll(a, -shift, dims=3)).norm() / a.norm()).item()
        )
    return tuple(errors)


def _relative_to_shifted(x, w, dense, shift):
    errors = []
    for f in _layers(x, w, dense):
        a, b = f(x), f(torch.roll(x, shift, dims=3))
        errors.append(
            ((b - torch.roll(a, shift, dims=3)).norm() / b.norm()).item()
        )
    return tuple(errors)


def _equivariance_with_torch(x, w, dense, shift):
    k = w.shape[-1]
    errors = []
    for f in (
        lambda z: F.conv2d(z, w, padding=k // 2),
        lambda z: torch.nn.functional.linear(z.flatten(1), dense).reshape(
            z.shape[0], -1, z.shape[2], z.shape[3]
        ),
    ):
        moved_then_f = f(x.roll(shift, 3))
        f_then_moved = f(x).roll(shift, 3)
        diff = torch.linalg.vector_norm(moved_then_f - f_then_moved)
        errors.append(float(diff / torch.linalg.vector_norm(f(x))))
    return tuple(errors)


@exercise(
    statement=(
        "equivariance_error(x, w, dense, shift) measures how far two layers are "
        "from translation equivariant, for images x (N, 1, H, W) moved `shift` "
        "pixels to the right by torch.roll along the width (dims=3). The layers: "
        "the convolution with filters w (C_out, 1, k, k), k odd, stride 1 and "
        "padding k // 2 (nnbook.cnn.conv2d); and the fully connected layer "
        "without bias, weights dense (H W, H W), whose output is read as an "
        "H x W map. For each layer f, the error is the norm of the difference "
        "between f of the moved images and the moved output f(x), relative to "
        "the norm of f(x), norms over the whole batch. Return the pair "
        "(conv_error, dense_error) as floats; checked to a relative tolerance "
        "of 1e-6, or 1e-8 absolute for errors near 0."
    ),
    cases=_equivariance_cases,
    equation=None,
    kind="experiment",
    section="cnn/why_convolutions",
    outputs=("conv_error", "dense_error"),
    hint=(
        "Equivariance compares two paths: move the input and then apply the "
        "layer, or apply the layer and then move its output the same way. The "
        "reference size is the output of the original images. Where pixels "
        "reach the border, roll wraps them around and the padding is zero: "
        "there, even a convolution is not equivariant."
    ),
    wrong={
        "the output not moved (this measures invariance)": _invariance_instead,
        "the output moved the other way": _output_shifted_back,
        "relative to the output of the moved images": _relative_to_shifted,
    },
    alternatives=(_equivariance_with_torch,),
)
def equivariance_error(x, w, dense, shift):
    errors = []
    for f in _layers(x, w, dense):
        a = f(x)
        b = f(torch.roll(x, shift, dims=3))
        errors.append(
            ((b - torch.roll(a, shift, dims=3)).norm() / a.norm()).item()
        )
    return tuple(errors)


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------


def _output_size_cases(rng):
    return [
        Case("LeNet's first layer", (28, 5, 1, 0)),
        Case("'same' padding", (32, 3, 1, 1)),
        Case("stride 4, AlexNet", (224, 11, 4, 2)),
        Case("a stride that does not divide evenly", (10, 3, 4, 0)),
        Case("the ResNet stem, 7x7 with stride 2", (224, 7, 2, 3)),
    ]


def _padding_once(size, kernel, stride, padding):
    return (size + padding - kernel) // stride + 1


def _ceil(size, kernel, stride, padding):
    return math.ceil((size + 2 * padding - kernel) / stride) + 1


def _no_plus_one(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride


def _true_division(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) / stride + 1


def _output_size_by_counting(size, kernel, stride, padding):
    # Count the start positions of a window that fit in the padded input.
    return len(range(0, size + 2 * padding - kernel + 1, stride))


@exercise(
    statement=(
        "output_size(size, kernel, stride, padding) returns the length, along "
        "one dimension, of the output of a convolution with that kernel size, "
        "stride and zero padding on an input of length size."
    ),
    cases=_output_size_cases,
    equation="eq-cnn-output-size",
    kind="implement",
    section="cnn/convolution",
    outputs=("n_out",),
    hint=(
        "Padding adds zeros on both sides. Count the positions where the "
        "window's first pixel can start: the first is 0, and the window must "
        "end inside the padded input, so a last partial step does not count."
    ),
    wrong={
        "padding added on one side only": _padding_once,
        "rounding up": _ceil,
        "the first position not counted": _no_plus_one,
        "true division instead of integer division": _true_division,
    },
    alternatives=(_output_size_by_counting,),
)
def output_size(size, kernel, stride, padding):
    return conv.output_size(size, kernel, stride, padding)


def _conv_parameters_cases(rng):
    return [
        Case("LeNet's second layer", (6, 16, 5, 5)),
        Case("a 1x1 convolution without bias", (256, 64, 1, 1, False)),
        Case("a non-square kernel", (3, 8, 1, 7)),
        Case("one input channel", (1, 6, 5, 5)),
    ]


def _conv_no_bias(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * kh * kw


def _conv_bias_per_channel(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * (kh * kw + (1 if bias else 0))


def _conv_one_channel(c_in, c_out, kh, kw, bias=True):
    return c_out * (kh * kw + (1 if bias else 0))


def _conv_parameters_by_hand(c_in, c_out, kh, kw, bias=True):
    weights = c_out * c_in * kh * kw
    return weights + c_out if bias else weights


@exercise(
    statement=(
        "conv_parameters(c_in, c_out, kh, kw, bias=True) returns the number of "
        "parameters of a convolutional layer with c_in input channels and "
        "c_out filters of size kh x kw, with one bias per filter or none."
    ),
    cases=_conv_parameters_cases,
    equation="eq-cnn-conv",
    kind="derive",
    section="cnn/convolution",
    outputs=("count",),
    hint=(
        "A filter spans every input channel. How many biases does one output "
        "map have? And does the size of the image matter?"
    ),
    wrong={
        "the bias forgotten": _conv_no_bias,
        "one bias per input channel": _conv_bias_per_channel,
        "the input channels forgotten": _conv_one_channel,
    },
    alternatives=(_conv_parameters_by_hand,),
)
def conv_parameters(c_in, c_out, kh, kw, bias=True):
    return _count(lambda: [nn.Conv2d(c_in, c_out, (kh, kw), bias=bias)])


def _im2col_cases(rng):
    return [
        Case("one 4x4 channel, 3x3 kernel", (randn(rng, 1, 1, 4, 4), 3, 1, 0)),
        Case(
            "two images, two channels, padding 1",
            (randn(rng, 2, 2, 5, 5), 3, 1, 1),
        ),
        Case("stride 2, a 2x3 kernel", (randn(rng, 1, 3, 6, 7), (2, 3), 2, 0)),
        Case(
            "a stride and a padding per dimension",
            (randn(rng, 1, 2, 5, 6), 3, (2, 1), (0, 1)),
        ),
    ]


def _pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


def _im2col_offsets_first(x, kernel, stride=1, padding=0):
    # Rows ordered by kernel offset, then channel: (kh, kw, C) instead of (C, kh, kw).
    cols = conv.im2col(x, kernel, stride, padding)
    (kh, kw), _ = _pairs(kernel, stride)
    N, C = x.shape[:2]
    L = cols.shape[-1]
    return cols.reshape(N, C, kh * kw, L).transpose(1, 2).reshape(N, -1, L)


def _im2col_stride_ignored(x, kernel, stride=1, padding=0):
    return conv.im2col(x, kernel, 1, padding)


def _im2col_padding_ignored(x, kernel, stride=1, padding=0):
    return conv.im2col(x, kernel, stride, 0)


def _im2col_by_position(x, kernel, stride=1, padding=0):
    (kh, kw), (sh, sw), (ph, pw) = _pairs(kernel, stride, padding)
    N, C, H, W = x.shape
    H_out, W_out = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    xp = F.pad(x, (pw, pw, ph, ph))
    columns = []
    for y in range(H_out):
        for z in range(W_out):
            field = xp[:, :, y * sh : y * sh + kh, z * sw : z * sw + kw]
            columns.append(field.reshape(N, -1))
    return torch.stack(columns, dim=2)


@exercise(
    statement=(
        "im2col(x, kernel, stride=1, padding=0) returns every receptive field "
        "of the images x (N, C, H, W) as a column of a tensor (N, C kh kw, "
        "H_out W_out): rows ordered by channel, then kernel row, then kernel "
        "column; columns by output position, row by row (the layout of "
        "torch.nn.functional.unfold, which you may not use). kernel, stride and "
        "padding are an int or a pair (rows, columns)."
    ),
    cases=_im2col_cases,
    equation="eq-cnn-im2col",
    kind="implement",
    section="cnn/convolution",
    outputs=("X_col",),
    hint=(
        "Pad first, then read one window per output position, stride pixels "
        "apart. Flatten each window channel by channel, so that a filter "
        "flattened the same way is one row of W_row."
    ),
    wrong={
        "rows ordered by kernel offset before channel": _im2col_offsets_first,
        "the stride ignored": _im2col_stride_ignored,
        "the padding ignored": _im2col_padding_ignored,
    },
    alternatives=(_im2col_by_position,),
)
def im2col(x, kernel, stride=1, padding=0):
    return conv.im2col(x, kernel, stride, padding)


def _receptive_cases(rng):
    return [
        Case("three 3x3 layers", ([3, 3, 3], [1, 1, 1])),
        Case("LeNet: conv, pool, conv, pool", ([5, 2, 5, 2], [1, 2, 1, 2])),
        Case(
            "AlexNet's features",
            ([11, 3, 5, 3, 3, 3, 3, 3], [4, 2, 1, 2, 1, 1, 1, 2]),
        ),
        Case("a stride on the last layer only", ([3, 3, 3], [1, 1, 2])),
        Case("the ResNet stem and a 3x3 layer", ([7, 3, 3], [2, 2, 1])),
    ]


def _fields_without_strides(kernels, strides):
    fields, r = [], 1
    for k in kernels:
        r += k - 1
        fields.append(r)
    return fields


def _fields_own_stride_included(kernels, strides):
    fields, r, jump = [], 1, 1
    for k, s in zip(kernels, strides, strict=True):
        jump *= s
        r += (k - 1) * jump
        fields.append(r)
    return fields


def _fields_added(kernels, strides):
    fields, r = [], 0
    for k in kernels:
        r += k
        fields.append(r)
    return fields


def _fields_from_the_top(kernels, strides):
    # Walk down from one output pixel: a field of r pixels at layer l needs
    # s (r - 1) + k pixels at layer l - 1.
    fields = []
    for top in range(len(kernels)):
        r = 1
        for k, s in zip(kernels[top::-1], strides[top::-1], strict=True):
            r = s * (r - 1) + k
        fields.append(r)
    return fields


@exercise(
    statement=(
        "receptive_field(kernels, strides) returns, for a stack of layers with "
        "these kernel sizes and strides (first layer first, pooling layers "
        "included), the list of how many input pixels along one dimension one "
        "output of each layer sees."
    ),
    cases=_receptive_cases,
    equation="eq-cnn-receptive-field",
    kind="derive",
    section="cnn/convolution",
    hint=(
        "Each new layer adds k - 1 of its own input positions to the field. How "
        "many input pixels apart are neighbouring positions of that layer's "
        "input? Only the strides of the layers below it count."
    ),
    wrong={
        "the strides of earlier layers forgotten": _fields_without_strides,
        "the layer's own stride included": _fields_own_stride_included,
        "the kernel sizes added (overlap ignored)": _fields_added,
    },
    alternatives=(_fields_from_the_top,),
)
def receptive_field(kernels, strides):
    return conv.receptive_field(kernels, strides)


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------


def _max_pool_cases(rng):
    ints = torch.randint(0, 3, (2, 2, 6, 6), generator=rng).double()
    relu = (randn(rng, 1, 3, 4, 4) - 1.0).clamp(min=0)
    tie = torch.tensor([[0.0, 2.0], [2.0, 1.0]], dtype=torch.float64).repeat(
        1, 1, 2, 2
    )
    return [
        Case(
            "one 4x4 map, 2x2 windows",
            (randn(rng, 1, 1, 4, 4), randn(rng, 1, 1, 2, 2), 2),
        ),
        Case(
            "a batch of two, three channels",
            (randn(rng, 2, 3, 6, 6), randn(rng, 2, 3, 3, 3), 2),
        ),
        Case(
            "3x3 windows on a 7x7 map (the border is dropped)",
            (randn(rng, 1, 1, 7, 7), randn(rng, 1, 1, 2, 2), 3),
        ),
        Case(
            "after a ReLU: windows of zeros tie",
            (relu, randn(rng, 1, 3, 2, 2), 2),
        ),
        Case(
            "a tie between the top right and the bottom left",
            (tie, randn(rng, 1, 1, 2, 2), 2),
        ),
        Case("small integers: many ties", (ints, randn(rng, 2, 2, 2, 2), 3)),
    ]


def _windows(x, kernel):
    """The windows of x as (N, C, H_out, W_out, kernel * kernel), row-major."""
    N, C, H, W = x.shape
    H_out, W_out = H // kernel, W // kernel
    x = x[:, :, : H_out * kernel, : W_out * kernel]
    x = x.reshape(N, C, H_out, kernel, W_out, kernel).transpose(3, 4)
    return x.reshape(N, C, H_out, W_out, kernel * kernel)


def _scatter(x, share, kernel):
    """Put the per-window shares (N, C, H_out, W_out, k*k) back in place."""
    N, C, H, W = x.shape
    H_out, W_out = share.shape[2:4]
    share = share.reshape(N, C, H_out, W_out, kernel, kernel).transpose(3, 4)
    dx = torch.zeros_like(x)
    dx[:, :, : H_out * kernel, : W_out * kernel] = share.reshape(
        N, C, H_out * kernel, W_out * kernel
    )
    return dx


def _every_tied_maximum(x, dout, kernel):
    windows = _windows(x, kernel)
    winners = windows == windows.max(dim=-1, keepdim=True).values
    return _scatter(x, winners * dout[..., None], kernel)


def _tied_maxima_share(x, dout, kernel):
    windows = _windows(x, kernel)
    winners = (windows == windows.max(dim=-1, keepdim=True).values).double()
    winners = winners / winners.sum(dim=-1, keepdim=True)
    return _scatter(x, winners * dout[..., None], kernel)


def _last_maximum(x, dout, kernel):
    windows = _windows(x, kernel)
    last = kernel * kernel - 1 - windows.flip(-1).argmax(dim=-1)
    winners = F.one_hot(last, kernel * kernel).double()
    return _scatter(x, winners * dout[..., None], kernel)


def _average_rule(x, dout, kernel):
    windows = _windows(x, kernel)
    share = torch.ones_like(windows) / kernel**2
    return _scatter(x, share * dout[..., None], kernel)


def _max_pool_by_loops(x, dout, kernel):
    N, C, H, W = x.shape
    dx = torch.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for y in range(H // kernel):
                for z in range(W // kernel):
                    window = x[
                        n,
                        c,
                        y * kernel : (y + 1) * kernel,
                        z * kernel : (z + 1) * kernel,
                    ]
                    first = window.flatten().argmax()  # the first maximum
                    i, j = divmod(first.item(), kernel)
                    dx[n, c, y * kernel + i, z * kernel + j] += dout[n, c, y, z]
    return dx


@exercise(
    statement=(
        "max_pool_backward(x, dout, kernel) returns dJ/dx for max pooling of "
        "x (N, C, H, W) with non-overlapping kernel x kernel windows, given "
        "the upstream gradient dout of the pooled output. Where several "
        "positions of a window hold its maximum, the whole gradient goes to "
        "one of them, the first in row-major order (reading the window row by "
        "row), as torch.nn.functional.max_pool2d does. Rows and columns that "
        "no window covers get 0."
    ),
    cases=_max_pool_cases,
    equation="eq-cnn-maxpool",
    kind="implement",
    section="cnn/pooling",
    outputs=("dx",),
    hint=(
        "Exactly one position of each window receives that window's gradient, "
        "even when the maximum is tied, as it is for every window of zeros "
        "after a ReLU. torch's argmax returns the first maximum; a comparison "
        "x == max marks all of them. Rows and columns that no window covers "
        "get 0."
    ),
    wrong={
        "the gradient sent to every tied maximum": _every_tied_maximum,
        "the gradient shared among tied maxima": _tied_maxima_share,
        "the last maximum wins": _last_maximum,
        "the rule of average pooling": _average_rule,
    },
    alternatives=(_max_pool_by_loops,),
)
def max_pool_backward(x, dout, kernel):
    out, cache = conv.max_pool2d_forward(x, kernel)
    return conv.max_pool2d_backward(dout, cache)


# --------------------------------------------------------------------------
# batch_norm
# --------------------------------------------------------------------------


def _bn_cases(rng):
    def case(label, shape, eps=1e-5, scale=2.0):
        C = shape[1]
        x = 3 + randn(rng, *shape, scale=scale)
        gamma, beta = 1 + randn(rng, C, scale=0.3), randn(rng, C)
        return Case(label, (x, gamma, beta, randn(rng, *shape), eps))

    return [
        case("a batch of 4, 3 channels of 5x6", (4, 3, 5, 6)),
        case("one image: the statistics run over positions", (1, 2, 4, 4)),
        case("few values per channel", (2, 2, 2, 1)),
        case("a large eps", (3, 2, 3, 3), eps=0.5, scale=0.5),
    ]


def _bn_parts(x, eps, correction=0, dims=(0, 2, 3)):
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, correction=correction, keepdim=True)
    inv_std = 1 / torch.sqrt(var + eps)
    return (x - mu) * inv_std, inv_std


def _bn_constant_statistics(x, gamma, beta, dout, eps):
    x_hat, inv_std = _bn_parts(x, eps)
    g = gamma.reshape(1, -1, 1, 1)
    return (
        dout * g * inv_std,
        (dout * x_hat).sum(dim=(0, 2, 3)),
        dout.sum(dim=(0, 2, 3)),
    )


def _bn_by_autograd(x, gamma, beta, dout, eps, correction=0, dims=(0, 2, 3)):
    x = x.clone().requires_grad_()
    gamma = gamma.clone().requires_grad_()
    beta = beta.clone().requires_grad_()
    x_hat, _ = _bn_parts(x, eps, correction, dims)
    out = gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)
    return torch.autograd.grad(out, (x, gamma, beta), dout)


def _bn_unbiased(x, gamma, beta, dout, eps):
    # torch.var's default divides by M - 1
    return _bn_by_autograd(x, gamma, beta, dout, eps, correction=1)


def _bn_per_position(x, gamma, beta, dout, eps):
    # the feedforward rule: one mean and variance per (c, y, x), over the batch
    return _bn_by_autograd(x, gamma, beta, dout, eps, dims=(0,))


def _bn_eps_outside(x, gamma, beta, dout, eps):
    x = x.clone().requires_grad_()
    gamma = gamma.clone().requires_grad_()
    beta = beta.clone().requires_grad_()
    mu = x.mean(dim=(0, 2, 3), keepdim=True)
    sigma = x.var(dim=(0, 2, 3), correction=0, keepdim=True).sqrt()
    x_hat = (x - mu) / (sigma + eps)
    out = gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)
    return torch.autograd.grad(out, (x, gamma, beta), dout)


def _bn_closed_form(x, gamma, beta, dout, eps):
    # per channel as rows of (C, M)
    N, C, H, W = x.shape
    a = x.transpose(0, 1).reshape(C, -1)
    d = dout.transpose(0, 1).reshape(C, -1)
    M = a.shape[1]
    mu = a.mean(dim=1, keepdim=True)
    inv_std = 1 / torch.sqrt(((a - mu) ** 2).mean(dim=1, keepdim=True) + eps)
    a_hat = (a - mu) * inv_std
    dbeta, dgamma = d.sum(dim=1), (d * a_hat).sum(dim=1)
    da = (gamma[:, None] * inv_std / M) * (
        M * d - dbeta[:, None] - a_hat * dgamma[:, None]
    )
    dx = da.reshape(C, N, H, W).transpose(0, 1)
    return dx, dgamma, dbeta


@exercise(
    statement=(
        "batch_norm_backward(x, gamma, beta, dout, eps) returns (dx, dgamma, "
        "dbeta) for batch normalization of feature maps x (N, C, H, W) in "
        "training mode, one mean and variance per channel over (N, H, W), "
        "with scale gamma (C,), shift beta (C,) and the upstream gradient "
        "dout (N, C, H, W) of its output."
    ),
    cases=_bn_cases,
    equation="eq-cnn-batch-norm",
    kind="implement",
    section="cnn/batch_norm",
    outputs=("dx", "dgamma", "dbeta"),
    hint=(
        "In training, the mean and the variance are computed from x itself, so "
        "every x of a channel changes them: dx has two terms more than "
        "gamma * dout / sigma. The variance is the biased one (divided by "
        "M = N H W), eps sits inside the square root, and every sum runs over "
        "the batch and all positions of a channel."
    ),
    wrong={
        "the mean and variance treated as constants": _bn_constant_statistics,
        "the unbiased variance in the normalization": _bn_unbiased,
        "statistics per position, over the batch only": _bn_per_position,
        "eps outside the square root": _bn_eps_outside,
    },
    alternatives=(_bn_closed_form, _bn_by_autograd),
)
def batch_norm_backward(x, gamma, beta, dout, eps):
    _, cache = conv.batch_norm2d_forward(x, gamma, beta, training=True, eps=eps)
    return conv.batch_norm2d_backward(dout, cache)


# --------------------------------------------------------------------------
# architectures
# --------------------------------------------------------------------------


def _small_cnn_cases(rng):
    return [
        Case("MNIST: 28x28, 1 channel, width 8, 10 classes", (1, 28, 8, 10)),
        Case("CIFAR-sized: 32x32, 3 channels, width 16", (3, 32, 16, 10)),
        Case("30x30: the second pooling drops a row", (3, 30, 4, 5)),
        Case("width 1, two classes", (2, 8, 1, 2)),
    ]


def _small_cnn_no_biases(c_in, size, width, num_classes):
    flat = 2 * width * (size // 4) ** 2
    return (
        9 * c_in * width
        + 9 * width * 2 * width
        + 2 * (2 * width)
        + flat * num_classes
    )


def _small_cnn_running_stats(c_in, size, width, num_classes):
    flat = 2 * width * (size // 4) ** 2
    return (
        width * (9 * c_in + 1)
        + 2 * width * 9 * width
        + 4 * (2 * width)  # gamma, beta, running mean and running variance
        + (flat + 1) * num_classes
    )


def _small_cnn_pooling_ignored(c_in, size, width, num_classes):
    flat = 2 * width * size**2
    return (
        width * (9 * c_in + 1)
        + 2 * width * 9 * width
        + 2 * (2 * width)
        + (flat + 1) * num_classes
    )


def _small_cnn_bias_everywhere(c_in, size, width, num_classes):
    flat = 2 * width * (size // 4) ** 2
    return (
        width * (9 * c_in + 1)
        + 2 * width * (9 * width + 1)
        + 2 * (2 * width)
        + (flat + 1) * num_classes
    )


def _small_cnn_layer_by_layer(c_in, size, width, num_classes):
    conv1 = width * c_in * 3 * 3 + width  # weights and biases
    conv2 = 2 * width * width * 3 * 3  # no bias: batch norm shifts
    norm = 2 * (2 * width)  # gamma and beta; running statistics are not learned
    side = size // 2 // 2  # 3x3 with padding 1 keeps the size; pooling halves
    dense = (2 * width * side * side) * num_classes + num_classes
    return conv1 + conv2 + norm + dense


@exercise(
    statement=(
        "small_cnn_parameters(c_in, size, width, num_classes) returns the "
        "number of learned parameters of this network, for size x size images "
        "of c_in channels: a 3x3 convolution (padding 1) from c_in to width "
        "channels, with bias; ReLU; 2x2 max pooling; a 3x3 convolution "
        "(padding 1) from width to 2 width channels, without bias; batch "
        "normalization; ReLU; 2x2 max pooling; flatten; a fully connected "
        "layer, with bias, to num_classes outputs."
    ),
    cases=_small_cnn_cases,
    equation="eq-cnn-conv",
    kind="derive",
    section="cnn/architectures",
    outputs=("count",),
    hint=(
        "Go layer by layer: which layers have weights, which have a bias? A "
        "batch normalization learns a scale and a shift per channel; its "
        "running mean and variance are statistics, not parameters. The fully "
        "connected layer sees the maps after both poolings."
    ),
    wrong={
        "every bias forgotten": _small_cnn_no_biases,
        "batch norm's running statistics counted": _small_cnn_running_stats,
        "the poolings ignored before the flatten": _small_cnn_pooling_ignored,
        "a bias in the convolution before batch norm": _small_cnn_bias_everywhere,
    },
    alternatives=(_small_cnn_layer_by_layer,),
)
def small_cnn_parameters(c_in, size, width, num_classes):
    side = conv.output_size(conv.output_size(size, 2, 2), 2, 2)
    return _count(
        lambda: [
            nn.Conv2d(c_in, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * side * side, num_classes),
        ]
    )


# --------------------------------------------------------------------------
# backpropagation
# --------------------------------------------------------------------------


def _input_grad_cases(rng):
    def case(label, x_shape, w_shape, stride, padding):
        N, _, H, W = x_shape
        kh, kw = w_shape[2:]
        H_out = conv.output_size(H, kh, stride, padding)
        W_out = conv.output_size(W, kw, stride, padding)
        dout = randn(rng, N, w_shape[0], H_out, W_out)
        return Case(
            label, (dout, randn(rng, *w_shape), x_shape, stride, padding)
        )

    return [
        case("3 -> 4 channels, stride 1", (2, 3, 6, 5), (4, 3, 3, 3), 1, 0),
        case("2 -> 2 channels, a 3x2 kernel", (1, 2, 5, 6), (2, 2, 3, 2), 1, 0),
        case("padding 1", (1, 2, 5, 5), (3, 2, 3, 3), 1, 1),
        case("stride 2, padding 1", (1, 2, 7, 7), (3, 2, 3, 3), 2, 1),
        case(
            "stride 2 on 8x8: the last row and column unreached",
            (2, 1, 8, 8),
            (2, 1, 3, 3),
            2,
            0,
        ),
    ]


def _scatter_grad(dout, w, x_shape, stride, padding, step=None, crop_at=None):
    """dx by scattering each output's gradient over its window."""
    N, C_in, H, W = x_shape
    kh, kw = w.shape[2:]
    step = stride if step is None else step
    crop_at = padding if crop_at is None else crop_at
    H_out, W_out = dout.shape[2:]
    size_h = max(H + 2 * padding, step * (H_out - 1) + kh)
    size_w = max(W + 2 * padding, step * (W_out - 1) + kw)
    dxp = dout.new_zeros(N, C_in, size_h, size_w)
    for y in range(H_out):
        for z in range(W_out):
            patch = torch.einsum("no,ocij->ncij", dout[:, :, y, z], w)
            dxp[:, :, y * step : y * step + kh, z * step : z * step + kw] += (
                patch
            )
    return dxp[:, :, crop_at : crop_at + H, crop_at : crop_at + W]


def _stride_ignored(dout, w, x_shape, stride, padding):
    return _scatter_grad(dout, w, x_shape, stride, padding, step=1)


def _padding_cropped_wrong(dout, w, x_shape, stride, padding):
    return _scatter_grad(dout, w, x_shape, stride, padding, crop_at=0)


def _size_from_dout(dout, w, x_shape, stride, padding):
    # x's size recovered from dout, as if the last window ended at the border
    kh, kw = w.shape[2:]
    H = stride * (dout.shape[2] - 1) + kh - 2 * padding
    W = stride * (dout.shape[3] - 1) + kw - 2 * padding
    shape = (*x_shape[:2], H, W)
    return _scatter_grad(dout, w, shape, stride, padding)


def _full_convolution(dout, w, x_shape, stride, padding, flip=True, swap=True):
    """dx as a 'full' convolution of the dilated gradient."""
    N, C_in, H, W = x_shape
    kh, kw = w.shape[2:]
    H_out, W_out = dout.shape[2:]
    dilated = dout.new_zeros(
        N, dout.shape[1], stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    )
    dilated[:, :, ::stride, ::stride] = dout
    filters = w.flip(2, 3) if flip else w
    filters = filters.transpose(0, 1) if swap else filters
    full = F.conv2d(F.pad(dilated, (kw - 1, kw - 1, kh - 1, kh - 1)), filters)
    # full covers the padded input up to the last row a window reached
    full = F.pad(
        full,
        (
            0,
            W + 2 * padding - full.shape[3],
            0,
            H + 2 * padding - full.shape[2],
        ),
    )
    return full[:, :, padding : padding + H, padding : padding + W]


def _kernel_not_flipped(dout, w, x_shape, stride, padding):
    return _full_convolution(dout, w, x_shape, stride, padding, flip=False)


def _channels_not_swapped(dout, w, x_shape, stride, padding):
    return _full_convolution(dout, w, x_shape, stride, padding, swap=False)


def _transposed_convolution(dout, w, x_shape, stride, padding):
    H, W = x_shape[2:]
    kh, kw = w.shape[2:]
    H_out, W_out = dout.shape[2:]
    extra = (
        H + 2 * padding - (stride * (H_out - 1) + kh),
        W + 2 * padding - (stride * (W_out - 1) + kw),
    )
    return F.conv_transpose2d(
        dout, w, stride=stride, padding=padding, output_padding=extra
    )


@exercise(
    statement=(
        "conv_input_grad(dout, w, x_shape, stride, padding) returns dJ/dx for "
        "the convolution of an input of shape x_shape = (N, C_in, H, W) with "
        "filters w (C_out, C_in, kh, kw), stride and zero padding (ints), "
        "given the upstream gradient dout (N, C_out, H_out, W_out), "
        "without autograd or torch's transposed convolution."
    ),
    cases=_input_grad_cases,
    equation="eq-cnn-conv-grad",
    kind="implement",
    section="cnn/backpropagation",
    outputs=("dx",),
    hint=(
        "Each output pixel (y, z) read the window that starts at (s y - p, "
        "s z - p); send its gradient back over that same window, weighted by "
        "the filter, and add where windows overlap. Written as a convolution "
        "instead, the filters are flipped and their input and output channels "
        "swapped. Padding rows receive gradient too, but are not part of x."
    ),
    wrong={
        "the kernel not flipped": _kernel_not_flipped,
        "input and output channels not swapped": _channels_not_swapped,
        "the stride ignored in the scatter": _stride_ignored,
        "the padding cropped from one side only": _padding_cropped_wrong,
        "the input size computed from dout": _size_from_dout,
    },
    alternatives=(_scatter_grad, _full_convolution, _transposed_convolution),
)
def conv_input_grad(dout, w, x_shape, stride, padding):
    return conv.conv2d_input_grad(dout, w, x_shape, stride, padding)


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def _bars(rng, n):
    """8x8 images of a horizontal bar, a vertical bar or a diagonal, anywhere."""
    y = torch.randint(0, 3, (n,), generator=rng)
    x = 0.3 * randn(rng, n, 1, 8, 8)
    pos = torch.randint(1, 7, (n,), generator=rng)
    eye = torch.eye(8, dtype=torch.float64)
    for i in range(n):
        p = pos[i].item()
        if y[i] == 0:
            x[i, 0, p, :] += 1
        elif y[i] == 1:
            x[i, 0, :, p] += 1
        else:
            x[i, 0] += eye.roll(p - 4, dims=1)
    return x, y


def _tiny_cnn(rng):
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    ).double()
    return reset_parameters(model, generator=rng)


def _train_cases(rng):
    def case(label, n_train, n_test, epochs, seed):
        model = _tiny_cnn(rng)
        X, y = _bars(rng, n_train)
        X_test, y_test = _bars(rng, n_test)
        return Case(label, (model, X, y, X_test, y_test, epochs, seed))

    return [
        case("64 bars, 3 epochs", 64, 60, 3, 0),
        case("another seed, 48 bars", 48, 60, 3, 3),
    ]


def _train(
    model,
    X,
    y,
    X_test,
    y_test,
    epochs,
    seed,
    *,
    zero_grad=True,
    schedule_per_batch=False,
    eval_mode=True,
    reseed=False,
):
    g = torch.Generator().manual_seed(seed)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = optim.StepLR(optimizer, step_size=2, gamma=0.1)
    curve = []
    for _ in range(epochs):
        if reseed:
            g = torch.Generator().manual_seed(seed)
        for batch in batches(len(X), 16, generator=g, drop_last=True):
            if zero_grad:
                optimizer.zero_grad()
            F.cross_entropy(model(X[batch]), y[batch]).backward()
            optimizer.step()
            if schedule_per_batch:
                schedule.step()
        if not schedule_per_batch:
            schedule.step()
        if eval_mode:
            logits = predict(model, X_test)
        else:
            with torch.no_grad():
                logits = model(X_test)
        curve.append(accuracy(logits, y_test))
    return curve


def _no_zero_grad(*args):
    return _train(*args, zero_grad=False)


def _schedule_per_batch(*args):
    return _train(*args, schedule_per_batch=True)


def _training_mode_test(*args):
    return _train(*args, eval_mode=False)


def _reseeded(*args):
    return _train(*args, reseed=True)


def _train_by_hand(model, X, y, X_test, y_test, epochs, seed):
    # SGD with momentum written out: v <- 0.9 v + g (v = g at the first step),
    # theta <- theta - lr v, with lr = 0.05 * 0.1 ** (epoch // 2).
    g = torch.Generator().manual_seed(seed)
    velocity = {}
    curve = []
    for epoch in range(epochs):
        lr = 0.05 * 0.1 ** (epoch // 2)
        for batch in batches(len(X), 16, generator=g, drop_last=True):
            model.zero_grad()
            F.cross_entropy(model(X[batch]), y[batch]).backward()
            with torch.no_grad():
                for p in model.parameters():
                    v = velocity.get(p)
                    v = p.grad.clone() if v is None else 0.9 * v + p.grad
                    velocity[p] = v
                    p -= lr * v
        model.eval()
        with torch.no_grad():
            right = model(X_test).argmax(dim=1) == y_test
        model.train()
        curve.append(right.double().mean().item())
    return curve


@exercise(
    statement=(
        "train_curve(model, X, y, X_test, y_test, epochs, seed) trains the "
        "model (a small CNN with batch normalization) with the recipe of the "
        "section and returns the list of its test accuracies after each "
        "epoch. The recipe: cross-entropy; nnbook.optim.SGD with lr 0.05 and "
        "momentum 0.9; nnbook.optim.StepLR with step_size 2 and gamma 0.1; "
        "mini-batches of 16 from nnbook.train.batches(len(X), 16, "
        "generator=g, drop_last=True), with one g = "
        "torch.Generator().manual_seed(seed) for the whole run; accuracy as "
        "nnbook.train.accuracy of nnbook.train.predict. Accuracies are "
        "compared to 1e-6."
    ),
    cases=_train_cases,
    equation="eq-opt-decay",
    kind="experiment",
    section="cnn/training",
    outputs=tuple(f"accuracy after epoch {e}" for e in (1, 2, 3)),
    hint=(
        "Gradients add up in .grad until they are cleared, once per "
        "mini-batch. The schedule counts epochs, not steps. The test set is "
        "classified in evaluation mode, with batch norm's running statistics. "
        "The generator is made once, so that every epoch draws a new order."
    ),
    wrong={
        "the gradients never cleared": _no_zero_grad,
        "the schedule stepped after every mini-batch": _schedule_per_batch,
        "the test set classified in training mode": _training_mode_test,
        "the generator made again every epoch": _reseeded,
    },
    alternatives=(_train_by_hand,),
)
def train_curve(model, X, y, X_test, y_test, epochs, seed):
    return _train(model, X, y, X_test, y_test, epochs, seed)


# --------------------------------------------------------------------------
# cnn_vs_fnn
# --------------------------------------------------------------------------


def _width_cases(rng):
    return [
        Case("LeNet's budget on MNIST", (61_706, 784, 10)),
        Case("a small budget, few inputs", (500, 10, 3)),
        Case("an exact fit: 10 hidden units", (10 * (8 + 1 + 3) + 3, 8, 3)),
        Case("the digits: 8x8 inputs", (5_000, 64, 10)),
        Case("many classes", (20_000, 100, 100)),
    ]


def _width_no_biases(n_params, n_in, n_out):
    return round(n_params / (n_in + n_out))


def _width_at_most(n_params, n_in, n_out):
    return (n_params - n_out) // (n_in + 1 + n_out)


def _width_first_layer_only(n_params, n_in, n_out):
    return round(n_params / (n_in + 1))


def _width_by_search(n_params, n_in, n_out):
    def count(h):
        return h * (n_in + 1) + n_out * (h + 1)

    best = 1
    for h in range(1, n_params + 1):
        if abs(count(h) - n_params) < abs(count(best) - n_params):
            best = h
        if count(h) > n_params:
            break
    return best


def _mlp_parameters(n_in, h, n_out):
    return _count(lambda: [nn.Linear(n_in, h), nn.ReLU(), nn.Linear(h, n_out)])


@exercise(
    statement=(
        "matching_width(n_params, n_in, n_out) returns the hidden width h "
        "whose fully connected network n_in-h-n_out (one hidden layer, "
        "biases in both layers) has the number of parameters closest to "
        "n_params (the smaller h on a tie)."
    ),
    cases=_width_cases,
    equation="eq-fnn-weight-avg",
    kind="derive",
    section="cnn/cnn_vs_fnn",
    outputs=("h",),
    hint=(
        "Write the count as a function of h: each hidden unit brings its "
        "weights from the inputs, its bias, and its weights to the outputs; "
        "the output layer has biases of its own. Solve for h, then compare "
        "the two integers around the solution."
    ),
    wrong={
        "the biases forgotten": _width_no_biases,
        "rounded down instead of to the closest": _width_at_most,
        "only the first layer counted": _width_first_layer_only,
    },
    alternatives=(_width_by_search,),
)
def matching_width(n_params, n_in, n_out):
    # The largest h whose count is at most n_params, by bisection on the count,
    # then the closer of h and h + 1.
    low, high = 1, max(2, n_params)
    while high - low > 1:
        mid = (low + high) // 2
        if _mlp_parameters(n_in, mid, n_out) <= n_params:
            low = mid
        else:
            high = mid
    below = abs(_mlp_parameters(n_in, low, n_out) - n_params)
    above = abs(_mlp_parameters(n_in, low + 1, n_out) - n_params)
    return low if below <= above else low + 1


# --------------------------------------------------------------------------
# residual_depth
# --------------------------------------------------------------------------


def _residual_cases(rng):
    return [
        Case(
            "a mixed sum, post-activation",
            (randn(rng, 6), randn(rng, 6, 6), True),
        ),
        Case(
            "the same unit, full pre-activation",
            (randn(rng, 6), randn(rng, 6, 6), False),
        ),
        Case(
            "a small branch: the identity dominates",
            (randn(rng, 5), 0.1 * randn(rng, 5, 5), True),
        ),
        Case(
            "every unit active",
            (rand(rng, 4) + 1.0, 0.1 * rand(rng, 4, 4), True),
        ),
    ]


def _jacobian_without_identity(h, A, post_activation):
    full = _residual_jacobian(h, A, post_activation)
    return (
        full - _mask(h, A)
        if post_activation
        else full - torch.eye(len(h), dtype=h.dtype)
    )


def _mask(h, A):
    return torch.diag(((h + A @ h) > 0).to(h.dtype))


def _mask_on_the_right(h, A, post_activation):
    identity = torch.eye(len(h), dtype=h.dtype)
    return (identity + A) @ _mask(h, A) if post_activation else identity + A


def _mask_from_the_input(h, A, post_activation):
    identity = torch.eye(len(h), dtype=h.dtype)
    mask = torch.diag((h > 0).to(h.dtype))
    return mask @ (identity + A) if post_activation else identity + A


def _residual_jacobian(h, A, post_activation):
    identity = torch.eye(len(h), dtype=h.dtype)
    return _mask(h, A) @ (identity + A) if post_activation else identity + A


def _residual_jacobian_by_autograd(h, A, post_activation):
    def unit(v):
        s = v + A @ v
        return torch.relu(s) if post_activation else s

    return torch.autograd.functional.jacobian(unit, h)


@exercise(
    statement=(
        "residual_jacobian(h, A, post_activation) returns the Jacobian "
        "d h_next / d h, a (d, d) tensor, of one residual unit whose branch is "
        "linear, F(h) = A h, at the point h (shape (d,)). With post_activation "
        "True the unit is the original one, h_next = ReLU(h + A h); with False "
        "it is the full pre-activation form without anything after the sum, "
        "h_next = h + A h. Take the ReLU's derivative at 0 to be 0. Derive it; "
        "no autograd."
    ),
    cases=_residual_cases,
    equation="eq-cnn-residual",
    kind="derive",
    section="cnn/residual_depth",
    outputs=("jacobian",),
    hint=(
        "Differentiate the sum first: the identity plus the branch's matrix. "
        "The ReLU after the sum then multiplies each row by 0 or 1, decided by "
        "the sign of the sum, not of h."
    ),
    wrong={
        "the identity forgotten": _jacobian_without_identity,
        "the ReLU's mask on the right": _mask_on_the_right,
        "the mask taken from h instead of the sum": _mask_from_the_input,
    },
    alternatives=(_residual_jacobian_by_autograd,),
)
def residual_jacobian(h, A, post_activation):
    return _residual_jacobian(h, A, post_activation)


# --------------------------------------------------------------------------
# invariance
# --------------------------------------------------------------------------


def _shift_cases(rng):
    return [
        Case("one pixel right", (rand(rng, 2, 1, 5, 6), 0, 1)),
        Case("down and left", (rand(rng, 1, 3, 6, 6), 2, -3)),
        Case("up, not square", (rand(rng, 3, 2, 4, 7), -1, 0)),
        Case("no move", (rand(rng, 1, 1, 3, 3), 0, 0)),
    ]


def _shift_by_roll(images, dy, dx):
    return torch.roll(images, (dy, dx), dims=(2, 3))


def _shift_the_other_way(images, dy, dx):
    return conv_shift(images, -dy, -dx)


def _shift_axes_swapped(images, dy, dx):
    return conv_shift(images, dx, dy)


def _shift_by_padding(images, dy, dx):
    height, width = images.shape[-2:]
    padded = F.pad(images, (abs(dx), abs(dx), abs(dy), abs(dy)))
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[..., top : top + height, left : left + width]


@exercise(
    statement=(
        "shift_images(images, dy, dx) moves every image of images (N, C, H, W) "
        "dy pixels down and dx pixels right (negative values move up and left); "
        "pixels that leave the image are lost and the rows and columns that "
        "enter it are zero. |dy| < H and |dx| < W. Return a new tensor."
    ),
    cases=_shift_cases,
    equation=None,
    kind="implement",
    section="cnn/invariance",
    outputs=("moved",),
    hint=(
        "Copy a slice into a tensor of zeros. Moving right by dx, output column "
        "j holds input column j - dx, for the columns where that exists. "
        "torch.roll wraps the pixels around instead of dropping them."
    ),
    wrong={
        "torch.roll (wraps around)": _shift_by_roll,
        "moved the other way": _shift_the_other_way,
        "rows and columns swapped": _shift_axes_swapped,
    },
    alternatives=(_shift_by_padding,),
)
def shift_images(images, dy, dx):
    return conv_shift(images, dy, dx)


# --------------------------------------------------------------------------
# modern_convolutions
# --------------------------------------------------------------------------


def _separable_cases(rng):
    return [
        Case("256 channels on 56 x 56 maps", (256, 256, 3, 56)),
        Case("more outputs than inputs", (32, 64, 3, 14)),
        Case("a 5x5 depthwise kernel", (16, 8, 5, 7)),
        Case("one channel in", (1, 4, 3, 5)),
    ]


def _separable_pointwise_forgotten(c_in, c_out, k, size):
    return c_in * k * k, size * size * c_in * k * k


def _separable_full_depthwise(c_in, c_out, k, size):
    weights = (
        c_out * k * k + c_in * c_out
    )  # one k x k filter per *output* channel
    return weights, size * size * weights


def _separable_macs_per_pixel(c_in, c_out, k, size):
    weights = c_in * k * k + c_in * c_out
    return weights, weights


def _separable_by_layers(c_in, c_out, k, size):
    depthwise = conv.conv2d_cost(c_in, c_in, k, size, groups=c_in, bias=False)
    pointwise = conv.conv2d_cost(c_in, c_out, 1, size, bias=False)
    return depthwise[0] + pointwise[0], depthwise[1] + pointwise[1]


@exercise(
    statement=(
        "separable_cost(c_in, c_out, k, size) returns (parameters, "
        "multiply_adds) of a depthwise separable convolution without biases, "
        "for one image: a depthwise k x k convolution of the c_in channels "
        "(groups = c_in, c_in outputs), then a 1x1 convolution from c_in to "
        "c_out channels, both on size x size maps (the padding keeps the size)."
    ),
    cases=_separable_cases,
    equation="eq-cnn-conv-cost",
    kind="derive",
    section="cnn/modern_convolutions",
    outputs=("parameters", "multiply_adds"),
    hint=(
        "Count the two layers separately with the cost of a grouped "
        "convolution and add. The depthwise layer has one k x k filter per "
        "input channel; every weight is used once per output pixel."
    ),
    wrong={
        "the 1x1 convolution forgotten": _separable_pointwise_forgotten,
        "a depthwise filter per output channel": _separable_full_depthwise,
        "multiply-adds of one pixel only": _separable_macs_per_pixel,
    },
    alternatives=(_separable_by_layers,),
)
def separable_cost(c_in, c_out, k, size):
    weights = c_in * k * k + c_in * c_out  # depthwise, then pointwise
    return weights, size * size * weights


# --------------------------------------------------------------------------
# ablation
# --------------------------------------------------------------------------


def _ablation_cases(rng):
    return [
        Case("CNN-2", (2, False)),
        Case("CNN-2 + BN", (2, True)),
        Case("CNN-6", (6, False)),
        Case("CNN-6 + BN", (6, True)),
    ]


def _ablation_net(depth, bn):
    def conv(c_in, c_out):
        norm = [nn.BatchNorm2d(c_out)] if bn else []
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=not bn),
            *norm,
            nn.ReLU(),
        ]

    layers = [*conv(1, 8), nn.MaxPool2d(2), *conv(8, 16), nn.MaxPool2d(2)]
    for _ in range(depth - 2):
        layers += conv(16, 16)
    return [*layers, nn.Flatten(), nn.Linear(16 * 4 * 4, 10)]


def _ablation_bn_forgotten(depth, bn):
    channels = [(1, 8), (8, 16)] + [(16, 16)] * (depth - 2)
    convs = sum(c_out * c_in * 9 for c_in, c_out in channels)
    return convs + 16 * 4 * 4 * 10 + 10


def _ablation_biases_kept(depth, bn):
    channels = [(1, 8), (8, 16)] + [(16, 16)] * (depth - 2)
    convs = sum(c_out * (c_in * 9 + 1) for c_in, c_out in channels)
    norms = sum(2 * c_out for _, c_out in channels) if bn else 0
    return convs + norms + 16 * 4 * 4 * 10 + 10


def _ablation_pooling_ignored(depth, bn):
    channels = [(1, 8), (8, 16)] + [(16, 16)] * (depth - 2)
    per = [
        c_out * c_in * 9 + (2 * c_out if bn else c_out)
        for c_in, c_out in channels
    ]
    return sum(per) + 16 * 16 * 16 * 10 + 10  # as if the maps stayed 16 x 16


def _ablation_by_hand(depth, bn):
    channels = [(1, 8), (8, 16)] + [(16, 16)] * (depth - 2)
    total = 16 * 4 * 4 * 10 + 10  # the linear layer on the 16 x 4 x 4 maps
    for c_in, c_out in channels:
        total += c_out * c_in * 9 + (2 * c_out if bn else c_out)
    return total


@exercise(
    statement=(
        "ablation_parameters(depth, bn) returns the number of learned "
        "parameters of the ablation's CNN-`depth` on 16 x 16 grey images: "
        "3x3 convolutions with padding 1, from 1 to 8, then 8 to 16, then "
        "depth - 2 more from 16 to 16 channels; 2x2 max pooling after the "
        "first two; a linear layer from the flattened maps to 10 classes. "
        "Without bn every convolution has a bias; with bn it has none and is "
        "followed by batch normalization (a scale and a shift per channel)."
    ),
    cases=_ablation_cases,
    equation="eq-cnn-conv-cost",
    kind="derive",
    section="cnn/ablation",
    outputs=("count",),
    hint=(
        "Count layer by layer. The two poolings halve the maps twice before "
        "the linear layer; batch normalization replaces each convolution's "
        "bias by two numbers per channel; its running statistics are not "
        "learned."
    ),
    wrong={
        "batch normalization not counted": _ablation_bn_forgotten,
        "biases kept beside batch normalization": _ablation_biases_kept,
        "the pooling ignored": _ablation_pooling_ignored,
    },
    alternatives=(_ablation_by_hand,),
)
def ablation_parameters(depth, bn):
    return _count(lambda: _ablation_net(depth, bn))
