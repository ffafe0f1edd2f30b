"""Input checks shared by every module: clear errors that name the argument.

A shape is written with dimension names, so one call can tie several arguments together::

    dims = {}
    h = tensor("h", h, shape=("T_mb", "F_in"), dims=dims)
    W = tensor("W", W, shape=("F_out", "F_in"), dims=dims)

A mismatch then reads ``W must have shape (F_out, F_in=64), got (10, 65)``.
"""

from __future__ import annotations

import numbers

import torch

__all__ = ["tensor", "number", "optional_tensor"]


def tensor(name, x, *, shape=None, dims=None, floating=True):
    """Check that ``x`` is a tensor of the given shape and return it.

    Parameters
    ----------
    name : str
        The argument's name, used in the error.
    x : object
        What the caller passed.
    shape : tuple of (int or str or None), optional
        Each entry is a fixed size (int), a named size bound through ``dims`` (str),
        or any size (None).
    dims : dict, optional
        Sizes bound so far by name, and the dtype under the key ``"dtype"``. Updated.
    floating : bool, default True
        Require a floating-point dtype.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}"
        )
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype, got {x.dtype}"
        )
    dims = {} if dims is None else dims
    if floating:
        dtype = dims.setdefault("dtype", x.dtype)
        if x.dtype != dtype:
            raise TypeError(
                f"{name} must have dtype {dtype} like the other inputs, got {x.dtype}"
            )
    if shape is None:
        return x
    if x.ndim != len(shape):
        raise ValueError(
            f"{name} must have {len(shape)} dimensions {_spec(shape, dims)}, "
            f"got {x.ndim}: {tuple(x.shape)}"
        )
    bound = dict(dims)
    for want, got in zip(shape, x.shape, strict=True):
        if isinstance(want, str):
            want = bound.setdefault(want, got)
        if want is not None and want != got:
            raise ValueError(
                f"{name} must have shape {_spec(shape, dims)}, got {tuple(x.shape)}"
            )
    dims.update(bound)
    return x


def optional_tensor(name, x, **kwargs):
    """Like :func:`tensor`, but ``None`` passes through."""
    return None if x is None else tensor(name, x, **kwargs)


def number(
    name,
    x,
    *,
    low=None,
    high=None,
    low_open=False,
    high_open=False,
    integer=False,
):
    """Check that ``x`` is a real number in a range and return it.

    ``low_open`` and ``high_open`` exclude the bounds. NaN is never in range.
    """
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(x, bool) or not isinstance(x, kind):
        want = "an int" if integer else "a real number"
        raise TypeError(f"{name} must be {want}, got {type(x).__name__}")
    if x != x:  # NaN
        raise ValueError(f"{name} must be a number, got nan")
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {x}")
    return x


def _spec(shape, dims) -> str:
    parts = []
    for want in shape:
        if isinstance(want, str):
            parts.append(f"{want}={dims[want]}" if want in dims else want)
        else:
            parts.append("*" if want is None else str(want))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
