"""The numbers the book prints for its labelled equations.

``number("eq-fnn-elu")`` is ``"(1.6)"``: the number beside the equation in the book, for
messages that send the reader to it. The numbers are stored in
``nnbook/equation_numbers.json``, which ``tools/equation_numbers.py`` writes from the
book's sources as Sphinx numbers them, so the package needs no book to answer.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources

from nnbook.contract import Instance, contract

__all__ = ["number"]


@cache
def _numbers() -> dict[str, str]:
    """Label -> number without parentheses, ``{"eq-fnn-elu": "1.6", ...}``, in book order."""
    text = (
        resources.files("nnbook")
        .joinpath("equation_numbers.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


@contract(label=Instance(str))
def number(label: str) -> str:
    """The number the book prints for the equation labelled ``label``.

    Parameters
    ----------
    label : str
        The equation's label in the book's sources, such as ``"eq-fnn-elu"``.

    Returns
    -------
    str
        The number in parentheses, as the book shows it: ``"(1.6)"``.

    Raises
    ------
    TypeError
        If ``label`` is not a string.
    ValueError
        If no numbered equation of the book has that label.
    """
    numbers = _numbers()
    if label not in numbers:
        close = difflib.get_close_matches(label, numbers, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"label must be the label of a numbered equation in the book, got {label!r}{hint}"
        )
    return f"({numbers[label]})"
