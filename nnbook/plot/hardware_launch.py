"""The figure of the launch-overhead section: measured call times and the fitted line.

The measurement and the fit stay in the notebook
(:func:`nnbook.hardware.launch.size_sweep`, :func:`nnbook.hardware.launch.fit_launch`);
this module only draws them.
"""

from __future__ import annotations

import numpy as np

from nnbook.hardware.launch import call_time
from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes

__all__ = ["plot_launch_fit"]


def plot_launch_fit(work, seconds, t_launch, rate, ax=None, *, label="CPU"):
    """Measured seconds per call against work, on log axes, with the fitted line.

    The line is :func:`nnbook.hardware.launch.call_time` with the fitted
    ``t_launch`` and ``rate``; a dotted horizontal line marks ``t_launch`` and a
    dotted vertical one the work ``t_launch * rate`` at which launching and
    computing take equally long, drawn only where it lies inside the measured
    range (outside it, it would be an extrapolation of the line).

    Parameters
    ----------
    work : sequence of float
        Elements per call, all above zero.
    seconds : sequence of float
        Measured seconds per call, as many as ``work``, all above zero.
    t_launch : float
    rate : float
        The fit, in seconds and elements per second.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 5 × 3 inch figure.
    label : str, default "CPU"
        The name of the measured device, for the legend.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``work`` or ``seconds`` does not hold numbers, or ``ax`` is not an Axes.
    ValueError
        If their lengths differ, or a value is not above zero.
    """
    n = _array("work", work, ndim=1)
    t = _array("seconds", seconds, ndim=1)
    if n.shape != t.shape:
        raise ValueError(
            f"seconds must have one value per work value ({n.size}), got {t.size}"
        )
    for name, values in (("work", n), ("seconds", t)):
        if not np.all(values > 0):
            raise ValueError(
                f"{name} must hold values above zero, got {values.min()!r}"
            )
    line = np.geomspace(n.min(), n.max(), 100)
    ax = _axes(ax, (5, 3))
    ax.loglog(n, t * 1e6, "o", label=f"measured, {label}")
    ax.loglog(
        line,
        [call_time(float(m), t_launch, rate) * 1e6 for m in line],
        "-",
        label="fit: $t_{launch} + n / R$",
    )
    ax.axhline(t_launch * 1e6, color="gray", linestyle=":")
    if n.min() <= t_launch * rate <= n.max():
        ax.axvline(t_launch * rate, color="gray", linestyle=":")
    ax.set(xlabel="elements per call, n", ylabel="µs per call")
    ax.legend()
    return ax
