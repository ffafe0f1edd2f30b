"""Showing nnbook's own code in the book, so the book never keeps a second copy of it."""

from __future__ import annotations

import ast
import inspect
import textwrap

from IPython.display import Markdown

__all__ = ["show", "source"]


def source(obj, *, docstring: bool = False) -> str:
    """The source code of a function, class or method, optionally without its docstring.

    Parameters
    ----------
    obj : function, class or method
        Anything ``inspect.getsource`` can read, typically from nnbook.
    docstring : bool, default False
        Keep the docstring. Without it the code reads closer to the equations above it.

    Returns
    -------
    str
        The dedented source.

    Raises
    ------
    TypeError
        If ``obj`` has no Python source (a number, a builtin, a C function).
    """
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise TypeError(
            f"obj must be a function, class or method with Python source, got {type(obj).__name__}"
        )
    try:
        text = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as err:
        raise TypeError(f"obj has no readable source: {obj!r}") from err
    if not docstring:
        text = _strip_docstrings(text)
    return text.rstrip("\n") + "\n"


def show(obj, *, docstring: bool = False) -> Markdown:
    """Display the highlighted source of ``obj`` in a notebook.

    It returns a fenced Markdown code block, which Jupyter and the rendered book both
    show with syntax highlighting.

    Parameters
    ----------
    obj : function, class or method
    docstring : bool, default False
        Keep the docstring in what is shown.

    Returns
    -------
    IPython.display.Markdown

    Examples
    --------
    >>> import nnbook
    >>> nnbook.show(nnbook.feedforward.linear_forward)  # doctest: +SKIP
    """
    text = source(obj, docstring=docstring)
    fence = "```"
    while fence in text:
        fence += "`"
    return Markdown(f"{fence}python\n{text}{fence}\n")


def _strip_docstrings(text: str) -> str:
    """Remove the docstrings of every function and class defined in ``text``."""
    lines = text.splitlines(keepends=True)
    spans = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                spans.append((body[0].lineno - 1, body[0].end_lineno))
    for start, end in sorted(spans, reverse=True):
        del lines[start:end]
    return "".join(lines)
