"""nnbook.check: the exercise checker reports passes and the first failing case."""

import pytest
import torch

import nnbook
from nnbook.check import Case, Exercise, check, list_exercises, register
from nnbook.equations import number

pytestmark = pytest.mark.spine


def _reference(x, scale):
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return x * scale


def _cases(rng):
    return [
        Case("random", (torch.randn(3, generator=rng, dtype=torch.float64), 2.0)),
        Case("edge: zeros", (torch.zeros(2, dtype=torch.float64), 1.0)),
        Case("bad input: negative scale", (torch.ones(2, dtype=torch.float64), -1.0)),
    ]


SCALE = Exercise(
    name="test.scale",
    statement="scale(x, scale) returns x * scale and rejects scale <= 0",
    reference=_reference,
    cases=_cases,
    equation="eq-fnn-elu",  # a label the book numbers; registered below, so it must be one
)


def test_a_correct_solution_passes(capsys):
    report = check(SCALE, _reference)
    assert report.passed and report.n_passed == report.n_cases == 3
    assert capsys.readouterr().out == "PASS test.scale: all 3 cases agree with the reference.\n"


def test_a_wrong_value_is_shown_with_inputs_and_equation():
    report = check(SCALE, lambda x, scale: x * scale + 1e-3, verbose=False)
    text = str(report)
    assert not report.passed and report.n_passed == 0
    first_line = f"FAIL test.scale: 0 of 3 cases passed; see equation {number('eq-fnn-elu')}."
    assert text.splitlines()[0] == first_line
    assert "eq-fnn-elu" not in text  # the reader sees the book's number, never the label
    assert "Case 1 of 3: random" in text
    assert "x = tensor of shape (3,), torch.float64" in text
    assert "Expected:" in text and "Got:" in text and "Difference:" in text


def test_an_equation_the_book_does_not_number_is_cited_by_its_label():
    outside = Exercise("test.outside", "x * scale", _reference, _cases, equation="eq-elsewhere")
    report = check(outside, lambda x, scale: -x, verbose=False)
    assert "cases passed; see equation eq-elsewhere.\n" in str(report)


def test_an_exercise_without_an_equation_cites_none():
    plain = Exercise("test.plain", "x * scale", _reference, _cases)
    report = check(plain, lambda x, scale: -x, verbose=False)
    assert str(report).splitlines()[0] == "FAIL test.plain: 0 of 3 cases passed."


def test_a_wrong_shape_is_named():
    report = check(SCALE, lambda x, scale: (x * scale)[None], verbose=False)
    assert "shape" in report.failure


def test_an_exception_is_a_failed_case_not_a_crash():
    def broken(x, scale):
        raise ZeroDivisionError("oops")

    report = check(SCALE, broken, verbose=False)
    assert not report.passed
    assert "Your function raised ZeroDivisionError: oops" in report.failure


def test_invalid_input_must_be_rejected():
    report = check(SCALE, lambda x, scale: x * scale, verbose=False)
    assert report.n_passed == 2
    assert "Case 3 of 3: bad input: negative scale" in report.failure
    assert "Expected a ValueError, since the input is invalid: scale must be > 0" in report.failure


def test_rejecting_with_the_wrong_exception_type_fails():
    def wrong_type(x, scale):
        if scale <= 0:
            raise TypeError("nope")
        return x * scale

    report = check(SCALE, wrong_type, verbose=False)
    assert "Your function raised TypeError: nope" in report.failure


def test_the_reader_cannot_change_the_reference_inputs():
    def mutating(x, scale):
        if scale <= 0:
            raise ValueError("scale must be positive")
        x.mul_(scale)  # in place: must not leak into the reference's copy
        return x

    assert check(SCALE, mutating, verbose=False).passed


def test_exercises_are_found_by_name():
    assert "fnn.weighted_sum" in list_exercises()
    report = nnbook.check("fnn.weighted_sum", nnbook.feedforward.linear, verbose=False)
    assert report.passed


def test_every_registered_reference_solves_its_own_exercise():
    from nnbook.check import _REGISTRY

    for name in list_exercises():
        assert check(name, _REGISTRY[name].reference, verbose=False).passed, name


def test_every_exercise_has_a_bad_input_case():
    from nnbook.check import _REGISTRY

    for name in list_exercises():
        exercise = _REGISTRY[name]
        labels = [case.label for case in exercise.cases(torch.Generator().manual_seed(0))]
        assert any(label.startswith("bad input") for label in labels), name


def test_reports_are_reproducible():
    wrong = lambda h, W, b=None: h @ W.T  # noqa: E731
    first = nnbook.check("fnn.weighted_sum", wrong, verbose=False)
    second = nnbook.check("fnn.weighted_sum", wrong, verbose=False)
    assert str(first) == str(second)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"exercise must be one of .*fnn.weighted_sum.*got 'nope'"):
        nnbook.check("nope", lambda: None)


@pytest.mark.parametrize(
    ("exercise", "fn", "message"),
    [
        (SCALE, 42, r"fn must be callable, got int"),
        (3.0, _reference, r"exercise must be a name or an Exercise, got float"),
    ],
)
def test_bad_arguments_are_refused(exercise, fn, message):
    with pytest.raises(TypeError, match=message):
        check(exercise, fn)


def test_an_equation_must_be_a_label():
    with pytest.raises(
        TypeError, match=r"equation must be an equation label \(str\) or None, got float"
    ):
        Exercise("test.bad", "x", _reference, _cases, equation=1.6)


def test_register_refuses_a_second_exercise_with_the_same_name():
    register(SCALE)
    assert register(SCALE) is SCALE  # registering the same object again is harmless
    clash = Exercise("test.scale", "another", _reference, _cases)
    with pytest.raises(ValueError, match=r"already registered"):
        register(clash)
    with pytest.raises(TypeError, match=r"exercise must be an Exercise, got str"):
        register("test.scale")


@pytest.mark.parametrize("name", list_exercises())
def test_a_failure_report_fits_80_columns(name):
    """Every line of a report, the task statement and the reader's error included."""

    def wrong(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'Tensor' and 'NoneType', " * 2)

    report = check(name, wrong, verbose=False)
    assert not report.passed
    lines = str(report).splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert any(line.startswith("  Task: ") for line in lines)
