"""nnbook.show: the book displays the package's own source."""

import pytest
from IPython.display import Markdown

import nnbook
from nnbook.display import source
from nnbook.feedforward import linear_forward

pytestmark = pytest.mark.spine


def test_show_returns_a_fenced_python_block():
    shown = nnbook.show(linear_forward)
    assert isinstance(shown, Markdown)
    assert shown.data.startswith("```python\ndef linear_forward(h, W, b=None):\n")
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
