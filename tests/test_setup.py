"""nnbook.setup and nnbook.device: reproducibility and device selection."""

import random

import numpy as np
import pytest
import torch

import nnbook

pytestmark = pytest.mark.spine


def test_version_is_a_release_string():
    major, minor, patch = nnbook.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


def test_setup_makes_every_generator_repeat(monkeypatch):
    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    nnbook.setup(seed=7)
    first = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    nnbook.setup(seed=7)
    second = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])


def test_setup_fixes_threads_and_determinism(monkeypatch):
    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    assert nnbook.setup() == torch.device("cpu")
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    assert np.get_printoptions()["precision"] == 4


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (-1, ValueError, r"seed must be >= 0, got -1"),
        (1.5, TypeError, r"seed must be an int, got float"),
        (True, TypeError, r"seed must be an int, got bool"),
    ],
)
def test_setup_rejects_bad_seeds(seed, error, message):
    with pytest.raises(error, match=message):
        nnbook.setup(seed=seed)


def test_device_defaults_to_what_is_available(monkeypatch):
    monkeypatch.delenv("NNBOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert nnbook.device().type == expected


@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_device_honours_the_environment(monkeypatch, value):
    monkeypatch.setenv("NNBOOK_DEVICE", value)
    assert nnbook.device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["tpu", "gpu", "cpu:0", "cuda:x", "cuda:"])
def test_device_rejects_unknown_values(monkeypatch, value):
    monkeypatch.setenv("NNBOOK_DEVICE", value)
    with pytest.raises(ValueError, match=r"NNBOOK_DEVICE must be one of cpu, cuda, mps"):
        nnbook.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_refuses_a_missing_gpu(monkeypatch):
    monkeypatch.setenv("NNBOOK_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match=r"torch finds no cuda device"):
        nnbook.device()


def test_seed_is_the_stream_number_unless_nnbook_seed_shifts_it(monkeypatch):
    monkeypatch.delenv("NNBOOK_SEED", raising=False)
    assert [nnbook.seed(k) for k in (0, 1, 999)] == [0, 1, 999]
    monkeypatch.setenv("NNBOOK_SEED", "3")
    assert [nnbook.seed(k) for k in (0, 1, 999)] == [3000, 3001, 3999]


def test_generator_draws_the_stream_of_seed(monkeypatch):
    monkeypatch.setenv("NNBOOK_SEED", "2")
    expected = torch.rand(4, generator=torch.Generator().manual_seed(2005))
    assert torch.equal(torch.rand(4, generator=nnbook.generator(5)), expected)


def test_setup_honours_nnbook_seed(monkeypatch):
    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    monkeypatch.setenv("NNBOOK_SEED", "1")
    nnbook.setup(seed=4)
    shifted = torch.rand(3)
    torch.manual_seed(1004)
    assert torch.equal(shifted, torch.rand(3))
    monkeypatch.setenv("NNBOOK_SEED", "0")
    nnbook.setup(seed=4)
    torch.manual_seed(4)
    expected = torch.rand(3)
    nnbook.setup(seed=4)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("k", "error", "message"),
    [
        (-1, ValueError, r"k must be >= 0, got -1"),
        (1000, ValueError, r"k must be < 1000, got 1000"),
        (2.0, TypeError, r"k must be an int, got float"),
        (False, TypeError, r"k must be an int, got bool"),
    ],
)
def test_seed_rejects_bad_stream_numbers(k, error, message):
    with pytest.raises(error, match=message):
        nnbook.seed(k)


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "nan"])
def test_seed_rejects_a_bad_nnbook_seed(monkeypatch, value):
    monkeypatch.setenv("NNBOOK_SEED", value)
    with pytest.raises(ValueError, match=r"NNBOOK_SEED must be a non-negative integer, got"):
        nnbook.seed()
    with pytest.raises(ValueError, match=r"NNBOOK_SEED must be a non-negative integer"):
        nnbook.setup()


def test_setup_rejects_a_seed_past_the_stride():
    with pytest.raises(ValueError, match=r"seed must be < 1000, got 1000"):
        nnbook.setup(seed=1000)


def test_setup_warns_once_when_the_page_was_made_with_another_version(monkeypatch):
    import warnings

    monkeypatch.setenv("NNBOOK_DEVICE", "cpu")
    monkeypatch.setattr(nnbook, "_warned_page_versions", set())
    monkeypatch.setenv("NNBOOK_PAGE_VERSION", nnbook.__version__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nnbook.setup()  # the same version: silent
    monkeypatch.setenv("NNBOOK_PAGE_VERSION", "0.0.1")
    with pytest.warns(
        UserWarning, match=r"made with nnbook 0\.0\.1, and nnbook .* is installed"
    ) as caught:
        nnbook.setup()
    assert "nnbook@v0.0.1" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nnbook.setup()  # once per version


def test_the_package_version_is_the_projects():
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert "version" in project["dynamic"]  # read from nnbook.__version__ by the build
    assert set(project["optional-dependencies"]) == {"notebooks", "book", "test"}
