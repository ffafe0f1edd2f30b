r"""Translations of images, and how far a network's maps follow them.

:func:`shift` moves images by whole pixels and fills what enters at the border with
zeros; :func:`random_shift` draws one such move per image, the data augmentation of the
invariance section; :func:`equivariance_gap` measures how far a map :math:`f` is from
commuting with a horizontal move, :math:`f(S x) = S' f(x)`, where the move :math:`S'`
of the output is the input's divided by the layers' total stride.
"""

from __future__ import annotations

import torch

from nnbook.contract import Instance, Int, Tensor, contract

__all__ = ["equivariance_gap", "random_shift", "shift"]

#: A batch of images or feature maps.
MAPS = Tensor("N", "C", "H", "W")


def _span(offset, size):
    """The (destination, source) slices of a move by ``offset`` along ``size``."""
    start, stop = max(offset, 0), size + min(offset, 0)
    return slice(start, stop), slice(start - offset, stop - offset)


@contract(images=MAPS, dy=Int(), dx=Int())
def shift(images, dy, dx):
    """Move every image ``dy`` pixels down and ``dx`` pixels right, filling with zeros.

    Pixels that leave the image are lost; rows and columns that enter it are zero. A
    negative ``dy`` moves up, a negative ``dx`` left.

    Raises ``ValueError`` when the move is as large as the image, which would leave
    nothing of it.
    """
    height, width = images.shape[-2:]
    if abs(dy) >= height or abs(dx) >= width:
        raise ValueError(
            f"dy and dx must be smaller than the image ({height} x {width}) in size, "
            f"got dy={dy}, dx={dx}"
        )
    rows, source_rows = _span(dy, height)
    columns, source_columns = _span(dx, width)
    moved = torch.zeros_like(images)
    moved[..., rows, columns] = images[..., source_rows, source_columns]
    return moved


@contract(
    images=MAPS,
    max_shift=Int(low=0),
    generator=Instance(torch.Generator),
)
def random_shift(images, max_shift, *, generator):
    """Move each image by its own random whole-pixel offset, up to ``max_shift`` each way.

    The offsets ``dy`` and ``dx`` are drawn independently and uniformly from
    ``-max_shift, ..., max_shift`` by ``generator``, one pair per image; the images are
    then moved by :func:`shift`. This is the translation augmentation of the invariance
    section: each epoch sees every training image at a new position.
    """
    n = len(images)
    offsets = torch.randint(
        -max_shift, max_shift + 1, (n, 2), generator=generator
    )
    moved = torch.empty_like(images)
    for dy, dx in offsets.unique(dim=0).tolist():
        which = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).to(
            images.device
        )
        moved[which] = shift(images[which], dy, dx)
    return moved


@contract(
    f=Instance(object),
    images=MAPS,
    dx=Int(low=0),
    stride=Int(low=1),
    margin=Int(low=0),
)
def equivariance_gap(f, images, dx, *, stride=1, margin=0):
    r"""How far ``f`` is from following a move of its input ``dx`` pixels to the right.

    Compares :math:`f(S x)`, the output for the moved images, with :math:`f(x)` moved
    by :math:`dx / s` pixels, where :math:`s` is ``stride``, the total stride of the
    layers in ``f``, and returns their relative distance
    :math:`\lVert f(Sx) - S' f(x) \rVert / \lVert S' f(x) \rVert`. When ``stride``
    does not divide ``dx``, no whole-pixel move of the output corresponds to the
    input's, and the smaller distance of the two nearest moves, :math:`\lfloor dx/s
    \rfloor` and :math:`\lceil dx/s \rceil`, is returned. The ``margin`` columns at
    each side of the output are left out, where the zeros that enter at the border
    make any map differ.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    moved, reference = f(shift(images, 0, dx)), f(images)
    width = reference.shape[-1]
    if 2 * margin >= width:
        raise ValueError(
            f"margin must leave columns of the {width}-wide output, got {margin}"
        )
    inside = slice(margin, width - margin)
    gaps = []
    for k in sorted({dx // stride, -(-dx // stride)}):
        expected = shift(reference, 0, k)[..., inside]
        gap = (moved[..., inside] - expected).norm() / expected.norm()
        gaps.append(gap.item())
    return min(gaps)
