"""nnbook.plot.generative_bayes: the errors of models against the Bayes error."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401

from nnbook.plot.generative_bayes import draw_bayes_boundary, draw_errors_against_floor

pytestmark = pytest.mark.gd

ERRORS = {"a": [0.14, 0.15, 0.141], "b": np.array([0.2, 0.18])}


def test_draws_one_dot_per_draw_a_mean_and_the_floor():
    _, ax = plt.subplots()
    assert draw_errors_against_floor(ERRORS, 0.135, ax) is ax
    dots = [c.get_offsets() for c in ax.collections]
    assert [len(d) for d in dots] == [3, 2]
    np.testing.assert_allclose(dots[0][:, 0], [14.0, 15.0, 14.1])
    np.testing.assert_allclose(dots[1][:, 1], [1, 1])
    lines = ax.get_lines()
    floor = [line for line in lines if line.get_label() == "Bayes error"]
    assert floor and floor[0].get_xdata()[0] == pytest.approx(13.5)
    means = [line.get_xdata()[0] for line in lines if line.get_marker() == "|"]
    np.testing.assert_allclose(means, [100 * np.mean(ERRORS["a"]), 19.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlim()[0] < 13.5


@pytest.mark.parametrize(
    ("errors", "floor", "error", "message"),
    [
        ([0.1], 0.1, TypeError, r"errors must be a non-empty mapping"),
        ({}, 0.1, TypeError, r"errors must be a non-empty mapping"),
        ({"a": "x"}, 0.1, TypeError, r"errors\['a'\] must be a sequence"),
        ({"a": []}, 0.1, ValueError, r"errors\['a'\] must be a non-empty list"),
        ({"a": [np.nan]}, 0.1, ValueError, r"errors\['a'\] must be a non-empty list"),
        ({"a": [0.1]}, "0.1", TypeError, r"floor must be a float, got str"),
        ({"a": [0.1]}, 1.5, ValueError, r"floor must be an error in \[0, 1\], got 1.5"),
    ],
)
def test_refuses_bad_arguments_by_name(errors, floor, error, message):
    with pytest.raises(error, match=message):
        draw_errors_against_floor(errors, floor)


def _two_classes(prior_1=0.5):
    means = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    covs = torch.eye(2, dtype=torch.float64).expand(2, 2, 2)
    return means, covs, torch.tensor([1 - prior_1, prior_1], dtype=torch.float64)


@pytest.mark.parametrize("prior_1", [0.5, 0.8])
def test_bayes_boundary_is_the_closed_form_line_of_equal_covariances(prior_1):
    """With identity covariances the boundary is x_1 = log(pi_0 / pi_1) / 2."""
    gx, gy = np.meshgrid(np.linspace(-3, 3, 301), np.linspace(-2, 2, 5))
    _, ax = plt.subplots()
    assert draw_bayes_boundary(gx, gy, *_two_classes(prior_1), ax) is ax
    (contour,) = ax.collections
    points = np.concatenate(contour.allsegs[0])
    expected = 0.5 * np.log((1 - prior_1) / prior_1)
    np.testing.assert_allclose(points[:, 0], expected, atol=0.02)  # grid step 0.02
    assert contour.get_linestyle()[0][1] is not None  # dashed


def test_bayes_boundary_refuses_bad_grids_and_means():
    gx, gy = np.meshgrid(np.linspace(-3, 3, 5), np.linspace(-2, 2, 4))
    with pytest.raises(ValueError, match=r"gx and gy must be 2-D grids of one shape"):
        draw_bayes_boundary(gx, gy[:2], *_two_classes())
    means, covs, priors = _two_classes()
    with pytest.raises(ValueError, match=r"means must have shape \(K, 2\), got \(2, 3\)"):
        draw_bayes_boundary(gx, gy, torch.zeros(2, 3, dtype=torch.float64), covs, priors)
