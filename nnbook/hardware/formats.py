r"""Number formats of the tensor cores: TF32, bfloat16, fp8, fp4 and the microscaling formats.

A binary floating-point format with :math:`m` explicit mantissa bits keeps, for a value
:math:`x`, the multiple of the step :math:`s = 2^{e - m}` nearest to :math:`x`, where
:math:`e` is the exponent of :math:`x`, floored at the format's smallest normal exponent
:math:`e_{\min}` (below it the step stays fixed: the subnormals). Ties go to the even
multiple. :func:`round_to_format` computes this in float64, so that a value can be
rounded to TF32, bfloat16, fp8 (E4M3, E5M2) or fp4 (E2M1) and compared with the exact
one.

The microscaling (MX) formats of the Open Compute Project store a block of 32 values as
32 narrow elements and one shared power-of-two scale (an E8M0 number).
:func:`mx_quantize` computes the scale of each block, by the rule that the specification
suggests (the exponent of the block's largest magnitude, rounded down) or by the rule
that rounds the scale up so that nothing is clamped, and rounds the scaled elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nnbook.contract import Choice, Int, Tensor, contract

__all__ = [
    "FORMATS",
    "Format",
    "SCHEMES",
    "bits_per_value",
    "mx_quantize",
    "quantize",
    "round_to_format",
]


@dataclass(frozen=True)
class Format:
    """A binary floating-point format, described by what rounding needs.

    Attributes
    ----------
    exponent_bits, mantissa_bits : int
        Bits of the exponent field and of the explicit mantissa (the sign bit is extra).
    min_exponent : int or None
        :math:`e_{\\min}`, the exponent of the smallest normal number; None for a format
        whose exponent range this module does not limit (TF32 and bfloat16 have
        float32's, far wider than the values of a network).
    max_value : float or None
        The largest finite value; larger magnitudes are clamped to it (a saturating
        conversion). None: no limit.
    """

    exponent_bits: int
    mantissa_bits: int
    min_exponent: int | None
    max_value: float | None

    @property
    def max_exponent(self) -> int:
        """The exponent of the largest power of two that the format holds."""
        if self.max_value is None:
            raise ValueError(
                "max_exponent needs a format with a max_value, got None"
            )
        return math.floor(math.log2(self.max_value))


#: The formats of the chapter, by name. E4M3 is the "fn" variant of the fp8 paper and of
#: ``torch.float8_e4m3fn`` (no infinities, largest value 448); E2M1 is the fp4 element
#: of MXFP4 and NVFP4.
FORMATS = {
    "tf32": Format(8, 10, None, None),
    "bf16": Format(8, 7, None, None),
    "fp16": Format(5, 10, -14, 65504.0),
    "e4m3": Format(4, 3, -6, 448.0),
    "e5m2": Format(5, 2, -14, 57344.0),
    "e2m1": Format(2, 1, 0, 6.0),
}


def _refuse_nan(x: torch.Tensor) -> None:
    if torch.isnan(x).any():
        raise ValueError(
            f"x must not contain NaN, got {int(torch.isnan(x).sum())} NaN values"
        )


@contract(
    "eq-hw-round-mantissa",
    x=Tensor(),
    fmt=Choice(*FORMATS),
    reference="torch casts to bfloat16, float16, float8_e4m3fn and float8_e5m2",
)
def round_to_format(x, fmt):
    r"""Round each value of ``x`` to the nearest number of the format ``fmt``.

    Implements :eq:`eq-hw-round-mantissa`:

    .. math::

        \begin{aligned}
        e &= \max\bigl(\lfloor \log_2 |x| \rfloor,\ e_{\min}\bigr), \qquad
        s = 2^{e - m}, \\
        q(x) &= \operatorname{clamp}\bigl(s \cdot \operatorname{round}(x / s),\
        -x_{\max},\ x_{\max}\bigr),
        \end{aligned}

    with :math:`m` mantissa bits, round half to even, and the format's smallest
    normal exponent :math:`e_{\min}` and largest value :math:`x_{\max}`
    (:data:`FORMATS`). Values beyond :math:`x_{\max}` are clamped, as the microscaling
    formats prescribe; torch's casts to fp8 return NaN or infinity there instead.

    Parameters
    ----------
    x : torch.Tensor
        Values of any shape, floating point; float64 keeps the result exact.
    fmt : str
        One of ``"tf32"``, ``"bf16"``, ``"fp16"``, ``"e4m3"``, ``"e5m2"``, ``"e2m1"``.

    Returns
    -------
    torch.Tensor
        The rounded values, in the dtype and shape of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` contains NaN or ``fmt`` is not a known format.
    """
    _refuse_nan(x)
    spec = FORMATS[fmt]
    y = x.double()
    _, exponent = torch.frexp(y)  # y = f * 2**exponent with 0.5 <= |f| < 1
    e = exponent - 1  # floor(log2 |y|) for y != 0
    if spec.min_exponent is not None:
        e = e.clamp(min=spec.min_exponent)
    step = torch.ldexp(torch.ones_like(y), e - spec.mantissa_bits)
    q = torch.round(y / step) * step
    if spec.max_value is not None:
        q = q.clamp(-spec.max_value, spec.max_value)
    return q.to(x.dtype)


@contract(
    "eq-hw-mx-scale",
    x=Tensor(..., None),
    element=Choice("e2m1", "e4m3", "e5m2"),
    block=Int(low=1),
    rounding=Choice("floor", "up"),
    reference="brute-force search over the E2M1 values times the block's scale",
)
def mx_quantize(x, element="e2m1", block=32, rounding="floor"):
    r"""Quantize ``x`` in blocks of ``block`` values along its last axis, MX style.

    Implements :eq:`eq-hw-mx-scale`: each block shares a power-of-two scale, either
    the one that the OCP specification suggests (``rounding="floor"``) or the one
    rounded up (``rounding="up"``), which NVIDIA's MXFP8 training recipe uses,

    .. math::

        \begin{aligned}
        X_{\text{floor}} &= 2^{\lfloor \log_2 \max_i |v_i| \rfloor - e_{\max}}, \\
        X_{\text{up}} &= 2^{\lceil \log_2 (\max_i |v_i| / x_{\max}) \rceil}, \\
        \hat v_i &= X \cdot q(v_i / X),
        \end{aligned}

    where :math:`e_{\max}` is the exponent of the element format's largest power of two
    (2 for E2M1, 8 for E4M3, 15 for E5M2), :math:`x_{\max}` its largest value (6, 448,
    57344) and :math:`q` rounds to the element format with clamping
    (:func:`round_to_format`). The floor rule puts the block's largest magnitude in the
    element's top binade, where values above :math:`x_{\max}` are clamped; the rule
    rounded up keeps every :math:`|v_i| / X \le x_{\max}`, so nothing is clamped, at
    the price of up to one binade of precision. The scale is an E8M0 number: its
    exponent is clamped to :math:`[-127, 127]`; a block of zeros gets the scale 1. With
    ``block=32`` and ``element="e2m1"`` this is MXFP4; with ``"e4m3"``, MXFP8.

    Parameters
    ----------
    x : torch.Tensor
        Shape ``(..., n)`` with ``n`` a multiple of ``block``.
    element : str, default "e2m1"
        The element format: ``"e2m1"``, ``"e4m3"`` or ``"e5m2"``.
    block : int, default 32
        Values per shared scale; the OCP specification fixes 32. ``block=n`` gives one
        scale per row.
    rounding : str, default "floor"
        ``"floor"``: the specification's suggested rule :math:`X_{\text{floor}}`;
        ``"up"``: :math:`X_{\text{up}}`.

    Returns
    -------
    values : torch.Tensor
        The dequantized values :math:`\hat v`, shape and dtype of ``x``.
    scales : torch.Tensor
        The scales :math:`X`, shape ``(..., n // block)``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``block`` is not an integer.
    ValueError
        If ``x`` contains NaN, its last size is not a multiple of ``block``, or
        ``rounding`` is neither ``"floor"`` nor ``"up"``.
    """
    _refuse_nan(x)
    n = x.shape[-1]
    if n % block:
        raise ValueError(
            f"x must have a last size that is a multiple of block={block}, got {n}"
        )
    spec = FORMATS[element]
    v = x.double().reshape(*x.shape[:-1], n // block, block)
    amax = v.abs().amax(dim=-1, keepdim=True)
    if rounding == "floor":
        _, exponent = torch.frexp(amax)  # amax = f * 2**exponent, 0.5 <= f < 1
        shared = exponent - 1 - spec.max_exponent
    else:
        ratio = amax / spec.max_value
        mantissa, exponent = torch.frexp(ratio)
        # ceil(log2 ratio): exponent - 1 for an exact power of two, else exponent
        shared = torch.where(mantissa == 0.5, exponent - 1, exponent)
    shared = shared.clamp(-127, 127)
    scale = torch.where(
        amax > 0,
        torch.ldexp(torch.ones_like(amax), shared),
        torch.ones_like(amax),
    )
    values = scale * round_to_format(v / scale, element)
    return values.reshape(x.shape).to(x.dtype), scale.squeeze(-1).to(x.dtype)


#: Ways to store a tensor, by name. Each gives the element format, where its scale comes
#: from, and how the scale is rounded. The scale is None, no scale; "amax", one scale per tensor,
#: the largest magnitude over the element's largest value (amax / 448 for E4M3), not
#: a power of two, as fp8 training libraries scale per tensor; "tensor", one
#: power-of-two scale for the whole tensor, chosen by the MX rule; an integer, one
#: per block of that many values, the MX formats. TF32 and bfloat16 need no scale:
#: their range is float32's.
SCHEMES = {
    "tf32": ("tf32", None, None),
    "bf16": ("bf16", None, None),
    "fp8 E4M3, amax/448": ("e4m3", "amax", None),
    "fp8 E5M2, amax/57344": ("e5m2", "amax", None),
    "MXFP8, spec's floor rule": ("e4m3", 32, "floor"),
    "MXFP8, scale rounded up": ("e4m3", 32, "up"),
    "MXFP4, spec's floor rule": ("e2m1", 32, "floor"),
    "MXFP4, scale rounded up": ("e2m1", 32, "up"),
    "fp4, one scale": ("e2m1", "tensor", "floor"),
    "fp4, no scale": ("e2m1", None, None),
}


@contract(x=Tensor(..., None), scheme=Choice(*SCHEMES))
def quantize(x, scheme):
    """``x`` stored in ``scheme`` and read back: rounded, with the scheme's scaling.

    Parameters
    ----------
    x : torch.Tensor
        Shape ``(..., n)``; for the MX schemes ``n`` is a multiple of 32.
    scheme : str
        A name of :data:`SCHEMES`, such as ``"bf16"``, ``"fp8 E4M3, amax/448"`` or
        ``"MXFP4, spec's floor rule"``.

    Returns
    -------
    torch.Tensor
        The values after the round trip, shape and dtype of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` contains NaN, ``scheme`` is unknown, or an MX scheme gets a last size
        that is not a multiple of 32.
    """
    _refuse_nan(x)
    element, scale, rounding = SCHEMES[scheme]
    if scale is None:
        return round_to_format(x, element)
    if scale == "amax":
        amax = x.double().abs().max()
        factor = amax / FORMATS[element].max_value if amax > 0 else amax + 1
        return (factor * round_to_format(x.double() / factor, element)).to(
            x.dtype
        )
    if scale == "tensor":
        flat = x.reshape(1, -1)
        return mx_quantize(flat, element, block=flat.shape[1])[0].reshape(
            x.shape
        )
    return mx_quantize(x, element, block=scale, rounding=rounding)[0]


@contract(scheme=Choice(*SCHEMES))
def bits_per_value(scheme):
    """Bits that ``scheme`` stores per value: sign, exponent, mantissa, and a share of the scale.

    The MX schemes add their 8-bit E8M0 scale spread over the block (8 / 32 bits); a
    per-tensor scale adds nothing that counts. TF32 is computed, not stored: its 19
    bits sit in a 32-bit word.

    Parameters
    ----------
    scheme : str
        A name of :data:`SCHEMES`.

    Returns
    -------
    float
        Bits per value.

    Raises
    ------
    ValueError
        If ``scheme`` is unknown.
    """
    element, scale, _ = SCHEMES[scheme]
    spec = FORMATS[element]
    bits = 1 + spec.exponent_bits + spec.mantissa_bits
    return bits + (8 / scale if isinstance(scale, int) else 0)
