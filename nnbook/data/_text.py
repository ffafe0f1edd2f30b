r"""Generated English-like text whose entropy rate is known exactly.

A small probabilistic grammar writes sentences such as ``" the big dog chases a cat."``
over a vocabulary of 18 words. It is a Markov source with 23 hidden states (where the
sentence is, and which adjective, subject noun or verb came last); each state draws its next word
from integer weights out of 64, and the word read fixes the next state. Because the
state can always be read off the text, the source's entropy rate per character is an
exact sum over its states (:func:`toy_english_entropy`): no model of the text can
predict it better on average, which gives a character-level language model a floor.

Every draw is an integer and every character is chosen by integer lookups, so the text
is the same, byte for byte, on every CPU.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import NamedTuple

import torch

from nnbook.contract import Instance, Int, Tensor, contract

__all__ = [
    "WORDS",
    "TextSplit",
    "char_vocabulary",
    "decode",
    "encode",
    "toy_english",
    "toy_english_entropy",
    "toy_english_log_loss",
    "toy_english_char_probs",
    "toy_english_sentences",
    "SentenceScore",
]

_DETS = ("the", "a", "my", "one")
_ADJS = ("big", "small", "red", "old")
_NOUNS = ("cat", "dog", "bird", "fox")
_VERBS = ("sees", "likes", "chases", "finds", "sleeps", "runs")  # 4 transitive
_TOTAL = 64  # every state's weights add up to this

#: The words of :func:`toy_english`, in the order of the grammar's word classes.
WORDS = _DETS + _ADJS + _NOUNS + _VERBS


def _rotate(weights, k):
    """``weights`` shifted right by ``k``: item ``j`` gets ``weights[(j - k) % n]``."""
    n = len(weights)
    return [weights[(j - k) % n] for j in range(n)]


def _grammar():
    """States and, for each, its (token, weight, next state) triples; state 0 starts."""
    states = [("start",), ("subj_det",)]
    states += [("subj_adj", a) for a in range(4)] + [
        ("subj_noun", n) for n in range(4)
    ]
    for role in ("obj_det", "obj_after_det", "obj_adj"):
        states += [(role, v) for v in range(4)]
    states.append(("period",))
    index = {s: i for i, s in enumerate(states)}
    dets = list(zip(_DETS, (32, 16, 8, 8), strict=True))
    rows = []
    for s in states:
        role, k = s[0], s[-1]
        if role == "start":
            row = [(d, w, ("subj_det",)) for d, w in dets]
        elif role == "subj_det":
            row = [(a, 8, ("subj_adj", i)) for i, a in enumerate(_ADJS)]
            row += [(n, 8, ("subj_noun", i)) for i, n in enumerate(_NOUNS)]
        elif role == "subj_adj":  # the noun depends on the adjective
            weights = _rotate((32, 16, 8, 8), k)
            row = [
                (n, w, ("subj_noun", i))
                for i, (n, w) in enumerate(zip(_NOUNS, weights, strict=True))
            ]
        elif role == "subj_noun":  # the verb depends on the subject
            weights = _rotate((24, 16, 8, 4, 8, 4), k)
            row = [
                (v, w, ("obj_det", i) if i < 4 else ("period",))
                for i, (v, w) in enumerate(zip(_VERBS, weights, strict=True))
            ]
        elif role == "obj_det":
            row = [(d, w, ("obj_after_det", k)) for d, w in dets]
        elif role == "obj_after_det":  # the object depends on the verb
            row = [(a, 4, ("obj_adj", k)) for a in _ADJS]
            weights = _rotate((24, 12, 8, 4), k)
            row += [
                (n, w, ("period",))
                for n, w in zip(_NOUNS, weights, strict=True)
            ]
        elif role == "obj_adj":
            weights = _rotate((32, 16, 8, 8), k)
            row = [
                (n, w, ("period",))
                for n, w in zip(_NOUNS, weights, strict=True)
            ]
        else:
            row = [(".", _TOTAL, ("start",))]
        assert sum(w for _, w, _ in row) == _TOTAL
        rows.append([(t, w, index[n]) for t, w, n in row])
    return rows


_ROWS = _grammar()


def _emit(token):
    """The characters a token writes: a space and the word, or the full stop."""
    return token if token == "." else " " + token


class TextSplit(NamedTuple):
    """A training text and a validation text, each made of whole sentences."""

    train: str
    valid: str


def _generate(g, n_chars):
    """Whole sentences from the grammar, at least ``n_chars`` characters in all."""
    table = []  # per state: the (characters, next state) of each of the 64 draws
    for row in _ROWS:
        table.append([(_emit(t), n) for t, w, n in row for _ in range(w)])
    parts, length, state = [], 0, 0
    while True:
        for u in torch.randint(0, _TOTAL, (4096,), generator=g).tolist():
            chars, state = table[state][u]
            parts.append(chars)
            length += len(chars)
            if state == 0 and length >= n_chars:
                return "".join(parts)


@contract(
    n_train=Int(low=1),
    n_valid=Int(low=1),
    seed=Int(low=0, high=2**31 - 1),
)
def toy_english(n_train=60_000, n_valid=20_000, *, seed=0) -> TextSplit:
    """Sentences of a small English-like grammar, the same on every CPU.

    Each sentence is a subject (a determiner, maybe an adjective, a noun), a verb, and,
    for the four transitive verbs, an object, then a full stop. Every word is written
    after a space, so a text reads ``" the big dog chases a cat. my fox sleeps."``. The
    subject noun's odds depend on the adjective before it, the verb's on the subject
    noun, and the object noun's on the verb, even across a determiner and an adjective,
    so predicting a character can need words well before the current one. The grammar is a Markov
    source whose state the text reveals; :func:`toy_english_entropy` gives its exact
    entropy rate, and :func:`toy_english_log_loss` the log-loss of the source itself.

    Parameters
    ----------
    n_train, n_valid : int, default 60000 and 20000
        The least numbers of characters of the two texts: each is cut at the first end
        of a sentence after that many characters.
    seed : int, default 0
        Selects the draw. The texts are independent: the training text comes from the
        random stream ``2 seed``, the validation text from ``2 seed + 1``.

    Returns
    -------
    TextSplit
        ``train`` and ``valid``, two strings of whole sentences over 23 characters
        (21 distinct letters, the space and the full stop).

    Examples
    --------
    >>> split = toy_english(30, 30)
    >>> split.train.endswith("."), len(split.train) >= 30
    (True, True)
    """
    texts = []
    for stream, n in ((2 * seed, n_train), (2 * seed + 1, n_valid)):
        texts.append(_generate(torch.Generator().manual_seed(stream), n))
    return TextSplit(*texts)


def _stationary(rows):
    """The stationary distribution of the state chain, as exact fractions."""
    n = len(rows)
    P = [[Fraction(0)] * n for _ in range(n)]
    for s, row in enumerate(rows):
        for _, w, nxt in row:
            P[s][nxt] += Fraction(w, _TOTAL)
    # solve pi (P - I) = 0 with sum(pi) = 1: rows of the system are columns of P - I
    A = [[P[i][j] - (i == j) for i in range(n)] for j in range(n)]
    A[-1] = [Fraction(1)] * n
    b = [Fraction(0)] * (n - 1) + [Fraction(1)]
    for col in range(n):  # Gauss-Jordan elimination, exact
        pivot = next(r for r in range(col, n) if A[r][col] != 0)
        A[col], A[pivot], b[col], b[pivot] = A[pivot], A[col], b[pivot], b[col]
        for r in range(n):
            if r != col and A[r][col] != 0:
                f = A[r][col] / A[col][col]
                A[r] = [x - f * y for x, y in zip(A[r], A[col], strict=True)]
                b[r] -= f * b[col]
    return [b[i] / A[i][i] for i in range(n)]


@contract("eq-rnn-entropy-rate")
def toy_english_entropy() -> float:
    r"""The entropy rate of :func:`toy_english`, in nats per character.

    Implements :eq:`eq-rnn-entropy-rate`. The source makes a share :math:`\pi_s` of
    its word draws in state :math:`s` (the stationary distribution of its chain of
    states, which moves one step per word, the full stop counting as a word; computed
    here in exact fractions), draws the next word from :math:`P(\cdot \mid s)` and
    writes :math:`\ell(w)` characters for it. The text reveals the state, so the
    uncertainty of the next word given all the text before it is
    :math:`H(P(\cdot \mid s))`, and per character

    .. math::
        H = \frac{\sum_s \pi_s \, H(P(\cdot \mid s))}
                 {\sum_s \pi_s \sum_w P(w \mid s)\, \ell(w)},

        H(P(\cdot \mid s)) = -\sum_w P(w \mid s) \log P(w \mid s).

    Returns
    -------
    float
        The entropy rate :math:`H` in nats per character.
    """
    pi = _stationary(_ROWS)
    per_word, chars = 0.0, Fraction(0)
    for p, row in zip(pi, _ROWS, strict=True):
        probs = [Fraction(w, _TOTAL) for _, w, _ in row]
        per_word += float(p) * -sum(float(q) * math.log(q) for q in probs)
        chars += p * sum(
            q * len(_emit(t)) for q, (t, _, _) in zip(probs, row, strict=True)
        )
    return per_word / float(chars)


_TOKEN = re.compile(r" [a-z]+|\.")


def _parse(text):
    """The tokens of ``text``, each with its weight and the state it was drawn in."""
    tokens = _TOKEN.findall(text)
    if not text or "".join(tokens) != text:
        raise ValueError(
            "text must be whole sentences of toy_english, such as ' the cat runs.', "
            f"got {text[:30]!r}"
        )
    state, parsed = 0, []
    for k, chars in enumerate(tokens):
        token = chars.strip()
        match = [(w, n) for t, w, n in _ROWS[state] if t == token]
        if not match:
            raise ValueError(
                f"text must follow the grammar of toy_english, but word {k} "
                f"({token!r}) cannot come after {''.join(tokens[max(0, k - 3) : k])!r}"
            )
        parsed.append((chars, match[0][0], state))
        state = match[0][1]
    return parsed


@contract(text=Instance(str))
def toy_english_log_loss(text: str) -> float:
    r"""The source's own log-loss on ``text``, in nats per character.

    The mean of :math:`-\log P(\text{character} \mid \text{all before it})` under
    the grammar of :func:`toy_english`: the word's probability in the state the text
    has reached, spread over the word's characters (those after the first are
    certain once the word has begun). On a long text it is close to
    :func:`toy_english_entropy`.

    Parameters
    ----------
    text : str
        Whole sentences of :func:`toy_english`, starting at a sentence's start.

    Returns
    -------
    float
        Nats per character.

    Raises
    ------
    ValueError
        If ``text`` is empty or the grammar cannot have written it.
    """
    total = -sum(math.log(w / _TOTAL) for _, w, _ in _parse(text))
    return total / len(text)


@contract(text=Instance(str), alphabet=Instance(str))
def toy_english_char_probs(text: str, alphabet: str) -> torch.Tensor:
    r"""The source's distribution of each character of ``text`` given all before it.

    Once the text has revealed the state :math:`s` and the first :math:`j`
    characters of the current word, the next character is the :math:`(j+1)`-th of a
    word still possible, so

    .. math::
        P(c \mid s, \text{prefix}) = \frac{\sum_{w \in \text{prefix} \cdot c \cdots}
        P(w \mid s)}{\sum_{w \in \text{prefix} \cdots} P(w \mid s)},

    the sums running over the words that begin with the given characters. The
    probabilities of a word's characters multiply to :math:`P(w \mid s)`, so the mean
    of :math:`-\log` of the probabilities of the characters that came is
    :func:`toy_english_log_loss`; the argmax of each row is the best guess anyone
    can make, which bounds the accuracy of any model.

    Parameters
    ----------
    text : str
        Whole sentences of :func:`toy_english`, of length N.
    alphabet : str
        The characters, as :func:`char_vocabulary` returns them, of size V; it must
        hold every character the grammar can write.

    Returns
    -------
    torch.Tensor
        float64, shape (N, V): row ``i`` is the distribution of ``text[i]`` given
        ``text[:i]`` (row 0 from the start of a sentence).
    """
    index = {ch: i for i, ch in enumerate(alphabet)}
    memo = {}

    def row(state, prefix):  # the distribution of the character after prefix
        if (state, prefix) not in memo:
            p = torch.zeros(len(alphabet), dtype=torch.float64)
            for t, w, _ in _ROWS[state]:
                chars = _emit(t)
                if chars.startswith(prefix) and len(chars) > len(prefix):
                    c = chars[len(prefix)]
                    if c not in index:
                        raise ValueError(
                            "alphabet must hold every character of the grammar, "
                            f"got {alphabet!r} without {c!r}"
                        )
                    p[index[c]] += w
            memo[state, prefix] = p / p.sum()
        return memo[state, prefix]

    rows = [
        row(state, chars[:j])
        for chars, _, state in _parse(text)
        for j in range(len(chars))
    ]
    return torch.stack(rows)


class SentenceScore(NamedTuple):
    """Whole sentences of a text checked against the grammar of :func:`toy_english`."""

    sentences: int  #: the number of whole sentences
    ungrammatical: int  #: how many of them the grammar cannot write
    log_loss: float  #: the source's nats per character on the others


@contract(text=Instance(str))
def toy_english_sentences(text: str) -> SentenceScore:
    """Check each whole sentence of a generated text against the grammar.

    The text is cut after each full stop (what follows the last one is dropped), and
    each sentence is scored by :func:`toy_english_log_loss` from the start state, or
    counted as ungrammatical if the grammar cannot write it: a word it does not
    know, a word out of place, a missing or doubled space.

    Parameters
    ----------
    text : str
        Text that starts at a sentence's start, such as ``" the cat runs. a"``.

    Returns
    -------
    SentenceScore
        ``sentences``, ``ungrammatical``, and ``log_loss``: the source's nats per
        character on the grammatical sentences (NaN if there are none).
    """
    sentences = [s + "." for s in text.split(".")[:-1]]
    if not sentences:
        raise ValueError(
            f"text must hold at least one full stop, got {text[:30]!r}"
        )
    nats, chars, bad = 0.0, 0, 0
    for s in sentences:
        try:
            nats += toy_english_log_loss(s) * len(s)
            chars += len(s)
        except ValueError:
            bad += 1
    return SentenceScore(
        len(sentences), bad, nats / chars if chars else math.nan
    )


@contract(text=Instance(str))
def char_vocabulary(text: str) -> str:
    """The distinct characters of ``text``, sorted: the alphabet of a character model.

    Parameters
    ----------
    text : str
        A non-empty text.

    Returns
    -------
    str
        Each character once, in code point order; its position is its index.
    """
    if not text:
        raise ValueError("text must hold at least one character, got ''")
    return "".join(sorted(set(text)))


@contract(text=Instance(str), alphabet=Instance(str))
def encode(text: str, alphabet: str) -> torch.Tensor:
    """The index of each character of ``text`` in ``alphabet``.

    Parameters
    ----------
    text : str
        The text, of length N.
    alphabet : str
        Distinct characters, as :func:`char_vocabulary` returns them.

    Returns
    -------
    torch.Tensor
        int64 indices of shape (N,).
    """
    if len(set(alphabet)) != len(alphabet) or not alphabet:
        raise ValueError(
            f"alphabet must hold distinct characters, got {alphabet[:40]!r}"
        )
    index = {ch: i for i, ch in enumerate(alphabet)}
    missing = sorted(set(text) - set(index))
    if missing:
        raise ValueError(
            f"text must use only characters of alphabet, got {''.join(missing)!r} too"
        )
    return torch.tensor([index[ch] for ch in text], dtype=torch.int64)


@contract(
    ids=Tensor(..., dtype="int", low=0),
    alphabet=Instance(str),
)
def decode(ids: torch.Tensor, alphabet: str) -> str:
    """The text whose characters have indices ``ids`` in ``alphabet``.

    Parameters
    ----------
    ids : torch.Tensor
        Integer indices of any shape, read in order (flattened).
    alphabet : str
        The characters, as :func:`char_vocabulary` returns them.

    Returns
    -------
    str
        The text, of ``ids.numel()`` characters.
    """
    values = ids.flatten().tolist()
    if values and max(values) >= len(alphabet):
        raise ValueError(
            f"ids must be below len(alphabet)={len(alphabet)}, got {max(values)}"
        )
    return "".join(alphabet[i] for i in values)
