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
import warnings

import numpy as np
import torch

from nnbook import _aliases
from nnbook.check import CheckReport, Exercise, check, list_exercises
from nnbook.display import glue, show

_aliases.install()

__version__ = "0.4.0"

__all__ = [
    "__version__",
    "CheckReport",
    "Exercise",
    "check",
    "device",
    "generator",
    "glue",
    "list_exercises",
    "seed",
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
    if kind not in DEVICES or (
        colon and not (kind == "cuda" and index.isdigit())
    ):
        raise ValueError(
            f"NNBOOK_DEVICE must be one of {', '.join(DEVICES)} or cuda:N, got {name!r}"
        )
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }[kind]
    if not available:
        raise RuntimeError(
            f"NNBOOK_DEVICE={name!r}, but torch finds no {kind} device here"
        )
    if index and int(index) >= torch.cuda.device_count():
        raise RuntimeError(
            f"NNBOOK_DEVICE={name!r}, but torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device(name)


#: Seeds in a notebook are shifted by this much per step of ``NNBOOK_SEED``, so that the
#: streams of different ``NNBOOK_SEED`` values never overlap.
SEED_STRIDE = 1000


def _check_seed(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _seed_shift() -> int:
    text = os.environ.get("NNBOOK_SEED", "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(
            f"NNBOOK_SEED must be a non-negative integer, got {text!r}"
        )
    return int(text)


def seed(k: int = 0) -> int:
    """The seed a notebook uses for its ``k``-th random stream.

    With ``NNBOOK_SEED`` unset (or 0) this is ``k`` itself, so the stored outputs are
    those of the seeds written in the notebook. ``NNBOOK_SEED=s`` shifts every stream to
    ``1000 * s + k``: the same experiment at an independent draw, which is how the tests
    check that a claim holds at more than one seed.

    Parameters
    ----------
    k : int, default 0
        A non-negative stream number, below 1000.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``k`` is not an int.
    ValueError
        If ``k`` is outside [0, 1000), or ``NNBOOK_SEED`` is not a non-negative integer.
    """
    _check_seed("k", k)
    if k >= SEED_STRIDE:
        raise ValueError(f"k must be < {SEED_STRIDE}, got {k}")
    return SEED_STRIDE * _seed_shift() + k


def generator(k: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`seed` ``(k)``.

    Random numbers are drawn on the CPU and then moved to the device, so a GPU run draws
    the same numbers as the page.
    """
    return torch.Generator().manual_seed(seed(k))


def setup(seed: int = 0) -> torch.device:
    """Make a notebook reproducible, and return the device to compute on.

    Seeds Python, NumPy and torch; uses one CPU thread (results differ between thread
    counts); turns on torch's deterministic algorithms; prints arrays with 4 decimals;
    and, inside IPython, makes matplotlib emit PNG figures without metadata, so that
    re-executing a notebook reproduces it byte for byte. It also shows exceptions as
    their message alone (``%xmode Minimal``): the book's errors are meant to be read,
    not debugged; ``%xmode Context`` brings full tracebacks back.

    The global generators get ``nnbook.seed(seed)``: the seed itself unless
    ``NNBOOK_SEED`` shifts it.

    A notebook's first cell sets ``NNBOOK_PAGE_VERSION`` to the version of nnbook that
    made its stored outputs. When the installed version differs, ``setup`` warns, once
    per version: the numbers may then differ from the page's.

    Parameters
    ----------
    seed : int, default 0
        A non-negative seed, below 1000.

    Returns
    -------
    torch.device
        The result of :func:`device`.
    """
    _check_seed("seed", seed)
    if seed >= SEED_STRIDE:
        raise ValueError(f"seed must be < {SEED_STRIDE}, got {seed}")
    seed = (
        SEED_STRIDE * _seed_shift() + seed
    )  # nnbook.seed(seed), which this name hides
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
    _check_page_version()
    return device()


_warned_page_versions: set[str] = set()


def _check_page_version() -> None:
    page = os.environ.get("NNBOOK_PAGE_VERSION", "").strip()
    if not page or page == __version__ or page in _warned_page_versions:
        return
    _warned_page_versions.add(page)
    warnings.warn(
        f"this page was made with nnbook {page}, and nnbook {__version__} is installed: "
        "its numbers may differ from the page's. To run the page's version, "
        f'pip install "nnbook[notebooks] @ git+https://github.com/nnbook/nnbook@v{page}"',
        UserWarning,
        stacklevel=3,
    )


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
    shell.InteractiveTB.set_mode(
        mode="Minimal"
    )  # %xmode Minimal, without its message
    shell.run_line_magic("matplotlib", "inline")
    # Retina: a PNG at twice the resolution, shown at its 1x size, sharp on dense screens.
    shell.run_line_magic("config", "InlineBackend.figure_formats = ['retina']")
    shell.run_line_magic(
        "config",
        "InlineBackend.print_figure_kwargs = "
        "{'bbox_inches': 'tight', 'metadata': {'Software': None}}",
    )
