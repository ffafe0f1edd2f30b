"""Exercise checking: run a reader's function and nnbook's reference on the same cases.

A chapter registers an exercise in a few lines (see :mod:`nnbook.exercises`)::

    register(Exercise(
        name="fnn.weighted_sum",
        statement="a = h W^T + b for a mini-batch h",
        equation="eq-fnn-weight-avg",
        reference=feedforward.linear,
        cases=weighted_sum_cases,      # rng -> list of Case
    ))

A reader then calls ``nnbook.check("fnn.weighted_sum", my_function)``. Every case runs
through the reference first. Where the reference returns a value, the reader's
function must return the same value (same shape, dtype and numbers, to a tolerance).
Where the reference rejects the input with ``ValueError`` or ``TypeError``, the reader's
function must reject it too. The report names the first failing case: its inputs, the
expected and actual results, and the equation it concerns, by the number the book prints
beside it ("see equation (1.1)"), never by its label.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from nnbook.equations import number as equation_number

__all__ = [
    "Case",
    "CheckReport",
    "Exercise",
    "check",
    "list_exercises",
    "register",
]

#: The seed every check draws its random cases from, so reports are reproducible.
CASE_SEED = 1234


@dataclass(frozen=True)
class Case:
    """One set of inputs for an exercise.

    Parameters
    ----------
    label : str
        What the case tests: ``"random batch"``, ``"no bias"``, ``"bad input: ..."``.
    args : tuple
        Positional arguments.
    kwargs : dict
        Keyword arguments.
    """

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """An exercise: a statement, the reference that solves it, and its test cases.

    Parameters
    ----------
    name : str
        Dotted, chapter first: ``"fnn.weighted_sum"``.
    statement : str
        One line saying what to implement.
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
    """

    name: str
    statement: str
    reference: Callable
    cases: Callable[[torch.Generator], list[Case]]
    equation: str | None = None
    rtol: float = 1e-6
    atol: float = 1e-8

    def __post_init__(self):
        if self.equation is not None and not isinstance(self.equation, str):
            raise TypeError(
                f"equation must be an equation label (str) or None, "
                f"got {type(self.equation).__name__}"
            )


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`check`. ``str(report)`` is what :func:`check` prints."""

    exercise: Exercise
    n_cases: int
    n_passed: int
    failure: str | None = None

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
        head = f"FAIL {name}: {self.n_passed} of {self.n_cases} cases passed{where}.\n"
        task = textwrap.fill(
            self.exercise.statement,
            width=80,
            initial_indent="  Task: ",
            subsequent_indent="        ",
            break_on_hyphens=False,
        )
        return "\n".join(
            _wrap(line) for line in f"{head}{task}\n{self.failure}".split("\n")
        )


#: The width of a report line: the book and a terminal show 80 columns.
WIDTH = 80


def _wrap(line: str) -> str:
    """``line`` broken at spaces to fit :data:`WIDTH`, continued one level deeper."""
    if len(line) <= WIDTH:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return textwrap.fill(
        line,
        WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


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
    """Add an exercise to the registry, so :func:`check` can find it by name."""
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


def list_exercises() -> list[str]:
    """The names of every registered exercise, sorted."""
    _load_all()
    return sorted(_REGISTRY)


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
        ``report.passed`` tells the outcome; an exception inside ``fn`` counts as a
        failed case and is reported, never raised.
    """
    exercise = _resolve(exercise)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    rng = torch.Generator().manual_seed(CASE_SEED)
    cases = exercise.cases(rng)
    report = None
    for i, case in enumerate(cases):
        failure = _run_case(exercise, fn, case)
        if failure is not None:
            text = f"  Case {i + 1} of {len(cases)}: {case.label}\n{failure}"
            report = CheckReport(exercise, len(cases), i, text)
            break
    report = report or CheckReport(exercise, len(cases), len(cases))
    if verbose:
        print(report)
    return report


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


def _run_case(exercise: Exercise, fn, case: Case) -> str | None:
    """Return None when ``fn`` agrees with the reference on ``case``, else an explanation."""
    try:
        expected = exercise.reference(
            *copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)
        )
        rejected = None
    except (ValueError, TypeError) as err:
        expected, rejected = None, err
    inputs = _describe_inputs(exercise.reference, case)
    try:
        actual = fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    except (
        Exception
    ) as err:  # a reader's bug is a result to report, never a crash
        if rejected is not None and isinstance(err, type(rejected)):
            return None
        want = (
            f"a {type(rejected).__name__} ({rejected})"
            if rejected is not None
            else f"a result:\n{_indent(_format(expected, 2))}"
        )
        return f"{inputs}  Expected {want}\n  Your function raised {type(err).__name__}: {err}\n"
    if rejected is not None:
        return (
            f"{inputs}  Expected a {type(rejected).__name__}, since the input is invalid: "
            f"{rejected}\n  Your function returned:\n{_indent(_format(actual, 2))}\n"
        )
    mismatch = _compare(expected, actual, exercise.rtol, exercise.atol)
    if mismatch is None:
        return None
    return (
        f"{inputs}  Expected:\n{_indent(_format(expected, 2))}\n"
        f"  Got:\n{_indent(_format(actual, 2))}\n  Difference: {mismatch}\n"
    )


def _compare(expected, actual, rtol, atol) -> str | None:
    """Describe how ``actual`` differs from ``expected``, or return None."""
    if isinstance(expected, tuple | list):
        if not isinstance(actual, tuple | list) or len(actual) != len(expected):
            return f"expected a sequence of {len(expected)} results, got {_kind(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            problem = _compare(e, a, rtol, atol)
            if problem is not None:
                return f"result {i}: {problem}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return f"expected a torch.Tensor, got {_kind(actual)}"
        try:
            torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)
        except AssertionError as err:
            return _first_paragraph(str(err))
        return None
    if expected is None:
        return None if actual is None else f"expected None, got {_kind(actual)}"
    if isinstance(expected, int | float):
        if isinstance(actual, torch.Tensor) and actual.numel() == 1:
            actual = actual.item()
        if not isinstance(actual, int | float):
            return f"expected a number, got {_kind(actual)}"
        if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
            return None
        return f"expected {expected:.6g}, got {actual:.6g}"
    return (
        None if actual == expected else f"expected {expected!r}, got {actual!r}"
    )


def _describe_inputs(reference, case: Case) -> str:
    try:
        names = list(inspect.signature(reference).parameters)
    except (
        TypeError,
        ValueError,
    ):  # pragma: no cover - builtins without a signature
        names = []
    lines = ["  Inputs:"]
    for i, arg in enumerate(case.args):
        name = names[i] if i < len(names) else f"arg{i}"
        lines.append(f"    {name} = {_format(arg, 6)}")
    for name, arg in case.kwargs.items():
        lines.append(f"    {name} = {_format(arg, 6)}")
    return "\n".join(lines) + "\n"


def _format(x, indent: int = 4) -> str:
    """A deterministic, compact rendering of a value (tensors with 4 decimals)."""
    if isinstance(x, torch.Tensor):
        body = np.array2string(
            x.detach().cpu().numpy(),
            precision=4,
            suppress_small=True,
            separator=", ",
        )
        pad = "\n" + " " * indent
        return (
            f"tensor of shape {tuple(x.shape)}, {x.dtype}:{pad}"
            + body.replace("\n", pad)
        )
    if isinstance(x, tuple | list):
        return "(" + ", ".join(_format(e, indent) for e in x) + ")"
    return repr(x)


def _kind(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())
