"""The book's structure: table of contents, stored outputs, and the public API surface."""

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.spine

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"


def _toc_files():
    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *walk(toc.get("parts", toc.get("chapters", [])))]


def _source(entry):
    matches = [ROOT / f"{entry}{suffix}" for suffix in (".md", ".ipynb")]
    return [m for m in matches if m.is_file()]


def _notebooks():
    return sorted(p for p in CHAPTERS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_every_toc_entry_exists_once():
    entries = _toc_files()
    assert len(entries) == len(set(entries)), "an entry appears twice in _toc.yml"
    for entry in entries:
        assert len(_source(entry)) == 1, f"_toc.yml lists {entry}, which has no single source"


def test_every_chapter_page_is_in_the_toc():
    listed = {str(ROOT / entry) for entry in _toc_files()}
    pages = [p for p in CHAPTERS.rglob("*") if p.suffix in (".md", ".ipynb")]
    missing = [
        str(p.relative_to(ROOT))
        for p in pages
        if ".ipynb_checkpoints" not in p.parts and str(p.with_suffix("")) not in listed
    ]
    assert not missing, f"pages missing from _toc.yml: {missing}"


def stored_output_problems(path: Path) -> list[str]:
    """Why nbval could not check this notebook as stored (empty list: it can)."""
    nb = json.loads(path.read_text())
    problems = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    for i, cell in enumerate(code):
        if cell.get("execution_count") is None:
            problems.append(f"code cell {i + 1} has no execution count (never executed)")
    if not any(re.search(r"^\s*(import|from) nnbook", "".join(c["source"]), re.M) for c in code):
        problems.append("no cell imports nnbook")
    counts = [c["execution_count"] for c in code if c.get("execution_count") is not None]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts {counts} are not 1, 2, 3, ...: run it top to bottom")
    return problems


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_stored_executed_and_import_nnbook(path):
    assert stored_output_problems(path) == []


def test_a_stripped_notebook_is_caught(tmp_path):
    nb = json.loads((CHAPTERS / "preface" / "environment.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"], cell["outputs"] = None, []
    stripped = tmp_path / "stripped.ipynb"
    stripped.write_text(json.dumps(nb))
    assert "code cell 1 has no execution count (never executed)" in stored_output_problems(stripped)


#: Tags that excuse a cell from nbval's comparison, and the share of code cells they may take.
EXCUSING_TAGS = ("nbval-ignore-output", "nbval-skip")
EXCUSED_BUDGET = 0.05


def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_at_most_five_percent_of_code_cells_are_excused_from_comparison():
    cells = [c for path in _notebooks() for c in _code_cells(path)]
    excused = [c for c in cells if set(EXCUSING_TAGS) & set(c["metadata"].get("tags", []))]
    assert len(excused) <= EXCUSED_BUDGET * len(cells), (
        f"{len(excused)} of {len(cells)} code cells are excused from comparison; "
        f"the budget is {EXCUSED_BUDGET:.0%}"
    )


#: A literal seed written into a notebook must go through nnbook.seed or nnbook.generator,
#: so that NNBOOK_SEED can move it (a seed an exercise passes in is not literal).
FIXED_SEED = re.compile(
    r"torch\.manual_seed\(\s*\d|Generator\(\)\.manual_seed\(\s*\d|default_rng\(\s*\d|random\.seed\("
)


def _code_lines_matching(path: Path, pattern: re.Pattern) -> list[str]:
    """The lines of the notebook's code cells that ``pattern`` finds something in."""
    return [
        line.strip()
        for cell in _code_cells(path)
        for line in "".join(cell["source"]).splitlines()
        if pattern.search(line)
    ]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_draw_their_seeds_through_nnbook(path):
    fixed = _code_lines_matching(path, FIXED_SEED)
    assert not fixed, f"seeds that NNBOOK_SEED cannot move: {fixed}"


def _modules():
    return sorted(
        p
        for p in (ROOT / "nnbook").rglob("*.py")
        if not p.name.startswith("_") or p.name == "__init__.py"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_public_module_declares_all_and_is_in_the_api_reference(path):
    tree = ast.parse(path.read_text())
    names = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    if path.name != "__init__.py" or module == "nnbook":
        assert "__all__" in names, f"{module} has no __all__"
    pages = [
        page.name
        for page in sorted((CHAPTERS / "appendix" / "api").glob("*.md"))
        if f".. automodule:: {module}\n" in page.read_text()
    ]
    assert len(pages) == 1, f"{module} must be on exactly one API reference page, is on {pages}"


def _equations():
    """(labels that docstrings cite, labels that the book's pages define)."""
    cited = set()
    for path in (ROOT / "nnbook").rglob("*.py"):
        cited |= set(re.findall(r":eq:`([^`]+)`", path.read_text()))
    pages = "".join(p.read_text() for p in CHAPTERS.rglob("*") if p.suffix in (".md", ".ipynb"))
    defined = set(re.findall(r"\$\$ \((eq-[\w-]+)\)", pages)) | set(
        re.findall(r":label: (eq-[\w-]+)", pages)
    )
    return cited, defined


def test_equation_labels_cited_by_docstrings_exist_in_the_book():
    cited, defined = _equations()
    assert cited <= defined, f"docstrings cite undefined equations: {sorted(cited - defined)}"


def test_every_numbered_equation_is_implemented_by_a_function():
    cited, defined = _equations()
    assert defined <= cited, f"equations no docstring implements: {sorted(defined - cited)}"


def _first_cell_tools():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import execute_notebooks

    return execute_notebooks


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_start_with_the_install_cell_and_record_their_version(path):
    import nnbook

    tools = _first_cell_tools()
    nb = json.loads(path.read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "code", "the first cell must be the install cell"
    assert "".join(first["source"]) == tools.first_cell(nnbook.__version__)
    assert first["metadata"].get("tags") == ["remove-cell"]
    assert first["outputs"] == []
    assert nb["metadata"].get("nnbook") == {"version": nnbook.__version__}


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_need_no_myst_nb_and_fold_their_solutions(path):
    tools = _first_cell_tools()
    for cell in _code_cells(path):
        source = "".join(cell["source"])
        assert not re.search(r"^\s*(from|import) myst_nb", source, re.M), "use nnbook.glue"
        if "hide-input" in cell["metadata"].get("tags", []):
            assert source.startswith(tools.SOLUTION_TITLE)
            assert cell["metadata"].get("cellView") == "form"
            assert cell["metadata"].get("jupyter") == {"source_hidden": True}


def test_the_version_tools_read_is_nnbooks():
    import nnbook

    assert _first_cell_tools().version() == nnbook.__version__


def test_only_solutions_are_folded():
    """The book's fold button reads "Show solution" (_config.yml), so only solutions fold."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["nb_code_prompt_show"] == "Show solution"
    folded = [
        p.name
        for p in _notebooks()
        for c in _code_cells(p)
        if "hide-input" in c["metadata"].get("tags", [])
    ]
    assert folded and set(folded) == {"exercises.ipynb"}


#: A path into the repository, which a notebook opened in Colab or Binder does not have.
REPOSITORY_PATH = re.compile(r"""["'](\.\.?/|chapters/|nnbook/|tests/|tools/|data/)""")


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_read_no_repository_files(path):
    """Data ships inside nnbook or is generated, so a notebook runs wherever it is copied."""
    found = _code_lines_matching(path, REPOSITORY_PATH)
    assert not found, f"paths into the repository: {found}"


#: The longest code cell a reader sees; longer ones hide the experiment in plumbing.
MAX_VISIBLE_LINES = 24
#: Printed output fits the 80 columns the code is formatted to.
MAX_OUTPUT_COLUMNS = 80


def _visible_code(nb):
    return [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "remove-cell" not in c["metadata"].get("tags", [])
    ]


def _book_markdown():
    texts = [p.read_text() for p in CHAPTERS.rglob("*.md")]
    for path in _notebooks():
        nb = json.loads(path.read_text())
        texts += ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return "\n".join(texts)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_is_numbered_captioned_and_cited(path):
    """A cell that draws carries ``mystnb.figure`` (name and caption); the text cites it."""
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        where = f"cell {cell.get('id')}"
        assert len(images) == 1, f"{where} draws {len(images)} figures; one per cell"
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        name, caption = figure.get("name", ""), figure.get("caption", "")
        assert re.fullmatch(r"fig-[a-z]+-[a-z0-9-]+", name), f"{where}: figure name {name!r}"
        assert len(caption.split()) >= 8, f"{where}: caption too short: {caption!r}"
        assert f"{{numref}}`{name}`" in text, f"{where}: the text never cites {name}"


def test_figure_names_are_unique_across_the_book():
    names = []
    for path in _notebooks():
        nb = json.loads(path.read_text())
        names += [
            c["metadata"]["mystnb"]["figure"]["name"]
            for c in nb["cells"]
            if c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
        ]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_visible_cells_are_short_and_their_output_fits_80_columns(path):
    nb = json.loads(path.read_text())
    for cell in _visible_code(nb):
        lines = "".join(cell["source"]).splitlines()
        assert len(lines) <= MAX_VISIBLE_LINES, f"cell {cell.get('id')} has {len(lines)} lines"
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            continue  # a timing cell prints the machine's numbers, whatever their width
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) or "".join(
                output.get("data", {}).get("text/plain", "")
            )
            text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colour codes take no room
            wide = [line for line in text.splitlines() if len(line) > MAX_OUTPUT_COLUMNS]
            assert not wide, f"cell {cell.get('id')} prints {len(wide[0])} columns: {wide[0]!r}"


def test_numbers_in_the_prose_are_written_for_people():
    """No {glue:text} in e-notation, and no hand-written 1e-8 or 2e+13 in the text."""
    text = _book_markdown()
    assert not re.findall(r"\{glue:text\}`[^`]*:[^`]*[eEgG]`", text)
    prose = re.sub(r"`[^`]*`|\$[^$]*\$", "", text)  # code and math may say 1e-8
    assert not re.findall(r"(?<![\w.])\d+(\.\d+)?e[+-]?\d+\b", prose)
