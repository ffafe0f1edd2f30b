"""Code is written once: no run of six lines repeats in the package or the notebooks,
except the repeats named, with a reason, in tests/repeats_allowed.txt."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import repeats  # noqa: E402


def test_no_code_is_written_twice_without_a_reason():
    found = repeats.unexplained(repeats.repeats(repeats.sources()), repeats.allowed())
    lines = [f"{a}:{i} ~ {b}:{j} ({n} lines)" for a, i, b, j, n in found]
    assert not lines, "move these into nnbook, or name them in repeats_allowed.txt:\n" + "\n".join(
        lines
    )


def test_every_allowed_repeat_still_exists():
    found = {frozenset((a, b)) for a, _, b, _, _ in repeats.repeats(repeats.sources())}
    stale = [" ~ ".join(sorted(pair)) for pair in repeats.allowed() if pair not in found]
    assert not stale, f"remove from repeats_allowed.txt, they no longer repeat: {stale}"


def test_the_finder_sees_a_repeat_and_skips_what_does_not_count(tmp_path):
    body = "\n".join(f"x{k} = f(x{k - 1}, {k})" for k in range(1, 8))
    (tmp_path / "a.py").write_text(f'"""Doc."""\n\nimport os\n\n{body}\n')
    (tmp_path / "b.py").write_text(f"# a comment\n\n\ny = 1\n{body}\n")
    (tmp_path / "c.py").write_text('def f():\n    """\n' + body + '\n    """\n')
    found = repeats.repeats(sorted(tmp_path.glob("*.py")))
    assert [(Path(a).name, i, Path(b).name, j, n) for a, i, b, j, n in found] == [
        ("a.py", 5, "b.py", 5, 7)
    ]


def test_a_reason_is_required(tmp_path):
    path = tmp_path / "allowed.txt"
    path.write_text("a.py ~ b.py:\n")
    with pytest.raises(ValueError, match="needs a reason"):
        repeats.allowed(path)
