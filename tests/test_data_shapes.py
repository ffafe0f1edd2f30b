"""The generated shapes dataset: sizes, balance, determinism, exactness, validation."""

import hashlib

import pytest
import torch

from nnbook.data import SHAPES, shapes

pytestmark = pytest.mark.cnn


def _sha256(split):
    h = hashlib.sha256()
    for t in split:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


#: sha256 of the bytes of two draws: a change of the generator changes every page that
#: uses it, so it must be noticed here.
PINNED = [
    ({}, "6af6735d5ecdb341e7f51e6db0d7505b2792ee3b234703b28a8d60ad47a5e250"),
    (
        {"size": 20, "channels": 3, "distractors": 4, "noise": 0.2, "seed": 7},
        "a418967bd4a5cc26158b4a89b1d188124b04d9713b3a9f8569551b071202b6fb",
    ),
]


@pytest.mark.parametrize(("kwargs", "sha256"), PINNED)
def test_the_draws_are_pinned(kwargs, sha256):
    n = (30, 10) if kwargs else (100, 50)  # the defaults: seed 0, 16 x 16, grey
    assert _sha256(shapes(*n, **kwargs)) == sha256


def test_shapes_and_dtypes():
    data = shapes(30, 20, size=20, channels=3, dtype=torch.float64)
    assert data.X_train.shape == (30, 3 * 20 * 20) and data.X_test.shape == (20, 1200)
    assert data.X_train.dtype == data.X_test.dtype == torch.float64
    assert data.y_train.shape == (30,) and data.y_test.shape == (20,)
    assert data.y_train.dtype == data.y_test.dtype == torch.int64
    default = shapes(10, 10)
    assert default.X_train.shape == (10, 256) and default.X_train.dtype == torch.float32
    assert len(SHAPES) == 10 and len(set(SHAPES)) == 10


def test_classes_are_balanced():
    data = shapes(200, 23)
    assert data.y_train.bincount(minlength=10).tolist() == [20] * 10
    counts = data.y_test.bincount(minlength=10)
    assert counts.min() == 2 and counts.max() == 3 and counts.sum() == 23
    assert 0 <= data.y_test.min() and data.y_test.max() <= 9


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_images():
    a, b, c = shapes(40, 20, seed=3), shapes(40, 20, seed=3), shapes(40, 20, seed=4)
    assert _sha256(a) == _sha256(b)
    assert not torch.equal(a.X_train, c.X_train)
    assert not torch.equal(a.X_test, c.X_test)


def test_train_and_test_are_independent_draws():
    data = shapes(300, 100)
    # no test image repeats a training image
    same = (data.X_test[:, None, :] == data.X_train[None, :, :]).all(dim=2)
    assert not same.any()
    # each part depends on its own size only
    other = shapes(300, 7)
    assert torch.equal(data.X_train, other.X_train)
    assert torch.equal(shapes(5, 100).X_test, data.X_test)
    # and the test images of one seed are not the training images of the next
    assert not torch.equal(shapes(5, 5, seed=0).X_test, shapes(5, 5, seed=1).X_train)


def test_pixels_are_exact_multiples_of_1_over_1024_in_0_1():
    for dtype in (torch.float32, torch.float64, torch.float16):
        X = shapes(50, 10, noise=0.3, dtype=dtype).X_train
        assert X.min() >= 0 and X.max() <= 1
        k = X.double() * 1024
        assert torch.equal(k, k.round())
    # the same numbers in every exact dtype
    a = shapes(20, 10, channels=3).X_train
    assert torch.equal(a.double(), shapes(20, 10, channels=3, dtype=torch.float64).X_train)


def test_clutter_and_noise_are_what_the_arguments_say():
    clean = shapes(50, 10, distractors=0, noise=0.0)
    busy = shapes(50, 10, distractors=8, noise=0.0)
    noisy = shapes(50, 10, distractors=0, noise=0.25)
    # the same shapes on the same backgrounds: clutter only adds light
    assert torch.equal(clean.y_train, busy.y_train)
    assert (busy.X_train >= clean.X_train).all()
    assert (busy.X_train > clean.X_train).sum() > 50 * 8
    # without noise a clean image has few distinct levels (background, shape, edges)
    levels = [len(torch.unique(x)) for x in clean.X_train]
    assert max(levels) <= 5
    # noise of amplitude 0.25 moves pixels by at most 256/1024 (before clipping)
    change = (noisy.X_train - clean.X_train).abs()
    assert change.max() <= 0.25 and change.mean() > 0.05


def test_colour_carries_no_class_information():
    data = shapes(2000, 10, channels=3, distractors=0, noise=0.0)
    X, y = data.X_train.reshape(-1, 3, 16, 16), data.y_train
    # the brightest channel of each image, per class: about a third each
    brightest = X.amax(dim=(2, 3)).argmax(dim=1)
    for k in range(10):
        share = torch.bincount(brightest[y == k], minlength=3) / (y == k).sum()
        assert share.min() > 0.2, (SHAPES[k], share)


def test_every_image_shows_a_shape_of_a_sensible_size():
    for size in (12, 16, 24):
        data = shapes(500, 10, distractors=0, noise=0.0, size=size)
        X = data.X_train.reshape(-1, size, size)
        # without clutter and noise the darkest pixels are the background
        lit = (X > X.amin(dim=(1, 2), keepdim=True)).double().mean(dim=(1, 2))
        assert lit.min() > 0.04 and lit.max() < 0.6


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_train": 0}, ValueError, r"n_train must be in \[1, inf\], got 0"),
        ({"n_test": 2.5}, TypeError, r"n_test must be an int, got float"),
        ({"size": 11}, ValueError, r"size must be in \[12, 64\], got 11"),
        ({"channels": 2}, ValueError, r"channels must be one of 1, 3, got 2"),
        ({"distractors": 9}, ValueError, r"distractors must be in \[0, 8\], got 9"),
        ({"noise": float("nan")}, ValueError, r"noise must be a number, got nan"),
        ({"noise": "0.1"}, TypeError, r"noise must be a real number, got str"),
        ({"noise": 0.6}, ValueError, r"noise must be in \[0, 0.5\], got 0.6"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, .*\], got -1"),
        ({"dtype": torch.int64}, ValueError, r"dtype must be one of .*, got torch.int64"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        shapes(**{"n_train": 10, "n_test": 10, **kwargs})
