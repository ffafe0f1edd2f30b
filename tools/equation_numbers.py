"""Number the book's labelled equations as Sphinx does, and store the numbers for nnbook.

The exercise checker cites an equation by the number the reader sees in the book,
"(1.6)", not by its label. Sphinx computes those numbers only while it builds the
book, so this script reproduces them from the sources and writes them to
``nnbook/equation_numbers.json`` (label -> "1.6"), which the package ships::

    python tools/equation_numbers.py           # rewrite the file
    python tools/equation_numbers.py --check   # exit 1 if the file is stale

How Sphinx (7.4, with Jupyter Book 1's sphinx-external-toc and sphinx-multitoc-numbering)
numbers display equations, and what this script therefore does:

* Only equations with an anchor take a number: ``$$ ... $$ (eq-label)``, a ``{math}``
  directive with ``:label:`` (or ``:name:``), and a top-level amsmath environment such
  as ``\\begin{equation}`` without a star (myst gives it a hidden label). A plain
  ``$$ ... $$`` is not numbered.
* The chapters of the toc's numbered parts are numbered 1, 2, 3... in toc order, the
  numbering running on from one numbered part to the next. An equation in a chapter
  is "chapter.n", n counting through the chapter's index page and then its sections
  in toc order (``numfig_secnum_depth`` is 1). The toc of a page is inserted where
  the page has a ``{tableofcontents}`` directive, or else at its end.
* An equation outside the numbered parts (the root page, the preface, the appendix) is
  "n", n counting through all of them in toc order.

Sources are read with the book's own Markdown parser (myst-parser, configured from
``_config.yml``), so code blocks, inline code and directives are handled as the book
handles them. Markdown cells tagged ``remove-cell`` are skipped, as myst-nb skips them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: Where the numbers are stored, relative to the repository root.
OUTPUT = Path("nnbook") / "equation_numbers.json"

#: Directives whose content is not Markdown: their text can hold no numbered equation.
NOT_MARKDOWN = {
    "code",
    "code-block",
    "sourcecode",
    "code-cell",
    "literalinclude",
    "raw",
    "bibliography",
    "image",
    "figure-md",
    "csv-table",
    "mermaid",
    "graphviz",
    "glue",
    "glue:any",
    "glue:text",
    "glue:figure",
    "glue:math",
    "toctree",
}

#: A marker in a page's equations: where the page's own toc goes.
_TOC = object()
#: A marker in a page's equations: the page's first heading, which opens its title section.
_HEADING = object()

_DIRECTIVE = re.compile(r"\{([^}\s]+)\}")
_OPTION = re.compile(r"^:([\w-]+):(?:\s+(.*))?$")
_RST_MATH = re.compile(r"^(?P<indent>[ \t]*)\.\. math::")


class EquationScanError(Exception):
    """The sources use something this script cannot number as Sphinx would."""


def scan(root: Path = ROOT) -> dict[str, str]:
    """Every labelled equation of the book, in book order: ``{"eq-fnn-elu": "1.6", ...}``."""
    from sphinx_external_toc.api import FileItem, GlobItem, UrlItem
    from sphinx_external_toc.parsing import parse_toc_yaml

    root = Path(root)
    config = _book_config(root)
    md = _markdown_parser(config)
    site_map = parse_toc_yaml(root / "_toc.yml")
    numbers: dict[str, str] = {}
    counters: dict[tuple[int, ...], int] = {}
    last_chapter = 0

    def number_next(label: str | None, secnum: tuple[int, ...], where: str) -> None:
        counters[secnum] = counters.get(secnum, 0) + 1
        if label is None:
            return
        if label in numbers:
            raise EquationScanError(f"{where}: the label {label!r} is used twice")
        numbers[label] = ".".join(str(n) for n in (*secnum, counters[secnum]))

    def walk(docname: str, secnum: tuple[int, ...], own: tuple[int, ...]) -> None:
        # secnum: the number of the place in the parent's page where this page's toc
        # sits; it applies until the page's first heading. own: the page's chapter.
        nonlocal last_chapter
        events = _document_events(md, root, docname)
        if _TOC not in events:
            events.append(_TOC)
        for event in events:
            if event is _HEADING:
                secnum = own
            elif event is _TOC:
                for tree in site_map[docname].subtrees:
                    for item in tree.items:
                        if isinstance(item, UrlItem):
                            continue
                        if isinstance(item, GlobItem) or not isinstance(item, FileItem):
                            raise EquationScanError(f"_toc.yml: cannot number {item!r}")
                        if tree.numbered and not own:
                            last_chapter += 1  # numbering runs on across numbered parts
                            walk(_docname(str(item)), secnum, (last_chapter,))
                        else:
                            walk(_docname(str(item)), secnum, own)
            else:
                number_next(event, secnum, docname)

    walk(_docname(site_map.root.docname), (), ())
    return numbers


def render(numbers: dict[str, str]) -> str:
    """The text of the JSON file."""
    return json.dumps(numbers, indent=2) + "\n"


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the stored numbers are stale"
    )
    args = parser.parse_args(argv)
    text = render(scan(root))
    path = Path(root) / OUTPUT
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run python tools/equation_numbers.py", file=sys.stderr)
            return 1
        print(f"{OUTPUT} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(json.loads(text))} equations)")
    return 0


def _docname(name: str) -> str:
    for suffix in (".ipynb", ".md", ".rst"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _book_config(root: Path) -> dict:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    # The settings this numbering assumes: Jupyter Book's and Sphinx's defaults.
    expected = {"numfig": True, "math_numfig": True, "math_number_all": False}
    expected["numfig_secnum_depth"] = 1
    for key, value in expected.items():
        if sphinx.get(key, value) != value:
            raise EquationScanError(
                f"_config.yml sets {key} = {sphinx[key]!r}; tools/equation_numbers.py "
                f"numbers equations as Sphinx does with {key} = {value!r} only"
            )
    return config


def _markdown_parser(config: dict):
    """myst-parser's Markdown parser, with the book's settings."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    fields = {f.name for f in dataclasses.fields(MdParserConfig)}
    options = {}
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    for settings in (config.get("parse") or {}, sphinx):
        for key, value in settings.items():
            if key.startswith("myst_") and key[len("myst_") :] in fields:
                options[key[len("myst_") :]] = value
    if "enable_extensions" in options:
        options["enable_extensions"] = set(options["enable_extensions"])
    return create_md_parser(MdParserConfig(**options), RendererHTML)


def _source(root: Path, docname: str) -> Path:
    for suffix in (".ipynb", ".md", ".rst"):
        path = root / (docname + suffix)
        if path.exists():
            if suffix == ".rst":
                raise EquationScanError(f"{path.name}: reStructuredText pages are not scanned")
            return path
    raise EquationScanError(f"_toc.yml lists {docname}, which has no .ipynb or .md file")


def _document_events(md, root: Path, docname: str) -> list:
    """A page's numbered equations (label, or None without one) and markers, in order."""
    path = _source(root, docname)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return _markdown_events(md, text, f"{docname}.md", top=True)
    events = []
    for i, cell in enumerate(json.loads(text)["cells"]):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "markdown" or not source.strip():
            continue
        if "remove-cell" in tags or "remove_cell" in tags:
            continue
        events += _markdown_events(md, source, f"{docname}.ipynb, cell {i}", top=True)
    return events


def _markdown_events(md, text: str, where: str, top: bool) -> list:
    events = []
    for token in md.parse(text):
        if token.type == "heading_open" and top and token.level == 0:
            events.append(_HEADING)
        elif token.type == "math_block_label":
            events.append(token.info)
        elif token.type == "amsmath" and token.meta.get("numbered") != "*":
            events.append(None)
        elif token.type in ("fence", "colon_fence"):
            events += _directive_events(md, token, where)
    return events


def _directive_events(md, token, where: str) -> list:
    config = md.options["myst_config"]
    if config.commonmark_only or config.gfm_only:
        return []  # no directives at all
    first = (token.info.strip().split(maxsplit=1) or [""])[0]
    match = _DIRECTIVE.fullmatch(first)
    if match is not None:
        name = match.group(1)
        options, body = _split_options(token.content)
    elif first in config.fence_as_directive:
        name, body = first, token.content
        options = {"name" if k == "id" else k: str(v) for k, v in token.attrs.items()}
    else:
        return []  # a code block
    if name in NOT_MARKDOWN:
        return []
    if name == "math":
        label = options.get("label", options.get("name"))
        if label is None:
            return []
        return [label.strip() or None]  # an empty :label: is numbered without a label
    if name == "tableofcontents":
        return [_TOC]
    if name == "eval-rst":
        return _rst_events(token.content)
    if name == "include":
        raise EquationScanError(f"{where}: the include directive is not scanned")
    return _markdown_events(md, body, where, top=False)


def _split_options(content: str) -> tuple[dict[str, str], str]:
    """A directive's options (``:key: value`` lines or a YAML block) and its body."""
    lines = content.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            return {str(k): "" if v is None else str(v) for k, v in options.items()}, "\n".join(
                lines[end + 1 :]
            )
    options = {}
    i = 0
    while i < len(lines) and (match := _OPTION.match(lines[i])):
        options[match.group(1)] = match.group(2) or ""
        i += 1
    return options, "\n".join(lines[i:])


def _rst_events(text: str) -> list:
    """The numbered ``.. math::`` directives of reStructuredText in an eval-rst block."""
    events = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _RST_MATH.match(line)
        if match is None:
            continue
        indent = len(match.group("indent"))
        options = {}
        for option in lines[i + 1 :]:
            stripped = option.strip()
            if len(option) - len(option.lstrip()) <= indent or not stripped.startswith(":"):
                break
            found = _OPTION.match(stripped)
            if found:
                options[found.group(1)] = found.group(2) or ""
        label = options.get("label", options.get("name"))
        if label is not None:
            events.append(label.strip() or None)
    return events


if __name__ == "__main__":
    sys.exit(main())
