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
    _check_model(model)
    _check_path(path)
    if os.path.isdir(path):
        raise ValueError(
            f"path must be a file name, got the directory {os.fspath(path)!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no directory {folder!r} to save into")
    partial = f"{os.fspath(path)}.partial"
    torch.save(model.state_dict(), partial)
    os.replace(partial, path)  # a reader never sees half a file
    return path


def _check_model(model):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )


def _check_path(path):
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"path must be a file name (str or Path), got {type(path).__name__}"
        )


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
    _check_model(model)
    _check_path(path)
    if not os.path.isfile(path):
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
    problem = _mismatch(model.state_dict(), state)
    if problem:  # checked before loading, so a failed load changes nothing
        raise CheckpointError(
            f"{os.fspath(path)!r} does not fit {type(model).__name__}: {problem}"
        )
    model.load_state_dict(state)
    return model


def _mismatch(expected, found) -> str:
    """What keeps ``found`` from loading where ``expected`` is; empty if nothing."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [
        f"{k}: {tuple(found[k].shape)} in the file, {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in found
        and isinstance(found[k], torch.Tensor)
        and found[k].shape != v.shape
    ]
    parts = []
    if missing:
        parts.append("missing keys " + ", ".join(missing[:5]))
    if unexpected:
        parts.append("unexpected keys " + ", ".join(unexpected[:5]))
    if shapes:
        parts.append("different shapes: " + "; ".join(shapes[:3]))
    return "; ".join(parts)


def _first_line(err, skip=0):
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[skip : skip + 3]) if lines else type(err).__name__
