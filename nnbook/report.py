"""Printing what an experiment supports, and no more.

A residual between two implementations that agree is rounding noise: its digits change
with the CPU's kernels, so the book prints the bound it is checked against instead
(:func:`below`). A result that depends on the random draw is printed with its spread
over seeds (:func:`spread`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nnbook import _validate

__all__ = ["below", "spread"]


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
