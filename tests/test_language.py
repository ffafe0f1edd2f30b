"""nnbook.rnn: the character language model, its loss, sampling and baselines."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import generator, randn
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import rnn

pytestmark = pytest.mark.rnn

N, V, E = 7, 5, 3
LOGITS = randn(N, V, seed=1)
TARGETS = torch.randint(0, V, (N,), generator=generator(2))
TABLE = randn(V, E, seed=3)


# --- eq-rnn-embedding -------------------------------------------------------------


def test_embed_matches_torch_embedding_and_the_one_hot_product():
    ids = torch.randint(0, V, (4, 6), generator=generator(4))
    ours = rnn.embed(ids, TABLE)
    assert ours.shape == (4, 6, E)
    torch.testing.assert_close(ours, F.embedding(ids, TABLE), rtol=0, atol=0)
    product = F.one_hot(ids, V).to(TABLE.dtype) @ TABLE
    torch.testing.assert_close(ours, product, rtol=0, atol=0)


def test_embed_gradient_counts_each_lookup():
    ids = torch.tensor([0, 2, 2, 4])
    weight = TABLE.clone().requires_grad_()
    rnn.embed(ids, weight).sum().backward()
    expected = torch.tensor([1.0, 0, 2, 0, 1], dtype=torch.float64)[:, None].expand(V, E)
    torch.testing.assert_close(weight.grad, expected)


def test_embed_refuses_an_index_outside_the_table():
    with pytest.raises(ValueError, match=r"ids must have values in \[0, V=5\), got 5"):
        rnn.embed(torch.tensor([0, 5]), TABLE)
    with pytest.raises(TypeError, match="ids must have an integer dtype"):
        rnn.embed(torch.tensor([0.0, 1.0]), TABLE)


# --- eq-rnn-lm-loss -----------------------------------------------------------------


def test_cross_entropy_and_perplexity_match_torch():
    loss = rnn.lm_cross_entropy(LOGITS, TARGETS)
    torch.testing.assert_close(loss, F.cross_entropy(LOGITS, TARGETS))
    torch.testing.assert_close(rnn.perplexity(LOGITS, TARGETS), torch.exp(loss))


def test_cross_entropy_is_the_mean_negative_log_probability():
    dist = torch.distributions.Categorical(logits=LOGITS)
    torch.testing.assert_close(
        rnn.lm_cross_entropy(LOGITS, TARGETS), -dist.log_prob(TARGETS).mean()
    )


def test_cross_entropy_gradient_matches_autograd_of_torch():
    ours = LOGITS.clone().requires_grad_()
    theirs = LOGITS.clone().requires_grad_()
    rnn.lm_cross_entropy(ours, TARGETS).backward()
    F.cross_entropy(theirs, TARGETS).backward()
    torch.testing.assert_close(ours.grad, theirs.grad)
    assert torch.autograd.gradcheck(
        lambda z: rnn.lm_cross_entropy(z, TARGETS), (LOGITS.clone().requires_grad_(),)
    )


def test_uniform_scores_have_perplexity_v():
    ppl = rnn.perplexity(torch.zeros(N, V, dtype=torch.float64), TARGETS)
    assert abs(ppl.item() - V) < 1e-12


@settings(max_examples=30, deadline=None)
@given(st.floats(-1e4, 1e4), st.integers(0, 2**16))
def test_perplexity_is_shift_invariant_and_at_least_one(shift, seed):
    logits = randn(N, V, seed=seed) * 30
    ppl = rnn.perplexity(logits, TARGETS)
    assert torch.isfinite(ppl) and ppl >= 1
    torch.testing.assert_close(rnn.perplexity(logits + shift, TARGETS), ppl, rtol=1e-9, atol=0)


def test_lm_loss_refuses_bad_targets_by_name():
    with pytest.raises(ValueError, match=r"targets must have values in \[0, V=5\), got 5"):
        rnn.lm_cross_entropy(LOGITS, torch.full((N,), 5))
    with pytest.raises(ValueError, match="targets must have shape"):
        rnn.perplexity(LOGITS, TARGETS[:-1])


# --- eq-rnn-temperature -------------------------------------------------------------


@pytest.mark.parametrize("T", [0.1, 0.5, 1.0, 3.0])
def test_temperature_softmax_matches_torch_distributions(T):
    ours = rnn.temperature_softmax(LOGITS, T)
    torch.testing.assert_close(ours, torch.distributions.Categorical(logits=LOGITS / T).probs)
    torch.testing.assert_close(ours.sum(-1), torch.ones(N, dtype=torch.float64))


def test_temperature_limits_are_argmax_and_uniform():
    cold = rnn.temperature_softmax(LOGITS, 1e-3)
    torch.testing.assert_close(cold, F.one_hot(LOGITS.argmax(-1), V).double())
    hot = rnn.temperature_softmax(LOGITS, 1e9)
    torch.testing.assert_close(hot, torch.full((N, V), 1 / V, dtype=torch.float64))


def test_entropy_grows_with_the_temperature():
    entropies = [
        torch.distributions.Categorical(probs=rnn.temperature_softmax(LOGITS, T)).entropy()
        for T in (0.25, 0.5, 1.0, 2.0, 4.0)
    ]
    for a, b in zip(entropies[:-1], entropies[1:], strict=True):
        assert (a < b).all()


@pytest.mark.parametrize(
    ("T", "error", "message"),
    [
        (0.0, ValueError, r"temperature must be in \(0, inf\], got 0"),
        (-1.0, ValueError, "temperature must be"),
        (math.nan, ValueError, "temperature must be"),
        ("1", TypeError, "temperature must be a real number"),
    ],
)
def test_temperature_refused_by_name(T, error, message):
    with pytest.raises(error, match=message):
        rnn.temperature_softmax(LOGITS, T)


# --- counting baselines -------------------------------------------------------------


def test_unigram_and_bigram_match_hand_counts():
    ids = torch.tensor([0, 1, 1, 2, 0, 1])
    uni = rnn.unigram_log_probs(ids, 4, alpha=0.5).exp()
    counts = torch.tensor([2, 3, 1, 0], dtype=torch.float64) + 0.5
    torch.testing.assert_close(uni, counts / counts.sum())
    bi = rnn.bigram_log_probs(ids, 4, alpha=1.0).exp()
    pairs = torch.ones(4, 4, dtype=torch.float64)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
        pairs[a, b] += 1
    torch.testing.assert_close(bi, pairs / pairs.sum(1, keepdim=True))
    assert rnn.bigram_log_probs(ids, 4, dtype=torch.float32).dtype == torch.float32


def test_counting_baselines_refuse_bad_ids():
    with pytest.raises(ValueError, match=r"ids must have values in \[0, vocab_size=3\), got 3"):
        rnn.bigram_log_probs(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="alpha must be"):
        rnn.unigram_log_probs(torch.tensor([0, 1]), 3, alpha=0.0)


# --- the model, training and sampling -----------------------------------------------


def _text(n=2000, seed=5):
    """A periodic text with a little noise: easy to learn, hard for a bigram."""
    pattern = torch.tensor([0, 1, 2, 3, 1, 0, 2, 4])
    ids = pattern.repeat(n // len(pattern) + 1)[:n].clone()
    flip = torch.rand(n, generator=generator(seed)) < 0.02
    ids[flip] = torch.randint(0, 5, (int(flip.sum()),), generator=generator(seed + 1))
    return ids


def test_char_lm_shapes_and_state():
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8)
    logits, (h, c) = model(torch.zeros(3, 7, dtype=torch.int64))
    assert logits.shape == (3, 7, 5) and h.shape == c.shape == (1, 3, 8)


def test_fit_learns_and_carrying_the_state_helps():
    ids = _text()
    results = {}
    for carry in (True, False):
        torch.manual_seed(0)
        model = rnn.CharLM(5, embedding=4, hidden=16)
        history = rnn.fit_char_lm(
            model, ids, steps=120, batch=8, seq_len=4, lr=0.02, carry=carry, progress=False
        )
        assert len(history["loss"]) == len(history["grad_norm"]) == 120
        results[carry] = rnn.lm_evaluate(model, ids, batch=8, seq_len=4, carry=carry)
    assert results[True] < math.log(5) / 2
    assert results[True] < results[False]


def test_evaluate_matches_a_whole_sequence_pass_when_the_state_is_carried():
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8).double()
    ids = _text(65)
    chunked = rnn.lm_evaluate(model, ids, batch=1, seq_len=8, carry=True)
    logits, _ = model(ids[None, :64])
    whole = F.cross_entropy(logits[0], ids[1:65]).item()
    assert abs(chunked - whole) < 1e-12


def test_clipping_bounds_the_update_norm():
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8)
    history = rnn.fit_char_lm(model, _text(), steps=5, clip=1e-3, progress=False, batch=4)
    assert min(history["grad_norm"]) > 1e-3  # every step was clipped: norm before


def test_fit_refuses_bad_arguments():
    model = rnn.CharLM(5)
    with pytest.raises(ValueError, match="seq_len must be at most"):
        rnn.fit_char_lm(model, _text(100), steps=1, batch=8, seq_len=50)
    with pytest.raises(ValueError, match="ids must have more than batch=8"):
        rnn.fit_char_lm(model, _text(5), steps=1, batch=8)
    with pytest.raises(ValueError, match="clip must be"):
        rnn.fit_char_lm(model, _text(), steps=1, clip=0.0)
    with pytest.raises(TypeError, match="carry must be a bool"):
        rnn.fit_char_lm(model, _text(), steps=1, carry=1)


def test_sampling_is_reproducible_and_follows_the_temperature():
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8)
    prompt = torch.tensor([0, 1])
    a, ent_a = rnn.sample_text(
        model, prompt, 30, temperature=1.0, streams=3, generator=generator(7)
    )
    b, _ = rnn.sample_text(model, prompt, 30, temperature=1.0, streams=3, generator=generator(7))
    assert a.shape == ent_a.shape == (3, 30) and torch.equal(a, b)
    assert a.min() >= 0 and a.max() < 5
    cold, ent_cold = rnn.sample_text(
        model, prompt, 30, temperature=1e-4, streams=2, generator=generator(8)
    )
    assert torch.equal(cold[0], cold[1])  # greedy: no randomness left
    assert ent_cold.max() < 1e-6 < ent_a.min()


def test_sampling_matches_the_model_distribution():
    """Many one-step draws: the frequencies approach softmax(z / T)."""
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8)
    prompt = torch.tensor([2])
    with torch.no_grad():
        z = model(prompt[None])[0][0, -1].double()
    ids, _ = rnn.sample_text(
        model, prompt, 1, temperature=0.7, streams=20000, generator=generator(9)
    )
    freq = torch.bincount(ids[:, 0], minlength=5).double() / 20000
    torch.testing.assert_close(freq, torch.softmax(z / 0.7, -1), atol=0.015, rtol=0)


def test_char_lm_refuses_bad_sizes_by_name():
    with pytest.raises(ValueError, match=r"vocab_size must be in \[2, inf\], got 0"):
        rnn.CharLM(0)
    with pytest.raises(ValueError, match="hidden must be"):
        rnn.CharLM(5, hidden=0)
    with pytest.raises(ValueError, match="cell must be one of lstm, gru, rnn, got 'tanh'"):
        rnn.CharLM(5, cell="tanh")


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_fit_and_evaluate_a_model_whose_state_is_one_tensor(cell):
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=16, cell=cell)
    _, state = model(torch.zeros(3, 7, dtype=torch.int64))
    assert isinstance(state, torch.Tensor) and state.shape == (1, 3, 16)
    ids = _text()
    history = rnn.fit_char_lm(model, ids, steps=120, batch=8, seq_len=4, lr=0.02, progress=False)
    assert len(history["loss"]) == 120
    assert rnn.lm_evaluate(model, ids, batch=8, seq_len=4) < math.log(5) / 2


def test_a_plain_torch_rnn_module_with_a_tensor_state_trains():
    class Plain(torch.nn.Module):  # no CharLM: torch.nn.RNN straight
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(5, 4)
            self.rnn = torch.nn.RNN(4, 8, batch_first=True)
            self.out = torch.nn.Linear(8, 5)

        def forward(self, ids, state=None):
            h, state = self.rnn(self.emb(ids), state)
            return self.out(h), state

    torch.manual_seed(0)
    history = rnn.fit_char_lm(Plain(), _text(), steps=3, batch=4, seq_len=4, progress=False)
    assert all(math.isfinite(v) for v in history["loss"])


def test_evaluate_without_carry_scores_each_chunk_from_zeros():
    torch.manual_seed(0)
    model = rnn.CharLM(5, embedding=4, hidden=8).double()
    ids = _text(65)
    reset = rnn.lm_evaluate(model, ids, batch=1, seq_len=8, carry=False)
    losses = []
    for k in range(8):  # eight chunks of 8, each read from a zero state
        logits, _ = model(ids[None, 8 * k : 8 * k + 8])
        losses.append(F.cross_entropy(logits[0], ids[8 * k + 1 : 8 * k + 9]).item())
    assert abs(reset - sum(losses) / 8) < 1e-12
    carried = rnn.lm_evaluate(model, ids, batch=1, seq_len=8, carry=True)
    assert reset != carried


def test_sampling_refuses_an_empty_prompt():
    model = rnn.CharLM(5)
    with pytest.raises(ValueError, match="prompt must hold at least one character"):
        rnn.sample_text(
            model,
            torch.tensor([], dtype=torch.int64),
            3,
            temperature=1.0,
            streams=1,
            generator=generator(0),
        )


# --- the n-gram baseline -------------------------------------------------------------


def _witten_bell(train, context, V, order):
    """The recursion written out directly, one context at a time, no shared tables."""
    train, k = train.tolist(), order - 1

    def p(h, v):  # P(v | h) for a tuple h
        if h is None:
            return 1 / V
        n = [0] * V
        for i in range(len(h), len(train)):
            if tuple(train[i - len(h) : i]) == h:
                n[train[i]] += 1
        lower = p(h[1:] if h else None, v)
        total, types = sum(n), sum(c > 0 for c in n)
        return lower if total == 0 else (n[v] + types * lower) / (total + types)

    rows = []
    for t in range(len(context)):
        h = tuple(context[max(0, t - k + 1) : t + 1].tolist()) if k else ()
        rows.append([p(h, v) for v in range(V)])
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_matches_a_direct_witten_bell_computation(order):
    train = _text(300, seed=11)
    context = _text(40, seed=12)
    ours = rnn.ngram_log_probs(train, context, 6, order=order).exp()
    assert ours.shape == (40, 6) and ours.dtype == torch.float64
    torch.testing.assert_close(ours, _witten_bell(train, context, 6, order), rtol=1e-12, atol=0)
    torch.testing.assert_close(ours.sum(1), torch.ones(40, dtype=torch.float64))
    assert ours[:, 5].min() > 0  # a character never seen still has a probability


def test_ngram_of_order_one_is_the_witten_bell_unigram():
    train = torch.tensor([0, 0, 1, 0, 2])  # counts 3, 1, 1, 0; 3 types of 5 draws
    p = rnn.ngram_log_probs(train, torch.tensor([1, 3]), 4, order=1).exp()
    expected = (torch.tensor([3.0, 1, 1, 0], dtype=torch.float64) + 3 / 4) / (5 + 3)
    torch.testing.assert_close(p, expected.expand(2, 4))


def test_ngram_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"ids must have values in \[0, vocab_size=3\), got 3"):
        rnn.ngram_log_probs(torch.tensor([0, 1]), torch.tensor([3]), 3, order=2)
    with pytest.raises(ValueError, match="order must be"):
        rnn.ngram_log_probs(torch.tensor([0, 1]), torch.tensor([1]), 3, order=0)
