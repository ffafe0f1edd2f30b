"""Exercise checking: run a reader's function and nnbook's reference on the same cases.

A chapter registers an exercise by decorating its reference solution (see
:mod:`nnbook.exercises`)::

    @exercise(
        statement="weighted_sum(h, W, b) returns the weighted sums of a mini-batch h",
        cases=weighted_sum_cases,      # rng -> list of Case
        equation="eq-fnn-weight-avg",
        section="fnn/architecture",
        outputs=("a",),
    )
    def weighted_sum(h, W, b=None):
        return feedforward.linear(h, W, b)

A reader then calls ``nnbook.check("fnn.weighted_sum", my_function)``.

**What a check does.** Every case runs through the reference first, then through the
reader's function, each on its own deep copy of the inputs: a function that changes its
inputs in place cannot change what the reference or a later case sees. Both calls start
from the same seed of torch's global (CPU) random number generator, whose state is
restored afterwards, so a check leaves the notebook's random numbers as they were.

* Where the reference returns a value, the reader's function must return the same value:
  the same structure (a tuple of the same length, None where the reference returns None),
  tensors of the same shape and dtype whose values agree to the exercise's tolerance
  (``|got - expected| <= atol + rtol * |expected|``; NaN agrees with NaN), and numbers
  that agree to the same tolerance.
* Where the reference rejects the input (it raises ``ValueError`` or ``TypeError``), the
  reader's function must raise ``ValueError``, ``TypeError`` or ``RuntimeError`` (but not
  ``NotImplementedError``, the stub's). Any of the three will do: torch itself raises
  ``RuntimeError`` for mismatched shapes, and insisting on one type would test
  bookkeeping rather than the idea.

Every case runs, so the count is the true one. A run of the reader's function is a failed
case, never a crash of the check, when it

* raises any exception, including ``SystemExit`` (``sys.exit()``),
  ``KeyboardInterrupt`` and ``GeneratorExit``;
* runs longer than the exercise's ``timeout`` (10 s unless the exercise says otherwise).
  The limit is enforced with ``SIGALRM``, which exists on Linux and macOS and works in the
  main thread, where Jupyter runs a cell. Elsewhere (Windows, or a check started from
  another thread) the case runs without a limit. After a time-out or an interruption the
  remaining cases are not run; they count as failed. (A function that catches every
  exception, ``BaseException`` included, in a loop cannot be stopped this way.)

What the function prints goes into a buffer, not the notebook; the report of the first
failing case shows its first 20 lines (2,000 characters at most).

**What a report says.** ``nnbook.check`` prints a report and returns it as a
:class:`CheckReport`. A pass is one line. A failure reads, in lines of at most 80
characters::

    FAIL fnn.linear_backward: 2 of 4 cases passed; see equation (1.9).
      Task: linear_backward(h, W, delta) returns (dh, dW, db) for ...
      Case 3 of 4: a batch of five
      Inputs:
        h = tensor of shape (5, 3), torch.float64: 0.4617, 0.2674, ... (min ...)
        ...
      dW: 6 of 6 values differ (rtol 1e-06, atol 1e-08).
        expected: shape (2, 3), torch.float64
        got:      shape (2, 3), torch.float64
        largest absolute difference 1.25 at dW[1, 2]
        ...
      Also failing: case 4 (one sample).
      Hint: ...

The header counts the cases that passed and cites the equation by the number the book
prints beside it ("see equation (1.9)"), never by its label. The first failing case is
detailed: its inputs, summarised (shape, dtype and a few values of each tensor), then what
went wrong, named after the output as the book writes it (``dW``). A wrong shape names
both shapes and says whether the values are those of the expected result in another
shape; a wrong dtype says whether the values agree once converted; wrong values come with
the largest absolute and relative differences, where they occur, and the expected and
actual values around the worst one. A NaN or an infinity the reference does not have is
located. The labels of the other failing cases follow on one line, and the exercise's
hint, if it has one, ends the report. A function that still raises
``NotImplementedError`` on the first case gets a short note instead: the exercise has not
been attempted yet.

Describing the reader's result never raises: an object whose ``repr``, ``==`` or
``bool`` raise is described by its type.

**Progress.** A passed check is remembered for the rest of the process, and
:func:`list_exercises` marks those exercises with a check mark. When the environment
variable ``NNBOOK_PROGRESS`` names a file, passes are also written to that JSON file and
read back from it, so they outlive the kernel; unset or empty, the default, they stay in
memory, and a notebook's outputs do not depend on earlier sessions.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import importlib
import inspect
import io
import json
import math
import numbers
import os
import pkgutil
import re
import reprlib
import signal
import sysconfig
import tempfile
import textwrap
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from nnbook.equations import number as equation_number

__all__ = [
    "Case",
    "CheckReport",
    "Exercise",
    "ExerciseList",
    "check",
    "exercise",
    "list_exercises",
    "register",
]

#: The seed every check draws its random cases from, so reports are reproducible.
CASE_SEED = 1234

#: The kinds of exercise: write a function, derive a quantity, or measure one.
KINDS = ("implement", "derive", "experiment")

#: The width of a report line: the book and a terminal show 80 columns.
WIDTH = 80

#: The exceptions that count as rejecting an input the reference rejects.
REJECTIONS = (ValueError, TypeError, RuntimeError)

#: How much of what the reader's function prints a report shows.
PRINT_LINES = 20
PRINT_CHARS = 2000

#: The chapters in the order of the book; :func:`list_exercises` lists them so.
CHAPTER_ORDER = (
    "fnn",
    "optim",
    "cnn",
    "rnn",
    "invertible",
    "generative",
    "hardware",
)

#: The environment variable naming the file that keeps passes between sessions.
PROGRESS_VARIABLE = "NNBOOK_PROGRESS"


def _type_error(name: str, expected: str, value) -> TypeError:
    return TypeError(f"{name} must be {expected}, got {type(value).__name__}")


@dataclass(frozen=True)
class Case:
    """One set of inputs for an exercise.

    Parameters
    ----------
    label : str
        What the case tests: ``"a mini-batch of 4"``, ``"ties between two maxima"``.
    args : tuple
        Positional arguments.
    kwargs : dict
        Keyword arguments.
    """

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.label, str):
            raise _type_error("label", "a str", self.label)
        if not self.label.strip():
            raise ValueError("label must be a non-empty str, got ''")
        if isinstance(self.args, list):
            object.__setattr__(self, "args", tuple(self.args))
        if not isinstance(self.args, tuple):
            raise _type_error("args", "a tuple", self.args)
        if not isinstance(self.kwargs, dict):
            raise _type_error("kwargs", "a dict", self.kwargs)


@dataclass(frozen=True)
class Exercise:
    """An exercise: a statement, the reference that solves it, and its test cases.

    Parameters
    ----------
    name : str
        Dotted, chapter first: ``"fnn.weighted_sum"``.
    statement : str
        What to compute: the signature, the shapes, the names of the results.
    reference : callable
        nnbook's solution.
    cases : callable
        ``cases(rng)`` returns a list of :class:`Case`; ``rng`` is a seeded
        :class:`torch.Generator`.
    equation : str, optional
        The label of the equation the exercise implements, such as ``"eq-fnn-elu"``. A
        failed check cites it by the number the book prints: "see equation (1.6)".
    rtol, atol : float
        Tolerances for comparing floating-point results.
    kind : {"implement", "derive", "experiment"}
        Implement a function the chapter shows; derive a number or formula, checked at
        given inputs; or run an experiment and report a measured quantity.
    section : str, optional
        The page that teaches the idea, as ``"fnn/backpropagation"``.
    outputs : tuple of str
        The names of the results, as the book writes them (``("dh", "dW", "db")``),
        so a report says "dW" rather than "result 2".
    hint : str, optional
        Printed after a failure: it points at the idea without giving the solution.
    wrong : dict of str to callable
        Plausible wrong solutions, by the mistake they make ("eps inside the square
        root"). The test suite proves that the checker rejects every one.
    alternatives : tuple of callable
        Correct solutions written differently from the reference; they must pass.
    timeout : float
        Seconds one case may run before it counts as failed.
    """

    name: str
    statement: str
    reference: Callable
    cases: Callable[[torch.Generator], list[Case]]
    equation: str | None = None
    rtol: float = 1e-6
    atol: float = 1e-8
    kind: str = "implement"
    section: str | None = None
    outputs: tuple[str, ...] = ()
    hint: str | None = None
    wrong: dict[str, Callable] = field(default_factory=dict)
    alternatives: tuple[Callable, ...] = ()
    timeout: float = 10.0

    def __post_init__(self):
        for name in ("name", "statement"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise _type_error(name, "a str", value)
            if not value.strip():
                raise ValueError(
                    f"{name} must be a non-empty str, got {value!r}"
                )
        for name in ("reference", "cases"):
            if not callable(getattr(self, name)):
                raise _type_error(name, "callable", getattr(self, name))
        if self.equation is not None and not isinstance(self.equation, str):
            raise TypeError(
                f"equation must be an equation label (str) or None, "
                f"got {type(self.equation).__name__}"
            )
        for name in ("rtol", "atol", "timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _type_error(name, "a real number", value)
            if not value >= 0 or (name == "timeout" and value == 0):
                bound = "> 0" if name == "timeout" else ">= 0"
                raise ValueError(f"{name} must be {bound}, got {value}")
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ValueError(
                f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        for name in ("section", "hint"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise _type_error(name, "a str or None", value)
        for name in ("outputs", "alternatives"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            elif not isinstance(value, tuple):
                raise _type_error(name, "a tuple", value)
        if not all(isinstance(o, str) and o for o in self.outputs):
            raise ValueError(
                f"outputs must be non-empty strs, got {self.outputs!r}"
            )
        if not all(callable(f) for f in self.alternatives):
            raise TypeError(
                f"alternatives must be callables, got {[type(f).__name__ for f in self.alternatives]}"
            )
        if not isinstance(self.wrong, dict):
            raise _type_error("wrong", "a dict of str to callable", self.wrong)
        for why, f in self.wrong.items():
            if not isinstance(why, str) or not callable(f):
                raise TypeError(
                    f"wrong must map a str to a callable, got {type(why).__name__} "
                    f"to {type(f).__name__}"
                )


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`check`. ``str(report)`` is what :func:`check` prints.

    Parameters
    ----------
    exercise : Exercise
        The exercise checked.
    n_cases, n_passed : int
        How many cases there are, and how many passed.
    failure : str, optional
        The details of the first failing case, one line per line; None when all passed.
    also_failing : tuple of str
        The other failing cases, such as ``"case 3 (ties)"``.
    attempted : bool
        False when the reader's function still raises ``NotImplementedError``.
    """

    exercise: Exercise
    n_cases: int
    n_passed: int
    failure: str | None = None
    also_failing: tuple[str, ...] = ()
    attempted: bool = True

    def __post_init__(self):
        if not isinstance(self.exercise, Exercise):
            raise _type_error("exercise", "an Exercise", self.exercise)
        for name in ("n_cases", "n_passed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(name, "an int", value)
        if not 0 <= self.n_passed <= self.n_cases:
            raise ValueError(
                f"n_passed must be in [0, n_cases={self.n_cases}], got {self.n_passed}"
            )
        if self.failure is not None and not isinstance(self.failure, str):
            raise _type_error("failure", "a str or None", self.failure)

    @property
    def passed(self) -> bool:
        """True when every case passed."""
        return self.failure is None

    def __str__(self) -> str:
        name = self.exercise.name
        if self.passed:
            return f"PASS {name}: all {self.n_cases} cases agree with the reference."
        where = (
            f"; see {_cite(self.exercise.equation)}"
            if self.exercise.equation
            else ""
        )
        lines = [
            f"FAIL {name}: {self.n_passed} of {self.n_cases} cases passed{where}."
        ]
        lines += textwrap.wrap(
            " ".join(self.exercise.statement.split()),
            width=WIDTH,
            initial_indent="  Task: ",
            subsequent_indent="        ",
            break_on_hyphens=False,
        )
        lines += self.failure.rstrip("\n").split("\n")
        if self.attempted:
            if self.also_failing:
                lines.append(f"  Also failing: {', '.join(self.also_failing)}.")
            if self.exercise.hint:
                lines.append("  Hint: " + " ".join(self.exercise.hint.split()))
        return "\n".join(_wrap(line) for line in lines)

    def __repr__(self) -> str:
        outcome = "PASS" if self.passed else "FAIL"
        return (
            f"<CheckReport {outcome} {self.exercise.name}: "
            f"{self.n_passed} of {self.n_cases} cases passed>"
        )


def _wrap(line: str) -> str:
    """``line`` broken at spaces to fit :data:`WIDTH`, continued one level deeper.

    A word longer than a line is broken too, so no line of the result is longer than
    :data:`WIDTH`.
    """
    if len(line) <= WIDTH:
        return line
    depth = len(line) - len(line.lstrip())
    indent = " " * min(depth + 4, WIDTH // 2)
    options = {"subsequent_indent": indent, "break_on_hyphens": False}
    text = textwrap.fill(line, WIDTH, break_long_words=False, **options)
    if max(len(part) for part in text.split("\n")) > WIDTH:
        text = textwrap.fill(line, WIDTH, break_long_words=True, **options)
    return text


def _cite(label: str) -> str:
    """``"equation (1.6)"``: the equation labelled ``label``, as the book numbers it.

    A label the book does not number (an exercise made outside the book) is cited as it
    is; the tests make sure that no registered exercise is cited that way.
    """
    try:
        return f"equation {equation_number(label)}"
    except ValueError:
        return f"equation {label}"


_REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry, so :func:`check` can find it by name.

    Parameters
    ----------
    exercise : Exercise
        The exercise. Registering the same object twice is harmless; another exercise
        of the same name is refused with ``ValueError``.

    Returns
    -------
    Exercise
        ``exercise``.
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(
            f"exercise must be an Exercise, got {type(exercise).__name__}"
        )
    if exercise.name in _REGISTRY and _REGISTRY[exercise.name] is not exercise:
        raise ValueError(
            f"an exercise named {exercise.name!r} is already registered"
        )
    _REGISTRY[exercise.name] = exercise
    return exercise


def exercise(*, statement, cases, **options):
    """Register the decorated function as the reference solution of an exercise.

    The exercise is named after its module and the function: ``reference`` defined
    in :mod:`nnbook.exercises.fnn` as ``weighted_sum`` becomes ``"fnn.weighted_sum"``.

    Parameters
    ----------
    statement : str
        What to compute (see :class:`Exercise`).
    cases : callable
        ``cases(rng)`` returns the list of :class:`Case`.
    **options
        The other fields of :class:`Exercise`: ``equation``, ``kind``, ``section``,
        ``outputs``, ``hint``, ``wrong``, ``alternatives``, ``rtol``, ``atol``,
        ``timeout``.

    Returns
    -------
    callable
        A decorator that registers the function and returns its :class:`Exercise`.
    """
    if not isinstance(statement, str):
        raise _type_error("statement", "a str", statement)
    if not callable(cases):
        raise _type_error("cases", "callable", cases)
    for reserved in ("name", "reference"):
        if reserved in options:
            raise TypeError(
                f"exercise() takes no {reserved!r}: it comes from the decorated function"
            )

    def decorate(reference):
        if not callable(reference) or not hasattr(reference, "__name__"):
            raise _type_error("the decorated object", "a function", reference)
        chapter = reference.__module__.rsplit(".", 1)[-1]
        name = f"{chapter}.{reference.__name__}"
        return register(Exercise(name, statement, reference, cases, **options))

    return decorate


# -- Progress: which exercises passed in this environment --------------------------------

_PASSED: set[str] = set()


def _progress_file() -> str | None:
    path = os.environ.get(PROGRESS_VARIABLE, "").strip()
    return path or None


def _read_progress(path: str) -> set[str]:
    """The names stored in the progress file ``path``; none if it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as err:
        warnings.warn(
            f"{PROGRESS_VARIABLE}: cannot read {path}: {err}", stacklevel=3
        )
        return set()
    names = data.get("passed", []) if isinstance(data, dict) else []
    return {n for n in names if isinstance(n, str)}


def _record_pass(name: str) -> None:
    _PASSED.add(name)
    path = _progress_file()
    if path is None:
        return
    names = _read_progress(path) | {name}
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=".progress-", suffix=".json", dir=folder
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump({"passed": sorted(names)}, file, indent=1)
                file.write("\n")
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
    except OSError as err:
        warnings.warn(
            f"{PROGRESS_VARIABLE}: cannot write {path}: {err}", stacklevel=3
        )


def _passed_here() -> set[str]:
    """The exercises passed in this process, and in the progress file if one is set."""
    path = _progress_file()
    return _PASSED | (_read_progress(path) if path else set())


# -- Listing ------------------------------------------------------------------------------


class ExerciseList(list):
    """The sorted names of exercises, printed grouped by chapter and kind.

    It is a list of str: iterate over it, index it, take its ``len``. Printed (``str``,
    ``repr`` or IPython's display), it groups the names by chapter and by kind, marks with
    "✓" the exercises passed in this environment, and ends with a count.
    """

    def __init__(self, names=(), passed=()):
        super().__init__(names)
        self.passed = frozenset(passed)

    def __str__(self) -> str:
        chapters: dict[str, dict[str, list[str]]] = {}
        for name in self:
            chapter, _, short = name.partition(".")
            ex = _REGISTRY.get(name)
            kind = ex.kind if ex is not None else "implement"
            mark = "✓ " if name in self.passed else ""
            chapters.setdefault(chapter, {}).setdefault(kind, []).append(
                mark + short
            )
        lines = []
        for chapter in sorted(chapters, key=_chapter_key):
            lines.append(chapter)
            for kind in KINDS:
                shorts = chapters[chapter].get(kind)
                if shorts:
                    lines += _pack(shorts, f"  {kind + ':':<12}")
        n, done = len(self), sum(name in self.passed for name in self)
        lines.append(
            f"{n} exercise{'s' if n != 1 else ''}, {done} passed here."
        )
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def _pack(items: list[str], head: str) -> list[str]:
    """``items`` joined by commas into lines of :data:`WIDTH`, after ``head``.

    Unlike :func:`textwrap.wrap`, it never breaks an item ("✓ name") in two.
    """
    lines, line = [], head
    for i, item in enumerate(items):
        text = item + ("," if i < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(text) > WIDTH:
            lines.append(line)
            line = " " * len(head) + text
        else:
            line += ("" if line == head else " ") + text
    return [*lines, line]


def _chapter_key(chapter: str):
    if chapter in CHAPTER_ORDER:
        return (0, CHAPTER_ORDER.index(chapter), chapter)
    return (1, 0, chapter)


def list_exercises(
    chapter: str | None = None, kind: str | None = None
) -> ExerciseList:
    """The names of the registered exercises, sorted.

    Parameters
    ----------
    chapter : str, optional
        Only the exercises of this chapter: the part of the name before the dot, such as
        ``"fnn"``.
    kind : {"implement", "derive", "experiment"}, optional
        Only the exercises of this kind.

    Returns
    -------
    ExerciseList
        A list of the names. Printed, it groups them by chapter and kind and marks with
        "✓" those passed in this environment: in this process, and, when the environment
        variable ``NNBOOK_PROGRESS`` names a JSON file, in earlier sessions that wrote to
        that file. Unset or empty (the default), passes are kept in memory only.
    """
    _load_all()
    names = sorted(_REGISTRY)
    if chapter is not None:
        if not isinstance(chapter, str):
            raise _type_error("chapter", "a str or None", chapter)
        known = sorted({n.partition(".")[0] for n in names}, key=_chapter_key)
        if chapter not in known:
            raise ValueError(
                f"chapter must be one of {', '.join(known)}, got {chapter!r}"
            )
        names = [n for n in names if n.partition(".")[0] == chapter]
    if kind is not None:
        if not isinstance(kind, str):
            raise _type_error("kind", "a str or None", kind)
        if kind not in KINDS:
            raise ValueError(
                f"kind must be one of {', '.join(KINDS)}, got {kind!r}"
            )
        names = [n for n in names if _REGISTRY[n].kind == kind]
    return ExerciseList(names, _passed_here() & set(names))


# -- Checking -----------------------------------------------------------------------------


def check(exercise, fn, *, verbose: bool = True) -> CheckReport:
    """Check a reader's implementation of an exercise against nnbook's reference.

    Parameters
    ----------
    exercise : str or Exercise
        The exercise, or its name (see :func:`list_exercises`).
    fn : callable
        The reader's function. It receives the same arguments as the reference.
    verbose : bool, default True
        Print the report.

    Returns
    -------
    CheckReport
        ``report.passed`` tells the outcome. Whatever ``fn`` does (raise, call
        ``sys.exit()``, loop for ever, print a lot) is a failed case to report, never
        raised; the module's description lists the rules.
    """
    exercise = _resolve(exercise)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(verbose, bool):
        raise _type_error("verbose", "a bool", verbose)
    cases = exercise.cases(torch.Generator().manual_seed(CASE_SEED))
    if isinstance(cases, tuple):
        cases = list(cases)
    if not isinstance(cases, list) or not all(
        isinstance(c, Case) for c in cases
    ):
        raise TypeError(f"the cases of {exercise.name} must be a list of Case")
    if not cases:
        raise ValueError(f"the cases of {exercise.name} must not be empty")
    n = len(cases)
    expected = _expected_results(exercise, cases)
    passed, failures, first, report = 0, [], None, None
    for i, case in enumerate(cases):
        result = _run_case(exercise, fn, case, CASE_SEED + i, expected[i])
        if result.passed:
            passed += 1
            continue
        if i == 0 and result.not_attempted:
            report = CheckReport(
                exercise, n, 0, _NOT_ATTEMPTED, attempted=False
            )
            break
        if first is None:
            first = f"  Case {i + 1} of {n}: {case.label}\n" + "\n".join(
                result.lines
            )
        else:
            failures.append(f"case {i + 1} ({case.label})")
        if result.stop:
            failures += [
                f"case {j + 1} ({cases[j].label}; not run)"
                for j in range(i + 1, n)
            ]
            break
    if report is None:
        report = CheckReport(exercise, n, passed, first, tuple(failures))
    if report.passed:
        _record_pass(exercise.name)
    if verbose:
        print(report)
    return report


_NOT_ATTEMPTED = (
    "  Not attempted yet: replace the NotImplementedError in your function with your "
    "code and run the cell again."
)


def _resolve(exercise) -> Exercise:
    if isinstance(exercise, Exercise):
        return exercise
    if not isinstance(exercise, str):
        raise TypeError(
            f"exercise must be a name or an Exercise, got {type(exercise).__name__}"
        )
    _load_all()
    if exercise not in _REGISTRY:
        raise ValueError(
            f"exercise must be one of {', '.join(sorted(_REGISTRY))}, got {exercise!r}"
        )
    return _REGISTRY[exercise]


def _load_all() -> None:
    """Import every module of :mod:`nnbook.exercises`; importing registers."""
    import nnbook.exercises as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


@dataclass
class _CaseResult:
    passed: bool
    lines: list[str] = field(default_factory=list)
    stop: bool = False  # the remaining cases are not run
    not_attempted: bool = False


class _CaseTimeout(BaseException):
    """Raised in the reader's function when its case runs out of time.

    A BaseException, so that a reader's ``except Exception`` does not swallow it.
    """


class _TimeLimit:
    """A context that raises :class:`_CaseTimeout` after ``seconds`` (SIGALRM).

    Active only in the main thread of a platform with ``signal.setitimer``; elsewhere it
    does nothing. On leaving, the previous handler and timer are restored, the timer
    less the time spent.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = False
        self.active = False

    def __enter__(self):
        # getsignal() is None for a handler set outside Python: leave that one be.
        self.active = (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) is not None
        )
        if self.active:
            self._start = time.monotonic()
            self._old_handler = signal.signal(signal.SIGALRM, self._alarm)
            self.armed = True
            # After the first alarm, one every 0.1 s, in case the reader catches it.
            self._old_timer = signal.setitimer(
                signal.ITIMER_REAL, self.seconds, 0.1
            )
        return self

    def _alarm(self, signum, frame):
        if self.armed:
            raise _CaseTimeout

    def disarm(self) -> None:
        self.armed = False
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def restore(self) -> None:
        self.disarm()
        if self.active:
            self.active = False
            signal.signal(signal.SIGALRM, self._old_handler)
            delay, interval = self._old_timer
            if delay > 0:
                left = delay - (time.monotonic() - self._start)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)

    def __exit__(self, *exc):
        self.restore()
        return False


class _CappedText(io.TextIOBase):
    """A text stream that keeps the first :data:`PRINT_LINES` lines of what it receives."""

    def __init__(self):
        super().__init__()
        self._kept: list[str] = []
        self._chars = 0
        self._newlines = 0
        self._partial = False  # the last line has no newline yet

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(
                f"write() argument must be str, not {type(text).__name__}"
            )
        if self._chars < PRINT_CHARS:
            keep = text[: PRINT_CHARS - self._chars]
            self._kept.append(keep)
            self._chars += len(keep)
        self._newlines += text.count("\n")
        if text:
            self._partial = not text.endswith("\n")
        return len(text)

    def lines(self) -> list[str]:
        """The report's lines for the captured text: none if nothing was printed."""
        total = self._newlines + self._partial
        if total == 0:
            return []
        kept = "".join(self._kept).split("\n")
        if kept and kept[-1] == "":
            kept.pop()
        shown = [_clip(line, WIDTH - 4) for line in kept[:PRINT_LINES]]
        # The last kept line may have been cut short by the character limit.
        cut = total - len(shown)
        lines = ["  Your function printed:"] + [f"    {line}" for line in shown]
        if cut > 0:
            lines.append(
                f"    ... ({cut} more line{'s' if cut != 1 else ''} cut)"
            )
        elif self._chars >= PRINT_CHARS:
            lines.append("    ... (the rest cut)")
        return lines


@contextlib.contextmanager
def _isolated(seed: int):
    """Run with torch's CPU generator seeded, restoring it and the default dtype."""
    dtype = torch.get_default_dtype()
    generator = torch.default_generator
    state = generator.get_state()
    generator.manual_seed(seed)  # the CPU's only: seeding every device is slow
    try:
        yield
    finally:
        generator.set_state(state)
        torch.set_default_dtype(dtype)


#: The reference's results for the exercises checked last, by ``id``: the cases are
#: drawn from a fixed seed, so a second check of an exercise need not run them again.
_EXPECTED: collections.OrderedDict[int, tuple[Exercise, list]] = (
    collections.OrderedDict()
)
_EXPECTED_SIZE = 16


def _expected_results(exercise: Exercise, cases: list[Case]) -> list[tuple]:
    """:func:`_call_reference` for every case, remembered for the last few exercises."""
    key = id(exercise)
    hit = _EXPECTED.get(key)
    if hit is not None and hit[0] is exercise and len(hit[1]) == len(cases):
        _EXPECTED.move_to_end(key)
        return hit[1]
    results = [
        _call_reference(exercise, case, CASE_SEED + i)
        for i, case in enumerate(cases)
    ]
    # A copy, in case the reference returned shared state that changes later.
    with contextlib.suppress(Exception):
        results = copy.deepcopy(results)
    # The exercise is kept with its results, so that its id is not reused.
    _EXPECTED[key] = (exercise, results)
    while len(_EXPECTED) > _EXPECTED_SIZE:
        _EXPECTED.popitem(last=False)
    return results


def _call_reference(exercise: Exercise, case: Case, seed: int):
    """``(expected, rejection)``: the reference's result, or the error that rejects the input."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        with _isolated(seed):
            return exercise.reference(*args, **kwargs), None
    except (ValueError, TypeError) as err:
        return None, err
    except Exception as err:
        raise RuntimeError(
            f"the reference of {exercise.name} failed on the case {case.label!r}: "
            f"{type(err).__name__}: {_safe_str(err)}"
        ) from err


@dataclass
class _Outcome:
    result: object = None
    error: BaseException | None = None
    timed_out: bool = False
    printed: list[str] = field(default_factory=list)


def _call_reader(fn, case: Case, seed: int, timeout: float) -> _Outcome:
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    buffer = _CappedText()
    limit = _TimeLimit(timeout)
    outcome = _Outcome()
    try:
        with (
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
            _isolated(seed),
            limit,
        ):
            outcome.result = fn(*args, **kwargs)
            limit.disarm()
    except _CaseTimeout:
        outcome.timed_out = True
    except BaseException as err:
        # A reader's bug, even sys.exit(), is a result to report, never obeyed.
        outcome.error = err
    finally:
        limit.restore()
    outcome.printed = buffer.lines()
    return outcome


def _run_case(
    exercise: Exercise, fn, case: Case, seed: int, reference: tuple
) -> _CaseResult:
    """Whether ``fn`` agrees with the reference on ``case``, and if not, why.

    ``reference`` is what :func:`_call_reference` returned for the case.
    """
    expected, rejection = reference
    outcome = _call_reader(fn, case, seed, exercise.timeout)
    err = outcome.error
    if rejection is None and err is None and not outcome.timed_out:
        try:
            mismatch = _compare(
                expected,
                outcome.result,
                _top_name(exercise, expected),
                exercise,
            )
        except Exception as problem:  # pragma: no cover - a last resort
            mismatch = _Mismatch(
                "the result could not be compared",
                [
                    f"  Your result could not be compared: {_describe_error(problem)}"
                ],
            )
        if mismatch is None:
            return _CaseResult(True)
        reason = mismatch.lines
    elif (
        rejection is not None
        and err is not None
        and isinstance(err, REJECTIONS)
        and not isinstance(err, NotImplementedError)
    ):
        return _CaseResult(True)
    else:
        reason = []
        if rejection is not None:
            reason.append(
                "  Expected an error (ValueError, TypeError or RuntimeError), since the "
                f"input is invalid: {_clip(_safe_str(rejection), 300)}"
            )
        if outcome.timed_out:
            reason.append(
                f"  Your function did not finish within {exercise.timeout:g} s: does a "
                "loop never end?"
            )
        elif err is None:
            reason.append(
                f"  Your function returned {_summary(outcome.result)}"
            )
        else:
            reason += _raised(err, expected if rejection is None else _NOTHING)
    lines = (
        _describe_inputs(exercise.reference, case) + reason + outcome.printed
    )
    stop = outcome.timed_out or isinstance(err, KeyboardInterrupt)
    unattempted = isinstance(err, NotImplementedError)
    return _CaseResult(False, lines, stop=stop, not_attempted=unattempted)


_NOTHING = object()  # no expected result to show


def _raised(err: BaseException, expected) -> list[str]:
    """The lines saying what the reader's function raised, and what it should return."""
    if isinstance(err, SystemExit):
        lines = [
            f"  Your function called sys.exit() (SystemExit: {_safe_str(err) or None}); "
            "it must return its result instead."
        ]
    elif isinstance(err, KeyboardInterrupt):
        lines = ["  Your function was interrupted (KeyboardInterrupt)."]
    else:
        lines = [f"  Your function raised {_describe_error(err)}"]
    where = _where(err)
    if where:
        lines.append(f"    {where}")
    if expected is not _NOTHING:
        lines.append(
            f"  The reference returns {_summary(expected, values=False)}."
        )
    return lines


def _describe_error(err: BaseException) -> str:
    text = _clip(" ".join(_safe_str(err).split()), 300)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@functools.cache
def _library_folders() -> tuple[str, ...]:
    """The folders of torch, NumPy, nnbook and the standard library."""
    folders = [os.path.dirname(torch.__file__), os.path.dirname(np.__file__)]
    folders.append(os.path.dirname(os.path.abspath(__file__)))
    paths = sysconfig.get_paths()
    folders += [paths[key] for key in ("stdlib", "platstdlib") if key in paths]
    return tuple(os.path.abspath(f) + os.sep for f in folders)


def _where(err: BaseException) -> str | None:
    """``"in f, line 3: return x / 0"``: where in the reader's code ``err`` was raised."""
    try:
        # The first frame is _call_reader's; the last outside a library is the reader's.
        frames = traceback.extract_tb(err.__traceback__)[1:]
        for frame in reversed(frames):
            name = frame.filename
            path = "" if name.startswith("<") else os.path.abspath(name)
            if path.startswith(_library_folders()):
                continue
            line = (frame.line or "").strip()
            text = f"in {frame.name}, line {frame.lineno}"
            return _clip(f"{text}: {line}" if line else text, WIDTH - 4)
    except Exception:  # pragma: no cover - a traceback we cannot read
        return None
    return None


# -- Comparing results ----------------------------------------------------------------------


@dataclass
class _Mismatch:
    summary: str  # one line: what is wrong with this output
    lines: list[str]  # the details, for the report


def _top_name(exercise: Exercise, expected) -> str | tuple[str, ...]:
    names = exercise.outputs
    if isinstance(expected, tuple | list):
        if len(names) == len(expected):
            return tuple(names)
        return tuple(f"result {i + 1}" for i in range(len(expected)))
    return names[0] if len(names) == 1 else "result"


def _compare(expected, actual, name, exercise) -> _Mismatch | None:
    """How ``actual`` differs from ``expected``, or None when they agree."""
    if isinstance(expected, tuple | list):
        names = (
            name
            if isinstance(name, tuple)
            else tuple(f"{name}[{i}]" for i in range(len(expected)))
        )
        return _compare_sequence(expected, actual, names, exercise)
    if isinstance(expected, torch.Tensor):
        return _compare_tensor(expected, actual, name, exercise)
    if expected is None:
        if actual is None:
            return None
        return _plain_mismatch(
            name, f"{name}: expected None, got {_summary(actual)}"
        )
    if isinstance(expected, bool | np.bool_):
        got = _as_scalar(actual)
        if isinstance(got, bool | np.bool_) and bool(got) == bool(expected):
            return None
        return _plain_mismatch(
            name, f"{name}: expected {bool(expected)}, got {_summary(actual)}"
        )
    if isinstance(expected, numbers.Number):
        return _compare_number(expected, actual, name, exercise)
    if isinstance(expected, dict):
        return _compare_dict(expected, actual, name, exercise)
    try:
        same = type(actual) is type(expected) and bool(actual == expected)
    except Exception:
        same = False
    if same:
        return None
    return _plain_mismatch(
        name, f"{name}: expected {_summary(expected)}, got {_summary(actual)}"
    )


def _plain_mismatch(name, line: str) -> _Mismatch:
    return _Mismatch(line.strip(), [f"  {line}"])


def _compare_sequence(expected, actual, names, exercise) -> _Mismatch | None:
    n = len(expected)
    listed = ", ".join(names)
    if not isinstance(actual, tuple | list) or len(actual) != n:
        what = (
            f"{len(actual)} results"
            if isinstance(actual, tuple | list)
            else _summary(actual)
        )
        line = (
            f"Expected {n} result{'s' if n != 1 else ''} ({listed}), got {what}"
        )
        return _Mismatch(line, [f"  {line}"])
    wrong = []
    for e, a, name in zip(expected, actual, names, strict=True):
        mismatch = _compare(e, a, name, exercise)
        if mismatch is not None:
            wrong.append((name, mismatch))
    if not wrong:
        return None
    first = wrong[0][1]
    lines = list(first.lines)
    if len(wrong) > 1:
        lines.append(
            f"  Also different: {', '.join(name for name, _ in wrong[1:])}."
        )
    right = [name for name in names if name not in {w for w, _ in wrong}]
    if right:
        lines.append(f"  Correct: {', '.join(right)}.")
    return _Mismatch(first.summary, lines)


def _compare_dict(expected, actual, name, exercise) -> _Mismatch | None:
    if not isinstance(actual, dict):
        return _plain_mismatch(
            name, f"{name}: expected a dict, got {_summary(actual)}"
        )
    if set(actual) != set(expected):
        keys = ", ".join(sorted(map(repr, expected)))
        got = ", ".join(sorted(_safe_repr(k) for k in actual))
        return _plain_mismatch(
            name, f"{name}: expected the keys {keys}, got {got or 'none'}"
        )
    for key in expected:
        mismatch = _compare(
            expected[key], actual[key], f"{name}[{key!r}]", exercise
        )
        if mismatch is not None:
            return mismatch
    return None


def _as_scalar(x):
    """``x`` as a Python or NumPy scalar when it holds one number, else ``x``."""
    if isinstance(x, torch.Tensor):
        try:
            if x.numel() == 1:
                return _plain(x).item()
        except Exception:
            return x
    if isinstance(x, np.ndarray) and x.size == 1:
        return x.reshape(()).item()
    return x


def _compare_number(expected, actual, name, exercise) -> _Mismatch | None:
    got = _as_scalar(actual)
    if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Number):
        return _plain_mismatch(
            name,
            f"{name}: expected a number ({_num(expected)}), got {_summary(actual)}",
        )
    e, a = complex(expected), complex(got)
    if _close_scalar(e, a, exercise.rtol, exercise.atol):
        return None
    line = f"{name}: expected {_num(expected)}, got {_num(got)}"
    if all(map(_finite, (e, a))):
        diff = abs(a - e)
        line += f" (difference {_num(diff, 3)}; rtol {exercise.rtol:g}, atol {exercise.atol:g})"
    return _plain_mismatch(name, line + ".")


def _finite(z: complex) -> bool:
    return math.isfinite(z.real) and math.isfinite(z.imag)


def _close_scalar(e: complex, a: complex, rtol: float, atol: float) -> bool:
    if e == a:
        return True
    if any(map(math.isnan, (e.real, e.imag))):
        return all(map(math.isnan, (a.real, a.imag))) or (
            math.isnan(a.real) and math.isnan(e.real) and a.imag == e.imag
        )
    if not (_finite(e) and _finite(a)):
        return False
    return abs(a - e) <= atol + rtol * abs(e)


def _plain(t: torch.Tensor) -> torch.Tensor:
    """A detached plain CPU tensor with the values of ``t`` (a subclass included)."""
    with torch._C.DisableTorchFunctionSubclass():
        t = torch.Tensor.as_subclass(t, torch.Tensor)
        t = t.detach()
        if t.is_sparse:
            t = t.to_dense()
        return t.cpu().resolve_conj().resolve_neg()


def _compare_tensor(expected, actual, name, exercise) -> _Mismatch | None:
    e = _plain(expected)
    if not isinstance(actual, torch.Tensor):
        return _plain_mismatch(
            name,
            f"{name}: expected a tensor of shape {_shape(e)}, got {_summary(actual)}",
        )
    try:
        a = _plain(actual)
    except Exception as err:
        return _plain_mismatch(
            name,
            f"{name}: your {type(actual).__name__} could not be read: {_describe_error(err)}",
        )
    heads = [
        f"    expected: shape {_shape(e)}, {e.dtype}",
        f"    got:      shape {_shape(a)}, {a.dtype}",
    ]
    if a.shape != e.shape:
        lines = [f"  {name}: the shape is wrong."] + heads
        same = _same_values_elsewhere(e, a, exercise)
        if same:
            lines.append(f"    {same}")
        return _Mismatch(
            f"{name} has shape {_shape(a)}, not {_shape(e)}", lines
        )
    dtype_note = None
    if a.dtype != e.dtype:
        common = torch.promote_types(a.dtype, e.dtype)
        differ = _value_differences(e.to(common), a.to(common), name, exercise)
        if differ is None:
            dtype_note = f"the values agree once converted to {e.dtype}"
        else:
            # differ[0] reads "  name: 3 of 4 values differ ...".
            count = differ[0].strip().removeprefix(f"{name}: ")
            lines = [f"  {name}: the dtype is wrong, and {count}"] + heads
            return _Mismatch(
                f"{name} has dtype {a.dtype}, not {e.dtype}", lines + differ[1:]
            )
        lines = [f"  {name}: the dtype is wrong; {dtype_note}."] + heads
        return _Mismatch(f"{name} has dtype {a.dtype}, not {e.dtype}", lines)
    differ = _value_differences(e, a, name, exercise)
    if differ is None:
        return None
    return _Mismatch(differ[0].strip(), [differ[0]] + heads + differ[1:])


def _same_values_elsewhere(e, a, exercise) -> str | None:
    """A note when ``a`` holds the values of ``e`` in another shape, or None."""
    if a.numel() != e.numel() or e.numel() == 0:
        return None
    try:
        common = torch.promote_types(a.dtype, e.dtype)
        e, a = e.to(common), a.to(common)
        if e.ndim == 2 and a.shape == e.T.shape and _allclose(e.T, a, exercise):
            return "Your values are those of the expected result, transposed."
        if _allclose(e.reshape(a.shape), a, exercise):
            if a.squeeze().shape == e.squeeze().shape:
                return "Same values in another shape: a dimension of size 1 differs."
            return "Same values in another shape (the order of the elements agrees)."
    except Exception:
        return None
    return None


def _allclose(e, a, exercise) -> bool:
    if not (e.is_floating_point() or e.is_complex()):
        return bool(torch.equal(e, a))
    return bool(
        torch.isclose(a, e, exercise.rtol, exercise.atol, equal_nan=True).all()
    )


def _value_differences(e, a, name, exercise) -> list[str] | None:
    """The report lines for tensors of one shape and dtype whose values differ, or None.

    The first line is the summary; the rest follow the shape and dtype lines.
    """
    n = e.numel()
    inexact = e.is_floating_point() or e.is_complex()
    if inexact:
        close = torch.isclose(
            a, e, exercise.rtol, exercise.atol, equal_nan=True
        )
    else:
        close = a == e
    bad = ~close
    count = int(bad.sum())
    if count == 0:
        return None
    tol = (
        f" (rtol {exercise.rtol:g}, atol {exercise.atol:g})" if inexact else ""
    )
    lines = [f"  {name}: {count} of {n} values differ{tol}."]
    if inexact:
        odd = bad & ~torch.isfinite(a) & torch.isfinite(e)
        if odd.any():
            where = _first_index(odd)
            lines.append(
                f"    first {_num(a[where].item())} at {_at(name, where)} "
                f"(expected {_num(e[where].item())}); {int(odd.sum())} of {n} "
                f"values are not finite where finite ones are expected"
            )
        finite = bad & torch.isfinite(a) & torch.isfinite(e)
        if finite.any():
            diff = torch.where(
                finite, (a - e).abs(), torch.zeros((), dtype=a.real.dtype)
            )
            worst = _argmax_index(diff)
            lines.append(
                f"    largest absolute difference {_num(diff[worst].item(), 3)} "
                f"at {_at(name, worst)}"
            )
            rel = diff / e.abs()
            rel = torch.where(finite, rel, torch.zeros((), dtype=rel.dtype))
            rel = torch.nan_to_num(rel, nan=0.0, posinf=math.inf)
            worst_rel = _argmax_index(rel)
            value = rel[worst_rel].item()
            text = (
                "inf (the expected value is 0)"
                if math.isinf(value)
                else _num(value, 3)
            )
            lines.append(
                f"    largest relative difference {text} at {_at(name, worst_rel)}"
            )
            focus = worst
        else:
            focus = _first_index(bad)
    else:
        focus = _first_index(bad)
        lines.append(f"    first difference at {_at(name, focus)}")
    lines += _neighbours(e, a, name, focus)
    return lines


def _first_index(mask: torch.Tensor) -> tuple[int, ...]:
    flat = int(mask.reshape(-1).nonzero()[0, 0])
    return tuple(int(i) for i in np.unravel_index(flat, tuple(mask.shape)))


def _argmax_index(values: torch.Tensor) -> tuple[int, ...]:
    flat = int(values.reshape(-1).argmax())
    return tuple(int(i) for i in np.unravel_index(flat, tuple(values.shape)))


def _at(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _neighbours(e, a, name, index) -> list[str]:
    """Expected and actual values at ``index`` and its neighbours in the last dimension."""
    if not index:
        pairs = [(e.item(), a.item())]
        where = name
    else:
        *lead, j = index
        lo = max(0, min(j - 1, e.shape[-1] - 3))
        hi = min(e.shape[-1], lo + 3)
        row_e, row_a = e[tuple(lead)][lo:hi], a[tuple(lead)][lo:hi]
        pairs = list(zip(row_e.tolist(), row_a.tolist(), strict=True))
        span = f"{lo}:{hi}" if hi - lo > 1 else f"{lo}"
        where = f"{name}[{', '.join([*map(str, lead), span])}]"
    digits = 6
    for x, y in pairs:
        while digits < 17 and x != y and _num(x, digits) == _num(y, digits):
            digits += 2
    shown_e = [_num(x, digits) for x, _ in pairs]
    shown_a = [_num(y, digits) for _, y in pairs]
    width = max(map(len, shown_e + shown_a))
    lines = [f"    {where}:"]
    lines.append("      expected " + "  ".join(s.rjust(width) for s in shown_e))
    lines.append("      got      " + "  ".join(s.rjust(width) for s in shown_a))
    return lines


# -- Describing values ------------------------------------------------------------------------

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _safe_repr(x, limit: int = 60) -> str:
    """A one-line ``repr`` of ``x``, at most ``limit`` characters; never raises."""
    try:
        if type(x) in (str, bytes, list, tuple, dict, set, frozenset):
            short = reprlib.Repr()  # shortens long containers as it goes
            short.maxstring = short.maxother = limit
            text = short.repr(x)
        else:
            text = repr(x)
        text = _ADDRESS.sub("", " ".join(str(text).split()))
    except BaseException as err:  # a reader's object may raise anything
        return f"<{_type_name(x)} object; repr failed: {type(err).__name__}>"
    return _clip(text, limit)


def _safe_str(err: BaseException) -> str:
    try:
        return _ADDRESS.sub("", str(err))
    except BaseException as problem:
        return f"<str failed: {type(problem).__name__}>"


def _type_name(x) -> str:
    try:
        return type(x).__name__
    except BaseException:  # pragma: no cover
        return "object"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _num(x, digits: int = 6) -> str:
    """A number to ``digits`` significant digits; ints and bools as they are."""
    if isinstance(x, bool | np.bool_ | numbers.Integral):
        return str(x)
    if isinstance(x, complex):
        if x.imag == 0:
            return _num(x.real, digits)
        return f"{x.real:.{digits}g}{x.imag:+.{digits}g}j"
    try:
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return _safe_repr(x)


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _summary(x, values: bool = True, depth: int = 0) -> str:
    """A short description of ``x``: type, shape and dtype, and a few values."""
    try:
        if isinstance(x, torch.Tensor):
            return _tensor_summary(x, values)
        if isinstance(x, np.ndarray):
            return f"a numpy.ndarray of shape {x.shape}, {x.dtype}"
        if isinstance(x, tuple | list) and depth < 2:
            items = [_summary(e, values, depth + 1) for e in x[:4]]
            more = f", ... ({len(x)} items)" if len(x) > 4 else ""
            open_, close = ("(", ")") if isinstance(x, tuple) else ("[", "]")
            trailing = "," if isinstance(x, tuple) and len(x) == 1 else ""
            return f"{open_}{', '.join(items)}{trailing}{more}{close}"
        if isinstance(x, bool | np.bool_ | numbers.Number) or x is None:
            return _safe_repr(x)
        if isinstance(x, str):
            return _safe_repr(x)
        return f"a {_type_name(x)}: {_safe_repr(x)}"
    except Exception as err:
        return f"<{_type_name(x)} object; description failed: {type(err).__name__}>"


def _tensor_summary(x: torch.Tensor, values: bool = True) -> str:
    t = _plain(x)
    head = f"tensor of shape {_shape(t)}, {t.dtype}"
    if type(x) is not torch.Tensor and not isinstance(x, torch.nn.Parameter):
        head = f"{_type_name(x)} ({head})"
    if not values or t.numel() == 0:
        return head
    if t.numel() <= 6:
        return f"{head}: {_nested(t.tolist())}"
    flat = t.reshape(-1)
    first = ", ".join(_num(v, 4) for v in flat[:3].tolist())
    extra = ""
    if t.is_floating_point():
        finite = flat[torch.isfinite(flat)]
        if finite.numel():
            extra = f" (min {_num(finite.min().item(), 4)}, max {_num(finite.max().item(), 4)})"
        if finite.numel() < flat.numel():
            extra += f" ({flat.numel() - finite.numel()} not finite)"
    elif t.dtype == torch.bool:
        extra = f" ({int(flat.sum())} True)"
    elif not t.is_complex():
        extra = f" (min {flat.min().item()}, max {flat.max().item()})"
    return f"{head}: {first}, ...{extra}"


def _nested(values) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return _num(values, 4)


def _describe_inputs(reference, case: Case) -> list[str]:
    try:
        names = list(inspect.signature(reference).parameters)
    except (TypeError, ValueError):  # pragma: no cover - a builtin without one
        names = []
    lines = ["  Inputs:"]
    for i, arg in enumerate(case.args):
        name = names[i] if i < len(names) else f"arg{i}"
        lines.append(f"    {name} = {_summary(arg)}")
    for name, arg in case.kwargs.items():
        lines.append(f"    {name} = {_summary(arg)}")
    return lines
