"""The maintainer tools: deterministic re-execution, and nbval catching stale outputs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from execute_notebooks import (
    PROFILES,
    coalesce_streams,
    execute,
    first_cell,
    profile_environment,
    stamp,
)

pytestmark = pytest.mark.spine

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "chapters" / "preface" / "environment.ipynb"


def test_re_execution_reproduces_the_stored_notebook_byte_for_byte(tmp_path):
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    execute(copy)
    assert copy.read_bytes() == NOTEBOOK.read_bytes(), (
        "re-executing changed the notebook: run `make execute` and commit the outputs"
    )


def _nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(path.parent),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_nbval_fails_on_a_tampered_output(tmp_path):
    nb = json.loads(NOTEBOOK.read_text())
    tampered = False
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", []))
            if text.startswith("PASS fnn.weighted_sum"):
                output["text"] = [text.replace("all 5 cases", "all 6 cases")]
                tampered = True
    assert tampered
    path = tmp_path / "tampered.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    result = _nbval(path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "all 6 cases" in result.stdout and "1 failed" in result.stdout


@pytest.mark.parametrize(
    ("profile", "capability"),
    [("native", None), ("avx2", "AVX2"), ("baseline", "DEFAULT")],
)
def test_a_profile_reaches_the_kernels_of_a_new_process(profile, capability):
    clean = {k: v for k, v in os.environ.items() if k not in PROFILES["baseline"]}
    probe = [sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"]

    def capability_under(env):
        result = subprocess.run(probe, env=env, capture_output=True, text=True, check=True)
        return result.stdout.strip()

    native = capability_under(clean)
    seen = capability_under({**clean, **profile_environment(profile)})
    expected = native if capability is None else capability
    if capability == "AVX2" and native == "DEFAULT":
        expected = "DEFAULT"  # a CPU without AVX2 cannot be asked for it
    assert seen == expected


def test_an_unknown_profile_is_refused_by_name():
    with pytest.raises(ValueError, match=r"NNBOOK_PROFILE must be one of native, avx2, baseline"):
        profile_environment("arm")


def test_pieces_of_one_stream_are_joined_and_others_kept_apart():
    out = [
        {"output_type": "stream", "name": "stdout", "text": "a\n"},
        {"output_type": "stream", "name": "stdout", "text": "b\n"},
        {"output_type": "stream", "name": "stderr", "text": "warning\n"},
        {"output_type": "stream", "name": "stdout", "text": "c\n"},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "d\n"},
    ]
    joined = coalesce_streams(out)
    assert [o.get("text") for o in joined] == ["a\nb\n", "warning\n", "c\n", None, "d\n"]


def test_stamp_gives_one_install_cell_folds_solutions_and_records_the_version():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A page"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["hide-input"]}),
    ]
    stamp(nb, "9.9.9")
    stamp(nb, "9.9.9")  # idempotent
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "code"]
    assert nb.cells[0].source == first_cell("9.9.9") and nb.cells[0].id == "install"
    assert "nnbook@v9.9.9" in nb.cells[0].source
    assert nb.cells[2].source == "# @title Solution\nx = 1"
    assert nb.cells[2].metadata["cellView"] == "form"
    assert nb.metadata["nnbook"] == {"version": "9.9.9"}
    stamp(nb, "10.0.0")  # a new version replaces the cell's text, and adds no cell
    assert len(nb.cells) == 3 and 'NNBOOK_PAGE_VERSION"] = "10.0.0"' in nb.cells[0].source


def test_moved_api_pages_send_the_reader_on():
    from book_html import MOVED_PAGES, redirect

    page = redirect("cnn.html")
    assert 'http-equiv="Refresh" content="0; url=cnn.html"' in page
    assert '<a href="cnn.html">' in page
    root = Path(__file__).resolve().parent.parent
    for old, target in MOVED_PAGES.items():
        assert not (root / f"{old}.md").exists(), f"{old} is a page again"
        assert (root / old).parent.joinpath(target).with_suffix(".md").exists()
