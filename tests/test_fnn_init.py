"""Initialization schemes: torch.nn.init draw for draw, and the variances they promise."""

import math

import pytest
import torch
from helpers import generator

from nnbook.fnn._init import INIT_SCHEMES, init_std, init_weight

pytestmark = pytest.mark.fnn


@pytest.mark.parametrize(
    ("scheme", "reference"),
    [
        ("glorot_uniform", lambda t, g: torch.nn.init.xavier_uniform_(t, generator=g)),
        ("glorot_normal", lambda t, g: torch.nn.init.xavier_normal_(t, generator=g)),
        ("he_uniform", lambda t, g: torch.nn.init.kaiming_uniform_(
            t, nonlinearity="relu", generator=g)),
        ("he_normal", lambda t, g: torch.nn.init.kaiming_normal_(
            t, nonlinearity="relu", generator=g)),
    ],
)  # fmt: skip
def test_schemes_equal_torch_nn_init(scheme, reference):
    W = init_weight(30, 50, scheme, generator=generator(), dtype=torch.float64)
    expected = reference(torch.empty(30, 50, dtype=torch.float64), generator())
    torch.testing.assert_close(W, expected)


@pytest.mark.parametrize("scheme", [s for s in INIT_SCHEMES if s not in ("zeros", "normal")])
def test_the_empirical_std_is_the_promised_one(scheme):
    W = init_weight(400, 300, scheme, generator=generator(1), dtype=torch.float64)
    assert abs(W.std().item() / init_std(scheme, 400, 300) - 1) < 0.02
    assert abs(W.mean().item()) < 0.01 * init_std(scheme, 400, 300) * 10


def test_survey_scheme_is_sqrt3_times_glorot_normal():
    assert math.isclose(
        init_std("survey", 10, 20), math.sqrt(3) * init_std("glorot_normal", 10, 20)
    )


def test_zeros_and_normal():
    assert torch.equal(init_weight(2, 3, "zeros"), torch.zeros(2, 3))
    assert init_std("normal", 2, 3, std=0.5) == 0.5


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: init_weight(2, 3, "xavier"), ValueError, r"scheme must be one of zeros, normal"),
        (lambda: init_weight(0, 3), ValueError, r"F_out must be in \[1, inf\], got 0"),
        (lambda: init_weight(2, 3.0), TypeError, r"F_in must be an int, got float"),
        (
            lambda: init_weight(2, 3, "normal"),
            ValueError,
            r"std must be given with scheme 'normal'",
        ),
        (lambda: init_weight(2, 3, "he_normal", std=1.0), ValueError, r"std must be given"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
