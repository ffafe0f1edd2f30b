"""Find code written twice: runs of six or more identical lines in two places.

It reads the package's modules and the notebooks' code cells (as a script would hold
them) and reports every pair of places that share a run of at least ``MIN_LINES``
lines. Blank lines, comments, imports and lone brackets are passed over and white
space is folded, so reformatting does not hide a repeat; docstrings are passed over
too, since parameter lists repeat by design. The install cell that opens
every notebook is left out: it is the same on purpose.

    python tools/repeats.py            # every repeat, one line each
    python tools/repeats.py --check    # exit 1 on a repeat not in tests/repeats_allowed.txt

``tests/test_repeats.py`` runs the check, so a new repeat fails the test suite until it
is moved into nnbook or named, with a reason, in the allowed list.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = ROOT / "tests" / "repeats_allowed.txt"

#: How many shared lines make a repeat.
MIN_LINES = 6

#: The first line of the install cell every notebook opens with.
INSTALL_CELL = "# Runs the nnbook this page was made with"

_SKIP = re.compile(r"^(#.*|import .*|from \S+ import .*|[\s()\[\]{},:]*)$")


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, folded line)`` of the code that counts, in reading order."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join(
            "".join(c["source"])
            for c in cells
            if c["cell_type"] == "code" and not "".join(c["source"]).startswith(INSTALL_CELL)
        )
    else:
        text = _without_docstrings(path.read_text())
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        folded = " ".join(line.split())
        if not _SKIP.match(folded):
            lines.append((number, folded))
    return lines


def _without_docstrings(text: str) -> str:
    """``text`` with every docstring blanked: parameter lists repeat by design."""
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        first = body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            for k in range(first.lineno - 1, first.end_lineno):
                lines[k] = ""
    return "\n".join(lines)


def sources(root: Path = ROOT) -> list[Path]:
    """The package's modules and the chapters' notebooks."""
    package = sorted((root / "nnbook").rglob("*.py"))
    notebooks = sorted((root / "chapters").rglob("*.ipynb"))
    return [p for p in package + notebooks if ".ipynb_checkpoints" not in p.parts]


def repeats(paths, min_lines: int = MIN_LINES):
    """Every pair of places sharing ``min_lines`` or more lines.

    Returns a list of ``(a, a_line, b, b_line, n_lines)``, longest first, with the
    paths relative to the repository.
    """
    lines = {p: _code_lines(p) for p in paths}
    windows = defaultdict(list)
    for path, code in lines.items():
        for i in range(len(code) - min_lines + 1):
            key = tuple(text for _, text in code[i : i + min_lines])
            windows[key].append((path, i))
    starts = set()
    for places in windows.values():
        for x in range(len(places)):
            for y in range(x + 1, len(places)):
                (a, i), (b, j) = places[x], places[y]
                if a == b and abs(i - j) < min_lines:
                    continue  # a run that overlaps itself
                starts.add((a, i, b, j))
    found = []
    for a, i, b, j in sorted(starts, key=lambda s: (str(s[0]), s[1], str(s[2]), s[3])):
        if (a, i - 1, b, j - 1) in starts:
            continue  # inside a longer run, counted from its start
        n = 0
        while (a, i + n, b, j + n) in starts:
            n += 1
        found.append(
            (
                _name(a),
                lines[a][i][0],
                _name(b),
                lines[b][j][0],
                n + min_lines - 1,
            )
        )
    return sorted(found, key=lambda r: -r[4])


def _name(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def allowed(path: Path = ALLOWED) -> dict[frozenset, str]:
    """The named repeats: ``a ~ b: reason`` per line, as a pair of files."""
    pairs = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        files, _, reason = line.partition(":")
        a, _, b = files.partition("~")
        if not reason.strip():
            raise ValueError(f"{path.name}: a repeat needs a reason: {line!r}")
        pairs[frozenset((a.strip(), b.strip()))] = reason.strip()
    return pairs


def unexplained(found, named) -> list:
    """The repeats whose pair of files is not named in the allowed list."""
    return [r for r in found if frozenset((r[0], r[2])) not in named]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    found = repeats(sources())
    shown = unexplained(found, allowed()) if args.check else found
    for a, i, b, j, n in shown:
        print(f"{a}:{i} ~ {b}:{j} ({n} lines)")
    if args.check and shown:
        print(f"{len(shown)} repeats not in {ALLOWED.name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
