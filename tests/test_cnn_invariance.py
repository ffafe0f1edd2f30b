"""nnbook.cnn's translations (shift, random_shift) and equivariance_gap, in float64."""

import functools

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook import cnn

pytestmark = pytest.mark.cnn


def _moved_by_padding(images, dy, dx):
    """The move as padding on one side and cropping on the other: an independent form."""
    height, width = images.shape[-2:]
    padded = F.pad(images, (abs(dx), abs(dx), abs(dy), abs(dy)))
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[..., top : top + height, left : left + width]


@pytest.mark.parametrize(("dy", "dx"), [(0, 0), (1, 0), (0, 2), (-2, 3), (3, -1), (-4, -4)])
def test_shift_moves_the_pixels_and_fills_with_zeros(dy, dx):
    images = randn(2, 3, 6, 7)
    moved = cnn.shift(images, dy, dx)
    torch.testing.assert_close(moved, _moved_by_padding(images, dy, dx), rtol=0, atol=0)
    # inside, it is torch.roll; what wrapped around is zero
    rolled = torch.roll(images, (dy, dx), dims=(2, 3))
    rows = slice(max(dy, 0), 6 + min(dy, 0))
    columns = slice(max(dx, 0), 7 + min(dx, 0))
    assert torch.equal(moved[..., rows, columns], rolled[..., rows, columns])
    assert moved.abs().sum() <= images.abs().sum()


def test_shift_rejects_a_move_as_large_as_the_image():
    with pytest.raises(ValueError, match=r"dy and dx must be smaller than the image \(6 x 7\)"):
        cnn.shift(randn(1, 1, 6, 7), 0, 7)
    with pytest.raises(TypeError, match="dy"):
        cnn.shift(randn(1, 1, 6, 7), 1.5, 0)
    with pytest.raises(ValueError, match="images must have"):
        cnn.shift(randn(6, 7), 1, 0)


def test_random_shift_moves_each_image_by_its_own_drawn_offset():
    images = randn(40, 1, 9, 9)
    g = torch.Generator().manual_seed(3)
    moved = cnn.random_shift(images, 2, generator=g)
    offsets = torch.randint(-2, 3, (40, 2), generator=torch.Generator().manual_seed(3))
    for image, out, (dy, dx) in zip(images, moved, offsets.tolist(), strict=True):
        assert torch.equal(out, cnn.shift(image[None], dy, dx)[0])
    assert len(offsets.unique(dim=0)) > 10  # many different moves in one batch


def test_random_shift_is_reproducible_and_zero_shift_is_the_identity():
    images = randn(8, 2, 5, 5)
    a = cnn.random_shift(images, 1, generator=torch.Generator().manual_seed(0))
    b = cnn.random_shift(images, 1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(cnn.random_shift(images, 0, generator=g), images)
    with pytest.raises(ValueError, match="max_shift"):
        cnn.random_shift(images, -1, generator=g)
    with pytest.raises(TypeError, match="generator"):
        cnn.random_shift(images, 1, generator=0)


def _conv(x, stride=1):
    w = randn(3, 1, 3, 3, seed=5)
    return F.conv2d(x, w, padding=1, stride=stride)


def test_a_convolution_follows_every_move_exactly():
    x = randn(2, 1, 12, 16)
    for dx in range(5):
        assert cnn.equivariance_gap(_conv, x, dx, margin=dx + 1) < 1e-14


def test_a_stride_follows_only_the_moves_it_divides():
    x = randn(2, 1, 12, 16)
    strided = functools.partial(_conv, stride=2)
    even = [cnn.equivariance_gap(strided, x, dx, stride=2, margin=3) for dx in (0, 2, 4)]
    odd = [cnn.equivariance_gap(strided, x, dx, stride=2, margin=3) for dx in (1, 3)]
    assert max(even) < 1e-14
    assert min(odd) > 0.1


def test_equivariance_gap_is_the_relative_distance_to_the_moved_output():
    x = randn(1, 1, 8, 8)
    f = functools.partial(_conv, stride=2)
    moved, reference = f(cnn.shift(x, 0, 1)), f(x)
    by_hand = min(
        ((moved - cnn.shift(reference, 0, k)).norm() / cnn.shift(reference, 0, k).norm()).item()
        for k in (0, 1)
    )
    assert cnn.equivariance_gap(f, x, 1, stride=2) == pytest.approx(by_hand, rel=1e-14)


def test_equivariance_gap_rejects_bad_arguments():
    x = randn(1, 1, 8, 8)
    with pytest.raises(TypeError, match="f must be callable, got int"):
        cnn.equivariance_gap(3, x, 1)
    with pytest.raises(ValueError, match="margin must leave columns of the 8-wide output, got 4"):
        cnn.equivariance_gap(_conv, x, 1, margin=4)
    with pytest.raises(ValueError, match="stride"):
        cnn.equivariance_gap(_conv, x, 1, stride=0)


def test_train_classifier_trains_on_the_augmented_batches():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(16, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.arange(16) % 2
    seen = []

    def augment(batch, *, generator):
        seen.append(batch.clone())
        return cnn.random_shift(batch, 1, generator=generator)

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)).double()
    cnn.train_classifier(net, X, y, (X, y), seed=0, epochs=2, batch_size=8, augment=augment)
    assert len(seen) == 4 and all(b.shape == (8, 1, 8, 8) for b in seen)
    with pytest.raises(TypeError, match="augment must be"):
        cnn.train_classifier(net, X, y, (X, y), seed=0, epochs=1, augment=3)
