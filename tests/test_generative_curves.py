"""The paired difference of two learning curves, and the figures that draw them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401
from scipy import stats

from nnbook.generative._learning_curves import paired_difference
from nnbook.plot.generative_curves import draw_learning_bands, draw_paired_differences

pytestmark = pytest.mark.gd


def _errors(seed, S=20, M=5):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(S, M, generator=g, dtype=torch.float64)


def test_paired_difference_matches_the_paired_t_test_of_scipy():
    a, b = _errors(0), _errors(1)
    mean, se = paired_difference(a, b)
    t = stats.ttest_rel(a.numpy(), b.numpy(), axis=0).statistic
    torch.testing.assert_close(mean, (a - b).mean(dim=0))
    torch.testing.assert_close(mean / se, torch.from_numpy(t))
    sem = stats.sem((a - b).numpy(), axis=0, ddof=1)
    torch.testing.assert_close(se, torch.from_numpy(sem))


def test_the_correction_scales_the_variance_by_one_over_s_plus_the_ratio():
    a, b = _errors(2, S=10), _errors(3, S=10)
    _, plain = paired_difference(a, b)
    _, corrected = paired_difference(a, b, ratio=0.5)
    torch.testing.assert_close(corrected**2, plain**2 * (1 / 10 + 0.5) * 10)


def test_pairing_removes_what_the_two_models_share():
    """A split effect shared by both models leaves the difference and its spread alone."""
    a, b = _errors(4), _errors(5)
    shared = 10 * _errors(6, M=1)  # (S, 1), much larger than the errors
    mean, se = paired_difference(a + shared, b + shared)
    torch.testing.assert_close((mean, se), paired_difference(a, b))


def test_identical_models_differ_by_zero_with_zero_spread():
    a = _errors(7)
    mean, se = paired_difference(a, a.clone())
    assert mean.abs().max() == 0 and se.abs().max() == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((torch.zeros(1, 3, dtype=torch.float64),) * 2, {}, ValueError, "at least 2 splits"),
        (
            (torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64)),
            {},
            ValueError,
            "errors_b must have shape",
        ),
        (
            (torch.full((4, 3), float("nan"), dtype=torch.float64), torch.zeros(4, 3)),
            {},
            TypeError,
            "errors_b must have dtype",
        ),
        (
            (torch.full((4, 3), float("nan"), dtype=torch.float64),) * 2,
            {},
            ValueError,
            "errors_a must hold no NaN, got 12 NaN values",
        ),
        ((np.zeros((4, 3)), torch.zeros(4, 3)), {}, TypeError, "errors_a must be a torch.Tensor"),
        ((torch.zeros(4, 3),) * 2, {"ratio": -1.0}, ValueError, "ratio"),
        ((torch.zeros(4, 3),) * 2, {"ratio": float("nan")}, ValueError, "ratio"),
    ],
)
def test_paired_difference_rejects_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        paired_difference(*args, **kwargs)


def test_learning_bands_draw_the_mean_and_a_band_of_one_standard_error():
    errors = {"a": np.array([[0.1, 0.2], [0.3, 0.4]]), "b": np.zeros((2, 2))}
    _, ax = plt.subplots()
    out = draw_learning_bands([4, 10], errors, ax, title="iris", dashed={"b"})
    assert out is ax
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert np.allclose(ax.lines[0].get_ydata(), [20, 30])
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band.min(), 10) and np.isclose(band.max(), 40)  # se = 10 points
    assert ax.get_xscale() == "log" and ax.get_title() == "iris"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [4, 0]}, ValueError, "sizes must be a non-empty list of positive sizes"),
        ({"errors": [0.1]}, TypeError, "errors must be a dict, got list"),
        ({"errors": {"a": np.zeros((1, 2))}}, ValueError, r"errors\['a'\] must have shape"),
        ({"errors": {"a": np.zeros(2)}}, ValueError, r"errors\['a'\] must have 2 dimension"),
        ({"dashed": "a"}, TypeError, "dashed must be a collection of model names"),
        ({"dashed": ["c"]}, ValueError, r"dashed must name models in errors, got \['c'\]"),
        ({"ax": 3}, TypeError, "ax must be a matplotlib Axes or None, got int"),
    ],
)
def test_learning_bands_reject_bad_arguments(kwargs, error, message):
    args = {"sizes": [4, 10], "errors": {"a": np.zeros((3, 2))}}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_learning_bands(**args)


def test_paired_differences_draw_bars_of_z_standard_errors_around_zero():
    _, ax = plt.subplots()
    out = draw_paired_differences([4, 10, 100], [0.01, -0.02, 0.03], [0.01, 0.0, 0.005], ax)
    assert out is ax
    bars = ax.containers[0]
    assert np.allclose(bars.lines[0].get_ydata(), [1, -2, 3])
    segments = bars.lines[2][0].get_segments()
    assert np.allclose([s[1, 1] - s[0, 1] for s in segments], [4, 0, 2])  # 2 z se
    assert ax.get_ylabel() == "difference (points)" and ax.get_xscale() == "log"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"mean": [0.1]}, ValueError, r"mean must have shape \(2,\) like sizes, got \(1,\)"),
        ({"se": [0.1, -0.1]}, ValueError, "se must hold standard errors >= 0"),
        ({"se": "ab"}, TypeError, "se must be a tensor, an array or a sequence"),
        ({"z": 0}, ValueError, "z must be a positive number, got 0"),
        ({"z": float("nan")}, ValueError, "z must be a positive number, got nan"),
    ],
)
def test_paired_differences_reject_bad_arguments(kwargs, error, message):
    args = {"sizes": [4, 10], "mean": [0.0, 0.1], "se": [0.01, 0.02]}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        draw_paired_differences(**args)


def test_the_shown_source_of_paired_difference_fits_a_notebook_cell():
    """The page displays it: at most 24 lines (plus the fences) of 80 columns."""
    import nnbook

    lines = nnbook.show(paired_difference).data.strip().splitlines()[1:-1]
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
