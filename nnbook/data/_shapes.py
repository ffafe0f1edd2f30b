r"""Generated images of ten shapes in clutter: a harder image task than the digits.

Every number is drawn as an integer and every pixel is computed in integer arithmetic,
then divided by a power of two: the images are the same, bit for bit, on every CPU.
"""

from __future__ import annotations

import torch

from nnbook.contract import Choice, Int, Real, contract
from nnbook.data._images import FLOATS, Split

__all__ = ["SHAPES", "shapes"]

#: The class names of :func:`shapes`, in label order.
SHAPES = (
    "disc",
    "ring",
    "square",
    "frame",
    "triangle",
    "plus",
    "cross",
    "ell",
    "tee",
    "bars",
)

_SUB = 2  # sub-pixels per pixel along each axis (anti-aliasing)
_Q = 2 * _SUB  # coordinate units per pixel: sub-pixel centres lie on odd units
_ONE = 1024  # a pixel value of 1.0, in the integer units of the image


def _draw(g, n, low, high, *shape):
    """Integers from ``[low, high]`` of shape ``(n, *shape)``."""
    return torch.randint(
        low, high + 1, (n, *shape), generator=g, dtype=torch.int32
    )


def _mask(label, dx, dy, r, w):
    """Sub-pixels inside the shape ``label`` of half-size ``r`` and stroke ``w``.

    ``dx`` (n, 1, 2S) and ``dy`` (n, 2S, 1) are the sub-pixels' offsets from the
    centre, ``r`` and ``w`` (n, 1, 1), all in the same integer units; every test is an
    exact integer comparison. The shape is drawn upright: apex, bar or corner up.
    """
    ax, ay = dx.abs(), dy.abs()
    inside_x, inside_y = ax <= r, ay <= r
    box = inside_x & inside_y
    s = r - r // 8  # squares a little smaller, for an area closer to the disc's
    if label == 0:  # disc
        return dx * dx + dy * dy <= r * r
    if label == 1:  # ring
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 > (r - 2 * w) ** 2)
    if label == 2:  # square
        return (ax <= s) & (ay <= s)
    if label == 3:  # frame: the outline of a square
        return ((ax <= s) & (ay <= s)) & ((ax > s - 2 * w) | (ay > s - 2 * w))
    if label == 4:  # triangle with its apex at dy = -r
        return box & (2 * ax <= dy + r)
    if label == 5:  # plus
        return (inside_y & (ax <= w)) | (inside_x & (ay <= w))
    if label == 6:  # cross: both diagonals, each of half-width w
        return box & (
            ((dx - dy) ** 2 <= 2 * w * w) | ((dx + dy) ** 2 <= 2 * w * w)
        )
    # strokes of width 2 w along the top, bottom and left sides of the box
    top = inside_x & (dy >= -r) & (dy <= -r + 2 * w)
    bottom = inside_x & (dy <= r) & (dy >= r - 2 * w)
    left = inside_y & (dx >= -r) & (dx <= -r + 2 * w)
    if label == 7:  # ell
        return left | bottom
    if label == 8:  # tee
        return top | (inside_y & (ax <= w))
    return top | bottom  # bars


def _clutter(kind, ex, ey, length, radius):
    """Sub-pixels of one distractor: a blob, or a stroke across, down or diagonal.

    ``ex`` (n, 1, 2S) and ``ey`` (n, 2S, 1) are offsets from its centre.
    """
    if kind == 0:
        return ex * ex + ey * ey <= radius * radius
    if kind == 1:
        return (ex.abs() <= length) & (ey.abs() <= _Q // 2)
    if kind == 2:
        return (ey.abs() <= length) & (ex.abs() <= _Q // 2)
    # a diagonal: its offsets along and across are sqrt(2) times the distances
    along, across = ex + ey, ex - ey
    if kind == 4:
        along, across = across, along
    return (along.abs() <= length + length // 2) & (across.abs() <= _Q // 2)


def _coverage(sub, S):
    """The number of lit sub-pixels of each pixel, 0 to _SUB ** 2 (int32)."""
    v = sub.to(torch.int32).view(*sub.shape[:-2], S, _SUB, S, _SUB)
    return v[..., 0, :, 0] + v[..., 0, :, 1] + v[..., 1, :, 0] + v[..., 1, :, 1]


def _images(g, y, size, channels, distractors, noise):
    """Integer images (n, channels, size, size) in units of 1 / _ONE, for labels ``y``."""
    n, S, m, Q = len(y), size, distractors, _Q
    # the shape: half-size r, stroke half-width w, centre, a quarter turn and a flip
    r = _draw(g, n, 3 * S * Q // 16, 6 * S * Q // 16, 1, 1)
    w = torch.clamp(r * _draw(g, n, 3, 5, 1, 1) // 16, min=Q // 2)
    cx = _draw(g, n, 0, 1 << 20, 1, 1) % (Q * S - 2 * r - 3) + r + 2
    cy = _draw(g, n, 0, 1 << 20, 1, 1) % (Q * S - 2 * r - 3) + r + 2
    turn, flip = _draw(g, n, 0, 3), _draw(g, n, 0, 1)
    # brightness in units of 1/256, per channel: the background and the shape
    back = _draw(g, n, 0, 96, channels, 1, 1)
    fore = _draw(g, n, 128, 256, channels, 1, 1)
    # distractors: short strokes and small blobs anywhere, which may overlap the shape
    kind = _draw(g, n * m, 0, 4)
    length = _draw(g, n * m, S * Q // 8, S * Q // 4, 1, 1)
    radius = _draw(g, n * m, Q // 2, Q, 1, 1)
    ox = _draw(g, n * m, 0, Q * S - 1, 1, 1)
    oy = _draw(g, n * m, 0, Q * S - 1, 1, 1)
    level = _draw(g, n * m, 96, 256, channels, 1, 1)
    noise = torch.randint(
        -noise, noise + 1, (n, channels, S, S), generator=g, dtype=torch.int32
    )

    c = torch.arange(1, Q * S, 2, dtype=torch.int32)  # sub-pixel centres
    gy, gx = c.view(1, -1, 1), c.view(1, 1, -1)
    cover = torch.zeros(n, S, S, dtype=torch.int32)
    for label in range(len(SHAPES)):
        i = (y == label).nonzero().flatten()
        if len(i):
            sub = _mask(label, gx - cx[i], gy - cy[i], r[i], w[i])
            cover[i] = _coverage(sub, S)
    for t in range(4):  # turn and mirror: exact permutations of the pixels
        for f in range(2):
            i = ((turn == t) & (flip == f)).nonzero().flatten()
            part = cover[i].flip(-1) if f else cover[i]
            cover[i] = torch.rot90(part, t, dims=(-2, -1))
    # each pixel: background and shape mixed by coverage, in units of 1/1024 (_ONE);
    # distractors are at least as bright as the background, so the brightest wins
    lit = torch.zeros(n * m, S, S, dtype=torch.int32)
    for k in range(5):
        i = (kind == k).nonzero().flatten()
        if len(i):
            sub = _clutter(k, gx - ox[i], gy - oy[i], length[i], radius[i])
            lit[i] = _coverage(sub, S)
    x = (fore - back) * cover[:, None]  # (n, channels, S, S)
    if m:
        level = level - back.repeat_interleave(m, dim=0)
        lit = (level * lit[:, None]).view(n, m, channels, S, S).amax(dim=1)
        x = torch.maximum(x, lit)
    x = x + _SUB**2 * back
    return (x + noise).clamp(0, _ONE)


@contract(
    n_train=Int(low=1),
    n_test=Int(low=1),
    size=Int(low=12, high=64),
    channels=Choice(1, 3),
    distractors=Int(low=0, high=8),
    noise=Real(low=0, high=0.5),
    seed=Int(low=0, high=2**32 - 1),
    dtype=Choice(*FLOATS),
)
def shapes(
    n_train=1500,
    n_test=500,
    *,
    size=16,
    channels=1,
    distractors=1,
    noise=0.05,
    seed=0,
    dtype=torch.float32,
) -> Split:
    """Generated images of ten shapes (:data:`SHAPES`) at random places, sizes and brightness, in clutter.

    The ten classes are a disc, a ring, a square, a frame (a square's outline), a
    triangle, a plus, a cross (both diagonals), an ell, a tee and two parallel bars.
    Each image shows one of them, of random half-size (3/16 to 6/16 of the image
    side) and stroke width, wholly inside the image, turned by a random multiple of 90
    degrees and maybe mirrored, in a random shade on a random, darker background. On
    top lie ``distractors`` short strokes and small blobs of random brightness, which
    may overlap the shape, and uniform noise of amplitude ``noise``. With three
    channels each colour is drawn on its own: colour says nothing about the class.

    The classes are balanced: each has ``n // 10`` or ``n // 10 + 1`` images. The
    training and test images are independent draws (from the streams ``2 seed``
    and ``2 seed + 1``), so neither depends on the other's size. Every number is
    an integer draw and every pixel an integer (edges are anti-aliased by counting
    2 x 2 sub-pixels) divided by 1024, so the images are the same on every CPU.

    Parameters
    ----------
    n_train, n_test : int, default 1500 and 500
        The numbers of training and test images.
    size : int, default 16
        The side of the images in pixels, 12 to 64.
    channels : {1, 3}, default 1
        Grey or colour images.
    distractors : int, default 1
        The number of strokes and blobs added to each image, 0 to 8.
    noise : float, default 0.05
        The amplitude of the uniform noise added to each pixel, rounded to a multiple
        of 1/1024; the pixels are then clipped to [0, 1].
    seed : int, default 0
        Selects the draw; each seed gives other images.
    dtype : torch.dtype, default torch.float32
        The dtype of the pixels.

    Returns
    -------
    Split
        ``X_train`` of shape (n_train, channels * size * size) and ``X_test`` of shape
        (n_test, channels * size * size), pixels in [0, 1], channel by channel and row
        by row: ``X.reshape(-1, channels, size, size)`` gives the images. ``y_train``
        and ``y_test``, int64 labels in 0 to 9, index :data:`SHAPES`.

    Examples
    --------
    >>> data = shapes(20, 10, size=16)
    >>> data.X_train.shape, data.y_test.bincount().tolist()
    (torch.Size([20, 256]), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    """
    amplitude = round(noise * _ONE)
    parts = []
    for stream, n in ((2 * seed, n_train), (2 * seed + 1, n_test)):
        g = torch.Generator().manual_seed(stream)
        y = torch.arange(n, dtype=torch.int64) % len(SHAPES)
        y = y[torch.randperm(n, generator=g)]
        x = _images(g, y, size, channels, distractors, amplitude)
        X = (x.view(n, -1).to(torch.float64) / _ONE).to(dtype)
        parts += [X, y]
    return Split(*parts)
