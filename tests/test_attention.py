"""Attention and the encoder-decoder, against torch's attention and closed forms, in float64."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook import rnn

pytestmark = pytest.mark.rnn

B, L, S, D_K, D_V = 2, 3, 5, 4, 6


def _qkv():
    return randn(B, L, D_K, seed=1), randn(B, S, D_K, seed=2), randn(B, S, D_V, seed=3)


def _random_mask(seed):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(B, L, S, generator=g) > 0.4
    mask[0, 1] = False  # a query that may attend nowhere
    return mask


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_values_and_gradients_agree_with_scaled_dot_product_attention(masked, scale):
    inputs = [t.requires_grad_() for t in _qkv()]
    mask = _random_mask(0) if masked else None
    ours, weights = rnn.attention(*inputs, mask=mask, scale=scale)
    theirs = F.scaled_dot_product_attention(*inputs, attn_mask=mask, scale=scale)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    upstream = randn(B, L, D_V, seed=4)
    ours_grad = torch.autograd.grad((ours * upstream).sum(), inputs)
    theirs_grad = torch.autograd.grad((theirs * upstream).sum(), inputs)
    for a, b in zip(ours_grad, theirs_grad, strict=True):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_weights_by_the_closed_form():
    query, keys, values = _qkv()
    mask = _random_mask(1)
    context, weights = rnn.attention(query, keys, values, mask=mask)
    scores = torch.einsum("bld,bsd->bls", query, keys) / math.sqrt(D_K)
    expected = mask * scores.exp()
    totals = expected.sum(-1, keepdim=True)
    expected = torch.where(totals > 0, expected / totals, 0.0)
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-14)
    torch.testing.assert_close(context, torch.einsum("bls,bsv->blv", expected, values))
    assert not weights[~mask].any()
    rows = weights.sum(-1)
    torch.testing.assert_close(rows, mask.any(-1).double(), rtol=0, atol=1e-14)


def test_a_single_key_gets_all_the_weight():
    query, keys, values = _qkv()
    mask = torch.zeros(B, L, S, dtype=torch.bool)
    mask[..., 2] = True
    context, weights = rnn.attention(query, keys, values, mask=mask)
    assert torch.equal(weights, mask.double())
    torch.testing.assert_close(context, values[:, 2:3].expand(B, L, D_V))


def test_float32_stays_float32_and_large_scores_stay_finite():
    query, keys, values = (t.float() * 100 for t in _qkv())
    context, weights = rnn.attention(query, keys, values)
    assert context.dtype == weights.dtype == torch.float32
    assert torch.isfinite(context).all() and torch.isfinite(weights).all()


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"query": [[1.0]]}, TypeError, r"query must be a torch.Tensor, got list"),
        (
            {"keys": randn(B, S, D_K + 1, seed=9)},
            ValueError,
            r"keys must have shape \(B=2, S, d_k=4\)",
        ),
        (
            {"values": randn(B, S + 1, D_V, seed=9)},
            ValueError,
            r"values must have shape \(B=2, S=5, d_v\)",
        ),
        (
            {"values": randn(B, S, D_V, seed=9).float()},
            TypeError,
            r"values must have dtype torch.float64",
        ),
        ({"mask": torch.ones(B, L, S)}, TypeError, r"mask must have dtype torch.bool"),
        ({"mask": torch.ones(B, S, dtype=torch.bool)}, ValueError, r"mask must have 3 dimensions"),
        ({"scale": 0.0}, ValueError, r"scale must be in \(0, inf\], got 0.0"),
        ({"scale": math.nan}, ValueError, r"scale must be a number, got nan"),
    ],
)
def test_attention_refuses_bad_input_by_name(change, error, message):
    query, keys, values = _qkv()
    call = {"query": query, "keys": keys, "values": values, **change}
    with pytest.raises(error, match=message):
        rnn.attention(**call)


def test_reversal_digits():
    g = torch.Generator().manual_seed(0)
    source, target = rnn.reversal_digits(50, 7, digits=4, generator=g)
    assert source.shape == target.shape == (50, 7) and source.dtype == torch.int64
    assert torch.equal(target, source.flip(1)) and 0 <= source.min() and source.max() < 4
    with pytest.raises(ValueError, match=r"digits must be in \[2, inf\], got 1"):
        rnn.reversal_digits(5, 3, digits=1)


@pytest.mark.parametrize("use_attention", [False, True])
def test_teacher_forcing_and_greedy_decoding_agree(use_attention):
    """Fed its own greedy tokens, the teacher-forced pass gives the same logits."""
    torch.manual_seed(0)
    model = rnn.Seq2Seq(7, 6, use_attention, dtype=torch.float64)
    source = torch.randint(0, 7, (4, 5))
    tokens, weights = model.generate(source, 3)
    logits, forced_weights = model(source, tokens)
    assert torch.equal(logits.argmax(-1), tokens)
    if use_attention:
        torch.testing.assert_close(weights, forced_weights, rtol=0, atol=1e-12)
        assert weights.shape == (4, 3, 5)
    else:
        assert weights is None and forced_weights is None


def test_the_encoder_summary_is_both_directions_final_states():
    torch.manual_seed(0)
    model = rnn.Seq2Seq(5, 4, True, dtype=torch.float64)
    source = torch.randint(0, 5, (3, 6))
    encoded, (h, c) = model._encode(source)
    # forward direction ends at the last step, backward at the first
    torch.testing.assert_close(h[0, :, :2], encoded[:, -1, :2])
    torch.testing.assert_close(h[0, :, 2:], encoded[:, 0, 2:])


def test_fit_seq2seq_learns_a_short_reversal():
    g = torch.Generator().manual_seed(0)
    source, target = rnn.reversal_digits(500, 3, digits=4, generator=g)
    torch.manual_seed(0)
    model = rnn.Seq2Seq(4, 16, True)
    losses = rnn.fit_seq2seq(model, source, target, 60, batch_size=64, lr=0.03, generator=g)
    assert len(losses) == 60 and losses[-1] < 0.3 * losses[0]


def test_seq2seq_refuses_bad_arguments_by_name():
    with pytest.raises(ValueError, match=r"hidden must be even"):
        rnn.Seq2Seq(5, 3, True)
    with pytest.raises(TypeError, match=r"use_attention must be a bool, got int"):
        rnn.Seq2Seq(5, 4, 1)
    model = rnn.Seq2Seq(5, 4, False)
    source = torch.randint(0, 5, (8, 3))
    with pytest.raises(ValueError, match=r"target must hold token ids below vocab=5, got 5"):
        rnn.fit_seq2seq(model, source, source + 1, 1)
    with pytest.raises(TypeError, match=r"model must be a Seq2Seq, got Linear"):
        rnn.fit_seq2seq(torch.nn.Linear(2, 2), source, source, 1)
    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\], got 0"):
        rnn.fit_seq2seq(model, source, source, 1, lr=0)


def test_a_mask_shared_by_all_queries_broadcasts_as_in_torch():
    query, keys, values = _qkv()
    shared = _random_mask(2)[:, :1]  # (B, 1, S)
    shared[0, 0] = True  # every query may attend somewhere, as torch needs
    context, weights = rnn.attention(query, keys, values, mask=shared)
    full = rnn.attention(query, keys, values, mask=shared.expand(B, L, S))
    assert weights.shape == (B, L, S)
    torch.testing.assert_close(context, full[0], rtol=0, atol=0)
    torch.testing.assert_close(weights, full[1], rtol=0, atol=0)
    theirs = F.scaled_dot_product_attention(query, keys, values, attn_mask=shared)
    torch.testing.assert_close(context, theirs, rtol=0, atol=1e-12)
    with pytest.raises(
        ValueError,
        match=r"mask must have shape \(B, L, S\) or \(B, 1, S\) with L=3, got \(2, 2, 5\)",
    ):
        rnn.attention(query, keys, values, mask=shared.expand(B, 2, S))


def test_the_general_score_by_the_closed_form():
    """Luong et al.'s general score s^T W h, scaled by sqrt(d), then a softmax."""
    torch.manual_seed(0)
    model = rnn.Seq2Seq(5, 4, True, dtype=torch.float64)
    source, target = torch.randint(0, 5, (3, 6)), torch.randint(0, 5, (3, 2))
    logits, weights = model(source, target)
    encoded, h = model._encode(source)
    start = torch.full_like(target[:, :1], 5)
    states, _ = model.decoder(model.embed(torch.cat([start, target[:, :1]], 1)), h)
    W = model.score.weight  # (W s)^T h = s^T W^T h: still a general bilinear score
    scores = torch.einsum("bld,de,bse->bls", states, W.T, encoded) / 2.0
    expected = torch.softmax(scores, dim=-1)
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-12)
    context = torch.einsum("bls,bsd->bld", expected, encoded)
    torch.testing.assert_close(logits, model.out(torch.cat([states, context], -1)))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        ({"steps": 0}, ValueError, r"steps must be at least 1, got 0"),
        ({"steps": 2.0}, TypeError, r"steps must be an int, got float"),
        (
            {"source": torch.zeros(2, 3)},
            TypeError,
            r"source must hold integer token ids, got torch.float32",
        ),
        (
            {"source": torch.zeros(3, dtype=torch.int64)},
            ValueError,
            r"source must have shape \(B, S\) with S >= 1, got \(3,\)",
        ),
        (
            {"source": torch.full((2, 3), 5)},
            ValueError,
            r"source must hold token ids in \[0, vocab=5\), got values from 5 to 5",
        ),
        (
            {"source": torch.full((2, 3), 6)},
            ValueError,
            r"source must hold token ids in \[0, vocab=5\), got values from 6 to 6",
        ),
        (
            {"source": torch.full((2, 3), -1)},
            ValueError,
            r"source must hold token ids in \[0, vocab=5\), got values from -1",
        ),
        ({"source": [[1, 2]]}, TypeError, r"source must be a torch.Tensor, got list"),
    ],
)
def test_generate_refuses_bad_input_by_name(call, error, message):
    model = rnn.Seq2Seq(5, 4, True)
    arguments = {"source": torch.zeros(2, 3, dtype=torch.int64), "steps": 2, **call}
    with pytest.raises(error, match=message):
        model.generate(**arguments)


def test_forward_refuses_bad_input_by_name():
    model = rnn.Seq2Seq(5, 4, False)
    source = torch.zeros(2, 3, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"source must hold token ids in \[0, vocab=5\)"):
        model(source + 5, source)
    with pytest.raises(
        TypeError, match=r"target must be a torch.Tensor of integer token ids, got torch.float32"
    ):
        model(source, source.float())
    with pytest.raises(
        ValueError, match=r"target must have shape \(B, T_out\) with B=2, got \(3, 3\)"
    ):
        model(source, torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(
        ValueError, match=r"target must hold token ids in \[0, vocab=5\), got values from 0 to 7"
    ):
        model(source, source + torch.tensor([0, 0, 7]))
