"""Re-execute the book's notebooks in place, deterministically.

Usage::

    python tools/execute_notebooks.py                      # every notebook under chapters/
    python tools/execute_notebooks.py chapters/preface     # one chapter
    python tools/execute_notebooks.py chapters/preface/environment.ipynb

Run it after every change to nnbook that a chapter uses, and commit the outputs. On an
unchanged tree it rewrites every notebook byte for byte, so ``git status`` stays clean:
no timing metadata is recorded, the kernel runs on the CPU with progress bars off, and
absolute paths in tracebacks are made relative to the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

#: The environment the stored outputs are made in (the tests use the same).
ENVIRONMENT = {
    "NNBOOK_DEVICE": "cpu",
    "TQDM_DISABLE": "1",
    "PYTHONHASHSEED": "0",
    "IPYKERNEL_CELL_NAME": "<IPY-INPUT>",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

#: Notebook metadata without anything machine-specific (no Python patch version).
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}

#: A section should execute within this many seconds on one CPU core.
BUDGET_S = 60.0


def notebooks(paths: list[str]) -> list[Path]:
    """The notebooks named by ``paths`` (files, or folders searched recursively)."""
    found = []
    for name in paths:
        path = Path(name).resolve()
        if path.is_dir():
            found += [
                p for p in sorted(path.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts
            ]
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"error: {name} is neither a notebook nor a folder")
    return found


def execute(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place and return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    os.environ.update(ENVIRONMENT)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    normalize(nb)
    nbformat.write(nb, path)
    return seconds


def normalize(nb) -> None:
    """Strip what differs between machines: metadata versions and absolute paths."""
    nb.metadata = nbformat.from_dict(METADATA)
    prefix = str(ROOT) + os.sep
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [line.replace(prefix, "") for line in output["traceback"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "chapters")])
    args = parser.parse_args(argv)
    slow = []
    for path in notebooks(args.paths):
        seconds = execute(path)
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        flag = "  over budget" if seconds > BUDGET_S else ""
        print(f"{seconds:6.1f} s  {name}{flag}", flush=True)
        if flag:
            slow.append(name)
    if slow:
        print(f"{len(slow)} notebook(s) took longer than {BUDGET_S:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
