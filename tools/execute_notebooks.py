"""Re-execute the book's notebooks in place, deterministically.

Usage::

    python tools/execute_notebooks.py                      # every notebook under chapters/
    python tools/execute_notebooks.py chapters/preface     # one chapter
    python tools/execute_notebooks.py chapters/preface/environment.ipynb
    python tools/execute_notebooks.py --profile baseline chapters/fnn


Run it after every change to nnbook that a chapter uses, and commit the outputs. On an
unchanged tree it rewrites every notebook byte for byte, so ``git status`` stays clean:
no timing metadata is recorded, the kernel runs on the CPU with progress bars off, and
absolute paths in tracebacks are made relative to the repository.

Every notebook it writes starts with the install cell of :func:`first_cell` and records
in its metadata the nnbook version that produced its outputs, and its solution cells
(tagged ``hide-input``) are collapsed in Jupyter and Colab too.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
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
    "NNBOOK_PROGRESS": "",  # passes are not kept between runs: outputs stay the same
}

#: Numeric profiles: the kernels another CPU would run, chosen before Python starts.
#: torch picks its own kernels (ATen) and MKL's by instruction set at run time, oneDNN
#: its convolutions, and NumPy its element-wise loops, so the same code sums in another
#: order on another CPU. ``native`` is this machine; ``avx2`` is a typical x86 laptop;
#: ``baseline`` uses no vector units beyond SSE4, the nearest stand-in here for a CPU
#: with other kernels altogether (an ARM laptop). OpenBLAS (NumPy's and SciPy's BLAS) is
#: left alone: ``OPENBLAS_CORETYPE`` is set on purpose on some machines.
PROFILES = {
    "native": {},
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    },
    "baseline": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    },
}


def profile_environment(name: str | None = None) -> dict[str, str]:
    """The variables of a numeric profile (``NNBOOK_PROFILE`` when ``name`` is None)."""
    if name is None:
        name = os.environ.get("NNBOOK_PROFILE", "native").strip() or "native"
    if name not in PROFILES:
        raise ValueError(f"NNBOOK_PROFILE must be one of {', '.join(PROFILES)}, got {name!r}")
    return PROFILES[name]


#: Notebook metadata without anything machine-specific (no Python patch version).
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}

#: Where Colab installs nnbook from: the tag of the page's version.
REPOSITORY = "https://github.com/nnbook/nnbook"


def version() -> str:
    """``nnbook.__version__``, read from the source without importing torch."""
    text = (ROOT / "nnbook" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("nnbook/__init__.py defines no __version__")
    return match.group(1)


def first_cell(version: str) -> str:
    """The source of every notebook's first cell, removed from the book's HTML.

    In Colab (or wherever ``NNBOOK_INSTALL`` names a pip source) it installs nnbook with
    the ``notebooks`` extra at the page's own version, keeping the torch already there.
    Everywhere it tells :func:`nnbook.setup` which version the page was run with.
    """
    return f"""\
# Runs the nnbook this page was made with; in Colab, installs it first.
import os
import subprocess
import sys

os.environ["NNBOOK_PAGE_VERSION"] = "{version}"
release = "git+{REPOSITORY}@v{version}"
if "google.colab" in sys.modules or "NNBOOK_INSTALL" in os.environ:
    source = os.environ.get("NNBOOK_INSTALL", release)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"nnbook[notebooks] @ {{source}}"], check=True)"""


#: The title line of a solution cell: Colab shows it, with the code folded away.
SOLUTION_TITLE = "# @title Solution"


def stamp(nb, version: str) -> None:
    """Give ``nb`` its first cell, its version stamp and folded solution cells."""
    source = first_cell(version)
    cells = nb.cells
    first = cells[0] if cells and cells[0].cell_type == "code" else None
    if first is None or "NNBOOK_PAGE_VERSION" not in first.source:
        first = nbformat.v4.new_code_cell()
        cells.insert(0, first)
    first.source = source
    first.metadata = nbformat.from_dict({"tags": ["remove-cell"]})
    first.id = "install"
    for cell in cells:
        if cell.cell_type == "code" and "hide-input" in cell.metadata.get("tags", []):
            if not cell.source.startswith(SOLUTION_TITLE):
                cell.source = f"{SOLUTION_TITLE}\n{cell.source}"
            cell.metadata["cellView"] = "form"  # Colab
            cell.metadata["jupyter"] = {"source_hidden": True}  # Jupyter and Binder
    nb.metadata["nnbook"] = {"version": version}


#: A section should execute within this many seconds on one CPU core.
BUDGET_S = 30.0


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


def execute(path: Path, timeout: int = 600, profile: str | None = None) -> float:
    """Execute one notebook in place and return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    stamp(nb, version())
    os.environ.update(ENVIRONMENT)
    os.environ.update(profile_environment(profile))
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
    """Strip what differs between runs and machines.

    Metadata versions and absolute paths go; consecutive pieces of one stream are joined,
    because how the kernel splits a cell's printing into pieces depends on timing.
    """
    nb.metadata = nbformat.from_dict({**METADATA, "nnbook": nb.metadata.get("nnbook", {})})
    prefix = str(ROOT) + os.sep
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [line.replace(prefix, "") for line in output["traceback"]]


def coalesce_streams(outputs: list) -> list:
    """``outputs`` with each run of consecutive stdout (or stderr) pieces joined into one."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = previous["text"] + output["text"]
        else:
            joined.append(output)
    return joined


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "chapters")])
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default=None,
        help="numeric profile to execute under (default: NNBOOK_PROFILE, else native)",
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, help="notebooks to execute at once (default: 1)"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    paths = notebooks(args.paths)
    slow = []
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        jobs = {pool.submit(execute, path, profile=args.profile): path for path in paths}
        done = ((jobs[job], job.result()) for job in concurrent.futures.as_completed(jobs))
        for path, seconds in done:
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
