"""Every exercise of the book proves its checker: right answers pass, known mistakes fail.

Each exercise registers plausible wrong solutions (the mistakes readers make) and correct
solutions written another way. Here the reference and every correct solution must pass,
every wrong solution must fail, and every exercise belongs to a page of the book.
"""

from pathlib import Path

import pytest
import torch
import yaml

from nnbook.check import (
    _NOT_ATTEMPTED,
    _REGISTRY,
    CASE_SEED,
    KINDS,
    WIDTH,
    CheckReport,
    _load_all,
    check,
    list_exercises,
)

pytestmark = pytest.mark.spine

ROOT = Path(__file__).resolve().parent.parent

_load_all()
#: The book's exercises; the unit tests of the checker register "test.*" ones.
NAMES = [name for name in list_exercises() if not name.startswith("test.")]

#: Pages that are variants of another page and share its exercises.
VARIANTS = {
    # The same density estimation as invertible_resnet/density, on other data sets.
    "invertible_resnet/density_checkerboard",
    "invertible_resnet/density_moons",
    "invertible_resnet/density_spirals",
}

#: An error that says a solution could not even run: a typo or a wrong signature.
BROKEN = ("NameError", "UnboundLocalError", "ImportError", "SyntaxError")


def _fits(report) -> None:
    lines = str(report).splitlines()
    longest = max(lines, key=len)
    assert len(longest) <= WIDTH, f"{report.exercise.name}: a line of {len(longest)}: {longest}"


def _crashed(report) -> str | None:
    """The reader-side crash that made ``report`` fail, when a broken solution caused it."""
    for line in (report.failure or "").splitlines():
        text = line.strip()
        if text.startswith("Your function raised "):
            error = text.removeprefix("Your function raised ").split(":")[0]
            signature = error == "TypeError" and "argument" in text
            if error in BROKEN or signature:
                return text
    return None


def _sections() -> list[str]:
    """The section pages of the numbered chapters, as ``"fnn/backpropagation"``."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            path = node.get("file", "")
            parts = path.split("/")
            if (
                len(parts) == 3
                and parts[0] == "chapters"
                and parts[1] not in ("preface", "appendix")
                and parts[2] not in ("index", "exercises")
            ):
                found.append(f"{parts[1]}/{parts[2]}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    exercise = _REGISTRY[name]
    report = check(exercise, exercise.reference, verbose=False)
    assert report.passed, str(report)


@pytest.mark.parametrize("name", NAMES)
def test_every_alternative_passes(name):
    exercise = _REGISTRY[name]
    for i, solution in enumerate(exercise.alternatives):
        report = check(exercise, solution, verbose=False)
        assert report.passed, f"alternative {i + 1} ({solution.__name__}):\n{report}"


@pytest.mark.parametrize("name", NAMES)
def test_every_wrong_solution_fails(name):
    exercise = _REGISTRY[name]
    for why, solution in exercise.wrong.items():
        report = check(exercise, solution, verbose=False)
        assert not report.passed, f"{name}: the wrong solution {why!r} passes"
        assert report.attempted, f"{name}: the wrong solution {why!r} is only a stub"
        crash = _crashed(report)
        assert crash is None, f"{name}: the wrong solution {why!r} cannot run: {crash}"
        _fits(report)


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_has_wrong_and_alternative_solutions(name):
    exercise = _REGISTRY[name]
    assert len(exercise.wrong) >= 2, f"{name}: {len(exercise.wrong)} wrong solutions, want 2"
    assert len(exercise.alternatives) >= 1, f"{name}: no alternative solution"


@pytest.mark.parametrize("name", NAMES)
def test_the_section_is_a_page_of_the_book(name):
    section = _REGISTRY[name].section
    assert section is not None, f"{name} names no section"
    assert (ROOT / "chapters" / f"{section}.ipynb").is_file(), (
        f"{name}: section {section!r} is not a notebook chapters/{section}.ipynb"
    )


def test_every_section_has_an_exercise():
    sections = _sections()
    assert len(sections) > 40  # the table of contents was read
    covered = {_REGISTRY[name].section for name in NAMES}
    missing = [s for s in sections if s not in covered and s not in VARIANTS]
    assert not missing, f"sections without an exercise: {', '.join(missing)}"
    assert VARIANTS <= set(sections), "a variant page left the table of contents"


def test_the_book_has_enough_exercises_of_every_kind():
    assert len(NAMES) >= 60, f"{len(NAMES)} exercises"
    kinds = {_REGISTRY[name].kind for name in NAMES}
    assert kinds == set(KINDS), f"no exercise of kind {set(KINDS) - kinds}"


@pytest.mark.parametrize("name", NAMES)
def test_statement_hint_and_labels_fit_a_report(name):
    """A report failing every case, as check() writes it, shows every label in 80 columns."""
    exercise = _REGISTRY[name]
    labels = [case.label for case in exercise.cases(torch.Generator().manual_seed(CASE_SEED))]
    n = len(labels)
    failure = f"  Case 1 of {n}: {labels[0]}\n  Your function raised TypeError: ..."
    others = tuple(f"case {i + 1} ({label})" for i, label in enumerate(labels) if i)
    report = CheckReport(exercise, n, 0, failure, others)
    _fits(report)
    text = " ".join(str(report).split())
    assert " ".join(exercise.statement.split()) in text
    if exercise.hint:
        assert f"Hint: {' '.join(exercise.hint.split())}" in text
    for label in labels:
        assert " ".join(label.split()) in text, label
    stub = CheckReport(exercise, n, 0, _NOT_ATTEMPTED, attempted=False)
    _fits(stub)


# Two mistakes a review found in readers' code, each written as a reader would write it,
# beside the same code done right. The right version must pass (else the exercise's
# signature moved on and these need updating); the wrong one must fail.


def _adagrad(theta, grad, G, lr, eps=1e-10, *, eps_inside=False):
    G = G + grad**2
    denominator = (G + eps).sqrt() if eps_inside else G.sqrt() + eps
    return theta - lr * grad / denominator, G


def _max_pool_backward(x, dout, kernel, *, every_tie=False):
    N, C, H, W = x.shape
    dx = torch.zeros_like(x)
    for i in range(H // kernel):
        for j in range(W // kernel):
            rows = slice(i * kernel, (i + 1) * kernel)
            cols = slice(j * kernel, (j + 1) * kernel)
            window = x[:, :, rows, cols].reshape(N, C, -1)
            if every_tie:
                winners = window == window.max(dim=2, keepdim=True).values
            else:
                winners = torch.zeros_like(window, dtype=torch.bool)
                winners.scatter_(2, window.argmax(dim=2, keepdim=True), True)
            grad = winners.to(x.dtype) * dout[:, :, i, j, None]
            dx[:, :, rows, cols] = grad.reshape(N, C, kernel, kernel)
    return dx


REGRESSIONS = {
    "optim.adagrad_step": (
        _adagrad,
        lambda *args, **kwargs: _adagrad(*args, **kwargs, eps_inside=True),
        "eps inside the square root, (G + eps).sqrt()",
    ),
    "cnn.max_pool_backward": (
        _max_pool_backward,
        lambda *args, **kwargs: _max_pool_backward(*args, **kwargs, every_tie=True),
        "the gradient sent to every tied maximum",
    ),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_a_mistake_found_in_review_fails(name):
    if name not in _REGISTRY:
        pytest.skip(f"{name} is not registered yet")
    right, wrong, mistake = REGRESSIONS[name]
    exercise = _REGISTRY[name]
    report = check(exercise, right, verbose=False)
    assert report.passed, f"the right version no longer fits {name}; update it:\n{report}"
    assert not check(exercise, wrong, verbose=False).passed, f"{name} accepts {mistake}"
