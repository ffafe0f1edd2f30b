"""Printing what an experiment supports, and no more.

A residual between two implementations that agree is rounding noise: its digits change
with the CPU's kernels, so the book prints the bound it is checked against instead
(:func:`below`). A result that depends on the random draw is printed with its spread
over seeds (:func:`spread`). A result that training amplifies from the last bit of the
arithmetic into the printed digits is printed as the range it stays in (:func:`between`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nnbook import _validate

__all__ = ["below", "between", "spread"]


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
    bound = _validate.number("bound", bound, low=0.0, low_open=True)
    value = float(value)
    if not value < bound:
        raise AssertionError(f"expected a value below {bound:.0e}, got {value:.3e}")
    return f"< {bound:.0e}"


def between(value: float, low: float | None = None, high: float | None = None, fmt: str = ".2f") -> str:
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
    if low is not None:
        low = _validate.number("low", low)
    if high is not None:
        high = _validate.number("high", high)
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low must be below high, got low={low} and high={high}")
    value = float(value)
    if not ((low is None or low < value) and (high is None or value < high)):
        raise AssertionError(f"expected a value between {low} and {high}, got {value:.3g}")
    if low is None:
        return f"below {high:{fmt}}"
    if high is None:
        return f"above {low:{fmt}}"
    return f"between {low:{fmt}} and {high:{fmt}}"


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
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values must hold at least one number, got an empty sequence")
    if any(math.isnan(v) for v in values):
        raise ValueError(f"values must not contain NaN, got {values}")
    mean = sum(values) / len(values)
    n = len(values)
    lo, hi = min(values), max(values)
    return (
        f"{mean:{fmt}}{unit} ({lo:{fmt}}{unit} to {hi:{fmt}}{unit} over {n} "
        f"seed{'s' if n > 1 else ''})"
    )
