"""Test-session settings shared by the unit tests and nbval.

The notebook kernels inherit this process's environment, so the variables below give
them the same settings that tools/execute_notebooks.py used to make the stored outputs.
"""

import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

import torch  # noqa: E402
from execute_notebooks import ENVIRONMENT, profile_environment  # noqa: E402

for key, value in ENVIRONMENT.items():
    if key == "NNBOOK_DEVICE":
        os.environ.setdefault(key, value)  # a GPU run sets NNBOOK_DEVICE=cuda itself
    else:
        os.environ[key] = value
# NNBOOK_PROFILE=avx2 or baseline runs the notebook kernels (new processes) with the
# kernels another CPU would pick; `make test` compares the notebooks under two profiles.
os.environ.update(profile_environment())
# One thread per test process: `make test` runs two workers on two cores, and a
# second thread each would make them wait on each other (tens of times slower).
# Only this process: the notebook kernels keep the environment their stored outputs
# were made in (nnbook.setup gives them one thread too).
torch.set_num_threads(1)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
)

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook execution time")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        flag = "  (over the 60 s budget)" if seconds > 60 else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    total = sum(_notebook_seconds.values())
    terminalreporter.write_line(f"{total:7.1f} s  total, {len(_notebook_seconds)} notebooks")
