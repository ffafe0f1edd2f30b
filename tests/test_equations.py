"""Equation numbers: the stored numbers match the sources and the built book, and reports use them."""

import json
import re
from pathlib import Path

import equation_numbers  # tools/, on the path through conftest.py
import pytest
from docutils.nodes import make_id

from nnbook.check import _REGISTRY, CheckReport, list_exercises
from nnbook.equations import _numbers, number

pytestmark = pytest.mark.spine

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


def test_the_stored_numbers_are_up_to_date_with_the_sources():
    stored = (ROOT / equation_numbers.OUTPUT).read_text(encoding="utf-8")
    assert equation_numbers.render(equation_numbers.scan(ROOT)) == stored, (
        f"{equation_numbers.OUTPUT} is stale: run python tools/equation_numbers.py"
    )


def test_the_package_reads_the_stored_numbers():
    stored = json.loads((ROOT / equation_numbers.OUTPUT).read_text(encoding="utf-8"))
    assert _numbers() == stored
    assert all(re.fullmatch(r"\d+(\.\d+)?", n) for n in stored.values()), stored


#: An equation number in Sphinx's HTML, and the anchor it links to.
EQNO = re.compile(r'<span class="eqno">\(([^)<]+)\)<a class="headerlink" href="#([^"]+)"')
#: The hidden label myst gives an unstarred amsmath environment.
UUID = re.compile(r"equation-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _built_numbers(html: Path) -> dict[str, str]:
    """Anchor -> number of every numbered equation in a built book."""
    found = {}
    for page in html.rglob("*.html"):
        for num, anchor in EQNO.findall(page.read_text(encoding="utf-8")):
            found[anchor] = num
    return found


def _build_is_current() -> bool:
    """Whether _build/html was built after every source of the book last changed."""
    stamp = HTML / ".buildinfo"  # rewritten by every build
    if not stamp.is_file():
        return False
    sources = [ROOT / "_toc.yml", ROOT / "_config.yml"]
    sources += [p for p in (ROOT / "chapters").rglob("*") if p.suffix in (".md", ".ipynb")]
    built = stamp.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in sources)


def _compare(numbers: dict[str, str], html: Path) -> list[str]:
    built = _built_numbers(html)
    problems, matched = [], set()
    for label, num in numbers.items():
        # $$ ... $$ (label) and {math} :label: link to equation-label; {math} :name: to label.
        anchor = next(
            (a for a in (make_id(f"equation-{label}"), make_id(label)) if a in built), None
        )
        if anchor is None:
            problems.append(f"{label}: ({num}) here, not numbered in the HTML")
            continue
        matched.add(anchor)
        if built[anchor] != num:
            problems.append(f"{label}: ({num}) here, ({built[anchor]}) in the HTML")
    problems += [
        f"{anchor}: ({num}) in the HTML, not numbered here"
        for anchor, num in built.items()
        if anchor not in matched and not UUID.fullmatch(anchor)
    ]
    return problems


@pytest.mark.skipif(not _build_is_current(), reason="no _build/html newer than the sources")
def test_the_numbers_are_those_of_the_built_book():
    problems = _compare(equation_numbers.scan(ROOT), HTML)
    assert not problems, "\n".join(problems)


def test_every_registered_exercise_cites_a_numbered_equation():
    unnumbered = []
    for name in list_exercises():
        label = _REGISTRY[name].equation
        if label is None:
            continue
        try:
            number(label)
        except ValueError:
            unnumbered.append(f"{name}: {label}")
    assert not unnumbered, f"exercises cite equations the book does not number: {unnumbered}"


@pytest.mark.parametrize("name", [n for n in list_exercises() if _REGISTRY[n].equation is not None])
def test_a_failed_report_cites_the_number_the_book_prints(name):
    exercise = _REGISTRY[name]
    text = str(CheckReport(exercise, 3, 1, "  Case 2 of 3: ...\n"))
    header = " ".join(text.split("\n  Task: ")[0].split())  # a long name wraps it
    assert f"see equation {number(exercise.equation)}." in header
    assert exercise.equation not in text


def test_number_prints_the_books_parentheses():
    assert number("eq-fnn-weight-avg") == "(1.1)"  # the first equation of the first chapter
    assert all(number(label) == f"({n})" for label, n in _numbers().items())


@pytest.mark.parametrize(
    ("label", "error", "message"),
    [
        (3, TypeError, r"label must be a str, got int"),
        (None, TypeError, r"label must be a str, got NoneType"),
        ("eq-nope", ValueError, r"label must be the label of a numbered equation .*got 'eq-nope'"),
        ("eq-fnn-eluu", ValueError, r"got 'eq-fnn-eluu'; did you mean 'eq-fnn-elu'\?"),
        ("", ValueError, r"label must be the label of a numbered equation in the book, got ''$"),
    ],
)
def test_bad_labels_are_refused(label, error, message):
    with pytest.raises(error, match=message):
        number(label)


# The scanner on a small book, whose numbers a Sphinx build of the same sources printed.

TOC = """\
format: jb-book
root: index
parts:
  - caption: Before
    chapters:
      - file: pre
  - caption: First numbered part
    numbered: true
    chapters:
      - file: one/index
        sections:
          - file: one/cells
          - file: one/rst
      - file: two
  - caption: Between
    chapters:
      - file: app
  - caption: Second numbered part
    numbered: true
    chapters:
      - file: three
"""

CONFIG = """\
title: A small book
parse:
  myst_enable_extensions: [amsmath, colon_fence, dollarmath]
"""

PAGES = {
    "index.md": "# Home\n\n$$\nr\n$$ (eq-root)\n",
    "pre.md": "# Before\n\n$$\np\n$$\n\n$$\np\n$$ (eq-pre)\n",
    # Before the first heading, an equation is not yet in the chapter's section.
    "one/index.md": (
        "$$\nb\n$$ (eq-before-title)\n\n# One\n\n$$\nu\n$$\n\n$$\na\n$$ (eq-one)\n\n"
        "```{tableofcontents}\n```\n\n$$\nc\n$$ (eq-after-toc)\n"
    ),
    "one/rst.md": (
        "# Rst\n\n$$\ns\n$$ (eq-rst-page)\n\n"
        "```{eval-rst}\n.. math::\n   :label: eq-rst\n\n   t = 1\n```\n"
    ),
    "two.md": "# Two\n\n$$\nt\n$$ (eq-two)\n",
    "app.md": "# Appendix\n\n$$\nv\n$$ (eq-app)\n",
    "three.md": "# Three\n\n$$\nw\n$$ (eq-three)\n",
}

CELLS = [
    ("# Cells\n\n`$$ (eq-inline)` and\n\n```python\n$$\nx\n$$ (eq-in-code)\n```\n", []),
    ("$$\nz\n$$ (eq-removed)\n", ["remove-cell"]),
    (
        "```{math}\n:label: eq-math\n\ny\n```\n\n\\begin{equation}\nq\n\\end{equation}\n\n"
        "\\begin{align*}\nq\n\\end{align*}\n\n$$\nw\n$$ (eq-after-amsmath)\n",
        [],
    ),
    (
        ":::{note}\n$$\nn\n$$ (eq-in-note)\n:::\n\n"
        "```{admonition} A title\n:class: tip\n\n$$\nm\n$$ (eq-in-admonition)\n```\n\n"
        "- an item\n\n  $$\n  l\n  $$ (eq-in-list)\n",
        [],
    ),
    ("```{math}\n:name: eq-math-name\n\nk\n```\n\n```{math}\nk\n```\n", []),
]

#: What Sphinx 7.4 with Jupyter Book 1.0.4 printed for the book above.
SPHINX_NUMBERS = {
    "eq-root": "1",
    "eq-pre": "2",
    "eq-before-title": "3",
    "eq-one": "1.1",
    "eq-math": "1.2",
    # 1.3: the unstarred \begin{equation}
    "eq-after-amsmath": "1.4",
    "eq-in-note": "1.5",
    "eq-in-admonition": "1.6",
    "eq-in-list": "1.7",
    "eq-math-name": "1.8",
    "eq-rst-page": "1.9",
    "eq-rst": "1.10",
    "eq-after-toc": "1.11",
    "eq-two": "2.1",
    "eq-app": "4",
    "eq-three": "3.1",
}


@pytest.fixture
def small_book(tmp_path):
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "_config.yml").write_text(CONFIG)
    for name, text in PAGES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    cells = [
        {"cell_type": "markdown", "id": f"c{i}", "metadata": {"tags": tags}, "source": source}
        for i, (source, tags) in enumerate(CELLS)
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "one" / "cells.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "nnbook").mkdir()
    return tmp_path


def test_the_scanner_numbers_a_book_as_sphinx_does(small_book):
    numbers = equation_numbers.scan(small_book)
    assert numbers == SPHINX_NUMBERS
    assert list(numbers) == sorted(numbers, key=list(SPHINX_NUMBERS).index)  # book order


def test_check_mode_fails_on_a_stale_file_until_it_is_rewritten(small_book, capsys):
    assert equation_numbers.main(["--check"], root=small_book) == 1
    assert "is stale: run python tools/equation_numbers.py" in capsys.readouterr().err
    assert equation_numbers.main([], root=small_book) == 0
    assert json.loads((small_book / equation_numbers.OUTPUT).read_text()) == SPHINX_NUMBERS
    assert equation_numbers.main(["--check"], root=small_book) == 0
    (small_book / "two.md").write_text("# Two\n\n$$\nt\n$$ (eq-two-renamed)\n")
    assert equation_numbers.main(["--check"], root=small_book) == 1


def test_the_scanner_refuses_a_label_used_twice(small_book):
    (small_book / "three.md").write_text("# Three\n\n$$\nw\n$$ (eq-two)\n")
    with pytest.raises(
        equation_numbers.EquationScanError, match=r"three: .*'eq-two' is used twice"
    ):
        equation_numbers.scan(small_book)


def test_the_scanner_refuses_settings_it_cannot_reproduce(small_book):
    (small_book / "_config.yml").write_text(
        CONFIG + "sphinx:\n  config:\n    math_number_all: true\n"
    )
    with pytest.raises(equation_numbers.EquationScanError, match=r"math_number_all = True"):
        equation_numbers.scan(small_book)
