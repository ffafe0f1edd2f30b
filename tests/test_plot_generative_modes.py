"""nnbook.plot.generative_modes: samples by mode, the latent map, the bridge curves."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures  # noqa: F401
from matplotlib.colors import to_hex

from nnbook.plot.generative_modes import (
    OFF_MODE_COLOUR,
    draw_bridge_fractions,
    draw_latent_modes,
    draw_mode_shares,
    draw_samples_by_mode,
    mode_colours,
)

pytestmark = pytest.mark.gd


def test_mode_colours_are_distinct_and_never_the_off_mode_grey():
    for n in (1, 8, 10, 20):
        colours = mode_colours(n)
        assert len(colours) == len(set(colours)) == n
        assert OFF_MODE_COLOUR not in colours


def test_samples_are_coloured_by_their_mode_and_off_mode_samples_grey():
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    _, ax = plt.subplots()
    out = draw_samples_by_mode(points, torch.tensor([0, -1, 2]), 3, ax, limit=2.5)
    assert out is ax
    faces = [to_hex(c) for c in ax.collections[0].get_facecolors()]
    colours = mode_colours(3)
    assert faces == [colours[0], OFF_MODE_COLOUR, colours[2]]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), points.numpy())
    assert ax.get_xlim() == (-2.5, 2.5)


def test_latent_map_shows_each_mode_in_its_colour_over_the_grid():
    modes = np.array([[0, 1], [-1, 1]])
    _, ax = plt.subplots()
    draw_latent_modes(modes, 2, ax, limit=2.0)
    image = ax.images[0]
    assert image.get_extent() == [-2.0, 2.0, -2.0, 2.0]
    rgba = image.cmap(image.norm(image.get_array()))
    colours = mode_colours(2)
    assert to_hex(rgba[0, 0]) == colours[0]
    assert to_hex(rgba[0, 1]) == colours[1]
    assert to_hex(rgba[1, 0]) == OFF_MODE_COLOUR
    assert len(ax.lines) == 2  # the circles at radius 1 and 2


def test_bridge_fractions_draw_one_line_per_run_in_percent():
    _, ax = plt.subplots()
    draw_bridge_fractions([500, 1000], {"run 0": [0.8, 0.3], "run 1": [0.6, 0.2]}, ax)
    assert [line.get_label() for line in ax.lines] == ["run 0", "run 1"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [80, 30])
    assert ax.get_ylim() == (0, 100)


def test_mode_shares_draw_one_bar_per_mode_and_run_and_the_even_line():
    _, ax = plt.subplots()
    draw_mode_shares({"data": [0.5, 0.5], "run 0": [0.7, 0.1]}, ax)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [50, 50, 70, 10])
    assert ax.lines[0].get_ydata()[0] == 50


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: mode_colours(0), ValueError, r"n_modes must be between 1 and 20, got 0"),
        (lambda: mode_colours(2.0), TypeError, r"n_modes must be an int, got float"),
        (
            lambda: draw_samples_by_mode(np.zeros((3, 3)), [0, 0, 0], 2),
            ValueError,
            r"points must have shape \(n, 2\), got \(3, 3\)",
        ),
        (
            lambda: draw_samples_by_mode(np.zeros((3, 2)), [0, 0], 2),
            ValueError,
            r"modes must have one entry per point, 3, got 2",
        ),
        (
            lambda: draw_samples_by_mode(np.zeros((2, 2)), [0, 2], 2),
            ValueError,
            r"modes must hold integers from -1 to n_modes - 1 = 1, got values from 0 to 2",
        ),
        (lambda: draw_latent_modes([0, 1], 2), ValueError, r"modes must have 2 dimension"),
        (lambda: draw_latent_modes([[0]], 2, limit=0), ValueError, r"limit must be positive"),
        (lambda: draw_latent_modes([[0]], 2, limit="3"), TypeError, r"limit must be a number"),
        (lambda: draw_bridge_fractions([1, 2], {}), ValueError, r"fractions must hold at least"),
        (
            lambda: draw_bridge_fractions([1, 2], {"a": [0.1]}),
            ValueError,
            r"fractions\['a'\] must have one value per step, 2, got 1",
        ),
        (
            lambda: draw_bridge_fractions([1], {"a": [1.5]}),
            ValueError,
            r"fractions\['a'\] must lie in \[0, 1\]",
        ),
        (lambda: draw_bridge_fractions([1], {"a": [0.5]}, ax=3), TypeError, r"ax must be"),
        (
            lambda: draw_mode_shares({"a": [0.5], "b": [0.2, 0.3]}),
            ValueError,
            r"same number of modes",
        ),
        (
            lambda: draw_mode_shares({"a": [-0.5]}),
            ValueError,
            r"shares\['a'\] must lie in \[0, 1\]",
        ),
        (lambda: draw_mode_shares([0.5]), TypeError, r"shares must be a dict"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
