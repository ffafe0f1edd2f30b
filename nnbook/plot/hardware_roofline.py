"""Labels for the roofline of the arithmetic-and-memory section: numbers that never overlap.

:func:`nnbook.hardware.roofline.plot_roofline` draws the roof and the kernels, and calls
:func:`number_points` to write each kernel's number beside its point. Kernels of similar
intensity and speed sit close together, so each number takes the first of a few spots
around its point where it covers nothing already drawn.
"""

from __future__ import annotations

__all__ = ["SPOTS", "number_points"]

#: Where a point's number may go, tried in order. Each spot is an offset in points from
#: the point, and the text's horizontal and vertical alignment. Three rings, each farther out.
SPOTS = [
    (dx * r, dy * r, ha, va)
    for r in (1, 2, 3)
    for dx, dy, ha, va in (
        (5, 3, "left", "bottom"),
        (5, -3, "left", "top"),
        (-5, 3, "right", "bottom"),
        (-5, -3, "right", "top"),
        (6, 0, "left", "center"),
        (-6, 0, "right", "center"),
    )
]


def _number(ax, k, xy, color, spot):
    """The number ``k`` at offset ``spot`` from the point ``xy``."""
    dx, dy, ha, va = spot
    return ax.annotate(
        str(k),
        xy,
        xytext=(dx, dy),
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=9,
        fontweight="bold",
        color=color,
    )


def number_points(ax, points, colors, *, avoid=(), curve=None):
    """Write ``1, 2, ...`` beside ``points``, clear of each other and of what is drawn.

    Each number takes the first spot of :data:`SPOTS` that lies inside the axes,
    overlaps no box of ``avoid`` and no number placed before it, and covers no point
    of ``curve``; if no spot is free, it takes the first. Fix the axis limits first:
    the spots are judged where the points are drawn now.

    Parameters
    ----------
    ax : matplotlib Axes
    points : list
        ``(x, y)`` pairs in data coordinates, one per number.
    colors : list
        A matplotlib colour per point, for its number.
    avoid : list, optional
        ``matplotlib.transforms.Bbox`` boxes in display pixels that no number may overlap: markers, a legend.
    curve : numpy.ndarray, optional
        ``(n, 2)`` points of a line in display pixels that no number may cover.

    Returns
    -------
    list
        The numbers' boxes in display pixels, in the order of ``points``.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes.
    ValueError
        If ``points`` and ``colors`` differ in length.
    """
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}"
        )
    if len(points) != len(colors):
        raise ValueError(
            f"colors must have one colour per point, {len(points)}, got {len(colors)}"
        )
    curve = [] if curve is None else curve
    placed = []
    inside = ax.get_window_extent()
    for k, (xy, color) in enumerate(zip(points, colors, strict=True), 1):
        for spot in SPOTS:
            text = _number(ax, k, xy, color, spot)
            box = text.get_window_extent().padded(1)
            if (
                inside.contains(box.x0, box.y0)
                and inside.contains(box.x1, box.y1)
                and not any(box.overlaps(b) for b in [*avoid, *placed])
                and not any(box.contains(px, py) for px, py in curve)
            ):
                break
            text.remove()
        else:
            text = _number(ax, k, xy, color, SPOTS[0])
            box = text.get_window_extent().padded(1)
        placed.append(box)
    return placed
