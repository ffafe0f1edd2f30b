"""Exercises of the convolutional chapter."""

from __future__ import annotations

import torch

from nnbook import _validate as validate
from nnbook import conv
from nnbook.check import Case, Exercise, register

__all__ = ["conv_parameters", "im2col", "max_pool_backward", "output_size"]


def _randn(rng, *shape):
    return torch.randn(*shape, generator=rng, dtype=torch.float64)


output_size = register(
    Exercise(
        name="cnn.output_size",
        statement=(
            "output_size(size, kernel, stride, padding) returns (size + 2 padding - kernel) // stride + 1, "
            "and raises ValueError when the kernel is larger than the padded input."
        ),
        equation="eq-cnn-output-size",
        reference=conv.output_size,
        cases=lambda rng: [
            Case("LeNet's first layer", (28, 5, 1, 0)),
            Case("'same' padding", (32, 3, 1, 1)),
            Case("stride 4, AlexNet", (224, 11, 4, 2)),
            Case("a stride that does not divide evenly", (10, 3, 4, 0)),
            Case("bad input: kernel larger than the input", (4, 7, 1, 1)),
        ],
    )
)


im2col = register(
    Exercise(
        name="cnn.im2col",
        statement=(
            "im2col(x, kernel, stride, padding) returns the receptive fields of x (N, C, H, W) as the "
            "columns of a tensor (N, C * kh * kw, H_out * W_out), in the order of torch's F.unfold; "
            "it raises ValueError when the kernel does not fit."
        ),
        equation="eq-cnn-im2col",
        reference=conv.im2col,
        cases=lambda rng: [
            Case(
                "one 4x4 channel, 3x3 kernel",
                (_randn(rng, 1, 1, 4, 4), 3, 1, 0),
            ),
            Case(
                "two images, two channels, padding 1",
                (_randn(rng, 2, 2, 5, 5), 3, 1, 1),
            ),
            Case(
                "stride 2, a 2x3 kernel",
                (_randn(rng, 1, 3, 6, 7), (2, 3), 2, 0),
            ),
            Case(
                "bad input: kernel larger than the input",
                (_randn(rng, 1, 1, 3, 3), 5, 1, 0),
            ),
        ],
    )
)


def _max_pool_backward(x, dout, kernel):
    out, cache = conv.max_pool2d_forward(x, kernel)
    validate.tensor(
        "dout", dout, shape=tuple(out.shape), dims={"dtype": x.dtype}
    )
    return conv.max_pool2d_backward(dout, cache)


max_pool_backward = register(
    Exercise(
        name="cnn.max_pool_backward",
        statement=(
            "max_pool_backward(x, dout, kernel) returns dJ/dx for max pooling with non-overlapping "
            "kernel x kernel windows: each window's gradient goes to the position of its maximum; "
            "it raises ValueError when dout does not have the pooled shape."
        ),
        equation="eq-cnn-maxpool",
        reference=_max_pool_backward,
        cases=lambda rng: [
            Case(
                "one 4x4 map, 2x2 windows",
                (_randn(rng, 1, 1, 4, 4), _randn(rng, 1, 1, 2, 2), 2),
            ),
            Case(
                "a batch of two, three channels",
                (_randn(rng, 2, 3, 6, 6), _randn(rng, 2, 3, 3, 3), 2),
            ),
            Case(
                "3x3 windows on a 7x7 map (the border is dropped)",
                (_randn(rng, 1, 1, 7, 7), _randn(rng, 1, 1, 2, 2), 3),
            ),
            Case(
                "bad input: dout of the wrong shape",
                (_randn(rng, 1, 1, 4, 4), _randn(rng, 1, 1, 4, 4), 2),
            ),
        ],
    )
)


def _conv_parameters(c_in, c_out, kh, kw, bias=True):
    for name, value in (
        ("c_in", c_in),
        ("c_out", c_out),
        ("kh", kh),
        ("kw", kw),
    ):
        validate.number(name, value, low=1, integer=True)
    return c_out * (c_in * kh * kw + (1 if bias else 0))


conv_parameters = register(
    Exercise(
        name="cnn.conv_parameters",
        statement=(
            "conv_parameters(c_in, c_out, kh, kw, bias=True) returns the number of parameters of a "
            "convolutional layer, and raises ValueError for a size below 1."
        ),
        equation="eq-cnn-conv",
        reference=_conv_parameters,
        cases=lambda rng: [
            Case("LeNet's second layer", (6, 16, 5, 5)),
            Case("a 1x1 convolution without bias", (256, 64, 1, 1, False)),
            Case("a non-square kernel", (3, 8, 1, 7)),
            Case("bad input: no input channels", (0, 8, 3, 3)),
        ],
    )
)
