r"""Convolution and pooling, forward and backward, built on im2col.

Shapes follow torch: images are ``(N, C, H, W)``, convolution weights
``(C_out, C_in, kh, kw)``. ``stride`` and ``padding`` are an int or a pair ``(rows,
columns)``. The central trick is :func:`im2col`: it copies every receptive field of
the input into a column, so that a convolution becomes one matrix product and its
backward pass two more, with :func:`col2im` (the adjoint of im2col) summing the
gradients of overlapping fields back into place. Both loop over the ``kh * kw`` kernel
offsets only, copying strided slices, which keeps them deterministic on every device.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from nnbook import _validate as v
from nnbook._pairs import autograd_function, forward_only
from nnbook.contract import Flag, Int, Ints, Pair, Real, Tensor, contract
from nnbook.fnn._regularization import (
    batch_norm_backward,
    batch_norm_forward,
)

__all__ = [
    "BatchNorm2dFunction",
    "Conv2dFunction",
    "MaxPool2dFunction",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm2d",
    "batch_norm2d_backward",
    "batch_norm2d_forward",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "conv2d_forward",
    "conv2d_naive",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "output_size",
    "receptive_field",
]

#: A batch of feature maps.
MAPS = Tensor("N", "C", "H", "W")
#: Convolution weights, one filter per output channel.
FILTERS = Tensor("C_out", "C_in", "kh", "kw")


class Conv2dCache(NamedTuple):
    """What :func:`conv2d_backward` needs from the forward pass."""

    cols: torch.Tensor
    w: torch.Tensor
    has_bias: bool
    x_shape: tuple
    stride: tuple
    padding: tuple


class MaxPool2dCache(NamedTuple):
    """What :func:`max_pool2d_backward` needs from the forward pass."""

    argmax: torch.Tensor
    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple


class AvgPool2dCache(NamedTuple):
    """What :func:`avg_pool2d_backward` needs from the forward pass."""

    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple


@contract(
    "eq-cnn-output-size",
    size=Int(low=1),
    kernel=Int(low=1),
    stride=Int(low=1),
    padding=Int(low=0),
    reference="torch.nn.functional.conv1d",
)
def output_size(size, kernel, stride=1, padding=0):
    r"""The output length of a convolution or pooling along one dimension. Implements :eq:`eq-cnn-output-size`.

    .. math:: \text{out} = \left\lfloor \frac{\text{size} + 2p - k}{s} \right\rfloor + 1

    Raises ``ValueError`` when the kernel does not fit in the padded input.
    """
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel {kernel} is larger than the padded input {size} + 2 * {padding} = {size + 2 * padding}"
        )
    return (size + 2 * padding - kernel) // stride + 1


@contract(
    "eq-cnn-receptive-field",
    kernels=Ints(low=1),
    strides=Ints(low=1, optional=True),
    reference="torch.autograd",
)
def receptive_field(kernels, strides=None):
    r"""How many input pixels, along one dimension, one output of a stack of layers sees.

    Implements :eq:`eq-cnn-receptive-field`.

    Parameters
    ----------
    kernels : sequence of int
        The kernel size of each layer, first layer first (pooling layers count too).
    strides : sequence of int, optional
        Their strides; 1 for every layer when omitted.

    Returns
    -------
    list of int
        The receptive field after each layer.

    Notes
    -----
    .. math:: r_\ell = r_{\ell-1} + (k_\ell - 1) \prod_{m < \ell} s_m, \qquad r_0 = 1
    """
    strides = [1] * len(kernels) if strides is None else strides
    if len(strides) != len(kernels):
        raise ValueError(
            f"strides must have one entry per kernel ({len(kernels)}), got {len(strides)}"
        )
    fields, r, jump = [], 1, 1
    for k, s in zip(kernels, strides, strict=True):
        r += (k - 1) * jump
        jump *= s
        fields.append(r)
    return fields


def _geometry(x_shape, kernel, stride, padding):
    """Output height and width, checking that the kernel fits."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    _, _, H, W = x_shape
    try:
        return output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)
    except ValueError as err:
        raise ValueError(
            f"kernel {kernel} does not fit input {tuple(x_shape)} with padding {padding}: {err}"
        ) from None


def _image_shape(name, shape):
    """``shape`` as a tuple (N, C, H, W) of ints; an error names it."""
    if not isinstance(shape, tuple | list | torch.Size):
        raise TypeError(
            f"{name} must be a tuple (N, C, H, W), got {type(shape).__name__}"
        )
    if len(shape) != 4:
        raise ValueError(f"{name} must be (N, C, H, W), got {tuple(shape)}")
    return tuple(v.number(name, n, low=0, integer=True) for n in shape)


def _conv_output(cache):
    """The sizes of the output whose forward pass left ``cache``."""
    H_out, W_out = _geometry(
        cache.x_shape, cache.w.shape[2:], cache.stride, cache.padding
    )
    N, C_out = cache.x_shape[0], len(cache.w)
    return {
        "N": N,
        "C_out": C_out,
        "H_out": H_out,
        "W_out": W_out,
        "dtype": cache.w.dtype,
    }


def _pool_output(cache):
    """The sizes of the output whose forward pass left ``cache``."""
    H_out, W_out = _geometry(
        cache.x_shape, cache.kernel, cache.stride, cache.padding
    )
    N, C = cache.x_shape[:2]
    return {"N": N, "C": C, "H_out": H_out, "W_out": W_out}


@contract(
    "eq-cnn-im2col",
    x=MAPS,
    kernel=Pair(low=1),
    stride=Pair(low=1),
    padding=Pair(low=0),
    pad_value=Real(),
    reference="torch.nn.functional.unfold",
)
def im2col(x, kernel, stride=1, padding=0, pad_value=0.0):
    """Every receptive field of ``x`` as a column. Implements :eq:`eq-cnn-im2col`.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    kernel : int or pair
        The field's size ``(kh, kw)``.
    stride, padding : int or pair
    pad_value : float, default 0.0
        What the padding holds (max pooling pads with ``-inf``).

    Returns
    -------
    Tensor of shape (N, C * kh * kw, H_out * W_out)
        Column ``l`` holds the field of output position ``l`` (row-major), ordered by
        channel, then kernel row, then kernel column, as ``torch.nn.functional.unfold``.
    """
    H_out, W_out = _geometry(x.shape, kernel, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = F.pad(x, (pw, pw, ph, ph), value=pad_value)
    N, C = x.shape[:2]
    cols = x.new_empty(N, C, kh, kw, H_out, W_out)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[
                :, :, i : i + sh * H_out : sh, j : j + sw * W_out : sw
            ]
    return cols.reshape(N, C * kh * kw, H_out * W_out)


@contract(
    cols=Tensor("N", "C*kh*kw", "L"),
    kernel=Pair(low=1),
    stride=Pair(low=1),
    padding=Pair(low=0),
    reference="torch.nn.functional.fold",
)
def col2im(cols, x_shape, kernel, stride=1, padding=0):
    """The adjoint of :func:`im2col`: add every column back onto its receptive field.

    Parameters
    ----------
    cols : Tensor of shape (N, C * kh * kw, H_out * W_out)
    x_shape : tuple (N, C, H, W)
        The shape of the image that :func:`im2col` read.
    kernel, stride, padding : int or pair

    Returns
    -------
    Tensor of shape x_shape
        Where fields overlap, their values are summed.
    """
    N, C, H, W = x_shape = _image_shape("x_shape", x_shape)
    H_out, W_out = _geometry(x_shape, kernel, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if cols.shape != (N, C * kh * kw, H_out * W_out):
        raise ValueError(
            f"cols must have shape (N, C*kh*kw, H_out*W_out) = "
            f"{(N, C * kh * kw, H_out * W_out)}, got {tuple(cols.shape)}"
        )
    cols = cols.reshape(N, C, kh, kw, H_out, W_out)
    xp = cols.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + sh * H_out : sh, j : j + sw * W_out : sw] += cols[
                :, :, i, j
            ]
    return xp[:, :, ph : ph + H, pw : pw + W]


@contract(
    "eq-cnn-conv",
    x=Tensor("N", "C_in", "H", "W"),
    w=FILTERS,
    b=Tensor("C_out", optional=True),
    stride=Pair(low=1),
    padding=Pair(low=0),
    reference="torch.nn.functional.conv2d",
)
def conv2d_forward(x, w, b=None, stride=1, padding=0):
    r"""A 2-D convolution (cross-correlation, as in every deep-learning library), via im2col.

    Implements :eq:`eq-cnn-conv`.

    Parameters
    ----------
    x : Tensor of shape (N, C_in, H, W)
    w : Tensor of shape (C_out, C_in, kh, kw)
    b : Tensor of shape (C_out,), optional
    stride, padding : int or pair

    Returns
    -------
    out : Tensor of shape (N, C_out, H_out, W_out)
    cache : Conv2dCache

    Notes
    -----
    .. math:: \text{out}_{n, o, y, x} = b_o + \sum_{c, i, j} w_{o, c, i, j}\,
              x_{n, c,\, s_h y + i - p_h,\, s_w x + j - p_w}

    With the fields as columns this is ``w.reshape(C_out, -1) @ im2col(x)``.
    """
    kernel = tuple(w.shape[2:])
    H_out, W_out = _geometry(x.shape, kernel, stride, padding)
    cols = im2col(x, kernel, stride, padding)  # (N, C_in*kh*kw, L)
    out = w.reshape(w.shape[0], -1) @ cols  # (N, C_out, L)
    if b is not None:
        out = out + b[:, None]
    out = out.reshape(x.shape[0], w.shape[0], H_out, W_out)
    cache = Conv2dCache(cols, w, b is not None, tuple(x.shape), stride, padding)
    return out, cache


@contract(
    "eq-cnn-conv-grad",
    dout=Tensor("N", "C_out", "H_out", "W_out"),
    bind=_conv_output,
    reference="torch.autograd",
)
def conv2d_backward(dout, cache):
    r"""Gradients of :func:`conv2d_forward`. Implements :eq:`eq-cnn-conv-grad`.

    Returns
    -------
    dx : Tensor of shape (N, C_in, H, W)
    dw : Tensor of shape (C_out, C_in, kh, kw)
    db : Tensor of shape (C_out,), or None without bias

    Notes
    -----
    With :math:`X` the columns of im2col and :math:`\delta` the upstream gradient as
    ``(N, C_out, L)``: :math:`\partial J/\partial W = \sum_n \delta_n X_n^\top`,
    :math:`\partial J/\partial X = W^\top \delta`, then col2im folds the columns back.
    """
    cols, w, has_bias, x_shape, stride, padding = cache
    N, C_out = x_shape[0], w.shape[0]
    delta = dout.reshape(N, C_out, -1)  # (N, C_out, L)
    dw = (delta @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)
    db = delta.sum(dim=(0, 2)) if has_bias else None
    dcols = w.reshape(C_out, -1).T @ delta  # (N, C_in*kh*kw, L)
    dx = col2im(dcols, x_shape, tuple(w.shape[2:]), stride, padding)
    return dx, dw, db


@contract(
    "eq-cnn-conv",
    **conv2d_forward.contract.specs,
    reference="torch.nn.functional.conv2d",
)
def conv2d_naive(x, w, b=None, stride=1, padding=0):
    """The same convolution as :func:`conv2d`, by explicit loops over output positions.

    Implements :eq:`eq-cnn-conv` as written.

    Readable and slow: one small product per output pixel. The benchmark and the
    chapter compare it with the im2col version.
    """
    (kh, kw), (sh, sw), (ph, pw) = tuple(w.shape[2:]), stride, padding
    H_out, W_out = _geometry(x.shape, (kh, kw), stride, padding)
    xp = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(x.shape[0], w.shape[0], H_out, W_out)
    for y in range(H_out):
        for z in range(W_out):
            field = xp[
                :, :, y * sh : y * sh + kh, z * sw : z * sw + kw
            ]  # (N, C_in, kh, kw)
            out[:, :, y, z] = torch.einsum("ncij,ocij->no", field, w)
    return out if b is None else out + b[:, None, None]


def _pool_stride(kernel, stride, padding):
    """The stride, the kernel's when None; padding must be at most half the kernel."""
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ValueError(
            f"padding {padding} must be at most half the kernel {kernel}"
        )
    return kernel if stride is None else stride


@contract(
    "eq-cnn-maxpool",
    x=MAPS,
    kernel=Pair(low=1),
    stride=Pair(low=1, optional=True),
    padding=Pair(low=0),
    reference="torch.nn.functional.max_pool2d",
)
def max_pool2d_forward(x, kernel, stride=None, padding=0):
    r"""Max pooling: the largest value of every field, channel by channel. Implements :eq:`eq-cnn-maxpool`.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    kernel : int or pair
    stride : int or pair, optional
        Defaults to the kernel size (non-overlapping fields), as in torch.
    padding : int or pair, default 0
        Padded with :math:`-\infty`, so padding never wins.

    Returns
    -------
    out : Tensor of shape (N, C, H_out, W_out)
    cache : MaxPool2dCache
        The position of each maximum, for :func:`max_pool2d_backward`.
    """
    stride = _pool_stride(kernel, stride, padding)
    N, C, H, W = x.shape
    H_out, W_out = _geometry(x.shape, kernel, stride, padding)
    cols = im2col(
        x.reshape(N * C, 1, H, W), kernel, stride, padding, pad_value=-torch.inf
    )
    out, argmax = cols.max(
        dim=1
    )  # (N*C, L): the first maximum of each field wins, as in torch
    cache = MaxPool2dCache(argmax, tuple(x.shape), kernel, stride, padding)
    return out.reshape(N, C, H_out, W_out), cache


@contract(
    dout=Tensor("N", "C", "H_out", "W_out"),
    bind=_pool_output,
    reference="torch.autograd",
)
def max_pool2d_backward(dout, cache):
    """Gradient of :func:`max_pool2d_forward`: each output's gradient goes to its maximum."""
    argmax, (N, C, H, W), kernel, stride, padding = cache
    k = kernel[0] * kernel[1]
    winners = F.one_hot(argmax, k).transpose(1, 2).to(dout.dtype)  # (N*C, k, L)
    dcols = winners * dout.reshape(N * C, 1, -1)
    return col2im(dcols, (N * C, 1, H, W), kernel, stride, padding).reshape(
        N, C, H, W
    )


@contract(
    "eq-cnn-avgpool",
    x=MAPS,
    kernel=Pair(low=1),
    stride=Pair(low=1, optional=True),
    padding=Pair(low=0),
    reference="torch.nn.functional.avg_pool2d",
)
def avg_pool2d_forward(x, kernel, stride=None, padding=0):
    """Average pooling; zeros of the padding count in the average, as torch's default. Implements :eq:`eq-cnn-avgpool`.

    Parameters and returns as :func:`max_pool2d_forward`; the cache is an
    ``AvgPool2dCache``.
    """
    stride = _pool_stride(kernel, stride, padding)
    N, C, H, W = x.shape
    H_out, W_out = _geometry(x.shape, kernel, stride, padding)
    cols = im2col(x.reshape(N * C, 1, H, W), kernel, stride, padding)
    out = cols.mean(dim=1)
    cache = AvgPool2dCache(tuple(x.shape), kernel, stride, padding)
    return out.reshape(N, C, H_out, W_out), cache


@contract(
    dout=Tensor("N", "C", "H_out", "W_out"),
    bind=_pool_output,
    reference="torch.autograd",
)
def avg_pool2d_backward(dout, cache):
    """Gradient of :func:`avg_pool2d_forward`: each output's gradient, shared equally by its field."""
    (N, C, H, W), kernel, stride, padding = cache
    k = kernel[0] * kernel[1]
    dcols = (dout.reshape(N * C, 1, -1) / k).expand(
        N * C, k, dout[0, 0].numel()
    )
    return col2im(dcols, (N * C, 1, H, W), kernel, stride, padding).reshape(
        N, C, H, W
    )


@contract(
    "eq-cnn-batch-norm",
    x=MAPS,
    gamma=Tensor("C"),
    beta=Tensor("C"),
    running_mean=Tensor("C", optional=True),
    running_var=Tensor("C", optional=True),
    training=Flag(),
    momentum=Real(low=0, high=1),
    eps=Real(low=0, low_open=True),
    reference="torch.nn.functional.batch_norm",
)
def batch_norm2d_forward(
    x,
    gamma,
    beta,
    running_mean=None,
    running_var=None,
    *,
    training=True,
    momentum=0.1,
    eps=1e-5,
):
    """Batch normalization of feature maps: one mean and variance per channel, over (N, H, W).

    Implements :eq:`eq-cnn-batch-norm`.

    The arithmetic is :func:`nnbook.fnn.batch_norm_forward`, which
    already normalizes over every dimension but 1; this function only insists on 4-D input.
    """
    return batch_norm_forward(
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )


@contract(
    dout=Tensor("N", "C", "H", "W", like=lambda cache: cache.a_hat),
    reference="torch.autograd",
)
def batch_norm2d_backward(dout, cache):
    """Gradients of :func:`batch_norm2d_forward`: ``(dx, dgamma, dbeta)``."""
    return batch_norm_backward(dout, cache)


#: The hand-written convolution as an autograd function: ``Conv2dFunction.apply(x, w, b, stride, padding)``.
Conv2dFunction = autograd_function(
    conv2d_forward, conv2d_backward, "Conv2dFunction"
)
#: Max pooling as an autograd function: ``MaxPool2dFunction.apply(x, kernel, stride, padding)``.
MaxPool2dFunction = autograd_function(
    max_pool2d_forward, max_pool2d_backward, "MaxPool2dFunction"
)


def _batch_norm2d_positional(
    x, gamma, beta, running_mean, running_var, training, momentum, eps
):
    return batch_norm2d_forward(
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )


#: Batch normalization of feature maps as an autograd function:
#: ``BatchNorm2dFunction.apply(x, gamma, beta, running_mean, running_var, training, momentum, eps)``.
BatchNorm2dFunction = autograd_function(
    _batch_norm2d_positional, batch_norm2d_backward, "BatchNorm2dFunction"
)


conv2d = forward_only(conv2d_forward)
max_pool2d = forward_only(max_pool2d_forward)
avg_pool2d = forward_only(avg_pool2d_forward)
batch_norm2d = forward_only(batch_norm2d_forward)


@contract(
    "eq-cnn-conv-grad",
    dout=Tensor("N", "C_out", "H_out", "W_out"),
    w=FILTERS,
    stride=Pair(low=1),
    padding=Pair(low=0),
    reference="torch.nn.grad.conv2d_input",
)
def conv2d_input_grad(dout, w, x_shape, stride=1, padding=0):
    r"""The gradient of a convolution with respect to its input alone.

    Implements the last line of :eq:`eq-cnn-conv-grad`: every input pixel receives
    the upstream gradient of each output whose receptive field contains it, weighted
    by the filter entry that joined them. This is the ``dx`` of
    :func:`conv2d_backward`, computed from ``dout`` and ``w`` only, without the
    forward pass's cache (the rule a convolution below another one needs).

    Parameters
    ----------
    dout : Tensor of shape (N, C_out, H_out, W_out)
        The upstream gradient :math:`\delta`.
    w : Tensor of shape (C_out, C_in, kh, kw)
    x_shape : tuple (N, C_in, H, W)
        The shape of the input. It is needed: with a stride, inputs of several sizes
        give the same output size, and the rows or columns that no field reaches
        get a gradient of zero.
    stride, padding : int or pair

    Returns
    -------
    Tensor of shape x_shape
    """
    x_shape = _image_shape("x_shape", x_shape)
    if x_shape[1] != w.shape[1]:
        raise ValueError(
            f"w expects {w.shape[1]} input channels (w has shape "
            f"{tuple(w.shape)}), but x_shape has {x_shape[1]}"
        )
    kernel = tuple(w.shape[2:])
    H_out, W_out = _geometry(x_shape, kernel, stride, padding)
    N, C_out = x_shape[0], w.shape[0]
    if dout.shape != (N, C_out, H_out, W_out):
        raise ValueError(
            f"dout must have shape (N, C_out, H_out, W_out) = "
            f"{(N, C_out, H_out, W_out)}, got {tuple(dout.shape)}"
        )
    delta = dout.reshape(N, C_out, -1)  # (N, C_out, L)
    dcols = w.reshape(C_out, -1).T @ delta  # (N, C_in*kh*kw, L)
    return col2im(dcols, x_shape, kernel, stride, padding)


__all__ += ["conv2d_input_grad"]
