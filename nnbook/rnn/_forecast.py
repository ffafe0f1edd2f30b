r"""Forecasting a series from a window of its past values.

The sunspot pages of the recurrent chapter share one model, :class:`Forecaster`: an
LSTM reads a window of standardized values and a linear layer maps its last hidden
state to the next value (many-to-one). :func:`adam_steps` trains it on the whole
training set at every step, :func:`fit_forecaster` seeds, builds and trains one, and
:func:`recursive_forecast` runs it beyond the end of the data, feeding each forecast
back in as the newest value of the window.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

import nnbook
from nnbook.contract import Instance, Int, Real, Tensor, contract

__all__ = ["Forecaster", "adam_steps", "fit_forecaster", "recursive_forecast"]


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
