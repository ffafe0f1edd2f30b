"""Time series from statsmodels, and the windows a forecaster reads."""

from __future__ import annotations

import torch

from nnbook.contract import Choice, Int, Tensor, contract
from nnbook.data._images import FLOATS

__all__ = ["co2", "sunspots", "windows"]


@contract(dtype=Choice(*FLOATS))
def sunspots(dtype=torch.float64):
    """Yearly mean sunspot numbers, 1700 to 2008 (309 values), from statsmodels."""
    import statsmodels.api as sm

    return torch.as_tensor(
        sm.datasets.sunspots.load_pandas()
        .data["SUNACTIVITY"]
        .to_numpy()
        .copy(),
        dtype=dtype,
    )


@contract(dtype=Choice(*FLOATS))
def co2(dtype=torch.float64):
    """Monthly mean CO2 at Mauna Loa in ppm, March 1958 to December 2001 (526 values).

    The weekly series in statsmodels has gaps; the monthly means of the weeks present
    are taken, and a month with none repeats the previous month.
    """
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    return torch.as_tensor(
        weekly.resample("MS").mean().ffill().to_numpy().copy(), dtype=dtype
    )


@contract(series=Tensor("n", dtype="any"), length=Int(low=1))
def windows(series, length):
    """Supervised pairs from a series: each run of ``length`` values and the value after it.

    Parameters
    ----------
    series : Tensor of shape (n,)
    length : int
        The window, in time steps.

    Returns
    -------
    X : Tensor of shape (n - length, length)
    y : Tensor of shape (n - length,)
    """
    if length >= len(series):
        raise ValueError(
            f"length must be an int in [1, {len(series) - 1}] for a series "
            f"of {len(series)} values, got {length}"
        )
    return series.unfold(0, length, 1)[:-1], series[length:]
