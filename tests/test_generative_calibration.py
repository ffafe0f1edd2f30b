"""Log-loss, Brier score and reliability curves against scikit-learn and closed forms."""

import math

import numpy as np
import pytest
import torch
from helpers import generator
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from nnbook.generative import (
    GaussianNaiveBayes,
    ReliabilityCurve,
    brier_score,
    ece_noise_floor,
    expected_calibration_error,
    log_loss,
    probability_scores,
    reliability_curve,
    score_table,
)

pytestmark = pytest.mark.gd


def _proba(n, k, seed):
    g = generator(seed)
    logits = 3 * torch.randn(n, k, generator=g, dtype=torch.float64)
    proba = torch.softmax(logits, dim=1)
    return proba, torch.multinomial(proba, 1, generator=g).flatten()


@pytest.mark.parametrize("k", [2, 3, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_log_loss_agrees_with_sklearn(k, seed):
    proba, y = _proba(200, k, seed)
    ours = log_loss(torch.log_softmax(proba.log(), dim=1), y)
    theirs = sk_log_loss(y.numpy(), proba.numpy(), labels=range(k))
    assert ours.dtype == torch.float64
    assert ours.item() == pytest.approx(theirs, rel=1e-12, abs=1e-14)


def test_log_loss_closed_forms():
    y = torch.tensor([0, 1, 2, 1])
    uniform = torch.full((4, 3), -math.log(3), dtype=torch.float64)
    assert log_loss(uniform, y).item() == pytest.approx(math.log(3), rel=1e-15)
    sure = torch.log(torch.eye(3, dtype=torch.float64)[y])  # -inf off the truth
    assert log_loss(sure, y).item() == 0
    # a probability far below what float64 can hold still counts in full
    tiny = torch.tensor([[-2000.0, 0.0]], dtype=torch.float64)
    assert log_loss(tiny, torch.tensor([0])).item() == 2000.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_brier_agrees_with_sklearn(seed):
    proba, y = _proba(300, 2, seed)
    ours = brier_score(proba[:, 1], y)
    assert ours.item() == pytest.approx(brier_score_loss(y.numpy(), proba[:, 1].numpy()), rel=1e-12)
    # the (n, K) form counts both classes: exactly twice the binary score
    assert brier_score(proba, y).item() == pytest.approx(2 * ours.item(), rel=1e-12)


@pytest.mark.parametrize("k", [3, 10])
def test_multiclass_brier_agrees_with_sklearn_one_vs_rest_sum(k):
    proba, y = _proba(300, k, 3)
    # sklearn's binary score of each class against the rest, summed over classes
    theirs = sum(brier_score_loss((y == c).numpy(), proba[:, c].numpy()) for c in range(k))
    assert brier_score(proba, y).item() == pytest.approx(theirs, rel=1e-12)


def test_brier_closed_forms():
    y = torch.tensor([0, 1, 2])
    onehot = torch.eye(3, dtype=torch.float64)
    assert brier_score(onehot, y).item() == 0
    assert brier_score(onehot[[1, 2, 0]], y).item() == 2  # always sure and wrong
    uniform = torch.full((3, 3), 1 / 3, dtype=torch.float64)
    assert brier_score(uniform, y).item() == pytest.approx(2 / 3, rel=1e-15)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
@pytest.mark.parametrize("seed", [0, 1])
def test_reliability_curve_agrees_with_sklearn(n_bins, seed):
    proba, y = _proba(500, 2, seed)
    curve = reliability_curve(proba[:, 1], y, n_bins=n_bins)
    frequency, confidence = calibration_curve(y.numpy(), proba[:, 1].numpy(), n_bins=n_bins)
    torch.testing.assert_close(curve.frequency, torch.tensor(frequency))
    torch.testing.assert_close(curve.confidence, torch.tensor(confidence))
    assert isinstance(curve, ReliabilityCurve)
    assert curve.count.sum().item() == 500
    width = curve.edges[:, 1] - curve.edges[:, 0]
    torch.testing.assert_close(width, torch.full_like(width, 1 / n_bins))
    inside = (curve.confidence >= curve.edges[:, 0]) & (curve.confidence <= curve.edges[:, 1])
    assert inside.all()


def test_reliability_curve_puts_a_value_on_an_edge_in_the_lower_bin():
    proba = torch.tensor([0.1, 0.5, 0.5, 1.0, 0.0], dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1, 0])
    curve = reliability_curve(proba, y, n_bins=10)
    assert curve.count.tolist() == [2, 2, 1]
    assert curve.edges[:, 0].tolist() == pytest.approx([0.0, 0.4, 0.9])
    assert curve.frequency.tolist() == [0.0, 0.5, 1.0]
    frequency, confidence = calibration_curve(y.numpy(), proba.numpy(), n_bins=10)
    assert curve.frequency.tolist() == pytest.approx(list(frequency))


def test_top_label_curve_is_the_binary_curve_of_being_right():
    proba, y = _proba(400, 4, 5)
    confidence, predicted = proba.max(dim=1)
    right = (predicted == y).long()
    top = reliability_curve(proba, y, n_bins=8)
    frequency, mean = calibration_curve(right.numpy(), confidence.numpy(), n_bins=8)
    torch.testing.assert_close(top.frequency, torch.tensor(frequency))
    torch.testing.assert_close(top.confidence, torch.tensor(mean))


@pytest.mark.parametrize("k", [2, 3])
def test_ece_is_the_count_weighted_gap_of_sklearns_curve(k):
    proba, y = _proba(300, k, 7)
    p, event = (proba[:, 1], y) if k == 2 else (proba.max(1).values, proba.argmax(1) == y)
    frequency, confidence = calibration_curve(event.numpy(), p.numpy(), n_bins=10)
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p.numpy())
    counts = np.bincount(bins, minlength=10)
    counts = counts[counts > 0]
    theirs = (counts / len(y) * np.abs(frequency - confidence)).sum()
    ours = expected_calibration_error(proba[:, 1] if k == 2 else proba, y)
    assert ours.item() == pytest.approx(theirs, rel=1e-12)


def test_ece_closed_forms():
    y = torch.tensor([0, 1] * 50)
    base_rate = torch.full((100,), 0.5, dtype=torch.float64)
    assert expected_calibration_error(base_rate, y).item() == 0  # calibrated, useless
    always_sure = torch.ones(100, dtype=torch.float64)
    assert expected_calibration_error(always_sure, y).item() == 0.5
    # announce 0.9 for every case, right 60 % of the time: a gap of 0.3
    p = torch.full((10,), 0.9, dtype=torch.float64)
    hit = torch.tensor([1] * 6 + [0] * 4)
    assert expected_calibration_error(p, hit).item() == pytest.approx(0.3, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(2, 5), st.integers(0, 2**16))
def test_scores_are_bounded_and_calibrated_means_zero_ece(n, k, seed):
    proba, y = _proba(n, k, seed)
    assert 0 <= brier_score(proba, y).item() <= 2
    assert log_loss(proba.log(), y).item() >= 0
    assert 0 <= expected_calibration_error(proba, y).item() <= 1
    curve = reliability_curve(proba, y, n_bins=7)
    assert curve.count.sum().item() == n


def test_a_real_model_gets_finite_log_loss_from_log_probabilities():
    g = generator(0)
    X = torch.randn(60, 20, generator=g, dtype=torch.float64)
    X = X[:, :1] * 8 + 0.1 * X  # twenty nearly identical features
    y = (X[:, 0] + torch.randn(60, generator=g, dtype=torch.float64) > 0).long()
    model = GaussianNaiveBayes().fit(X, y)
    loss = log_loss(model.predict_log_proba(X), y)
    assert math.isfinite(loss.item())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: log_loss(torch.zeros(3, 2, dtype=torch.float64), torch.tensor([0, 1, 2])),
            ValueError,
            r"y must .*\[0, K=2\), got 2",
        ),
        (
            lambda: log_loss(torch.full((2, 2), 0.5, dtype=torch.float64), torch.tensor([0, 1])),
            ValueError,
            r"log_proba must hold log-probabilities .* got a maximum of 0\.5",
        ),
        (
            lambda: log_loss(
                torch.tensor([[0.0, math.nan]], dtype=torch.float64), torch.tensor([0])
            ),
            ValueError,
            r"log_proba",
        ),
        (
            lambda: brier_score(
                torch.tensor([0.5, 1.5], dtype=torch.float64), torch.tensor([0, 1])
            ),
            ValueError,
            r"proba must hold probabilities in \[0, 1\], got values in \[0\.5, 1\.5\]",
        ),
        (
            lambda: brier_score(torch.tensor([[0.5, 0.6]], dtype=torch.float64), torch.tensor([0])),
            ValueError,
            r"proba must have rows that sum to 1, got a row off by 0\.1",
        ),
        (
            lambda: brier_score(
                torch.tensor([0.5, math.nan], dtype=torch.float64), torch.tensor([0, 1])
            ),
            ValueError,
            r"proba must not contain NaN",
        ),
        (
            lambda: brier_score(
                torch.full((2, 2, 2), 0.5, dtype=torch.float64), torch.tensor([0, 1])
            ),
            ValueError,
            r"proba must have shape \(n,\) or \(n, K\), got \(2, 2, 2\)",
        ),
        (
            lambda: brier_score(
                torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0, 2])
            ),
            ValueError,
            r"y must hold class indices in \[0, 2\), got 2",
        ),
        (
            lambda: brier_score(torch.tensor([0.5], dtype=torch.float64), torch.tensor([0, 1])),
            ValueError,
            r"proba must have n = 2 rows, as y, got \(1,\)",
        ),
        (
            lambda: reliability_curve(torch.tensor([0.5]), torch.tensor([1]), n_bins=0),
            ValueError,
            r"n_bins",
        ),
        (
            lambda: reliability_curve(torch.tensor([0.5]), torch.tensor([1]), n_bins=2.5),
            TypeError,
            r"n_bins",
        ),
        (
            lambda: expected_calibration_error(torch.tensor([1, 0]), torch.tensor([1, 0])),
            TypeError,
            r"proba must have a floating-point dtype",
        ),
    ],
)
def test_bad_inputs_are_refused_with_a_message(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _exact_floor(p, n_bins):
    """The expected ECE of outcomes drawn from p, exactly: a Poisson-binomial per bin."""
    p = np.asarray(p, dtype=float)
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)
    total = 0.0
    for b in np.unique(bins):
        q = p[bins == b]
        dist = np.array([1.0])  # distribution of the number of events in the bin
        for qi in q:
            dist = np.convolve(dist, [1 - qi, qi])
        hits = np.arange(len(dist))
        total += (dist * np.abs(hits - q.sum())).sum() / len(p)
    return total


@pytest.mark.parametrize("seed", [0, 1])
def test_ece_noise_floor_agrees_with_the_exact_expectation(seed):
    g = generator(seed)
    p = torch.rand(40, generator=g, dtype=torch.float64) ** 2
    ours = ece_noise_floor(p, n_bins=5, n_draws=40_000, generator=generator(seed + 10))
    exact = _exact_floor(p.numpy(), 5)
    # Monte Carlo error of a mean of 40,000 draws of a quantity below 1: well under 0.003
    assert ours.item() == pytest.approx(exact, abs=0.003)
    assert ours.dtype == torch.float64


def test_ece_noise_floor_top_label_draws_whether_the_top_class_is_right():
    proba, _ = _proba(60, 3, 4)
    confidence = proba.max(dim=1).values
    ours = ece_noise_floor(proba, n_bins=4, n_draws=40_000, generator=generator(2))
    assert ours.item() == pytest.approx(_exact_floor(confidence.numpy(), 4), abs=0.003)


def test_ece_noise_floor_closed_forms():
    sure = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    assert ece_noise_floor(sure, generator=generator(0)).item() == 0  # never misses
    # two cases at 1/2 in one bin: the gap is 1/2 when both agree, 0 otherwise
    half = torch.full((2,), 0.5, dtype=torch.float64)
    floor = ece_noise_floor(half, n_draws=40_000, generator=generator(1))
    assert floor.item() == pytest.approx(0.25, abs=0.005)


def test_ece_noise_floor_is_the_mean_ece_of_drawn_labels():
    p = torch.tensor([0.1, 0.3, 0.35, 0.8, 0.9, 0.95], dtype=torch.float64)
    floor = ece_noise_floor(p, n_bins=3, n_draws=1, generator=generator(3))
    u = torch.rand(1, 6, generator=generator(3), dtype=torch.float64)
    y = (u[0] < p).long()
    assert floor.item() == pytest.approx(expected_calibration_error(p, y, 3).item(), abs=1e-15)


def test_ece_noise_floor_refuses_bad_arguments():
    p = torch.tensor([0.2, 0.7], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"n_draws"):
        ece_noise_floor(p, n_draws=0)
    with pytest.raises(TypeError, match=r"generator must be a Generator, got int"):
        ece_noise_floor(p, generator=3)
    with pytest.raises(ValueError, match=r"proba must hold probabilities in \[0, 1\]"):
        ece_noise_floor(torch.tensor([0.2, 1.5], dtype=torch.float64))


def test_probability_scores_agree_with_the_separate_scores():
    proba, y = _proba(80, 2, 6)
    log_proba = proba.log()
    got = probability_scores(log_proba, y)
    assert got["accuracy"] == (proba.argmax(1) == y).double().mean().item()
    assert got["log-loss"] == pytest.approx(
        sk_log_loss(y.numpy(), proba.numpy(), labels=[0, 1]), rel=1e-12
    )
    assert got["Brier"] == pytest.approx(brier_score_loss(y.numpy(), proba[:, 1].numpy()))
    assert got["ECE"] == pytest.approx(expected_calibration_error(proba[:, 1], y).item(), rel=1e-12)
    with pytest.raises(ValueError, match=r"log_proba must have shape \(n, 2\), got \(80, 3\)"):
        probability_scores(torch.zeros(80, 3), y)


def test_score_table_shows_mean_and_range():
    rows = {"a": {"x": [0.1, 0.3], "y": [1.0, 1.0]}, "b": {"x": [0.5, 0.5], "y": [0.0, 1.0]}}
    text = score_table(rows, {"x": ".2f", "y": ".0%"}, tags={"a": "first"})
    lines = text.splitlines()
    assert lines[0] == "| model | kind | x | y |"
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| a | first | 0.20 (0.10 to 0.30) | 100% (100% to 100%) |"
    assert lines[3] == "| b |  | 0.50 (0.50 to 0.50) | 50% (0% to 100%) |"
    assert score_table(rows, {"x": ".1f"}).splitlines()[0] == "| model | x |"
    with pytest.raises(ValueError, match=r"rows must have every column of formats, got row 'a'"):
        score_table(rows, {"z": ".1f"})
