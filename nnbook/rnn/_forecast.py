r"""Forecasting a series from a window of its past values.

The sunspot pages of the recurrent chapter share one model, :class:`Forecaster`: an
LSTM reads a window of standardized values and a linear layer maps its last hidden
state to the next value (many-to-one). :func:`adam_steps` trains it on the whole
training set at every step, :func:`fit_forecaster` seeds, builds and trains one, and
:func:`recursive_forecast` runs it beyond the end of the data, feeding each forecast
back in as the newest value of the window. :func:`fit_with_chosen_steps` is the whole
recipe that cross-validation scores and the final model repeats: standardize, choose
the number of steps on the last part of the data, then train on all of it for that
many steps.

The baseline every forecaster must beat is linear: :func:`ar_fit` fits an
autoregressive model AR(p) to the same windows by least squares.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
import torch.nn.functional as F

import nnbook
from nnbook.contract import Instance, Int, Real, Tensor, contract
from nnbook.data._series import windows

__all__ = [
    "Forecaster",
    "Procedure",
    "adam_steps",
    "ar_fit",
    "fit_forecaster",
    "fit_with_chosen_steps",
    "recursive_forecast",
]


class Forecaster(torch.nn.Module):
    """Many-to-one forecaster: an LSTM reads the window, a linear layer maps its last
    hidden state to the forecast.

    Parameters
    ----------
    hidden : int, default 16
        The LSTM's number of units.
    lstm : type, default ``torch.nn.LSTM``
        The LSTM class, ``torch.nn.LSTM`` or a subclass with the same parameters such as
        :class:`nnbook.rnn.LSTM`; both draw the same initial weights.
    dtype : torch.dtype, default ``torch.float64``
        The dtype of every parameter.

    Examples
    --------
    >>> model = Forecaster(4)
    >>> model(torch.zeros(3, 12, dtype=torch.float64)).shape
    torch.Size([3])
    """

    @contract(hidden=Int(low=1))
    def __init__(self, hidden=16, *, lstm=torch.nn.LSTM, dtype=torch.float64):
        if not (isinstance(lstm, type) and issubclass(lstm, torch.nn.LSTM)):
            raise TypeError(
                f"lstm must be torch.nn.LSTM or a subclass, got {lstm!r}"
            )
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(
                f"dtype must be a floating-point torch.dtype, got {dtype!r}"
            )
        super().__init__()
        self.lstm = lstm(1, hidden, batch_first=True, dtype=dtype)
        self.head = torch.nn.Linear(hidden, 1, dtype=dtype)

    def forward(self, windows):
        """Forecasts of shape (N,) from windows of shape (N, T)."""
        if windows.dim() != 2:
            raise ValueError(
                f"windows must have shape (N, T), got {tuple(windows.shape)}"
            )
        last = self.lstm(windows.unsqueeze(-1))[0][:, -1]
        return self.head(last).squeeze(-1)


@contract(
    model=Instance(torch.nn.Module),
    X=Tensor("N", "T"),
    y=Tensor("N"),
    steps=Int(low=1),
    lr=Real(low=0, low_open=True),
)
def adam_steps(model, X, y, *, steps, lr) -> Iterator[tuple[int, torch.Tensor]]:
    """Train ``model`` with Adam on the mean squared error of the whole set, step by step.

    A generator: after each step it yields the step's number and the loss that step
    descended, so a caller can record curves or keep the best weights as training goes.
    ``X`` and ``y`` are moved to the device of the model's parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Maps windows (N, T) to forecasts (N,); trained in place.
    X : Tensor of shape (N, T)
        The windows.
    y : Tensor of shape (N,)
        The value that follows each window.
    steps : int
        The number of Adam steps, each on all N windows.
    lr : float
        Adam's learning rate.

    Yields
    ------
    step : int
        1, 2, ..., ``steps``.
    loss : Tensor of shape ()
        The loss before the step, still attached to its graph.
    """
    device = next(model.parameters()).device
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(1, steps + 1):
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        yield step, loss


@contract(
    X=Tensor("N", "T"),
    y=Tensor("N"),
    hidden=Int(low=1),
    steps=Int(low=1),
    lr=Real(low=0, low_open=True),
    seed=Int(low=0, high=999),
)
def fit_forecaster(
    X,
    y,
    *,
    hidden=16,
    steps=300,
    lr=0.01,
    seed=0,
    lstm=torch.nn.LSTM,
    device=None,
):
    """Seed, build and train a :class:`Forecaster` with :func:`adam_steps`.

    torch's global generator is seeded with ``nnbook.seed(seed)`` just before
    the model draws its initial weights, so a call gives the same model every time.

    Parameters
    ----------
    X : Tensor of shape (N, T)
        The training windows; their dtype is the model's.
    y : Tensor of shape (N,)
        The value that follows each window.
    hidden : int, default 16
        The LSTM's number of units.
    steps : int, default 300
        The number of full-batch Adam steps.
    lr : float, default 0.01
        Adam's learning rate.
    seed : int, default 0
        The random stream of the initial weights.
    lstm : type, default ``torch.nn.LSTM``
        The LSTM class, as in :class:`Forecaster`.
    device : torch.device or str, optional
        Where to train; the device of ``X`` when None.

    Returns
    -------
    model : Forecaster
        The trained model, on ``device``.
    loss : float
        The training loss of the last step (before that step's update).
    """
    torch.manual_seed(nnbook.seed(seed))
    model = Forecaster(hidden, lstm=lstm, dtype=X.dtype)
    model = model.to(X.device if device is None else device)
    for _, loss in adam_steps(model, X, y, steps=steps, lr=lr):
        last = loss
    return model, last.item()


@contract(
    model=Instance(torch.nn.Module),
    window=Tensor("T"),
    steps=Int(low=1),
)
def recursive_forecast(model, window, steps):
    """Forecast ``steps`` values past the end of ``window``, one at a time.

    Each forecast is appended to the window, whose oldest value is dropped, and the
    model forecasts again from that window: errors therefore compound with the horizon.

    Parameters
    ----------
    model : torch.nn.Module
        Maps windows (N, T) to forecasts (N,).
    window : Tensor of shape (T,)
        The last T values of the series, in the model's units.
    steps : int
        How many values to forecast.

    Returns
    -------
    Tensor of shape (steps,)
        The forecasts, on the CPU, in the model's units.
    """
    device = next(model.parameters()).device
    forecasts = []
    with torch.no_grad():
        for _ in range(steps):
            next_value = model(window[None].to(device)).cpu()[0]
            forecasts.append(next_value)
            window = torch.cat([window[1:], next_value[None]])
    return torch.stack(forecasts)


def _finite(name, value):
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")


@contract(
    "eq-rnn-ar",
    reference="sklearn.linear_model.LinearRegression",
    X=Tensor("N", "p"),
    y=Tensor("N"),
)
def ar_fit(X, y):
    r"""Fit an autoregressive model AR(p) by least squares, :eq:`eq-rnn-ar`.

    Each row of ``X`` holds the p values before a target, oldest first, as
    :func:`nnbook.data.windows` cuts them, so ``coef[-1]`` weighs the most recent
    value. The forecast of a window ``x`` is ``x @ coef + intercept``.

    Parameters
    ----------
    X : Tensor of shape (N, p)
        The windows.
    y : Tensor of shape (N,)
        The value that follows each window.

    Returns
    -------
    coef : Tensor of shape (p,)
        The weights :math:`a_p, \dots, a_1` of the window's values, oldest first.
    intercept : Tensor of shape ()
        The constant :math:`c`.

    Raises
    ------
    ValueError
        If ``X`` or ``y`` holds NaN or inf, or ``X`` has no rows.

    Notes
    -----
    .. math::
        \hat y_t = c + \sum_{k=1}^{p} a_k\, y_{t-k}, \qquad
        (a, c) = \arg\min \sum_t (y_t - \hat y_t)^2

    The least-squares problem is solved in float64 on the CPU by ``gelsd`` (an SVD),
    so that with fewer windows than unknowns the minimum-norm solution comes back, as
    from ``numpy.linalg.lstsq``. The results have the dtype and device of ``X``.
    """
    _finite("X", X)
    _finite("y", y)
    if len(X) < 1:
        raise ValueError(
            f"X must have at least one window (N >= 1), got N = {len(X)}"
        )
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype, device=X.device)], 1)
    w = torch.linalg.lstsq(  # (p + 1,): the coefficients, then the intercept
        A.detach().cpu().double(),
        y.detach().cpu().double()[:, None],
        driver="gelsd",
    ).solution[:, 0]
    w = w.to(dtype=X.dtype, device=X.device)
    return w[:-1], w[-1]


class Procedure(NamedTuple):
    """What :func:`fit_with_chosen_steps` returns."""

    model: Forecaster
    """Trained on all windows of the series for ``steps`` steps."""
    steps: int
    """The number of steps chosen on the held-out windows."""
    mean: float
    """The mean of the series, subtracted before the model reads it."""
    std: float
    """The standard deviation of the series, by which it is divided."""


@contract(
    series=Tensor("n"),
    window=Int(low=1),
    hidden=Int(low=1),
    max_steps=Int(low=1),
    lr=Real(low=0, low_open=True),
    holdout=Real(low=0, high=1, low_open=True, high_open=True),
    every=Int(low=1),
    seed=Int(low=0, high=999),
)
def fit_with_chosen_steps(
    series,
    *,
    window=12,
    hidden=16,
    max_steps=200,
    lr=0.01,
    holdout=0.2,
    every=5,
    seed=0,
    device=None,
):
    """The whole recipe that turns a series into a forecaster, with nothing left to choose.

    1. Standardize the series with its own mean and standard deviation, and cut it
       into windows (:func:`nnbook.data.windows`).
    2. Train a :class:`Forecaster` on the first ``1 - holdout`` of the windows (in
       time order) for ``max_steps`` steps, measuring its loss on the last
       ``holdout`` of them every ``every`` steps; take the step count with the lowest
       of those losses.
    3. Train a fresh model, from the same seed, on **all** the windows for that many
       steps (:func:`fit_forecaster`).

    Only ``series`` is looked at, so cross-validation can score the recipe by calling
    it on each fold's training years, and the final model repeats it exactly on all
    the data.

    Parameters
    ----------
    series : Tensor of shape (n,)
        The history, in its own units, oldest first; its dtype is the model's.
    window : int, default 12
        The values the model reads per forecast.
    hidden, lr, seed, device
        As in :func:`fit_forecaster`.
    max_steps : int, default 200
        The longest training considered.
    holdout : float, default 0.2
        The fraction of the windows, the most recent ones, that chooses the steps.
    every : int, default 5
        The step counts considered are ``every``, ``2 * every``, ... up to
        ``max_steps``.

    Returns
    -------
    tuple
        A :class:`Procedure`, ``(model, steps, mean, std)``: the forecast of a window ``x`` of raw values is
        ``model((x - mean) / std) * std + mean``.

    Raises
    ------
    ValueError
        If the series holds NaN or inf, is constant (no standard deviation to divide
        by), is too short for ``window``, ``holdout`` leaves no window on one side, or
        ``every`` exceeds ``max_steps``.

    Notes
    -----
    The mean and standard deviation of step 1 are those of the whole ``series``,
    the held-out windows of step 2 included: the step count is chosen on windows whose
    scaling has seen them. It is the same scaling the final model uses, and the effect
    on a choice of step count is small, but the held-out loss is not that of fully
    unseen data.
    """
    _finite("series", series)
    mean, std = series.mean().item(), series.std().item()
    if not std > 0:
        raise ValueError(
            f"series must not be constant: its standard deviation is {std}, "
            "and standardizing would divide by it"
        )
    X, y = windows((series - mean) / std, window)
    n_fit = len(X) - round(holdout * len(X))
    if not 0 < n_fit < len(X):
        raise ValueError(
            f"holdout must leave windows on both sides of {len(X)}, got {holdout}"
        )
    if every > max_steps:
        raise ValueError(
            f"every must be at most max_steps={max_steps}, got {every}"
        )
    device = X.device if device is None else device
    torch.manual_seed(nnbook.seed(seed))
    model = Forecaster(hidden, dtype=X.dtype).to(device)
    held_X, held_y = X[n_fit:].to(device), y[n_fit:].to(device)
    best, steps = float("inf"), every
    for step, _ in adam_steps(
        model, X[:n_fit], y[:n_fit], steps=max_steps, lr=lr
    ):
        if step % every == 0:
            with torch.no_grad():
                loss = F.mse_loss(model(held_X), held_y).item()
            if loss < best:
                best, steps = loss, step
    model, _ = fit_forecaster(
        X, y, hidden=hidden, steps=steps, lr=lr, seed=seed, device=device
    )
    return Procedure(model, steps, mean, std)
