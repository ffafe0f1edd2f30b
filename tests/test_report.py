"""nnbook.report: printing bounds and spreads instead of rounding noise."""

import math

import pytest
import torch

from nnbook.report import below, between, human, spread

pytestmark = pytest.mark.spine


@pytest.mark.parametrize("value", [0.0, 1.4e-17, 9.9e-13, torch.tensor(3e-16)])
def test_below_prints_the_bound_not_the_noise(value):
    assert below(value, 1e-12) == "< 1e-12"


@pytest.mark.parametrize("value", [1e-12, 2e-3, math.nan, math.inf])
def test_below_fails_loudly_when_the_claim_is_false(value):
    with pytest.raises(AssertionError, match=r"expected a value below 1e-12, got"):
        below(value, 1e-12)


@pytest.mark.parametrize(
    ("bound", "error", "message"),
    [
        (0.0, ValueError, r"bound must be in \(0"),
        (math.nan, ValueError, r"bound must be a number, got nan"),
        ("1e-12", TypeError, r"bound must be a"),
    ],
)
def test_below_rejects_a_bad_bound(bound, error, message):
    with pytest.raises(error, match=message):
        below(0.0, bound)


def test_spread_reports_mean_and_range():
    assert spread([0.9, 0.95, 1.0], ".1%") == "95.0% (90.0% to 100.0% over 3 seeds)"
    assert spread([0.25], ".2f", " nats") == "0.25 nats (0.25 nats to 0.25 nats over 1 seed)"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], r"values must hold at least one number"),
        ([1.0, math.nan], r"values\[1\] must be a number, got nan"),
    ],
)
def test_spread_rejects_empty_and_nan(values, message):
    with pytest.raises(ValueError, match=message):
        spread(values)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: spread([1.0], fmt="q"), ValueError, r"fmt must be a format specification .*got 'q'"),
        (lambda: spread([1.0], fmt=3), TypeError, r"fmt must be a str, got int"),
        (lambda: between(0.5, 0.0, 1.0, fmt="q"), ValueError, r"fmt must be a format"),
    ],
)  # fmt: skip
def test_a_bad_format_is_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_between_checks_and_formats_a_range():
    assert between(0.17, 0.1, 0.2) == "between 0.10 and 0.20"
    assert between(torch.tensor(0.03), high=0.1) == "below 0.10"
    assert between(0.5, low=0.3, fmt=".1f") == "above 0.3"
    with pytest.raises(AssertionError, match=r"expected a value between 0.1 and 0.2, got 0.25"):
        between(0.25, 0.1, 0.2)
    with pytest.raises(AssertionError):
        between(math.nan, high=1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "between needs low, high or both, got neither"),
        (
            {"low": 0.3, "high": 0.2},
            ValueError,
            r"low must be below high, got low=0.3 and high=0.2",
        ),
        ({"low": math.nan}, ValueError, "low"),
        ({"high": "1"}, TypeError, "high"),
    ],
)
def test_between_rejects_bad_bounds(kwargs, error, message):
    with pytest.raises(error, match=message):
        between(0.1, **kwargs)


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (9.51e-7, 2, "9.5 × 10⁻⁷"),
        (2e13, 1, "2 × 10¹³"),
        (2.04e13, 2, "2.0 × 10¹³"),
        (12345.0, 2, "12,000"),
        (999999.0, 2, "1.0 × 10⁶"),
        (0.001, 2, "0.0010"),
        (0.000951, 2, "9.5 × 10⁻⁴"),
        (-0.0341, 2, "−0.034"),
        (3.0, 3, "3.00"),
        (840, 3, "840"),
        (0.0, 2, "0"),
        (torch.tensor(2.5e-9), 2, "2.5 × 10⁻⁹"),
    ],
)
def test_human_writes_numbers_for_the_reader(value, digits, text):
    assert human(value, digits) == text


@pytest.mark.parametrize(
    ("value", "digits", "error", "message"),
    [
        (math.nan, 2, ValueError, "value must be a number, got nan"),
        (math.inf, 2, ValueError, "value must be finite, got inf"),
        ("1e-7", 2, TypeError, "value must be a"),
        (1e-7, 0, ValueError, r"digits must be in \[1, inf\], got 0"),
        (1e-7, 2.0, TypeError, "digits must be an int, got float"),
    ],
)
def test_human_rejects_bad_input_by_name(value, digits, error, message):
    with pytest.raises(error, match=message):
        human(value, digits)
