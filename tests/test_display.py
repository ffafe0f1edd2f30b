"""nnbook.show: the book displays the package's own source."""

import pytest
from IPython.display import Markdown

import nnbook
from nnbook.display import source
from nnbook.fnn import linear_forward

pytestmark = pytest.mark.spine


def test_show_returns_a_fenced_python_block():
    shown = nnbook.show(linear_forward)
    assert isinstance(shown, Markdown)
    assert shown.data.startswith('```python\n@contract(\n    "eq-fnn-weight-avg",\n')
    assert "\ndef linear_forward(h, W, b=None):\n" in shown.data
    assert shown.data.endswith("\n```\n")
    assert "a = h @ W.T" in shown.data


def test_docstrings_are_dropped_unless_asked_for():
    without = source(linear_forward)
    with_doc = source(linear_forward, docstring=True)
    assert "Weight averaging" not in without
    assert "Weight averaging" in with_doc
    # Only the docstring goes: every code line survives.
    remaining = iter(with_doc.splitlines())
    assert all(line in remaining for line in without.splitlines())  # an ordered subsequence


def test_a_longer_fence_when_the_source_holds_one():
    def snippet():
        return "```"

    assert nnbook.show(snippet).data.startswith("````python\n")


def test_nested_definitions_lose_their_docstrings_too():
    class Example:
        """Class doc."""

        def method(self):
            """Method doc."""
            return 1

    text = source(Example)
    assert "doc." not in text
    assert "return 1" in text


@pytest.mark.parametrize("obj", [42, len, "text"])
def test_objects_without_python_source_are_refused(obj):
    with pytest.raises(TypeError, match=r"obj must be a function, class or method"):
        nnbook.show(obj)


def test_glue_records_through_myst_nb_when_it_is_installed(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kw: calls.append((args, kw)))
    nnbook.glue("accuracy", "97.5 %")
    assert calls == [(("accuracy", "97.5 %"), {"display": False})]


def test_glue_without_myst_nb_is_silent_or_shows_the_value(monkeypatch):
    import sys

    import IPython.display

    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb now fails
    monkeypatch.setattr(IPython.display, "display", shown.append)
    nnbook.glue("accuracy", 0.975)
    assert shown == []
    nnbook.glue("accuracy", 0.975, display=True)
    assert shown == [0.975]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((3, 1.0), TypeError, "name must be a str, got int"),
        (("  ", 1.0), ValueError, "name must not be empty, got '  '"),
        (("x", 1.0, "yes"), TypeError, "display must be a bool, got str"),
    ],
)
def test_glue_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        nnbook.glue(*args)
