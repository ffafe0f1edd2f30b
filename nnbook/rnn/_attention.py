r"""Sequence to sequence with and without attention, on a task small enough to train.

:func:`attention` is scaled dot-product attention with a mask, the step that lets a
decoder read every encoder state instead of one summary vector.
:class:`Seq2Seq` is an LSTM encoder-decoder that uses it (with Luong et al.'s
"general" score) or not, and :func:`reversal_digits` makes its toy task: reverse a
string of random digits. Unlike the rest of the chapter, which is time first,
``(T, B, ...)``, tensors here are batch first, ``(B, L, d)``, as in
``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnbook.contract import Flag, Instance, Int, Real, Tensor, contract

__all__ = ["Seq2Seq", "attention", "fit_seq2seq", "reversal_digits"]


@contract(
    "eq-rnn-attention",
    query=Tensor("B", "L", "d_k"),
    keys=Tensor("B", "S", "d_k"),
    values=Tensor("B", "S", "d_v"),
    mask=Tensor("B", None, "S", dtype="bool", optional=True),
    scale=Real(low=0, low_open=True, optional=True),
    reference="torch.nn.functional.scaled_dot_product_attention",
)
def attention(query, keys, values, mask=None, scale=None):
    r"""Scaled dot-product attention. Implements :eq:`eq-rnn-attention`.

    Parameters
    ----------
    query : torch.Tensor
        Shape ``(B, L, d_k)``: ``L`` queries per batch element (a decoder's states).
    keys : torch.Tensor
        Shape ``(B, S, d_k)``: one key per source position (an encoder's states).
    values : torch.Tensor
        Shape ``(B, S, d_v)``: what each source position hands over when attended.
    mask : torch.Tensor, optional
        Shape ``(B, L, S)``, or ``(B, 1, S)`` for one mask shared by all queries,
        dtype bool: True where query ``l`` may attend to position ``s`` (``torch``'s
        convention for a boolean ``attn_mask``). None attends everywhere. With every
        query allowed at least one position, the result is that of
        ``torch.nn.functional.scaled_dot_product_attention``. A query that may attend
        nowhere gets zero weights and a zero context here; torch leaves that case
        to its backends (its math backend also gives zeros, the reference code in
        its documentation gives NaN).
    scale : float, optional
        Multiplies the scores; default ``1 / sqrt(d_k)``.

    Returns
    -------
    context : torch.Tensor
        Shape ``(B, L, d_v)``: for each query ``l``, the weighted average of the
        values, :math:`a_l`.
    weights : torch.Tensor
        Shape ``(B, L, S)``: the attention weights, zero at the masked positions;
        each row sums to one, unless its query may attend nowhere.

    Notes
    -----
    .. math::
        e_{ls} = \frac{q_l^\top k_s}{\sqrt{d_k}}, \qquad
        \alpha_{ls} = \frac{m_{ls}\, e^{e_{ls}}}{\sum_{s'} m_{ls'}\, e^{e_{ls'}}},
        \qquad a_l = \sum_{s=1}^{S} \alpha_{ls}\, v_s
    """
    if mask is not None and mask.shape[1] not in (1, query.shape[1]):
        raise ValueError(
            f"mask must have shape (B, L, S) or (B, 1, S) with L={query.shape[1]}, "
            f"got {tuple(mask.shape)}"
        )
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ keys.transpose(1, 2) * scale  # (B, L, S)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)  # (B, L, S)
    else:
        # (B, L, 1): True for a query that may attend nowhere
        nowhere = ~mask.any(dim=-1, keepdim=True)
        scores = scores.masked_fill(~mask, -math.inf).masked_fill(nowhere, 0.0)
        weights = torch.softmax(scores, dim=-1).masked_fill(nowhere, 0.0)
    return weights @ values, weights  # (B, L, d_v), (B, L, S)


@contract(
    n=Int(low=1),
    length=Int(low=1),
    digits=Int(low=2),
    generator=Instance(torch.Generator, optional=True),
)
def reversal_digits(n, length, digits=10, generator=None):
    """``n`` random strings of digits and their reversals.

    Parameters
    ----------
    n : int
        How many strings.
    length : int
        Digits per string.
    digits : int, default 10
        The alphabet, ``0 .. digits - 1``.
    generator : torch.Generator, optional
        The source of randomness.

    Returns
    -------
    source, target : torch.Tensor
        Shape ``(n, length)``, dtype int64; ``target`` is ``source`` reversed in time.
    """
    source = torch.randint(0, digits, (n, length), generator=generator)
    return source, source.flip(1)


class Seq2Seq(nn.Module):
    r"""An LSTM encoder-decoder over tokens, with attention or without.

    The encoder reads the source; its final state starts the decoder, which reads the
    target shifted right by one (a start token first) and predicts the next token,
    as in Sutskever et al. (2014). The decoder's state after output step :math:`l`
    is written :math:`s_l`, as by Bahdanau et al. (2015), to tell it from the
    encoder's states :math:`h_s` (the chapter's :math:`h_t`). With
    ``use_attention``, :math:`s_l` queries the encoder's states with Luong et al.'s
    (2015) "general" score, :math:`s_l^\top W h_s` (here also divided by
    :math:`\sqrt{d}`), through :func:`attention`, and one linear layer reads
    :math:`[s_l; a_l]`, state and context side by side: a simplified form of
    Luong et al.'s global attention, which has a further tanh layer and feeds
    :math:`a_l` back into the decoder's input. Without attention, the output layer
    reads :math:`s_l` alone, and the encoder's final state is all the decoder knows
    of the source.

    Parameters
    ----------
    vocab : int
        Tokens ``0 .. vocab - 1``; the start token is ``vocab``, used only inside.
    hidden : int
        The size of the embeddings and of the decoder's state; the encoder is a
        bidirectional LSTM with ``hidden // 2`` units per direction.
    use_attention : bool
        Read the encoder's states through attention.
    dtype : torch.dtype, optional
        Of every parameter.
    """

    @contract(
        vocab=Int(low=2),
        hidden=Int(low=1),
        use_attention=Flag(),
        dtype=Instance(torch.dtype, optional=True),
    )
    def __init__(self, vocab, hidden, use_attention, dtype=None):
        super().__init__()
        self.vocab, self.use_attention = vocab, use_attention
        if hidden % 2:
            raise ValueError(
                f"hidden must be even, half for each direction of the encoder, "
                f"got {hidden}"
            )
        self.embed = nn.Embedding(vocab + 1, hidden, dtype=dtype)
        self.encoder = nn.LSTM(
            hidden,
            hidden // 2,
            batch_first=True,
            bidirectional=True,
            dtype=dtype,
        )
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True, dtype=dtype)
        # the "general" score's W, applied to the query: (W^T s)^T h = s^T W h
        self.score = (
            nn.Linear(hidden, hidden, bias=False, dtype=dtype)
            if use_attention
            else None
        )
        width = 2 * hidden if use_attention else hidden
        self.out = nn.Linear(width, vocab, dtype=dtype)

    def _check_source(self, source):
        """Refuse a source that is not (B, S) token ids in [0, vocab)."""
        if not isinstance(source, torch.Tensor):
            raise TypeError(
                f"source must be a torch.Tensor, got {type(source).__name__}"
            )
        if source.is_floating_point() or source.dtype == torch.bool:
            raise TypeError(
                f"source must hold integer token ids, got {source.dtype}"
            )
        if source.ndim != 2 or source.shape[1] == 0:
            raise ValueError(
                f"source must have shape (B, S) with S >= 1, "
                f"got {tuple(source.shape)}"
            )
        if len(source) and not (
            0 <= int(source.min()) and int(source.max()) < self.vocab
        ):
            raise ValueError(
                f"source must hold token ids in [0, vocab={self.vocab}), got "
                f"values from {int(source.min())} to {int(source.max())}"
            )

    def _encode(self, source):
        """The encoder's states (B, S, H) and the decoder's first (h, c), (1, B, H).

        Each direction's final states, side by side: the forward one has read the
        whole source, and so has the backward one, which ends at the first step.
        """
        encoded, (h_n, c_n) = self.encoder(self.embed(source))  # (2, B, H/2)
        return encoded, tuple(
            torch.cat([s[0], s[1]], dim=-1)[None] for s in (h_n, c_n)
        )

    def _read(self, states, encoded):
        """Logits (B, L, vocab) and weights (B, L, S) or None, from decoder states."""
        if not self.use_attention:
            return self.out(states), None
        context, weights = attention(self.score(states), encoded, encoded)
        return self.out(torch.cat([states, context], dim=-1)), weights

    def forward(self, source, target):
        """Logits (B, T_out, vocab) for ``target`` (B, T_out) given ``source`` (B, S),
        by teacher forcing; and the attention weights (B, T_out, S) or None.

        Both must hold integer token ids in ``[0, vocab)``."""
        self._check_source(source)
        if not isinstance(target, torch.Tensor) or target.is_floating_point():
            raise TypeError(
                f"target must be a torch.Tensor of integer token ids, got "
                f"{getattr(target, 'dtype', type(target).__name__)}"
            )
        if target.ndim != 2 or target.shape[0] != source.shape[0]:
            raise ValueError(
                f"target must have shape (B, T_out) with B={source.shape[0]}, "
                f"got {tuple(target.shape)}"
            )
        if target.numel() and not (
            0 <= int(target.min()) and int(target.max()) < self.vocab
        ):
            raise ValueError(
                f"target must hold token ids in [0, vocab={self.vocab}), got "
                f"values from {int(target.min())} to {int(target.max())}"
            )
        encoded, h = self._encode(source)  # (B, S, H), (1, B, H)
        start = torch.full_like(target[:, :1], self.vocab)
        shifted = torch.cat([start, target[:, :-1]], dim=1)  # (B, T_out)
        states, _ = self.decoder(self.embed(shifted), h)  # (B, T_out, H)
        return self._read(states, encoded)

    @torch.no_grad()
    def generate(self, source, steps):
        """Greedy decoding: tokens (B, steps) and attention weights (B, steps, S),
        or None without attention, for ``source`` (B, S) of token ids in
        ``[0, vocab)``; ``steps >= 1``."""
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise TypeError(f"steps must be an int, got {type(steps).__name__}")
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self._check_source(source)
        encoded, h = self._encode(source)
        token = torch.full_like(source[:, :1], self.vocab)
        tokens, weights = [], []
        for _ in range(steps):
            state, h = self.decoder(self.embed(token), h)  # (B, 1, H)
            logits, w = self._read(state, encoded)
            token = logits.argmax(-1)  # (B, 1)
            tokens.append(token)
            weights.append(w)
        alphas = None if weights[0] is None else torch.cat(weights, dim=1)
        return torch.cat(tokens, dim=1), alphas


@contract(
    model=Instance(Seq2Seq),
    source=Tensor("N", "S", dtype="int", low=0),
    target=Tensor("N", "T_out", dtype="int", low=0),
    steps=Int(low=1),
    batch_size=Int(low=1),
    lr=Real(low=0, low_open=True),
    generator=Instance(torch.Generator, optional=True),
)
def fit_seq2seq(
    model, source, target, steps, batch_size=64, lr=0.01, generator=None
):
    """Train ``model`` with Adam on the cross-entropy of each target token.

    Parameters
    ----------
    model : nnbook.rnn.Seq2Seq
        The model, trained in place.
    source : torch.Tensor
        Shape ``(N, S)``, token ids below ``model.vocab``.
    target : torch.Tensor
        Shape ``(N, T_out)``, token ids below ``model.vocab``.
    steps : int
        Adam steps, each on a random minibatch.
    batch_size : int, default 64
        Sequences per step.
    lr : float, default 0.01
        Adam's learning rate.
    generator : torch.Generator, optional
        Draws the minibatches.

    Returns
    -------
    list of float
        The minibatch loss before each step.
    """
    for name, tokens in (("source", source), ("target", target)):
        if int(tokens.max()) >= model.vocab:
            raise ValueError(
                f"{name} must hold token ids below vocab={model.vocab}, "
                f"got {int(tokens.max())}"
            )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        rows = torch.randint(0, len(source), (batch_size,), generator=generator)
        logits, _ = model(source[rows], target[rows])  # (b, T_out, vocab)
        loss = nn.functional.cross_entropy(
            logits.flatten(0, 1), target[rows].flatten()
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
