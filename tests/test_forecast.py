"""nnbook.rnn: the LSTM forecaster, its full-batch training and its forecasts."""

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

import nnbook
from nnbook import rnn
from nnbook.rnn._forecast import Forecaster, adam_steps, fit_forecaster, recursive_forecast

pytestmark = pytest.mark.rnn

N, T, HIDDEN = 8, 4, 3
X, Y = randn(N, T, seed=1), randn(N, seed=2)


def _model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return Forecaster(HIDDEN, **kwargs)


def _reference_fit(model, X, y, steps, lr):
    """The training loop the notebooks wrote out before it moved into nnbook."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_forecaster_maps_windows_to_one_value_each():
    model = _model()
    out = model(X)
    assert out.shape == (N,) and out.dtype == torch.float64
    assert model.lstm.hidden_size == HIDDEN and model.head.out_features == 1


def test_forecaster_is_the_last_lstm_state_through_a_linear_head():
    model = _model()
    states = model.lstm(X.unsqueeze(-1))[0]  # (N, T, H)
    expected = states[:, -1] @ model.head.weight.T + model.head.bias
    torch.testing.assert_close(model(X), expected.squeeze(-1))


def test_nnbook_lstm_draws_and_computes_the_same_as_torch():
    ours, theirs = _model(lstm=rnn.LSTM), _model()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    torch.testing.assert_close(ours(X), theirs(X))


def test_forecaster_dtype():
    model = _model(dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model(X.float()).dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"hidden": 0}, ValueError),
        ({"hidden": 1.5}, TypeError),
        ({"lstm": torch.nn.GRU}, TypeError),
        ({"lstm": "lstm"}, TypeError),
        ({"dtype": torch.int64}, TypeError),
    ],
)
def test_forecaster_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        Forecaster(**kwargs)


def test_forecaster_refuses_windows_with_a_feature_axis():
    with pytest.raises(ValueError, match="windows"):
        _model()(X.unsqueeze(-1))


def test_adam_steps_is_the_reference_loop():
    model, reference = _model(), _model()
    steps = [(step, loss.item()) for step, loss in adam_steps(model, X, Y, steps=5, lr=0.01)]
    expected = _reference_fit(reference, X, Y, steps=5, lr=0.01)
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5]
    assert [loss for _, loss in steps] == expected
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_adam_steps_trains_between_yields():
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    step, _ = next(adam_steps(model, X, Y, steps=3, lr=0.01))
    assert step == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_adam_steps_lowers_the_loss():
    losses = [loss.item() for _, loss in adam_steps(_model(), X, Y, steps=40, lr=0.05)]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"steps": 0}, ValueError),
        ({"steps": 2.5}, TypeError),
        ({"lr": 0.0}, ValueError),
        ({"X": randn(N, seed=1)}, ValueError),
        ({"y": randn(N + 1, seed=2)}, ValueError),
        ({"model": "model"}, TypeError),
    ],
)
def test_adam_steps_refuses_bad_arguments(kwargs, error):
    call = {"model": _model(), "X": X, "y": Y, "steps": 2, "lr": 0.01, **kwargs}
    with pytest.raises(error, match=next(iter(kwargs))):
        next(adam_steps(**call))


def test_fit_forecaster_seeds_builds_and_trains():
    model, loss = fit_forecaster(X, Y, hidden=HIDDEN, steps=4, lr=0.01, seed=3)
    torch.manual_seed(nnbook.seed(3))
    reference = Forecaster(HIDDEN)
    expected = _reference_fit(reference, X, Y, steps=4, lr=0.01)
    assert loss == expected[-1]
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_fit_forecaster_is_deterministic():
    torch.manual_seed(123)  # whatever the global state, the seed decides
    first, loss1 = fit_forecaster(X, Y, hidden=HIDDEN, steps=3, seed=1)
    torch.rand(5)
    second, loss2 = fit_forecaster(X, Y, hidden=HIDDEN, steps=3, seed=1)
    other, _ = fit_forecaster(X, Y, hidden=HIDDEN, steps=3, seed=2)
    assert loss1 == loss2
    assert all(
        torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True)
    )
    assert not torch.equal(first.head.weight, other.head.weight)


def test_fit_forecaster_follows_the_data_dtype_and_lstm_class():
    model, _ = fit_forecaster(X.float(), Y.float(), hidden=2, steps=1, lstm=rnn.LSTM)
    assert isinstance(model.lstm, rnn.LSTM)
    assert model.head.weight.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"hidden": 0}, ValueError), ({"seed": -1}, ValueError), ({"steps": 0}, ValueError)],
)
def test_fit_forecaster_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        fit_forecaster(X, Y, **kwargs)


def test_recursive_forecast_feeds_each_forecast_back():
    model, window = _model(), randn(T, seed=4)
    forecasts = recursive_forecast(model, window, steps=3)
    assert forecasts.shape == (3,) and forecasts.dtype == torch.float64
    expected, current = [], window
    with torch.no_grad():
        for _ in range(3):
            value = model(current[None])[0]
            expected.append(value)
            current = torch.cat([current[1:], value[None]])
    assert torch.equal(forecasts, torch.stack(expected))
    assert not forecasts.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"steps": 0}, ValueError),
        ({"window": randn(2, T, seed=4)}, ValueError),
        ({"model": None}, TypeError),
    ],
)
def test_recursive_forecast_refuses_bad_arguments(kwargs, error):
    call = {"model": _model(), "window": randn(T, seed=4), "steps": 2, **kwargs}
    with pytest.raises(error, match=next(iter(kwargs))):
        recursive_forecast(**call)


# --- the linear baseline, AR(p) by least squares


def _series_windows(n=60, p=4, seed=5):
    """Windows of a noisy AR(2) series, as data.windows cuts them."""
    from nnbook import data

    noise = randn(n, seed=seed)
    series = torch.zeros(n, dtype=torch.float64)
    for t in range(2, n):
        series[t] = 0.5 + 1.2 * series[t - 1] - 0.5 * series[t - 2] + 0.3 * noise[t]
    return data.windows(series, p)


def test_ar_fit_agrees_with_sklearn_linear_regression():
    from sklearn.linear_model import LinearRegression

    X, y = _series_windows()
    coef, intercept = rnn.ar_fit(X, y)
    reference = LinearRegression().fit(X.numpy(), y.numpy())
    torch.testing.assert_close(coef, torch.from_numpy(reference.coef_), rtol=0, atol=1e-10)
    assert intercept.shape == () and intercept.dtype == torch.float64
    assert intercept.item() == pytest.approx(reference.intercept_, abs=1e-10)


def test_ar_fit_is_the_minimum_norm_solution_of_numpy_lstsq():
    import numpy as np

    X, y = randn(3, 5, seed=6), randn(3, seed=7)  # fewer windows than unknowns
    coef, intercept = rnn.ar_fit(X, y)
    A = np.hstack([X.numpy(), np.ones((3, 1))])
    expected = np.linalg.lstsq(A, y.numpy(), rcond=None)[0]
    np.testing.assert_allclose(torch.cat([coef, intercept[None]]).numpy(), expected, atol=1e-10)


def test_ar_fit_recovers_the_coefficients_of_the_series():
    X, y = _series_windows(n=4000, p=2)
    coef, intercept = rnn.ar_fit(X, y)
    # windows are oldest first: coef = (a_2, a_1)
    torch.testing.assert_close(
        coef, torch.tensor([-0.5, 1.2], dtype=torch.float64), atol=0.03, rtol=0
    )
    assert intercept.item() == pytest.approx(0.5, abs=0.05)


def test_ar_fit_keeps_the_dtype():
    X, y = _series_windows()
    coef, intercept = rnn.ar_fit(X.float(), y.float())
    assert coef.dtype == intercept.dtype == torch.float32


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        (randn(5, 3, seed=1), randn(4, seed=2), ValueError, r"y must have shape"),
        (
            randn(5, seed=1),
            randn(5, seed=2),
            ValueError,
            r"X must have 2 dimensions \(N, p\), got 1",
        ),
        (
            torch.full((5, 3), float("nan"), dtype=torch.float64),
            randn(5, seed=2),
            ValueError,
            r"X must be finite, got NaN or inf",
        ),
        (
            randn(5, 3, seed=1),
            torch.full((5,), float("inf"), dtype=torch.float64),
            ValueError,
            r"y must be finite",
        ),
        ([[1.0, 2.0]], randn(1, seed=2), TypeError, r"X must be a"),
        (
            torch.zeros(0, 3, dtype=torch.float64),
            torch.zeros(0, dtype=torch.float64),
            ValueError,
            r"X must have at least one window \(N >= 1\), got N = 0",
        ),
    ],
)
def test_ar_fit_refuses_bad_arguments(X, y, error, message):
    with pytest.raises(error, match=message):
        rnn.ar_fit(X, y)


# --- the procedure cross-validation scores: steps chosen on held-out windows


def test_fit_with_chosen_steps_picks_the_best_held_out_step_then_refits_on_all():
    from nnbook import data

    series = 5.0 + 2.0 * randn(24, seed=8)
    procedure = rnn.fit_with_chosen_steps(
        series, window=T, hidden=HIDDEN, max_steps=30, every=5, seed=2
    )
    # the same recipe by hand: standardize, train on the first 16 windows, score the last 4
    mean, std = series.mean().item(), series.std().item()
    assert (procedure.mean, procedure.std) == (mean, std)
    X, y = data.windows((series - mean) / std, T)
    torch.manual_seed(nnbook.seed(2))
    probe = Forecaster(HIDDEN)
    losses = {}
    for step, _ in adam_steps(probe, X[:16], y[:16], steps=30, lr=0.01):
        if step % 5 == 0:
            with torch.no_grad():
                losses[step] = F.mse_loss(probe(X[16:]), y[16:]).item()
    assert procedure.steps == min(losses, key=losses.get)
    reference, _ = fit_forecaster(X, y, hidden=HIDDEN, steps=procedure.steps, lr=0.01, seed=2)
    for a, b in zip(procedure.model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"holdout": 0.0}, ValueError, r"holdout must be"),
        ({"holdout": 0.01}, ValueError, r"holdout must leave windows on both sides of 8, got 0.01"),
        ({"every": 50, "max_steps": 10}, ValueError, r"every must be at most max_steps=10, got 50"),
        ({"max_steps": 0}, ValueError, r"max_steps"),
        ({"holdout": float("nan")}, ValueError, r"holdout"),
        ({"window": 12}, ValueError, r"length must be an int in \[1, 11\]"),
        ({"series": randn(3, 4, seed=1)}, ValueError, r"series must have 1 dimension"),
        (
            {"series": torch.full((12,), 3.0, dtype=torch.float64)},
            ValueError,
            r"series must not be constant: its standard deviation is 0.0",
        ),
        (
            {"series": torch.tensor([1.0] * 6 + [float("nan")] + [2.0] * 5, dtype=torch.float64)},
            ValueError,
            r"series must be finite, got NaN or inf",
        ),
    ],
)
def test_fit_with_chosen_steps_refuses_bad_arguments(kwargs, error, message):
    call = {"series": randn(12, seed=1), "window": 4, "hidden": 2, **kwargs}
    with pytest.raises(error, match=message):
        rnn.fit_with_chosen_steps(**call)
