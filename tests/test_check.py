"""nnbook.check: the exercise checker runs every case and reports what a reader can act on."""

import json
import signal
import sys
import threading
import time

import pytest
import torch

import nnbook
from nnbook.check import Case, CheckReport, Exercise, check, exercise, list_exercises, register
from nnbook.equations import number

check_module = sys.modules["nnbook.check"]

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


SCALE = register(
    Exercise(
        name="test.scale",
        statement="scale(x, scale) returns x * scale and rejects scale <= 0",
        reference=_reference,
        cases=_cases,
        equation="eq-fnn-elu",  # a label the book numbers; registered, so it must be one
        hint="Multiply, and refuse a scale that is not positive.",
    )
)


def _lines(report) -> list[str]:
    lines = str(report).splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    return lines


# -- Outcomes and counts ---------------------------------------------------------------


def test_a_correct_solution_passes(capsys):
    report = check(SCALE, _reference)
    assert report.passed and report.n_passed == report.n_cases == 3
    assert capsys.readouterr().out == "PASS test.scale: all 3 cases agree with the reference.\n"
    assert repr(report) == "<CheckReport PASS test.scale: 3 of 3 cases passed>"


def test_a_wrong_value_is_shown_with_inputs_and_equation():
    report = check(SCALE, lambda x, scale: x * scale + 1e-3, verbose=False)
    text = str(report)
    assert not report.passed and report.n_passed == 0
    first_line = f"FAIL test.scale: 0 of 3 cases passed; see equation {number('eq-fnn-elu')}."
    assert _lines(report)[0] == first_line
    assert "eq-fnn-elu" not in text  # the reader sees the book's number, never the label
    assert "  Task: scale(x, scale) returns x * scale and rejects scale <= 0" in text
    assert "Case 1 of 3: random" in text
    assert "x = tensor of shape (3,), torch.float64" in text
    assert "result: 3 of 3 values differ (rtol 1e-06, atol 1e-08)." in text
    assert "largest absolute difference 0.001 at result[" in text


def test_every_case_runs_and_the_header_counts_them_all():
    def wrong_on_zeros(x, scale):
        if scale <= 0:
            raise ValueError("no")
        return x * scale if x.any() else x + 1

    report = check(SCALE, wrong_on_zeros, verbose=False)
    assert (report.n_cases, report.n_passed) == (3, 2)
    assert _lines(report)[0].startswith("FAIL test.scale: 2 of 3 cases passed;")
    assert "Case 2 of 3: edge: zeros" in report.failure


def test_the_other_failing_cases_are_listed_in_one_line():
    report = check(SCALE, lambda x, scale: x + 1, verbose=False)
    lines = _lines(report)
    assert "Case 1 of 3: random" in report.failure
    also = [line for line in lines if line.startswith("  Also failing:")]
    assert also == ["  Also failing: case 2 (edge: zeros), case 3 (bad input: negative scale)."]


def test_the_hint_follows_a_failure_and_only_a_failure(capsys):
    assert _lines(check(SCALE, lambda x, scale: -x, verbose=False))[-1] == (
        "  Hint: Multiply, and refuse a scale that is not positive."
    )
    check(SCALE, _reference)
    assert "Hint" not in capsys.readouterr().out


def test_an_equation_the_book_does_not_number_is_cited_by_its_label():
    outside = Exercise("test.outside", "x * scale", _reference, _cases, equation="eq-elsewhere")
    report = check(outside, lambda x, scale: -x, verbose=False)
    assert "cases passed; see equation eq-elsewhere.\n" in str(report)


def test_an_exercise_without_an_equation_cites_none():
    plain = Exercise("test.plain", "x * scale", _reference, _cases)
    report = check(plain, lambda x, scale: x + 1, verbose=False)
    assert str(report).splitlines()[0] == "FAIL test.plain: 0 of 3 cases passed."


def test_an_unattempted_exercise_gets_a_short_note():
    def stub(x, scale):
        raise NotImplementedError("your code here")

    report = check(SCALE, stub, verbose=False)
    lines = _lines(report)
    assert not report.passed and not report.attempted
    assert lines[0].startswith("FAIL test.scale: 0 of 3 cases passed")
    assert lines[1].startswith("  Task: ")
    assert (
        " ".join(lines[2:]).split()
        == (
            "Not attempted yet: replace the NotImplementedError in your function with your "
            "code and run the cell again."
        ).split()
    )
    assert "Hint" not in str(report)


def test_a_stub_is_unattempted_even_when_the_first_case_is_invalid():
    def invalid_first(rng):
        return list(reversed(_cases(rng)))

    ex = Exercise("test.invalid_first", "scale(x, scale)", _reference, invalid_first)

    def stub(x, scale):
        raise NotImplementedError

    report = check(ex, stub, verbose=False)
    assert not report.attempted and "Not attempted yet" in report.failure


def test_a_not_implemented_part_is_an_ordinary_failure():
    def half_done(x, scale):
        if scale <= 0:
            raise NotImplementedError("later")
        return x * scale

    report = check(SCALE, half_done, verbose=False)
    assert report.attempted and report.n_passed == 2
    assert "Your function raised NotImplementedError: later" in report.failure


# -- Mismatches ------------------------------------------------------------------------


def _pair_reference(h, W):
    a = h @ W.T
    return a, a.sum(0)


def _pair_cases(rng):
    return [
        Case("a batch of 4", (torch.randn(4, 3, generator=rng, dtype=torch.float64),
                              torch.randn(2, 3, generator=rng, dtype=torch.float64))),
        Case("a batch of 30", (torch.randn(30, 3, generator=rng, dtype=torch.float64),
                               torch.randn(2, 3, generator=rng, dtype=torch.float64))),
    ]  # fmt: skip


PAIR = Exercise(
    "test.pair",
    "pair(h, W) returns (a, s): the weighted sums a = h W^T and their sum s over the batch",
    _pair_reference,
    _pair_cases,
    outputs=("a", "s"),
)


def test_a_mismatch_names_the_output_and_locates_the_largest_differences():
    def off_at_one_place(h, W):
        a = h @ W.T
        s = a.sum(0)
        a = a.clone()
        a[2, 1] += 0.5
        return a, s

    report = check(PAIR, off_at_one_place, verbose=False)
    text = str(report)
    _lines(report)
    assert "  a: 1 of 8 values differ (rtol 1e-06, atol 1e-08)." in text
    assert "    expected: shape (4, 2), torch.float64" in text
    assert "    got:      shape (4, 2), torch.float64" in text
    assert "largest absolute difference 0.5 at a[2, 1]" in text
    assert "largest relative difference" in text and "at a[2, 1]" in text
    assert "    a[2, 0:2]:" in text
    assert "  Correct: s." in text
    assert "Tensor-likes" not in text


def test_neighbouring_values_are_shown_around_the_worst_one():
    ex = Exercise("test.ramp", "ramp()", lambda: torch.arange(10.0), lambda rng: [Case("r", ())])
    got = torch.arange(10.0)
    got[5] = 50.0
    lines = _lines(check(ex, lambda: got, verbose=False))
    i = lines.index("    result[4:7]:")
    assert lines[i + 1].split() == ["expected", "4", "5", "6"]
    assert lines[i + 2].split() == ["got", "4", "50", "6"]


def test_a_difference_from_an_expected_zero_is_infinitely_large_relatively():
    ex = Exercise(
        "test.zero",
        "zero()",
        lambda: torch.zeros(3, dtype=torch.float64),
        lambda rng: [Case("c", ())],
    )
    got = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    report = check(ex, lambda: got, verbose=False)
    assert "largest relative difference inf (the expected value is 0) at result[1]" in (
        report.failure
    )


def test_without_names_outputs_are_numbered_from_one():
    unnamed = Exercise("test.unnamed", PAIR.statement, _pair_reference, _pair_cases)
    report = check(unnamed, lambda h, W: (h @ W.T, (h @ W.T).sum(0) + 1), verbose=False)
    assert "  result 2: 2 of 2 values differ" in report.failure
    assert "  Correct: result 1." in report.failure


def test_several_wrong_outputs_are_all_named():
    report = check(PAIR, lambda h, W: (h @ W.T + 1, (h @ W.T).sum(0) + 1), verbose=False)
    assert "  a: 8 of 8 values differ" in report.failure
    assert "  Also different: s." in report.failure


def test_a_wrong_number_of_results_is_named():
    report = check(PAIR, lambda h, W: h @ W.T, verbose=False)
    assert "Expected 2 results (a, s), got tensor of shape (4, 2)" in report.failure


def test_inputs_are_summarised_never_printed_whole():
    report = check(PAIR, lambda h, W: None, verbose=False)
    text = str(report)
    h = PAIR.cases(torch.Generator().manual_seed(check_module.CASE_SEED))[0].args[0]
    assert "h = tensor of shape (4, 3), torch.float64: " in text
    assert f"(min {h.min().item():.4g}, max {h.max().item():.4g})" in " ".join(text.split())
    assert "W = tensor of shape (2, 3), torch.float64: [[" in text  # 6 values: all shown
    assert len(text.splitlines()) < 20


def test_a_wrong_shape_is_named():
    report = check(SCALE, lambda x, scale: (x * scale)[None], verbose=False)
    assert "result: the shape is wrong." in report.failure
    assert "    expected: shape (3,), torch.float64" in report.failure
    assert "    got:      shape (1, 3), torch.float64" in report.failure
    assert "Same values in another shape" in report.failure


def test_a_transpose_is_recognised_and_other_shapes_are_not_called_the_same_values():
    transposed = check(PAIR, lambda h, W: ((h @ W.T).T, (h @ W.T).sum(0)), verbose=False)
    assert "Your values are those of the expected result, transposed." in transposed.failure
    other = check(PAIR, lambda h, W: (W @ h.T + 1, (h @ W.T).sum(0)), verbose=False)
    assert "shape (2, 4)" in other.failure
    assert "Same values" not in other.failure and "transposed" not in other.failure


def test_a_wrong_dtype_says_whether_the_values_agree():
    report = check(SCALE, lambda x, scale: (x * scale).float(), verbose=False)
    assert "result: the dtype is wrong; the values agree once converted to torch.float64." in (
        report.failure
    )
    assert "    got:      shape (3,), torch.float32" in report.failure
    worse = check(SCALE, lambda x, scale: (x * scale + 1).float(), verbose=False)
    assert "result: the dtype is wrong, and 3 of 3 values differ (rtol" in worse.failure
    assert "largest absolute difference 1 at result[" in worse.failure


def test_a_non_finite_value_is_located():
    def nan_at_the_end(x, scale):
        y = x * scale
        y[-1] = float("nan")
        return y

    report = check(SCALE, nan_at_the_end, verbose=False)
    assert "first nan at result[2] (expected " in report.failure
    assert "1 of 3 values are not finite" in report.failure


def test_nan_where_the_reference_has_nan_agrees():
    ex = Exercise(
        "test.nan", "log(x)", lambda x: torch.log(x), lambda rng: [Case("c", (torch.tensor([-1.0, 1.0]),))]
    )  # fmt: skip
    assert check(ex, lambda x: x.log(), verbose=False).passed


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64])
def test_exact_dtypes_are_compared_exactly(dtype):
    ex = Exercise(
        "test.exact",
        "positive(x)",
        lambda x: (x > 0).to(dtype),
        lambda rng: [Case("c", (torch.tensor([-1.0, 2.0, 3.0, -4.0]),))],
    )
    assert check(ex, lambda x: (x > 0).to(dtype), verbose=False).passed
    report = check(ex, lambda x: (x >= 3).to(dtype), verbose=False)
    assert "result: 1 of 4 values differ." in report.failure
    assert "first difference at result[1]" in report.failure


def test_python_numbers_are_compared_to_the_tolerance():
    ex = Exercise(
        "test.number",
        "half(x)",
        lambda x: x / 2,
        lambda rng: [Case("c", (3.0,))],
        outputs=("y",),
        rtol=1e-3,
    )
    assert check(ex, lambda x: x / 2 + 1e-4, verbose=False).passed
    assert check(ex, lambda x: torch.tensor(x / 2), verbose=False).passed  # one-element tensor
    report = check(ex, lambda x: x, verbose=False)
    assert "  y: expected 1.5, got 3 (difference 1.5; rtol 0.001, atol 1e-08)." in report.failure
    text = check(ex, lambda x: "1.5", verbose=False).failure
    assert "y: expected a number (1.5), got '1.5'" in text


def test_nested_results_and_none_are_compared_by_name():
    ex = Exercise(
        "test.nested",
        "nested(x)",
        lambda x: (x, (x + 1, None), 2),
        lambda rng: [Case("c", (torch.ones(2, dtype=torch.float64),))],
        outputs=("x", "pair", "two"),
    )
    assert check(ex, lambda x: [x, [x + 1, None], 2], verbose=False).passed
    report = check(ex, lambda x: (x, (x + 1, x), 2), verbose=False)
    assert "  pair[1]: expected None, got tensor of shape (2,)" in report.failure
    report = check(ex, lambda x: (x, (x + 2, None), 2), verbose=False)
    assert "  pair[0]: 2 of 2 values differ" in report.failure
    assert "  Correct: x, two." in report.failure


def test_a_tensor_subclass_is_compared_by_its_values():
    class Tagged(torch.Tensor):
        pass

    def subclass(x, scale):
        if scale <= 0:
            raise ValueError("no")
        return (x * scale).as_subclass(Tagged)

    assert check(SCALE, subclass, verbose=False).passed
    report = check(SCALE, lambda x, s: (x + 1).as_subclass(Tagged), verbose=False)
    assert "3 of 3 values differ" in report.failure


# -- A checker that cannot be broken ---------------------------------------------------


def _quick(timeout=0.5):
    return Exercise("test.quick", "quick(x)", lambda x: x, _two_cases, timeout=timeout)


def _two_cases(rng):
    return [Case("first", (1.0,)), Case("second", (2.0,))]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM on this platform")
def test_a_runaway_loop_fails_within_the_timeout():
    def runaway(x):
        while True:
            pass

    start = time.monotonic()
    report = check(_quick(), runaway, verbose=False)
    assert time.monotonic() - start < 3
    assert not report.passed and report.n_passed == 0
    assert "Your function did not finish within 0.5 s" in report.failure
    assert report.also_failing == ("case 2 (second; not run)",)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM on this platform")
def test_the_previous_alarm_handler_and_timer_are_restored():
    fired = []

    def handler(*args):
        fired.append(1)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert check(_quick(), lambda x: x, verbose=False).passed
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30
        assert signal.getsignal(signal.SIGALRM) is handler
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.2)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_a_case_runs_without_a_time_limit():
    reports = []
    thread = threading.Thread(
        target=lambda: reports.append(check(_quick(), lambda x: x, verbose=False))
    )
    thread.start()
    thread.join(10)
    assert reports and reports[0].passed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (lambda x: sys.exit(3), "Your function called sys.exit() (SystemExit: 3)"),
        (lambda x: sys.exit(), "Your function called sys.exit() (SystemExit: None)"),
        (lambda x: (_ for _ in ()).throw(KeyboardInterrupt), "was interrupted (KeyboardInterrupt)"),
        (lambda x: (_ for _ in ()).throw(GeneratorExit), "Your function raised GeneratorExit"),
    ],
)
def test_exits_and_interrupts_are_failed_cases_not_obeyed(body, message):
    report = check(_quick(), body, verbose=False)
    assert not report.passed
    assert message in report.failure


def test_an_interrupt_stops_the_remaining_cases():
    def interrupted(x):
        raise KeyboardInterrupt

    report = check(_quick(), interrupted, verbose=False)
    assert report.also_failing == ("case 2 (second; not run)",)


class _Hostile:
    def __repr__(self):
        raise ValueError("no repr")

    __str__ = __repr__

    def __eq__(self, other):
        raise ValueError("no ==")

    def __bool__(self):
        raise ValueError("no bool")

    __hash__ = object.__hash__


@pytest.mark.parametrize("expected", [torch.ones(1, dtype=torch.float64), 1.0, "text", None])
def test_a_hostile_result_is_described_safely(expected):
    ex = Exercise("test.hostile", "f()", lambda: expected, lambda rng: [Case("c", ())])
    report = check(ex, lambda: _Hostile(), verbose=False)
    assert not report.passed
    assert "<_Hostile object; repr failed: ValueError>" in report.failure
    _lines(report)


def test_an_exception_whose_message_raises_is_reported():
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no message")

    def raising(x):
        raise Odd

    report = check(_quick(), raising, verbose=False)
    assert "Your function raised Odd: <str failed: RuntimeError>" in report.failure


def test_an_exception_is_a_failed_case_not_a_crash():
    def broken(x, scale):
        raise ZeroDivisionError("oops")

    report = check(SCALE, broken, verbose=False)
    assert not report.passed
    assert "Your function raised ZeroDivisionError: oops" in report.failure
    assert "    in broken, line " in report.failure  # where, in the reader's code
    assert "The reference returns tensor of shape (3,), torch.float64." in report.failure


def test_printing_is_captured_capped_and_shown_only_for_a_failure(capsys):
    def chatty(x):
        for i in range(1000):
            print(f"step {i}", "x" * 200)
        return -x

    report = check(_quick(), chatty, verbose=False)
    assert capsys.readouterr().out == ""
    lines = _lines(report)
    start = lines.index("  Your function printed:")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("    ... ("))
    shown = lines[start + 1 : end]
    assert 0 < len(shown) <= check_module.PRINT_LINES
    assert shown[0].startswith("    step 0 xxx") and shown[0].endswith("...")
    assert sum(map(len, shown)) <= check_module.PRINT_CHARS
    assert "more lines cut)" in str(report)
    assert len(lines) < 40

    def quiet_pass(x):
        print("debugging")
        return x

    assert check(_quick(), quiet_pass).passed
    assert capsys.readouterr().out == "PASS test.quick: all 2 cases agree with the reference.\n"


def test_nothing_printed_means_no_printed_section():
    assert "printed" not in check(_quick(), lambda x: -x, verbose=False).failure


def test_the_reader_cannot_change_the_reference_inputs():
    def mutating(x, scale):
        if scale <= 0:
            raise ValueError("scale must be positive")
        x.mul_(scale)  # in place: must not leak into the reference's copy
        return x

    assert check(SCALE, mutating, verbose=False).passed


def test_a_mutation_cannot_reach_another_case():
    shared = torch.ones(2, dtype=torch.float64)
    ex = Exercise(
        "test.shared",
        "double(x)",
        lambda x: 2 * x,
        lambda rng: [Case("first", (shared,)), Case("second", (shared,))],
    )

    def double_in_place(x):
        return x.mul_(2)

    assert check(ex, double_in_place, verbose=False).passed
    assert torch.equal(shared, torch.ones(2, dtype=torch.float64))


def test_the_global_generator_is_seeded_for_both_and_restored():
    ex = Exercise("test.noise", "noise(n)", lambda n: torch.randn(n), lambda rng: [Case("c", (3,))])
    before = torch.get_rng_state()
    assert check(ex, lambda n: torch.randn(n), verbose=False).passed
    assert torch.equal(torch.get_rng_state(), before)


# -- Invalid inputs --------------------------------------------------------------------


def test_invalid_input_must_be_rejected():
    report = check(SCALE, lambda x, scale: x * scale, verbose=False)
    assert report.n_passed == 2
    assert "Case 3 of 3: bad input: negative scale" in report.failure
    assert (
        "Expected an error (ValueError, TypeError or RuntimeError), since the input is "
        "invalid: scale must be > 0"
    ) in " ".join(report.failure.split())
    assert "Your function returned tensor of shape (2,)" in report.failure


@pytest.mark.parametrize("error", [ValueError, TypeError, RuntimeError])
def test_any_of_the_three_rejections_passes(error):
    def rejecting(x, scale):
        if scale <= 0:
            raise error("nope")
        return x * scale

    assert check(SCALE, rejecting, verbose=False).passed


def test_rejecting_with_another_exception_type_fails():
    def wrong_type(x, scale):
        if scale <= 0:
            raise IndexError("nope")
        return x * scale

    report = check(SCALE, wrong_type, verbose=False)
    assert "Your function raised IndexError: nope" in report.failure
    assert "The reference returns" not in report.failure


# -- Names, registration and arguments -------------------------------------------------


def test_exercises_are_found_by_name():
    assert "test.scale" in list_exercises()
    report = nnbook.check("test.scale", _reference, verbose=False)
    assert report.passed


def test_reports_are_reproducible():
    first = nnbook.check("test.scale", lambda x, s: x * s + 1e-3, verbose=False)
    second = nnbook.check("test.scale", lambda x, s: x * s + 1e-3, verbose=False)
    assert str(first) == str(second)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"exercise must be one of .*test.scale.*got 'nope'"):
        nnbook.check("nope", lambda: None)


@pytest.mark.parametrize(
    ("exercise_", "fn", "message"),
    [
        (SCALE, 42, r"fn must be callable, got int"),
        (3.0, _reference, r"exercise must be a name or an Exercise, got float"),
    ],
)
def test_bad_arguments_are_refused(exercise_, fn, message):
    with pytest.raises(TypeError, match=message):
        check(exercise_, fn)


def test_verbose_must_be_a_bool():
    with pytest.raises(TypeError, match=r"verbose must be a bool, got str"):
        check(SCALE, _reference, verbose="no")


def test_an_equation_must_be_a_label():
    with pytest.raises(
        TypeError, match=r"equation must be an equation label \(str\) or None, got float"
    ):
        Exercise("test.bad", "x", _reference, _cases, equation=1.6)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"kind": "prove"}, ValueError, r"kind must be one of implement, derive, experiment"),
        ({"timeout": 0}, ValueError, r"timeout must be > 0, got 0"),
        ({"rtol": -1.0}, ValueError, r"rtol must be >= 0, got -1.0"),
        ({"atol": "0"}, TypeError, r"atol must be a real number, got str"),
        ({"outputs": ("a", 3)}, ValueError, r"outputs must be non-empty strs"),
        ({"outputs": "a"}, TypeError, r"outputs must be a tuple, got str"),
        ({"wrong": [_reference]}, TypeError, r"wrong must be a dict of str to callable"),
        ({"wrong": {"typo": 3}}, TypeError, r"wrong must map a str to a callable"),
        ({"alternatives": (3,)}, TypeError, r"alternatives must be callables"),
        ({"hint": 3}, TypeError, r"hint must be a str or None, got int"),
        ({"section": 3}, TypeError, r"section must be a str or None, got int"),
    ],
)
def test_an_exercise_checks_its_fields(options, error, message):
    with pytest.raises(error, match=message):
        Exercise("test.bad", "x", _reference, _cases, **options)


def test_the_decorator_names_the_exercise_after_module_and_function():
    def tripled(x):
        return 3 * x

    tripled.__module__ = "nnbook.exercises.test"
    made = exercise(statement="tripled(x) returns 3 x", cases=_two_cases, kind="derive")(tripled)
    assert made.name == "test.tripled" and made.kind == "derive"
    assert check("test.tripled", lambda x: 3 * x, verbose=False).passed
    with pytest.raises(TypeError, match=r"exercise\(\) takes no 'name'"):
        exercise(statement="s", cases=_two_cases, name="x")
    with pytest.raises(TypeError, match=r"cases must be callable, got int"):
        exercise(statement="s", cases=3)


def test_a_case_checks_its_fields():
    with pytest.raises(TypeError, match=r"label must be a str, got int"):
        Case(3, ())
    with pytest.raises(TypeError, match=r"args must be a tuple, got Tensor"):
        Case("c", torch.ones(2))
    assert Case("c", [1, 2]).args == (1, 2)


def test_a_report_checks_its_counts():
    with pytest.raises(ValueError, match=r"n_passed must be in \[0, n_cases=3\], got 4"):
        CheckReport(SCALE, 3, 4)


def test_register_refuses_a_second_exercise_with_the_same_name():
    register(SCALE)
    assert register(SCALE) is SCALE  # registering the same object again is harmless
    clash = Exercise("test.scale", "another", _reference, _cases)
    with pytest.raises(ValueError, match=r"already registered"):
        register(clash)
    with pytest.raises(TypeError, match=r"exercise must be an Exercise, got str"):
        register("test.scale")


def test_a_long_word_is_broken_to_fit_80_columns():
    ex = Exercise("test.long", "x" * 200, lambda: 1, lambda rng: [Case("y" * 150, ())])
    lines = _lines(check(ex, lambda: "z" * 300, verbose=False))
    assert len(lines) > 5


# -- The list of exercises and progress ------------------------------------------------


@pytest.fixture
def fresh_progress(monkeypatch):
    monkeypatch.setattr(check_module, "_PASSED", set())
    monkeypatch.delenv("NNBOOK_PROGRESS", raising=False)


def test_the_list_is_a_sorted_list_of_names(fresh_progress):
    names = list_exercises()
    assert isinstance(names, list) and names == sorted(names)
    assert "test.scale" in names and len(names) == len(list(iter(names)))
    assert all(isinstance(name, str) for name in names)


def test_the_list_prints_by_chapter_and_kind_with_marks_and_a_count(fresh_progress):
    check(SCALE, _reference, verbose=False)
    text = str(list_exercises(chapter="test"))
    lines = text.splitlines()
    assert lines[0] == "test"
    implement = next(line for line in lines if line.startswith("  implement:"))
    assert "✓ scale" in implement and "✓ quick" not in implement
    n = len(list_exercises(chapter="test"))
    assert lines[-1] == f"{n} exercises, 1 passed here."
    assert repr(list_exercises(chapter="test")) == text
    assert max(len(line) for line in str(list_exercises()).splitlines()) <= 80


def test_ipython_pretty_prints_the_grouped_form(fresh_progress):
    from IPython.lib.pretty import pretty

    assert pretty(list_exercises(chapter="test")) == str(list_exercises(chapter="test"))


def test_the_list_filters_by_chapter_and_kind(fresh_progress):
    assert all(name.startswith("test.") for name in list_exercises(chapter="test"))
    derive = list_exercises(kind="derive")
    assert all(check_module._REGISTRY[name].kind == "derive" for name in derive)
    with pytest.raises(ValueError, match=r"chapter must be one of .*test.*, got 'nope'"):
        list_exercises(chapter="nope")
    with pytest.raises(ValueError, match=r"kind must be one of implement, derive, experiment"):
        list_exercises(kind="prove")
    with pytest.raises(TypeError, match=r"chapter must be a str or None, got int"):
        list_exercises(chapter=1)


def test_without_a_progress_file_passes_stay_in_memory(fresh_progress, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNBOOK_PROGRESS", "")
    check(SCALE, _reference, verbose=False)
    assert "test.scale" in list_exercises().passed
    assert list(tmp_path.iterdir()) == []


def test_a_progress_file_keeps_passes_between_sessions(fresh_progress, tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv("NNBOOK_PROGRESS", str(path))
    check(SCALE, _reference, verbose=False)
    check(SCALE, lambda x, scale: -x, verbose=False)  # a failure takes nothing back
    assert json.loads(path.read_text()) == {"passed": ["test.scale"]}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]  # no temporary left
    monkeypatch.setattr(check_module, "_PASSED", set())  # a new session
    assert "✓ scale" in str(list_exercises(chapter="test"))
    path.write_text("{not json")
    with pytest.warns(UserWarning, match=r"NNBOOK_PROGRESS: cannot read"):
        assert "✓" not in str(list_exercises(chapter="test"))


def test_a_second_check_reuses_the_reference_results():
    calls = []

    def counted(x):
        calls.append(x)
        return 2 * x

    ex = Exercise("test.counted", "double(x)", counted, _two_cases)
    assert check(ex, lambda x: 2 * x, verbose=False).passed
    assert not check(ex, lambda x: 3 * x, verbose=False).passed
    assert len(calls) == 2  # once per case, for both checks
