"""nnbook.plot.forecast: forecasts and learning curves draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures  # noqa: E402, F401

from nnbook.plot.forecast import (  # noqa: E402
    plot_fit_panels,
    plot_forecast,
    plot_level_shift,
)


def test_forecast_draws_observed_forecast_and_the_naive_forecast():
    years = torch.arange(2000, 2005)
    observed = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0])
    ax = plot_forecast(years, observed, observed + 0.5, ylabel="sunspots", title="test")
    assert ax.figure.get_figwidth() <= 7.0
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[2].get_xdata(), [2001, 2002, 2003, 2004])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [1, 3, 2, 5])
    assert matplotlib.colors.same_color(ax.lines[2].get_color(), "C1")
    assert ax.lines[2].get_linestyle() == ":"
    assert matplotlib.colors.same_color(ax.lines[0].get_color(), "k")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["observed", "LSTM, one year ahead", "repeat last value"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("year", "sunspots", "test")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (([1, 2], [1, 2, 3], [1, 2]), ValueError, r"same, positive length, got 2, 3 and 2"),
        (([], [], []), ValueError, r"same, positive length, got 0, 0 and 0"),
        ((None, [1], [1]), TypeError, r"x must be a tensor, an array or a sequence"),
    ],
)
def test_forecast_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        plot_forecast(*args)


def test_level_shift_marks_the_training_end_and_its_highest_value():
    series = torch.linspace(0.0, 2.0, 21)
    ax = plot_level_shift(series, 15, series[-6:] - 0.2, xlabel="month", ylabel="CO2")
    assert ax.figure.get_figwidth() <= 7.0
    observed, end, highest, forecast = ax.lines
    assert end.get_xdata()[0] == 15 and end.get_linestyle() == "--"
    assert highest.get_ydata()[0] == pytest.approx(series[14].item())
    np.testing.assert_array_equal(forecast.get_xdata(), np.arange(15, 21))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["observed", "highest training value", "LSTM, one month ahead"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("month", "CO2")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (([0.0, 1.0], 3, [1.0]), ValueError, r"n_train must be at most the 2 values, got 3"),
        (([0.0, 1.0], 0, [1.0]), ValueError, r"n_train must be at least 1, got 0"),
        (([0.0, 1.0], 1.5, [1.0]), TypeError, r"n_train must be an int, got float"),
        (([0.0, 1.0], 1, [1.0, 2, 3]), ValueError, r"predicted must not be longer"),
    ],
)
def test_level_shift_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        plot_level_shift(*args)


def _runs(n_runs, length):
    return [
        {"train": np.linspace(1.0, 0.1, length), "val": np.linspace(1.0, 0.2, length)}
        for _ in range(n_runs)
    ]


def test_fit_panels_fill_three_cells_of_a_grid_and_keep_the_fourth_for_the_legend():
    panels = {"under": _runs(2, 12), "good": _runs(2, 16), "over": _runs(2, 60)}
    fig = plot_fit_panels(panels, every=5)
    assert fig.get_figwidth() <= 7.0
    axes = fig.axes
    assert [ax.get_title() for ax in axes[:3]] == ["under", "good", "over"]
    assert all(len(ax.lines) == 4 and ax.get_yscale() == "log" for ax in axes[:3])
    assert axes[2].lines[0].get_xdata()[-1] == 300
    assert matplotlib.colors.same_color(axes[0].lines[0].get_color(), "tab:blue")
    assert matplotlib.colors.same_color(axes[0].lines[1].get_color(), "tab:orange")
    assert axes[0].get_ylabel() == axes[2].get_ylabel() == "MSE"
    assert not axes[3].axison
    assert [t.get_text() for t in axes[3].get_legend().get_texts()] == ["training", "validation"]


@pytest.mark.parametrize(
    ("panels", "every", "error", "message"),
    [
        ([1], 5, TypeError, r"panels must be a dict, got list"),
        ({}, 5, ValueError, r"panels must hold at least one entry"),
        ({k: _runs(1, 3) for k in "abcd"}, 5, ValueError, r"at most 3 settings, got 4"),
        ({"a": []}, 5, ValueError, r"panels\['a'\] must hold at least one run"),
        ({"a": {"train": [1.0]}}, 5, TypeError, r"panels\['a'\] must be a list of runs, got dict"),
        ({"a": [{"train": [1.0]}]}, 5, TypeError, r"must be a dict with 'train' and 'val'"),
        ({"a": _runs(1, 3)}, 0, ValueError, r"every must be at least 1, got 0"),
    ],
)
def test_fit_panels_reject_bad_arguments(panels, every, error, message):
    with pytest.raises(error, match=message):
        plot_fit_panels(panels, every=every)


def test_forecast_draws_other_forecasts_dashed_after_the_naive_one():
    years = torch.arange(2000, 2005)
    observed = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0])
    ax = plot_forecast(years, observed, observed + 0.5, others={"AR(12)": observed - 0.5})
    assert len(ax.lines) == 4 and ax.lines[3].get_linestyle() == "--"
    np.testing.assert_allclose(ax.lines[3].get_ydata(), observed.numpy() - 0.5)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "AR(12)"
    assert matplotlib.colors.same_color(ax.lines[3].get_color(), "C2")


def test_level_shift_draws_other_forecasts_over_the_same_values():
    series = torch.linspace(0.0, 2.0, 21)
    ax = plot_level_shift(series, 15, series[-6:], others={"AR": series[-6:] + 1})
    other = ax.lines[-1]
    np.testing.assert_array_equal(other.get_xdata(), np.arange(15, 21))
    assert other.get_linestyle() == "--"
    assert matplotlib.colors.same_color(other.get_color(), "C2")  # as in plot_forecast


@pytest.mark.parametrize(
    ("others", "error", "message"),
    [
        ([1, 2], TypeError, r"others must be a dict, got list"),
        ({}, ValueError, r"others must hold at least one entry"),
        ({"AR": [1.0, 2.0]}, ValueError, r"others\['AR'\] must have the length of x \(3\), got 2"),
        ({"AR": None}, TypeError, r"others\['AR'\] must be a tensor"),
    ],
)
def test_forecast_rejects_bad_others(others, error, message):
    with pytest.raises(error, match=message):
        plot_forecast([1, 2, 3], [1.0, 2, 3], [1.0, 2, 3], others=others)


def test_level_shift_rejects_others_of_another_length():
    with pytest.raises(ValueError, match=r"length of predicted \(2\), got 3"):
        plot_level_shift([1.0, 2, 3, 4], 2, [1.0, 2], others={"AR": [1.0, 2, 3]})
