"""nnbook.invertible.density_experiment: the experiment of the three density pages."""

import math
from dataclasses import fields

import pytest

from nnbook.invertible import _toy as toy

CHEAP = {"steps": 3, "batch_size": 16, "n_test": 50}
LABELS = {"i-ResNet", "coupling"}


@pytest.fixture(scope="module")
def run():
    return toy.density_experiment("checkerboard", seed=7, **CHEAP)


def test_the_fields_are_those_of_run_toy_and_the_printed_gap(run):
    assert isinstance(run, toy.DensityExperiment)
    assert isinstance(run, toy.ToyResult)  # draw_toy_densities takes it as it is
    assert (run.name, run.seed, run.entropy) == ("checkerboard", 7, math.log(8))
    for field in (run.flows, run.nll, run.gap, run.seconds):
        assert set(field) == LABELS
    for label in LABELS:
        assert run.gap[label] == pytest.approx(run.nll[label] - run.entropy)
    assert run.coupling == f"{run.gap['coupling']:.3f}"  # no range: digits


def test_the_summary_is_the_three_printed_lines(run):
    nll, gap = run.nll["i-ResNet"], run.gap["i-ResNet"]
    assert run.summary().split("\n") == [
        f"H(p) = {math.log(8):.3f} nats",
        f"i-ResNet  test NLL {nll:.3f}, gap to the entropy {gap:.3f} nats",
        f"coupling  gap to the entropy {run.coupling} nats",
    ]


def test_a_fixed_seed_repeats_every_number_and_matches_run_toy(run):
    again = toy.density_experiment("checkerboard", seed=7, **CHEAP)
    plain = toy.run_toy("checkerboard", seed=7, **CHEAP)
    for other in (again, plain):
        assert other.nll == run.nll and other.gap == run.gap
    assert again.summary() == run.summary()
    other = toy.density_experiment("checkerboard", seed=8, **CHEAP)
    assert other.nll != run.nll


def test_a_range_is_checked_and_printed_in_place_of_the_digits(run):
    gap = run.gap["coupling"]
    ranged = toy.density_experiment("checkerboard", coupling_range=(None, gap + 1), seed=7, **CHEAP)
    assert ranged.coupling == f"below {gap + 1:.2f}"
    assert ranged.summary().endswith(f"below {gap + 1:.2f} nats")
    both = toy.density_experiment(
        "checkerboard", coupling_range=[gap - 1, gap + 1], seed=7, **CHEAP
    )
    assert both.coupling == f"between {gap - 1:.2f} and {gap + 1:.2f}"
    with pytest.raises(AssertionError):
        toy.density_experiment("checkerboard", coupling_range=(gap + 1, None), seed=7, **CHEAP)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"coupling_range": 0.1}, TypeError, "coupling_range must be a pair"),
        ({"coupling_range": (0.1,)}, ValueError, "2 bounds"),
        ({"coupling_range": (None, None)}, ValueError, "got \\(None, None\\)"),
        ({"coupling_range": (0.2, 0.1)}, ValueError, "low below high"),
        ({"coupling_range": (0.1, "x")}, TypeError, "coupling_range"),
        ({"coupling_range": (math.nan, 1)}, ValueError, "coupling_range"),
        ({"steps": 0}, ValueError, "steps"),
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(monkeypatch, kwargs, error, message):
    def no_training(*args, **kwargs):
        raise AssertionError("run_toy was called")

    monkeypatch.setattr(toy, "run_toy", no_training)
    with pytest.raises(error, match=message):
        toy.density_experiment("moons", **{**CHEAP, **kwargs})


def test_an_unknown_density_is_refused_by_name():
    with pytest.raises(ValueError, match="name must be one of"):
        toy.density_experiment("circles", **CHEAP)


def test_the_result_adds_only_the_printed_gap_to_run_toy():
    toy_fields = [f.name for f in fields(toy.ToyResult)]
    names = [f.name for f in fields(toy.DensityExperiment)]
    assert names == [*toy_fields, "coupling"]
