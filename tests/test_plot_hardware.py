"""nnbook.plot.hardware: what each figure of the hardware chapter draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import close_figures  # noqa: F401

from nnbook.plot.hardware import plot_allreduce_times, plot_electricity_bills, plot_epoch_times


def test_epoch_times_draws_one_bar_per_measurement_and_a_dotted_line_per_prediction():
    ax = plot_epoch_times(
        {"prefetched": 0.4, "sequential": 1.1}, (0.37, 0.71), title="dotted: models"
    )
    bars = ax.patches
    assert [bar.get_width() for bar in bars] == [0.4, 1.1]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["prefetched", "sequential"]
    assert bars[0].get_facecolor() == matplotlib.colors.to_rgba("tab:green")
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert sorted(line.get_xdata()[0] for line in dotted) == [0.37, 0.71]
    assert ax.get_xlabel() == "seconds for one epoch" and ax.get_title() == "dotted: models"
    assert ax.figure.get_figwidth() <= 7.0


def test_epoch_times_draws_on_the_axes_given():
    _, ax = plt.subplots()
    assert plot_epoch_times({"one": 1.0}, ax=ax) is ax
    assert len(ax.patches) == 1 and not ax.get_lines()


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([0.4, 1.1],), {}, TypeError, r"measured must be a dict, got list"),
        (({},), {}, ValueError, r"measured must hold at least one entry"),
        (({"a": "1 s"},), {}, TypeError, r"measured\['a'\] must be a number of seconds, got str"),
        (({"a": -1.0},), {}, ValueError, r"measured\['a'\] must be a time of at least 0 seconds, got -1.0"),
        (({"a": 1.0}, [float("nan")]), {}, ValueError, r"predicted\[0\] must be a time of at least 0 seconds, got nan"),
        (({"a": 1.0, "b": 2.0, "c": 3.0},), {}, ValueError, r"colors must name one colour per bar \(3\)"),
        (({"a": 1.0},), {"ax": 5}, TypeError, r"ax must be a matplotlib Axes or None, got int"),
    ],
)  # fmt: skip
def test_epoch_times_rejects_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_epoch_times(*args, **kwargs)


def test_allreduce_times_draws_one_line_per_link_in_milliseconds_on_a_log_axis():
    devices = [2, 3, 4]
    seconds = {"PCIe": [0.006, 0.008, 0.009], "NVLink": [3e-4, 4e-4, 5e-4]}
    ax = plot_allreduce_times(devices, seconds, title="ring all-reduce")
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [6.0, 8.0, 9.0])
    np.testing.assert_allclose(lines[1].get_xdata(), devices)
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("devices N", "ms per all-reduce")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PCIe", "NVLink"]
    assert ax.get_title() == "ring all-reduce"


@pytest.mark.parametrize(
    ("devices", "seconds", "error", "message"),
    [
        ([2, 3], {"PCIe": [0.1]}, ValueError, r"must hold one time per number of devices \(2\), got 1"),
        ([2, 3], {"PCIe": [0.1, 0.0]}, ValueError, r"seconds\['PCIe'\] must be positive times, got \[0.1, 0.0\]"),
        ([2, 3], [0.1, 0.2], TypeError, r"seconds must be a dict, got list"),
        ([[2, 3]], {"PCIe": [0.1]}, ValueError, r"devices must have 1 dimension\(s\), got 2"),
    ],
)  # fmt: skip
def test_allreduce_times_rejects_bad_arguments(devices, seconds, error, message):
    with pytest.raises(error, match=message):
        plot_allreduce_times(devices, seconds)


def test_electricity_bills_draws_the_bills_and_a_dashed_black_reference():
    prices = [0.1, 0.2, 0.3]
    bills = {"80% efficient": [12.5, 25.0, 37.5], "90% efficient": [11.1, 22.2, 33.3]}
    ax = plot_electricity_bills(
        prices, bills, reference=("own draw", [10.0, 20.0, 30.0]), ylabel="EUR for two weeks"
    )
    lines = ax.get_lines()
    assert len(lines) == 3
    assert lines[-1].get_linestyle() == "--" and lines[-1].get_color() == "k"
    assert lines[0].get_linestyle() == "-"
    np.testing.assert_allclose(lines[0].get_ydata(), bills["80% efficient"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["80% efficient", "90% efficient", "own draw"]
    assert ax.get_xlabel() == "electricity price (EUR per kWh)"
    assert ax.get_ylabel() == "EUR for two weeks"


def test_electricity_bills_without_a_reference_draws_solid_lines_only():
    _, ax = plt.subplots()
    assert plot_electricity_bills([0.1, 0.2], {"a": [1.0, 2.0]}, ax) is ax
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-"]
    assert ax.get_ylabel() == "EUR"


@pytest.mark.parametrize(
    ("bills", "kwargs", "error", "message"),
    [
        ({"a": [1.0]}, {}, ValueError, r"bills\['a'\] must hold one bill per price \(2\), got 1"),
        ({}, {}, ValueError, r"bills must hold at least one entry"),
        ({"a": [1.0, 2.0]}, {"reference": [1.0, 2.0, 3.0]}, TypeError, r"reference must be a pair \(label, bills\)"),
        ({"a": [1.0, 2.0]}, {"reference": ("a", [1.0, 2.0])}, ValueError, r"label .a. is already a key of bills"),
        ({"a": [1.0, 2.0]}, {"reference": ("b", "cheap")}, TypeError, r"bills\['b'\] must be a tensor.*got str"),
    ],
)  # fmt: skip
def test_electricity_bills_rejects_bad_arguments(bills, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_electricity_bills([0.1, 0.2], bills, **kwargs)
