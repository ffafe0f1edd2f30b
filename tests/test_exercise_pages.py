"""The chapters' pages describe the exercises the registry holds."""

import re
from pathlib import Path

import pytest

from nnbook.check import _REGISTRY, _load_all

ROOT = Path(__file__).resolve().parent.parent
_load_all()

#: The exercise module of each chapter folder.
MODULES = {
    "fnn": "fnn",
    "optimizers": "optim",
    "cnn": "cnn",
    "rnn": "rnn",
    "invertible_resnet": "invertible",
    "generative_discriminative": "generative",
    "hardware": "hardware",
}


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_the_chapter_index_counts_its_exercises(chapter):
    text = (ROOT / "chapters" / chapter / "index.md").read_text()
    match = re.search(r"\{doc\}`exercises`: (\d+) checked exercises", text)
    assert match, f"{chapter}/index.md does not say how many exercises it has"
    count = sum(name.startswith(MODULES[chapter] + ".") for name in _REGISTRY)
    assert int(match.group(1)) == count


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_every_exercise_of_a_chapter_is_on_its_page(chapter):
    text = (ROOT / "chapters" / chapter / "exercises.ipynb").read_text()
    names = [n for n in _REGISTRY if n.startswith(MODULES[chapter] + ".")]
    missing = [n for n in names if f'\\"{n}\\"' not in text]
    assert not missing, f"exercises not on {chapter}/exercises.ipynb: {missing}"
