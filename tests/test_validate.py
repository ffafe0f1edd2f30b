"""The shared input checks produce messages that name the argument."""

import pytest
import torch

from nnbook import _validate as v

pytestmark = pytest.mark.spine


def test_named_dimensions_tie_arguments_together():
    dims = {}
    v.tensor("h", torch.zeros(4, 5), shape=("T_mb", "F_in"), dims=dims)
    assert dims == {"dtype": torch.float32, "T_mb": 4, "F_in": 5}
    with pytest.raises(ValueError, match=r"W must have shape \(F_out, F_in=5\), got \(3, 4\)"):
        v.tensor("W", torch.zeros(3, 4), shape=("F_out", "F_in"), dims=dims)


def test_a_name_repeated_within_one_shape_must_agree():
    with pytest.raises(ValueError, match=r"A must have shape \(n, n\), got \(2, 3\)"):
        v.tensor("A", torch.zeros(2, 3), shape=("n", "n"))


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "message"),
    [
        ([1.0], {}, TypeError, r"x must be a torch.Tensor, got list"),
        (torch.zeros(2, dtype=torch.int64), {}, TypeError, r"x must have a floating-point dtype"),
        (
            torch.zeros(2, 3),
            {"shape": (None,)},
            ValueError,
            r"x must have 1 dimensions \(\*,\), got 2",
        ),
        (
            torch.zeros(2, 3),
            {"shape": (2, 4)},
            ValueError,
            r"x must have shape \(2, 4\), got \(2, 3\)",
        ),
        (
            torch.zeros(2, dtype=torch.float64),
            {"dims": {"dtype": torch.float32}},
            TypeError,
            r"x must have dtype torch.float32 like the other inputs, got torch.float64",
        ),
    ],
)
def test_tensor_errors(x, kwargs, error, message):
    with pytest.raises(error, match=message):
        v.tensor("x", x, **kwargs)


def test_optional_tensor_passes_none():
    assert v.optional_tensor("b", None, shape=(3,)) is None


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "message"),
    [
        ("0.1", {}, TypeError, r"lr must be a real number, got str"),
        (True, {}, TypeError, r"lr must be a real number, got bool"),
        (0.0, {"low": 0, "low_open": True}, ValueError, r"lr must be in \(0, inf\], got 0.0"),
        (
            1.0,
            {"low": 0, "high": 1, "high_open": True},
            ValueError,
            r"lr must be in \[0, 1\), got 1.0",
        ),
        (2.5, {"integer": True}, TypeError, r"lr must be an int, got float"),
    ],
)
def test_number_errors(x, kwargs, error, message):
    with pytest.raises(error, match=message):
        v.number("lr", x, **kwargs)


def test_number_accepts_values_in_range():
    assert v.number("lr", 0.5, low=0, high=1) == 0.5
