"""nnbook.plot.generative_calibration: what the reliability diagram draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401

from nnbook.generative import reliability_curve
from nnbook.plot.generative_calibration import draw_reliability_diagram

pytestmark = pytest.mark.gd


def _curves():
    p = torch.tensor([0.05, 0.05, 0.45, 0.55, 0.95, 0.95, 0.95], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 0, 1, 1, 0])
    sure = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], dtype=torch.float64)
    return {
        "model": reliability_curve(p, y, n_bins=10),
        "sure": reliability_curve(sure, y, n_bins=10),
    }


def test_draws_the_diagonal_one_curve_per_model_and_their_histograms():
    curves = _curves()
    _, (ax, hist) = plt.subplots(2, 1)
    out = draw_reliability_diagram(curves, ax, hist_ax=hist)
    assert out is ax
    diagonal, model, sure = ax.lines
    assert np.allclose(diagonal.get_xydata(), [[0, 0], [1, 1]])
    assert np.allclose(model.get_xdata(), curves["model"].confidence.numpy())
    assert np.allclose(model.get_ydata(), curves["model"].frequency.numpy())
    assert [t.get_text() for t in ax.get_legend().texts] == ["calibrated", "model", "sure"]
    heights = [p.get_height() for p in hist.patches]
    assert heights == [2, 1, 1, 3, 3, 4]  # model's four bins, then sure's two
    lefts = [p.get_x() for p in hist.patches][:4]
    assert lefts == pytest.approx([0.0, 0.4, 0.5, 0.9])
    assert hist.get_yscale() == "log"
    # each histogram has the colour of its curve
    assert hist.patches[0].get_edgecolor()[:3] == pytest.approx(
        matplotlib.colors.to_rgb(model.get_color())
    )


def test_without_a_histogram_axis_and_with_linear_counts():
    _, ax = plt.subplots()
    draw_reliability_diagram(_curves(), ax, log_counts=False)
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    assert len(ax.lines) == 3


@pytest.mark.parametrize(
    ("curves", "kwargs", "error", "message"),
    [
        ({}, {}, TypeError, r"curves must be a non-empty dict .* got dict \(empty\)"),
        ([1], {}, TypeError, r"curves must be a non-empty dict .* got list"),
        ({"a": (1, 2)}, {}, TypeError, r"curves\['a'\] must be a ReliabilityCurve, got tuple"),
        (None, {"log_counts": 1}, TypeError, r"log_counts must be a bool, got int"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(curves, kwargs, error, message):
    _, ax = plt.subplots()
    with pytest.raises(error, match=message):
        draw_reliability_diagram(_curves() if curves is None else curves, ax, **kwargs)
