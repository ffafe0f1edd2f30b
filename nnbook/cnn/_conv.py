r"""Convolution and pooling, forward and backward, built on im2col.

Shapes follow torch: images are ``(N, C, H, W)``, convolution weights
``(C_out, C_in / groups, kh, kw)``. ``stride``, ``padding`` and ``dilation`` are an int
or a pair ``(rows, columns)``; ``groups`` splits the channels into independent
convolutions, as in ``torch.nn.functional.conv2d``. The central trick is
:func:`im2col`: it copies every receptive field of the input into a column, so that a
convolution becomes one matrix product and its backward pass two more, with
:func:`col2im` (the adjoint of im2col) summing the gradients of overlapping fields back
into place. Both loop over the ``kh * kw`` kernel offsets only, copying strided
slices, which keeps them deterministic on every device.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    "conv2d_cost",
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
#: Convolution weights, one filter per output channel, each over one group's channels.
FILTERS = Tensor("C_out", "C_in/groups", "kh", "kw")


@dataclass(frozen=True)
class Groups(Int):
    """The ``groups`` of a convolution: an int >= 1 that divides both channel counts.

    Checked after the tensors, whose sizes ``C_in``, ``C_out`` and ``C_in/groups`` it
    reads where they are bound: the filters of a group see ``C_in / groups`` channels.
    """

    low: int = 1

    def check(self, name, value, dims, arguments):
        groups = super().check(name, value, dims, arguments)
        for size, what in (("C_in", "input"), ("C_out", "output")):
            if size in dims and dims[size] % groups:
                raise ValueError(
                    f"{name} must divide the {dims[size]} {what} channels; "
                    f"got {name}={groups}"
                )
        C_in = dims.get("C_in")
        if C_in is not None and dims["C_in/groups"] * groups != C_in:
            want, given = f"C_in={C_in}", ""  # the message without groups
            if groups > 1:
                want = f"C_in/groups={C_in // groups}"
                given = f" for C_in={C_in} and {name}={groups}"
            raise ValueError(
                f"w must have shape (C_out, {want}, kh, kw){given}, "
                f"got {tuple(arguments['w'].shape)}"
            )
        return groups

    def describe(self) -> str:
        return "int >= 1 that divides C_in and C_out"


class Conv2dCache(NamedTuple):
    """What :func:`conv2d_backward` needs from the forward pass."""

    cols: torch.Tensor
    w: torch.Tensor
    has_bias: bool
    x_shape: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int


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
    "eq-cnn-conv-cost",
    c_in=Int(low=1),
    c_out=Int(low=1),
    kernel=Pair(low=1),
    output=Pair(low=1),
    groups=Int(low=1),
    bias=Flag(),
    reference="torch.utils.flop_counter.FlopCounterMode",
)
def conv2d_cost(c_in, c_out, kernel, output, groups=1, bias=True):
    r"""The parameters and the multiply-adds of a convolution, for one image.

    Implements :eq:`eq-cnn-conv-cost`: each of the :math:`C_{out}` filters has
    :math:`C_{in}/G \cdot k_h k_w` weights (and a bias), and each of the
    :math:`H_{out} W_{out}` outputs of a map costs one multiply-add per weight.

    Parameters
    ----------
    c_in, c_out : int
        The input and output channels; ``groups`` must divide both.
    kernel : int or pair
        The kernel's size ``(kh, kw)``.
    output : int or pair
        The output map's size ``(H_out, W_out)``, from :func:`output_size`.
    groups : int, default 1
    bias : bool, default True

    Returns
    -------
    (int, int)
        The number of parameters, and of multiply-adds (a FLOP counter that counts a
        multiply and an add separately reports twice as many).
    """
    for name, channels in (("input", c_in), ("output", c_out)):
        if channels % groups:
            raise ValueError(
                f"groups must divide the {channels} {name} channels; got groups={groups}"
            )
    (kh, kw), (h_out, w_out) = kernel, output  # pairs, by the contract
    weights = c_out * (c_in // groups) * kh * kw
    return weights + (c_out if bias else 0), weights * h_out * w_out


@contract(
    "eq-cnn-output-size",
    size=Int(low=1),
    kernel=Int(low=1),
    stride=Int(low=1),
    padding=Int(low=0),
    dilation=Int(low=1),
    reference="torch.nn.functional.conv1d",
)
def output_size(size, kernel, stride=1, padding=0, dilation=1):
    r"""The output length of a convolution or pooling along one dimension. Implements :eq:`eq-cnn-output-size`.

    .. math:: \text{out} = \left\lfloor \frac{\text{size} + 2p - k}{s} \right\rfloor + 1

    With a dilation :math:`d` the kernel's entries sit :math:`d` pixels apart, so it
    spans :math:`d(k - 1) + 1` pixels, and that span takes the place of :math:`k`.
    Raises ``ValueError`` when the kernel does not fit in the padded input.
    """
    span = dilation * (kernel - 1) + 1  # the kernel's extent, d(k-1)+1
    if span > size + 2 * padding:
        spans = (
            "" if dilation == 1 else f" (with dilation {dilation}, span {span})"
        )
        raise ValueError(
            f"kernel {kernel}{spans} is larger than the padded input "
            f"{size} + 2 * {padding} = {size + 2 * padding}"
        )
    return (size + 2 * padding - span) // stride + 1


@contract(
    "eq-cnn-receptive-field",
    kernels=Ints(low=1),
    strides=Ints(low=1, optional=True),
    dilations=Ints(low=1, optional=True),
    reference="torch.autograd",
)
def receptive_field(kernels, strides=None, dilations=None):
    r"""How many input pixels, along one dimension, one output of a stack of layers sees.

    Implements :eq:`eq-cnn-receptive-field`.

    Parameters
    ----------
    kernels : sequence of int
        The kernel size of each layer, first layer first (pooling layers count too).
    strides : sequence of int, optional
        Their strides; 1 for every layer when omitted.
    dilations : sequence of int, optional
        Their dilations; 1 for every layer when omitted. A dilated kernel of size
        :math:`k` spans :math:`d(k - 1) + 1` pixels, and counts as that size.

    Returns
    -------
    list of int
        The receptive field after each layer.

    Notes
    -----
    .. math:: r_\ell = r_{\ell-1} + d_\ell (k_\ell - 1) \prod_{m < \ell} s_m,
              \qquad r_0 = 1

    (:math:`d_\ell = 1` without dilation.)
    """
    strides = _per_layer("strides", strides, kernels)
    dilations = _per_layer("dilations", dilations, kernels)
    fields, r, jump = [], 1, 1
    for k, s, d in zip(kernels, strides, dilations, strict=True):
        r += d * (k - 1) * jump
        jump *= s
        fields.append(r)
    return fields


def _per_layer(name, values, kernels):
    """``values``, or 1 for every layer when None; one entry per kernel."""
    values = [1] * len(kernels) if values is None else values
    if len(values) != len(kernels):
        raise ValueError(
            f"{name} must have one entry per kernel ({len(kernels)}), "
            f"got {len(values)}"
        )
    return values


def _geometry(x_shape, kernel, stride, padding, dilation=(1, 1)):
    """Output height and width, checking that the kernel fits."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    _, _, H, W = x_shape
    try:
        return output_size(H, kh, sh, ph, dh), output_size(W, kw, sw, pw, dw)
    except ValueError as err:
        dilated = "" if dilation == (1, 1) else f" and dilation {dilation}"
        raise ValueError(
            f"kernel {kernel} does not fit input {tuple(x_shape)} with padding "
            f"{padding}{dilated}: {err}"
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
        cache.x_shape,
        cache.w.shape[2:],
        cache.stride,
        cache.padding,
        cache.dilation,
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
    dilation=Pair(low=1),
    pad_value=Real(),
    reference="torch.nn.functional.unfold",
)
def im2col(x, kernel, stride=1, padding=0, dilation=1, pad_value=0.0):
    """Every receptive field of ``x`` as a column. Implements :eq:`eq-cnn-im2col`.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    kernel : int or pair
        The field's size ``(kh, kw)``.
    stride, padding : int or pair
    dilation : int or pair, default 1
        The distance between the field's entries: kernel entry ``(i, j)`` reads the
        pixel ``(dh * i, dw * j)`` past the field's corner.
    pad_value : float, default 0.0
        What the padding holds (max pooling pads with ``-inf``).

    Returns
    -------
    Tensor of shape (N, C * kh * kw, H_out * W_out)
        Column ``l`` holds the field of output position ``l`` (row-major), ordered by
        channel, then kernel row, then kernel column, as ``torch.nn.functional.unfold``.
    """
    H_out, W_out = _geometry(x.shape, kernel, stride, padding, dilation)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = F.pad(x, (pw, pw, ph, ph), value=pad_value)
    N, C = x.shape[:2]
    cols = x.new_empty(N, C, kh, kw, H_out, W_out)
    for i in range(kh):
        for j in range(kw):
            u, v = dh * i, dw * j  # the offset of kernel entry (i, j)
            cols[:, :, i, j] = xp[
                :, :, u : u + sh * H_out : sh, v : v + sw * W_out : sw
            ]
    return cols.reshape(N, C * kh * kw, H_out * W_out)


@contract(
    cols=Tensor("N", "C*kh*kw", "L"),
    kernel=Pair(low=1),
    stride=Pair(low=1),
    padding=Pair(low=0),
    dilation=Pair(low=1),
    reference="torch.nn.functional.fold",
)
def col2im(cols, x_shape, kernel, stride=1, padding=0, dilation=1):
    """The adjoint of :func:`im2col`: add every column back onto its receptive field.

    Parameters
    ----------
    cols : Tensor of shape (N, C * kh * kw, H_out * W_out)
    x_shape : tuple (N, C, H, W)
        The shape of the image that :func:`im2col` read.
    kernel, stride, padding, dilation : int or pair

    Returns
    -------
    Tensor of shape x_shape
        Where fields overlap, their values are summed.
    """
    N, C, H, W = x_shape = _image_shape("x_shape", x_shape)
    H_out, W_out = _geometry(x_shape, kernel, stride, padding, dilation)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if cols.shape != (N, C * kh * kw, H_out * W_out):
        raise ValueError(
            f"cols must have shape (N, C*kh*kw, H_out*W_out) = "
            f"{(N, C * kh * kw, H_out * W_out)}, got {tuple(cols.shape)}"
        )
    cols = cols.reshape(N, C, kh, kw, H_out, W_out)
    xp = cols.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    for i in range(kh):
        for j in range(kw):
            u, v = dh * i, dw * j  # the offset of kernel entry (i, j)
            xp[:, :, u : u + sh * H_out : sh, v : v + sw * W_out : sw] += cols[
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
    dilation=Pair(low=1),
    groups=Groups(),
    reference="torch.nn.functional.conv2d",
)
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    r"""A 2-D convolution (cross-correlation, as in every deep-learning library), via im2col.

    Implements :eq:`eq-cnn-conv`.

    Parameters
    ----------
    x : Tensor of shape (N, C_in, H, W)
    w : Tensor of shape (C_out, C_in_per_group, kh, kw)
        ``C_in_per_group = C_in / groups``.
    b : Tensor of shape (C_out,), optional
    stride, padding : int or pair
    dilation : int or pair, default 1
        The distance between the kernel's entries in the input, as in torch.
    groups : int, default 1
        The number of independent convolutions the channels are split into. It
        must divide C_in and C_out; ``groups = C_in`` is a depthwise convolution.

    Returns
    -------
    out : Tensor of shape (N, C_out, H_out, W_out)
    cache : Conv2dCache

    Notes
    -----
    .. math:: \text{out}_{n, o, y, z} = b_o + \sum_{c, i, j} w_{o, c, i, j}\,
              x_{n, c,\, s_h y + i - p_h,\, s_w z + j - p_w}

    With the fields as columns this is ``w.reshape(C_out, -1) @ im2col(x)``.

    The dilated convolution, :eq:`eq-cnn-dilated-conv`, spreads
    the kernel's entries :math:`d_h` rows and :math:`d_w` columns apart: entry
    :math:`(i, j)` reads row :math:`s_h y + d_h i - p_h` and column
    :math:`s_w z + d_w j - p_w`. The grouped convolution, :eq:`eq-cnn-grouped-conv`,
    splits the channels into :math:`G` consecutive groups of
    :math:`C_{in}/G` inputs and :math:`C_{out}/G` outputs, and an output channel sums
    over the input channels of its own group only. Both together:

    .. math::

        \begin{aligned}
        \text{out}_{n, o, y, z} &= b_o + \sum_{c < C_{in}/G} \sum_{i, j}
          w_{o, c, i, j} \\
        &\qquad \times x_{n,\, g C_{in}/G + c,\, s_h y + d_h i - p_h,\,
          s_w z + d_w j - p_w}, \\
        g &= \lfloor o / (C_{out}/G) \rfloor
        \end{aligned}

    By group, this is one batched matrix product:
    ``w.reshape(G, C_out/G, -1) @ im2col(x).reshape(N, G, -1, L)``.
    """
    N, C_out, G = x.shape[0], w.shape[0], groups
    kernel = tuple(w.shape[2:])
    H_out, W_out = _geometry(x.shape, kernel, stride, padding, dilation)
    cols = im2col(x, kernel, stride, padding, dilation)  # (N, C_in*kh*kw, L)
    X = cols.reshape(N, G, -1, H_out * W_out)  # (N, G, C_in/G*kh*kw, L)
    out = w.reshape(G, C_out // G, -1) @ X  # (N, G, C_out/G, L)
    out = out.reshape(N, C_out, H_out, W_out)
    if b is not None:
        out = out + b[:, None, None]
    cache = Conv2dCache(
        cols, w, b is not None, tuple(x.shape), stride, padding, dilation, G
    )
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
    dw : Tensor of shape (C_out, C_in_per_group, kh, kw)
    db : Tensor of shape (C_out,), or None without bias

    Notes
    -----
    With :math:`X` the columns of im2col and :math:`\delta` the upstream gradient as
    ``(N, C_out, L)``: :math:`\partial J/\partial W = \sum_n \delta_n X_n^\top`,
    :math:`\partial J/\partial X = W^\top \delta`, then col2im folds the columns back.
    With groups, both products are taken group by group, in one batched product.
    """
    cols, w, has_bias, x_shape, stride, padding, dilation, G = cache
    N, C_out, L = x_shape[0], w.shape[0], cols.shape[-1]
    X = cols.reshape(N, G, -1, L)  # (N, G, C_in/G*kh*kw, L)
    W = w.reshape(G, C_out // G, -1)  # (G, C_out/G, C_in/G*kh*kw)
    delta = dout.reshape(N, G, C_out // G, L)  # (N, G, C_out/G, L)
    dw = (delta @ X.transpose(2, 3)).sum(dim=0).reshape(w.shape)
    db = dout.sum(dim=(0, 2, 3)) if has_bias else None
    dcols = W.transpose(1, 2) @ delta  # (N, G, C_in/G*kh*kw, L)
    kernel = tuple(w.shape[2:])
    dx = col2im(
        dcols.reshape(N, -1, L), x_shape, kernel, stride, padding, dilation
    )
    return dx, dw, db


@contract(
    "eq-cnn-conv",
    **conv2d_forward.contract.specs,
    reference="torch.nn.functional.conv2d",
)
def conv2d_naive(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The same convolution as :func:`conv2d`, by explicit loops over output positions.

    Implements :eq:`eq-cnn-conv` as written, with the dilation and the groups of
    :func:`conv2d_forward`: the window of output ``(y, z)`` starts at
    ``(sh * y, sw * z)`` of the padded input and takes every ``dh``-th row and
    ``dw``-th column; the output channels of group ``g`` sum over the input channels
    of group ``g``.

    Readable and slow: one small product per output pixel. The benchmark and the
    chapter compare it with the im2col version.
    """
    (kh, kw), (sh, sw), (ph, pw) = tuple(w.shape[2:]), stride, padding
    (dh, dw), G = dilation, groups
    H_out, W_out = _geometry(x.shape, (kh, kw), stride, padding, dilation)
    N, C_in, C_out = x.shape[0], x.shape[1], w.shape[0]
    xp = F.pad(x, (pw, pw, ph, ph))  # (N, C_in, H + 2ph, W + 2pw)
    xp = xp.reshape(N, G, C_in // G, *xp.shape[2:])  # the channels by group
    wg = w.reshape(G, C_out // G, *w.shape[1:])  # (G, C_out/G, C_in/G, kh, kw)
    out = x.new_zeros(N, G, C_out // G, H_out, W_out)
    for y in range(H_out):
        for z in range(W_out):
            rows = slice(sh * y, sh * y + dh * (kh - 1) + 1, dh)
            columns = slice(sw * z, sw * z + dw * (kw - 1) + 1, dw)
            field = xp[..., rows, columns]  # (N, G, C_in/G, kh, kw)
            out[..., y, z] = torch.einsum("ngcij,gocij->ngo", field, wg)
    out = out.reshape(N, C_out, H_out, W_out)
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


#: The hand-written convolution as an autograd function:
#: ``Conv2dFunction.apply(x, w, b, stride, padding, dilation, groups)``.
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
    dilation=Pair(low=1),
    groups=Groups(),
    reference="torch.nn.grad.conv2d_input",
)
def conv2d_input_grad(
    dout, w, x_shape, stride=1, padding=0, dilation=1, groups=1
):
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
    w : Tensor of shape (C_out, C_in_per_group, kh, kw)
        ``C_in_per_group = C_in / groups``.
    x_shape : tuple (N, C_in, H, W)
        The shape of the input. It is needed: with a stride, inputs of several sizes
        give the same output size, and the rows or columns that no field reaches
        get a gradient of zero.
    stride, padding, dilation : int or pair
    groups : int, default 1
        As in :func:`conv2d_forward`: each group's inputs get the gradient of its
        own outputs only.

    Returns
    -------
    Tensor of shape x_shape
    """
    x_shape = _image_shape("x_shape", x_shape)
    G = groups
    if x_shape[1] != w.shape[1] * G:
        per_group = "" if G == 1 else f" ({w.shape[1]} in each of {G} groups)"
        raise ValueError(
            f"w expects {w.shape[1] * G} input channels{per_group} (w has shape "
            f"{tuple(w.shape)}), but x_shape has {x_shape[1]}"
        )
    kernel = tuple(w.shape[2:])
    H_out, W_out = _geometry(x_shape, kernel, stride, padding, dilation)
    N, C_out, L = x_shape[0], w.shape[0], H_out * W_out
    if dout.shape != (N, C_out, H_out, W_out):
        raise ValueError(
            f"dout must have shape (N, C_out, H_out, W_out) = "
            f"{(N, C_out, H_out, W_out)}, got {tuple(dout.shape)}"
        )
    W = w.reshape(G, C_out // G, -1)  # (G, C_out/G, C_in/G*kh*kw)
    delta = dout.reshape(N, G, C_out // G, L)  # (N, G, C_out/G, L)
    dcols = W.transpose(1, 2) @ delta  # (N, G, C_in/G*kh*kw, L)
    return col2im(
        dcols.reshape(N, -1, L), x_shape, kernel, stride, padding, dilation
    )


__all__ += ["conv2d_input_grad"]
