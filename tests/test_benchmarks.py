"""The benchmark runner works; it times, it never judges (speed is not a unit test)."""

import math

import pytest

from benchmarks.__main__ import main, run

pytestmark = pytest.mark.spine


def test_every_benchmark_runs_and_agrees_with_torch():
    rows = run(quick=True)
    assert rows, "no benchmark registered"
    for name, ours, theirs, ratio in rows:
        assert all(math.isfinite(t) and t > 0 for t in (ours, theirs, ratio)), name


def test_the_report_is_a_table_of_ratios(capsys):
    assert main(["--quick", "--filter", "linear"]) == 0
    out = capsys.readouterr().out
    assert "ratio = nnbook time / torch time" in out
    assert "linear forward" in out
