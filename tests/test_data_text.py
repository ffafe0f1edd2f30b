"""nnbook.data: the generated English-like text and its exact entropy rate."""

import hashlib
import math
import re

import numpy as np
import pytest
import torch

from nnbook import data
from nnbook.data import _text

pytestmark = pytest.mark.rnn


@pytest.fixture(scope="module")
def split():
    return data.toy_english()


def test_the_text_is_fixed_byte_for_byte(split):
    # a change here changes every number of the language-model section
    assert len(split.train) == 60011 and len(split.valid) == 20013
    digest = hashlib.sha256(split.train.encode()).hexdigest()[:16]
    assert digest == "01f81f5068883314"
    assert split.train.startswith(" a dog sleeps. the fox sees a red cat.")


def test_texts_are_whole_sentences_of_the_vocabulary(split):
    for text in split:
        assert text.endswith(".") and text.startswith(" ")
        words = set(text.replace(".", " ").split())
        assert words == set(data.WORDS)
    assert data.char_vocabulary(split.train) == " .abcdefghiklmnoprstuxy"


def test_seeds_and_lengths_select_independent_draws():
    a, b = data.toy_english(500, 500, seed=0), data.toy_english(500, 500, seed=1)
    assert a.train != b.train and a.train != a.valid
    short = data.toy_english(100, 100)
    assert a.train.startswith(short.train)  # a longer text extends the shorter one


def _stationary_numpy():
    """The stationary distribution by an eigenvector, independently of the fractions."""
    rows = _text._ROWS
    n = len(rows)
    P = np.zeros((n, n))
    for s, row in enumerate(rows):
        for _, w, nxt in row:
            P[s, nxt] += w / 64
    values, vectors = np.linalg.eig(P.T)
    v = np.real(vectors[:, np.argmin(abs(values - 1))])
    return P, v / v.sum()


def test_stationary_distribution_matches_an_eigenvector():
    _, pi = _stationary_numpy()
    exact = np.array([float(p) for p in _text._stationary(_text._ROWS)])
    np.testing.assert_allclose(exact, pi, rtol=1e-12, atol=1e-14)


def test_entropy_rate_matches_a_direct_computation():
    P, pi = _stationary_numpy()
    rows = _text._ROWS
    per_word = sum(
        pi[s] * -sum(w / 64 * math.log(w / 64) for _, w, _ in row) for s, row in enumerate(rows)
    )
    chars = sum(
        pi[s] * sum(w / 64 * len(_text._emit(t)) for t, w, _ in row) for s, row in enumerate(rows)
    )
    assert abs(data.toy_english_entropy() - per_word / chars) < 1e-12


def test_entropy_rate_is_the_limit_of_the_source_log_loss():
    long = data.toy_english(400_000, 1, seed=3).train
    assert abs(data.toy_english_log_loss(long) - data.toy_english_entropy()) < 0.003


def test_log_loss_by_hand():
    # " the cat runs.": "the" 32/64, "cat" 8/64, "runs" 4/64 after "cat", "." certain
    expected = -(math.log(32 / 64) + math.log(8 / 64) + math.log(4 / 64)) / 14
    assert abs(data.toy_english_log_loss(" the cat runs.") - expected) < 1e-15


def test_log_loss_refuses_text_the_grammar_cannot_write():
    with pytest.raises(ValueError, match=r"word 1 \('the'\) cannot come after ' the'"):
        data.toy_english_log_loss(" the the cat runs.")
    with pytest.raises(ValueError, match="text must be whole sentences of toy_english"):
        data.toy_english_log_loss("the cat runs.")
    with pytest.raises(TypeError, match="text must be a str"):
        data.toy_english_log_loss(b" the cat runs.")


def test_encode_decode_round_trip(split):
    alphabet = data.char_vocabulary(split.valid)
    ids = data.encode(split.valid[:300], alphabet)
    assert ids.dtype == torch.int64 and ids.shape == (300,)
    assert data.decode(ids, alphabet) == split.valid[:300]
    assert data.decode(ids.view(3, 100), alphabet) == split.valid[:300]


def test_encode_and_decode_refuse_bad_input():
    with pytest.raises(ValueError, match="text must use only characters of alphabet, got 'z'"):
        data.encode("az", "ab")
    with pytest.raises(ValueError, match="alphabet must hold distinct characters"):
        data.encode("ab", "aab")
    with pytest.raises(ValueError, match=r"ids must be below len\(alphabet\)=2, got 2"):
        data.decode(torch.tensor([0, 2]), "ab")
    with pytest.raises(ValueError, match=r"ids must have values in \[0, inf\), got -1"):
        data.decode(torch.tensor([-1]), "ab")
    with pytest.raises(ValueError, match="text must hold at least one character"):
        data.char_vocabulary("")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_train": 0}, ValueError, "n_train must be"),
        ({"n_valid": 1.5}, TypeError, "n_valid must be an int"),
        ({"seed": -1}, ValueError, "seed must be"),
    ],
)
def test_toy_english_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.toy_english(**kwargs)


def test_tokens_parse_uniquely():
    text = data.toy_english(2000, 1).train
    assert "".join(re.findall(r" [a-z]+|\.", text)) == text


def test_the_counts_the_docstrings_state():
    assert len(data.WORDS) == 18 and len(_text._ROWS) == 23
    text = data.toy_english(5000, 1).train
    letters = set(text) - {" ", "."}
    assert len(set(text)) == 23 and len(letters) == 21


@pytest.fixture(scope="module")
def long_text():
    return data.toy_english(400_000, 1, seed=3).train


def test_char_probs_multiply_to_the_word_probabilities(split):
    text = split.valid[:3000]
    text = text[: text.rindex(".") + 1]
    alphabet = data.char_vocabulary(split.train)
    probs = data.toy_english_char_probs(text, alphabet)
    assert probs.shape == (len(text), 23) and probs.dtype == torch.float64
    torch.testing.assert_close(probs.sum(1), torch.ones(len(text), dtype=torch.float64))
    came = probs[torch.arange(len(text)), data.encode(text, alphabet)]
    assert abs(-came.log().mean().item() - data.toy_english_log_loss(text)) < 1e-12


def test_char_probs_by_hand():
    alphabet = " .abcdefghiklmnoprstuxy"
    probs = data.toy_english_char_probs(" the cat runs.", alphabet)
    assert probs[0, alphabet.index(" ")] == 1  # every word starts with a space
    # after " the ": big, small, red, old, cat, dog, bird, fox, 8 of 64 each
    row = dict(zip(alphabet, probs[5].tolist(), strict=True))
    assert row["c"] == row["d"] == 1 / 8 and row["b"] == 2 / 8  # cat; dog; big, bird
    assert probs[6, alphabet.index("a")] == 1  # " the c" can only be cat
    with pytest.raises(ValueError, match="alphabet must hold every character"):
        data.toy_english_char_probs(" the cat runs.", alphabet.replace("m", ""))


def test_entropy_rate_is_the_mean_character_entropy_of_a_long_text(long_text):
    """Independent of the word-level sum: the source's next-character distributions,
    averaged along a long text, have a mean entropy close to the rate."""
    probs = data.toy_english_char_probs(long_text, data.char_vocabulary(long_text))
    entropy = -(probs * probs.clamp_min(1e-300).log()).sum(1).mean().item()
    assert abs(entropy - data.toy_english_entropy()) < 0.002


def test_sentences_are_scored_one_by_one():
    score = data.toy_english_sentences(" the cat runs. the the dog. a cat sees a dog. my")
    assert score.sentences == 3 and score.ungrammatical == 1
    good = " the cat runs. a cat sees a dog."
    assert abs(score.log_loss - data.toy_english_log_loss(good)) < 1e-12
    assert math.isnan(data.toy_english_sentences(" dog cat.").log_loss)
    with pytest.raises(ValueError, match="text must hold at least one full stop"):
        data.toy_english_sentences(" the cat")
