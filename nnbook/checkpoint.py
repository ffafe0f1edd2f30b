"""Saving a trained model and loading it back, with errors a reader can act on.

A checkpoint is a model's ``state_dict`` written by ``torch.save``. It is read back
with ``torch.load(..., weights_only=True)``, which rebuilds tensors and plain
containers only and never runs code stored in the file, into a freshly built model of
the same architecture.
"""

from __future__ import annotations

import os

import torch

__all__ = ["CheckpointError", "load", "save"]


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint for this model."""


def save(model, path):
    """Write ``model.state_dict()`` to ``path``; return the path.

    Parameters
    ----------
    model : torch.nn.Module
    path : str
        The file name; a ``pathlib.Path`` works too.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )
    torch.save(model.state_dict(), path)
    return path


def load(model, path, *, map_location="cpu"):
    """Load the checkpoint at ``path`` into ``model`` and return ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        A freshly built model with the architecture the checkpoint was saved from.
    path : str
        The file name; a ``pathlib.Path`` works too.
    map_location : str or torch.device, default "cpu"
        Where the tensors go; a checkpoint saved on a GPU loads on a CPU-only machine.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CheckpointError
        The file is truncated or corrupted, is not a ``state_dict``, or does not fit the
        model (missing or unexpected keys, different shapes). The message names the file
        and what was wrong.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (torch.load fails in many ways on a damaged file)
        size = os.path.getsize(path)
        raise CheckpointError(
            f"{os.fspath(path)!r} ({size} bytes) is not a readable checkpoint: it is truncated, "
            f"corrupted, or not written by torch.save ({type(err).__name__}: {_first_line(err)})"
        ) from err
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{os.fspath(path)!r} holds a {type(state).__name__}, not a state_dict"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"{os.fspath(path)!r} does not fit {type(model).__name__}: {_first_line(err, skip=1)}"
        ) from err
    return model


def _first_line(err, skip=0):
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[skip : skip + 3]) if lines else type(err).__name__
