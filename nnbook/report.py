"""Printing what an experiment supports, and no more.

A residual between two implementations that agree is rounding noise: its digits change
with the CPU's kernels, so the book prints the bound it is checked against instead
(:func:`below`). A result that depends on the random draw is printed with its spread
over seeds (:func:`spread`). A number the prose cites is written for people, not for
Python (:func:`human`): 9.5 × 10⁻⁷ rather than ``9.5e-07``. A result that training amplifies from the last bit of the
arithmetic into the printed digits is printed as the range it stays in (:func:`between`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nnbook import _validate
from nnbook.contract import Instance, Int, Real, Reals, contract

__all__ = ["below", "between", "human", "spread"]


@contract(bound=Real(low=0, low_open=True))
def below(value: float, bound: float) -> str:
    """``"< bound"``, after checking that ``value`` really is below ``bound``.

    Use it for a difference that only shows agreement, for example between a hand-written
    gradient and autograd: ``print(f"differs from autograd by {below(gap, 1e-12)}")``
    prints ``differs from autograd by < 1e-12`` on every CPU, while ``gap`` itself is
    noise whose digits change from one CPU to the next.

    Parameters
    ----------
    value : float
        The measured quantity (a largest absolute or relative difference). A 0-d tensor
        or NumPy scalar is accepted.
    bound : float
        A positive bound, printed in the form ``1e-12``.

    Returns
    -------
    str

    Raises
    ------
    AssertionError
        If ``value`` is not below ``bound`` (NaN never is): the claim the text makes
        has stopped being true.
    """
    value = float(value)
    if not value < bound:
        raise AssertionError(
            f"expected a value below {bound:.0e}, got {value:.3e}"
        )
    return f"< {bound:.0e}"


@contract(low=Real(optional=True), high=Real(optional=True))
def between(
    value: float,
    low: float | None = None,
    high: float | None = None,
    fmt: str = ".2f",
) -> str:
    """``"between low and high"``, ``"below high"`` or ``"above low"``, after checking ``value``.

    Use it for a result whose digits change from one CPU to the next although its size
    does not: a chaotic training run, such as a normalizing flow's, turns a difference in
    the last bit of the arithmetic into a few hundredths of its final loss. The range is
    the claim; the text states it, and the check keeps it true.

    Parameters
    ----------
    value : float
        The measured quantity. A 0-d tensor or NumPy scalar is accepted.
    low, high : float, optional
        The open range ``value`` must lie in; at least one of them.
    fmt : str, default ".2f"
        The format of the printed bounds.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If neither bound is given, or ``low`` is not below ``high``.
    AssertionError
        If ``value`` lies outside the range (NaN always does).
    """
    if low is None and high is None:
        raise ValueError("between needs low, high or both, got neither")
    _check_format(fmt)
    if low is not None and high is not None and not low < high:
        raise ValueError(
            f"low must be below high, got low={low} and high={high}"
        )
    value = float(value)
    if not ((low is None or low < value) and (high is None or value < high)):
        raise AssertionError(
            f"expected a value between {low} and {high}, got {value:.3g}"
        )
    if low is None:
        return f"below {high:{fmt}}"
    if high is None:
        return f"above {low:{fmt}}"
    return f"between {low:{fmt}} and {high:{fmt}}"


@contract(values=Reals(count=None), fmt=Instance(str), unit=Instance(str))
def spread(values: Sequence[float], fmt: str = ".3f", unit: str = "") -> str:
    """``"mean (min to max over n seeds)"``, each number formatted with ``fmt``.

    Parameters
    ----------
    values : sequence of float
        One result per seed, at least one.
    fmt : str, default ".3f"
        A format specification, for example ``".1%"``.
    unit : str, default ""
        Appended to every number (for example ``" nats"``).

    Returns
    -------
    str
    """
    _check_format(fmt)
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    n = len(values)
    lo, hi = min(values), max(values)
    return (
        f"{mean:{fmt}}{unit} ({lo:{fmt}}{unit} to {hi:{fmt}}{unit} over {n} "
        f"seed{'s' if n > 1 else ''})"
    )


def _check_format(fmt):
    """Refuse a format specification that a float cannot take, naming ``fmt``."""
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a str, got {type(fmt).__name__}")
    try:
        format(1.0, fmt)
    except ValueError:
        raise ValueError(
            f"fmt must be a format specification for a float, such as "
            f"'.2f', got {fmt!r}"
        ) from None


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@contract(digits=Int(low=1))
def human(value: float, digits: int = 2) -> str:
    """``value`` as a reader writes it: ``"9.5 × 10⁻⁷"``, ``"12,000"``, ``"0.034"``.

    Numbers from 0.001 up to a million are written out, with thousands separated by
    commas; smaller and larger ones as a mantissa times a power of ten. Negative numbers
    take the minus sign (−), not a hyphen. Glue the string and cite it with
    ``{glue:text}`name``` to put the number in the text.

    Parameters
    ----------
    value : float
        A finite number. A 0-d tensor or NumPy scalar is accepted.
    digits : int, default 2
        Significant digits.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        If ``value`` is not a real number or ``digits`` is not an int.
    ValueError
        If ``value`` is NaN or infinite, or ``digits`` is below 1.

    Examples
    --------
    >>> human(9.51e-7)
    '9.5 × 10⁻⁷'
    >>> human(2e13, digits=1)
    '2 × 10¹³'
    >>> human(12345.0)
    '12,000'
    >>> human(-0.0341)
    '−0.034'
    """
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    value = _validate.number("value", value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    if value == 0:
        return "0"
    sign = "−" if value < 0 else ""
    mantissa, exponent = f"{abs(value):.{digits - 1}e}".split("e")
    exponent = int(exponent)
    if -3 <= exponent < 6:
        rounded = float(f"{mantissa}e{exponent}")
        return sign + f"{rounded:,.{max(0, digits - 1 - exponent)}f}"
    return f"{sign}{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT)}"
