"""nnbook: the companion package of the executable deep-learning textbook.

Every equation the book shows is implemented here, and every implementation is tested
against an independent reference (torch, scikit-learn, finite differences or a closed
form). A notebook starts with::

    import nnbook
    device = nnbook.setup(seed=0)
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from nnbook.check import CheckReport, Exercise, check, list_exercises
from nnbook.display import show

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CheckReport",
    "Exercise",
    "check",
    "device",
    "list_exercises",
    "setup",
    "show",
]

#: The values ``NNBOOK_DEVICE`` may take (``cuda:N`` picks one GPU).
DEVICES = ("cpu", "cuda", "mps")


def device() -> torch.device:
    """The device the book computes on.

    ``NNBOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:N`` or ``mps``) decides when it is set;
    otherwise the first CUDA GPU when one is available, else the CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``NNBOOK_DEVICE`` names no known device.
    RuntimeError
        If ``NNBOOK_DEVICE`` names a device this machine does not have.
    """
    name = os.environ.get("NNBOOK_DEVICE", "").strip().lower()
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, colon, index = name.partition(":")
    if kind not in DEVICES or (colon and not (kind == "cuda" and index.isdigit())):
        raise ValueError(
            f"NNBOOK_DEVICE must be one of {', '.join(DEVICES)} or cuda:N, got {name!r}"
        )
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }[kind]
    if not available:
        raise RuntimeError(f"NNBOOK_DEVICE={name!r}, but torch finds no {kind} device here")
    if index and int(index) >= torch.cuda.device_count():
        raise RuntimeError(
            f"NNBOOK_DEVICE={name!r}, but torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device(name)


def setup(seed: int = 0) -> torch.device:
    """Make a notebook reproducible, and return the device to compute on.

    Seeds Python, NumPy and torch; uses one CPU thread (results differ between thread
    counts); turns on torch's deterministic algorithms; prints arrays with 4 decimals;
    and, inside IPython, makes matplotlib emit PNG figures without metadata, so that
    re-executing a notebook reproduces it byte for byte. It also shows exceptions as
    their message alone (``%xmode Minimal``): the book's errors are meant to be read,
    not debugged; ``%xmode Context`` brings full tracebacks back.

    Parameters
    ----------
    seed : int, default 0
        A non-negative seed.

    Returns
    -------
    torch.device
        The result of :func:`device`.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    # cuBLAS needs this before its first call to be deterministic.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the global generator readers' code may use
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    np.set_printoptions(precision=4, suppress=True)
    torch.set_printoptions(precision=4, sci_mode=False)
    _configure_matplotlib()
    return device()


def _configure_matplotlib() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.hashsalt": "nnbook",
        }
    )
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return
    shell = get_ipython()
    if shell is None or "IPKernelApp" not in shell.config:
        return
    shell.InteractiveTB.set_mode(mode="Minimal")  # %xmode Minimal, without its message
    shell.run_line_magic("matplotlib", "inline")
    shell.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
    shell.run_line_magic(
        "config",
        "InlineBackend.print_figure_kwargs = "
        "{'bbox_inches': 'tight', 'metadata': {'Software': None}}",
    )
