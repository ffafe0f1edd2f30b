"""Figures of mode coverage: samples coloured by their mode, the latent map, the bridges.

The colours of the modes are the same in every figure, so that a latent region and the
samples it produces can be matched by eye; off-mode samples and latent points are drawn
in light grey. Each function draws what the notebook computed and computes nothing of
its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from nnbook.plot._checks import array, axes, mapping

__all__ = [
    "OFF_MODE_COLOUR",
    "draw_bridge_fractions",
    "draw_latent_modes",
    "draw_mode_shares",
    "draw_samples_by_mode",
    "mode_colours",
]

#: The colour of an off-mode sample or latent point.
OFF_MODE_COLOUR = "#d9d9d9"


def mode_colours(n_modes):
    """One colour per mode (tab10, then tab20), as hex strings; off-mode is separate.

    Parameters
    ----------
    n_modes : int
        At least 1 and at most 20.

    Returns
    -------
    list of str
    """
    if isinstance(n_modes, bool) or not isinstance(n_modes, int | np.integer):
        raise TypeError(f"n_modes must be an int, got {type(n_modes).__name__}")
    if not 1 <= n_modes <= 20:
        raise ValueError(f"n_modes must be between 1 and 20, got {n_modes}")
    name = "tab10" if n_modes <= 10 else "tab20"
    cmap = plt.get_cmap(name)
    return [
        "#{:02x}{:02x}{:02x}".format(
            *(int(round(255 * c)) for c in cmap(j)[:3])
        )
        for j in range(n_modes)
    ]


def _modes(name, modes, n_modes, ndim):
    modes = array(name, modes, ndim=ndim)
    if modes.size and (
        modes.min() < -1
        or modes.max() >= n_modes
        or (modes != modes.round()).any()
    ):
        raise ValueError(
            f"{name} must hold integers from -1 to n_modes - 1 = {n_modes - 1}, "
            f"got values from {modes.min():g} to {modes.max():g}"
        )
    return modes.astype(int)


def draw_samples_by_mode(
    points, modes, n_modes, ax=None, *, title="", limit=3.0
):
    """A scatter plot of two-dimensional samples, each in the colour of its mode.

    Parameters
    ----------
    points : array or torch.Tensor
        Shape (n, 2).
    modes : array or torch.Tensor
        Shape (n,): each sample's mode from 0 to ``n_modes - 1``, or -1 for off-mode
        (grey), as :func:`nnbook.generative.assign_modes` returns them.
    n_modes : int
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, default ""
    limit : float, default 3.0
        Both axes run from ``-limit`` to ``limit``, at equal scale.

    Returns
    -------
    matplotlib Axes
    """
    colours = mode_colours(n_modes)
    points = array("points", points, ndim=2)
    if points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    modes = _modes("modes", modes, n_modes, 1)
    if len(modes) != len(points):
        raise ValueError(
            f"modes must have one entry per point, {len(points)}, got {len(modes)}"
        )
    ax = axes(ax, (3.5, 3.5))
    palette = np.array([OFF_MODE_COLOUR, *colours])
    ax.scatter(*points.T, s=2, alpha=0.6, color=palette[modes + 1])
    ax.set_title(title)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    return ax


def draw_latent_modes(modes, n_modes, ax=None, *, limit=3.0, title=""):
    """The latent plane coloured by the mode that the generator maps each point to.

    Grey marks latent points whose image lies on no mode: the bridges. Dashed circles
    at radius 1 and 2 show where the standard normal latent distribution puts its mass.

    Parameters
    ----------
    modes : array or torch.Tensor
        Shape (R, C): the mode of the image of each point of a regular grid over
        ``[-limit, limit]^2``, rows along the second latent coordinate (as
        ``torch.meshgrid(..., indexing="xy")`` lays them out), -1 for off-mode.
    n_modes : int
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    limit : float, default 3.0
        The grid's half-width in latent space.
    title : str, default ""

    Returns
    -------
    matplotlib Axes
    """
    colours = mode_colours(n_modes)
    modes = _modes("modes", modes, n_modes, 2)
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise TypeError(f"limit must be a number, got {type(limit).__name__}")
    if not limit > 0:
        raise ValueError(f"limit must be positive, got {limit}")
    ax = axes(ax, (3.5, 3.5))
    cmap = ListedColormap([OFF_MODE_COLOUR, *colours])
    ax.imshow(
        modes + 1,
        cmap=cmap,
        vmin=-0.5,
        vmax=n_modes + 0.5,
        origin="lower",
        extent=(-limit, limit, -limit, limit),
        interpolation="nearest",
    )
    angle = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2):
        ax.plot(r * np.cos(angle), r * np.sin(angle), "k--", lw=0.7)
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=title, aspect="equal")
    return ax


def draw_bridge_fractions(
    steps, fractions, ax=None, *, ylabel="off-mode samples"
):
    """The off-mode fraction against the training step, one line per run.

    Parameters
    ----------
    steps : array or torch.Tensor
        Shape (T,): the training steps at which the fractions were measured.
    fractions : dict
        One entry per run (its label), each a sequence of T fractions in [0, 1].
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    ylabel : str, default "off-mode samples"

    Returns
    -------
    matplotlib Axes
    """
    steps = array("steps", steps, ndim=1)
    fractions = mapping("fractions", fractions)
    ax = axes(ax, (5, 3))
    for label, values in fractions.items():
        values = array(f"fractions[{label!r}]", values, ndim=1)
        if values.shape != steps.shape:
            raise ValueError(
                f"fractions[{label!r}] must have one value per step, "
                f"{len(steps)}, got {len(values)}"
            )
        if (values < 0).any() or (values > 1).any():
            raise ValueError(
                f"fractions[{label!r}] must lie in [0, 1], "
                f"got values from {values.min():g} to {values.max():g}"
            )
        ax.plot(steps, 100 * values, marker="o", ms=3, label=str(label))
    ax.set(xlabel="training step", ylabel=f"{ylabel} (%)", ylim=(0, 100))
    ax.legend(frameon=False)
    return ax


def draw_mode_shares(shares, ax=None):
    """Each mode's share of the samples, one group of bars per mode, one bar per run.

    A dashed line marks the even share, one over the number of modes.

    Parameters
    ----------
    shares : dict
        One entry per run or data set (its label), each a sequence of K shares in
        [0, 1], as :func:`nnbook.generative.mode_shares` returns them.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes
    """
    shares = mapping("shares", shares)
    rows = {}
    for label, values in shares.items():
        values = array(f"shares[{label!r}]", values, ndim=1)
        if (values < 0).any() or (values > 1).any():
            raise ValueError(
                f"shares[{label!r}] must lie in [0, 1], "
                f"got values from {values.min():g} to {values.max():g}"
            )
        rows[label] = values
    sizes = {len(v) for v in rows.values()}
    if len(sizes) != 1:
        raise ValueError(
            f"shares must all have the same number of modes, got {sorted(sizes)}"
        )
    (k,) = sizes
    ax = axes(ax, (5, 3))
    width = 0.8 / len(rows)
    for n, (label, values) in enumerate(rows.items()):
        ax.bar(
            np.arange(k) + (n - (len(rows) - 1) / 2) * width,
            100 * values,
            width=width,
            label=str(label),
        )
    ax.axhline(100 / k, color="k", ls="--", lw=0.8, label="even share")
    top = 100 * max(max(v.max() for v in rows.values()), 1 / k)
    ax.set(xlabel="mode", ylabel="share of samples (%)", xticks=np.arange(k))
    ax.set_ylim(0, 1.45 * top)  # room for the legend above the bars
    ax.legend(frameon=False, fontsize="small", ncol=3, loc="upper center")
    return ax
