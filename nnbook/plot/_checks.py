"""Argument checks shared by the chapters' plotting modules: one message per mistake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def array(name, x, *, ndim=None):
    """``x`` as a float NumPy array; a tensor is detached and moved to the CPU first."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    elif isinstance(x, (str, bytes)) or not isinstance(
        x, (np.ndarray, Sequence)
    ):
        raise TypeError(
            f"{name} must be a tensor, an array or a sequence of numbers, "
            f"got {type(x).__name__}"
        )
    try:
        result = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must hold numbers, got {x!r:.60}") from err
    if ndim is not None and result.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s), "
            f"got {result.ndim}: shape {result.shape}"
        )
    return result


def axes(ax, figsize, **kwargs):
    """``ax``, or the Axes of a new figure of size ``figsize`` when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, **kwargs)
    elif not isinstance(ax, plt.Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes or None, got {type(ax).__name__}"
        )
    return ax


def mapping(name, value):
    """``value``, checked to be a non-empty mapping."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    if not value:
        raise ValueError(
            f"{name} must hold at least one entry, "
            f"got an empty {type(value).__name__}"
        )
    return value
