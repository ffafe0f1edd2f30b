"""What a notebook shows and records for the book.

:func:`show` displays nnbook's own code, so the book never keeps a second copy of it.
:func:`glue` records a notebook's numbers for the prose that cites them (``{glue:text}``
roles). The book's build finds them in the stored outputs, where myst-nb's ``glue``
records them; a reader who opens a notebook in Colab or Binder has no myst-nb and needs
none, so :func:`glue` records through myst-nb when it is installed and otherwise does
nothing, or shows the value when asked to.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from IPython.display import Markdown

from nnbook.contract import Flag, Instance, contract

__all__ = ["glue", "show", "source"]


@contract(docstring=Flag())
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
    if not (
        inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)
    ):
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


@contract(docstring=Flag())
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
    >>> nnbook.show(nnbook.fnn.linear_forward)  # doctest: +SKIP
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
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
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


@contract(name=Instance(str), display=Flag())
def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book, as ``myst_nb.glue`` does.

    Parameters
    ----------
    name : str
        The key the text cites, as in ``{glue:text}`name```. Not empty.
    value : object
        What to record: a string or number, a figure, anything IPython can display.
    display : bool, default False
        Also show ``value`` in the notebook.

    Raises
    ------
    TypeError
        If ``name`` is not a string or ``display`` is not a bool.
    ValueError
        If ``name`` is empty.

    Notes
    -----
    Without myst-nb (``pip install nnbook[notebooks]`` does not bring it) nothing is
    recorded, and ``display=True`` shows ``value`` with IPython's ``display``.
    """
    if not name.strip():
        raise ValueError(f"name must not be empty, got {name!r}")
    try:
        from myst_nb import glue as record
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    record(name, value, display=display)
