r"""A character-level language model: each step a classification over the alphabet.

The pieces of the section on language models: the embedding lookup
(:func:`embed`), the per-character cross-entropy and perplexity
(:func:`lm_cross_entropy`, :func:`perplexity`), sampling with a temperature
(:func:`temperature_softmax`, :func:`sample_text`), the counting baselines
(:func:`unigram_log_probs`, :func:`bigram_log_probs`,
:func:`ngram_log_probs`), and the model with its training
loop by truncated backpropagation through time (:class:`CharLM`, :func:`fit_char_lm`,
:func:`lm_evaluate`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from nnbook.contract import (
    Choice,
    Flag,
    Instance,
    Int,
    Real,
    Tensor,
    contract,
)

__all__ = [
    "CharLM",
    "bigram_log_probs",
    "embed",
    "fit_char_lm",
    "lm_cross_entropy",
    "lm_evaluate",
    "ngram_log_probs",
    "perplexity",
    "sample_text",
    "temperature_softmax",
    "unigram_log_probs",
]

_FLOATS = Choice(torch.float32, torch.float64)


@contract(
    "eq-rnn-embedding",
    weight=Tensor("V", "E"),
    ids=Tensor(..., dtype="int", low=0, high="V"),
    reference="torch.nn.functional.embedding",
)
def embed(ids, weight):
    r"""The embedding of each index: row ``ids`` of the table ``weight``.

    Implements :eq:`eq-rnn-embedding`. Looking up row :math:`x` is the product of the
    one-hot vector of :math:`x` with the table, done without the multiplications:

    .. math::
        e_t = E^\top \operatorname{onehot}(x_t) = E_{x_t,:}.

    Parameters
    ----------
    ids : torch.Tensor
        Integer indices in [0, V), of any shape (...).
    weight : torch.Tensor
        The table :math:`E`, shape (V, E).

    Returns
    -------
    torch.Tensor
        Shape (..., E).
    """
    return weight[ids]  # (..., E)


@contract(
    "eq-rnn-lm-loss",
    logits=Tensor("N", "V"),
    targets=Tensor("N", dtype="int", low=0, high="V"),
    reference="torch.nn.functional.cross_entropy",
)
def lm_cross_entropy(logits, targets):
    r"""The mean cross-entropy of the next characters, in nats per character.

    Implements :eq:`eq-rnn-lm-loss`. Each step is a classification over the V
    characters; the loss is the mean negative log-probability the model gives the
    character that came next:

    .. math::
        \mathcal{L} = -\frac{1}{N} \sum_{t=1}^{N}
        \log \operatorname{softmax}(z_t)_{x_{t+1}}.

    Parameters
    ----------
    logits : torch.Tensor
        The scores :math:`z_t`, shape (N, V).
    targets : torch.Tensor
        The next characters :math:`x_{t+1}`, int, shape (N,), values in [0, V).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # (N, V)
    return -log_p.gather(1, targets[:, None]).mean()


@contract(
    "eq-rnn-lm-loss",
    logits=Tensor("N", "V"),
    targets=Tensor("N", dtype="int", low=0, high="V"),
)
def perplexity(logits, targets):
    r"""The perplexity: the exponential of :func:`lm_cross_entropy`.

    Implements :eq:`eq-rnn-lm-loss`. A model with perplexity :math:`k` is as unsure as
    one that picks uniformly among :math:`k` characters at every step:

    .. math::
        \operatorname{PPL} = e^{\mathcal{L}}.

    Parameters
    ----------
    logits : torch.Tensor
        Shape (N, V).
    targets : torch.Tensor
        int, shape (N,), values in [0, V).

    Returns
    -------
    torch.Tensor
        A scalar, at least 1.
    """
    return torch.exp(lm_cross_entropy(logits, targets))


@contract(
    "eq-rnn-temperature",
    logits=Tensor(..., "V"),
    temperature=Real(low=0, low_open=True),
)
def temperature_softmax(logits, temperature):
    r"""The distribution to sample from at temperature :math:`T`.

    Implements :eq:`eq-rnn-temperature`. :math:`T = 1` gives the model's own
    distribution; :math:`T < 1` sharpens it towards the most likely character (the
    argmax as :math:`T \to 0`), :math:`T > 1` flattens it towards uniform:

    .. math::
        p_T(v) = \frac{e^{z_v / T}}{\sum_{u=1}^{V} e^{z_u / T}}.

    Parameters
    ----------
    logits : torch.Tensor
        Shape (..., V).
    temperature : float
        :math:`T > 0`.

    Returns
    -------
    torch.Tensor
        Probabilities of shape (..., V), each row summing to 1.
    """
    return torch.softmax(logits / temperature, dim=-1)


def _check_ids(ids, vocab_size):
    if ids.numel() and int(ids.max()) >= vocab_size:
        raise ValueError(
            f"ids must have values in [0, vocab_size={vocab_size}), got {int(ids.max())}"
        )


@contract(
    ids=Tensor("N", dtype="int", low=0),
    vocab_size=Int(low=2),
    alpha=Real(low=0, low_open=True),
    dtype=_FLOATS,
)
def unigram_log_probs(ids, vocab_size, alpha=1.0, dtype=torch.float64):
    r"""Log-frequencies of the characters, counted with add-:math:`\alpha` smoothing.

    The baseline that ignores all context:
    :math:`\log P(v) = \log \frac{n_v + \alpha}{N + \alpha V}`.

    Parameters
    ----------
    ids : torch.Tensor
        The training text as int indices, shape (N,), values in [0, V).
    vocab_size : int
        V, at least 2.
    alpha : float, default 1.0
        The pseudo-count added to every character.
    dtype : torch.dtype, default torch.float64
        The dtype of the result.

    Returns
    -------
    torch.Tensor
        Shape (V,).
    """
    _check_ids(ids, vocab_size)
    counts = torch.bincount(ids, minlength=vocab_size).to(dtype) + alpha  # (V,)
    return torch.log(counts / counts.sum())


@contract(
    ids=Tensor("N", dtype="int", low=0),
    vocab_size=Int(low=2),
    alpha=Real(low=0, low_open=True),
    dtype=_FLOATS,
)
def bigram_log_probs(ids, vocab_size, alpha=1.0, dtype=torch.float64):
    r"""Log-probabilities of the next character given the current one, by counting.

    Row :math:`a` is :math:`\log P(b \mid a) = \log \frac{n_{ab} + \alpha}{n_a +
    \alpha V}`, where :math:`n_{ab}` counts the pairs "a then b" in the text. Its rows,
    used as logits, make a classifier over the vocabulary that sees one character of
    context.

    Parameters
    ----------
    ids : torch.Tensor
        The training text as int indices, shape (N,), values in [0, V).
    vocab_size : int
        V, at least 2.
    alpha : float, default 1.0
        The pseudo-count added to every pair.
    dtype : torch.dtype, default torch.float64
        The dtype of the result.

    Returns
    -------
    torch.Tensor
        Shape (V, V): row ``a``, column ``b``.
    """
    _check_ids(ids, vocab_size)
    V = vocab_size
    pairs = ids[:-1] * V + ids[1:]  # (N - 1,)
    counts = torch.bincount(pairs, minlength=V * V).view(V, V).to(dtype) + alpha
    return torch.log(counts / counts.sum(dim=1, keepdim=True))


@contract(
    train=Tensor("N", dtype="int", low=0),
    context=Tensor("M", dtype="int", low=0),
    vocab_size=Int(low=2),
    order=Int(low=1),
    dtype=_FLOATS,
)
def ngram_log_probs(train, context, vocab_size, *, order, dtype=torch.float64):
    r"""Log-probabilities of the next character from the last ``order - 1``, by counting.

    A character :math:`n`-gram model (:math:`n` = ``order``) with interpolated
    Witten-Bell smoothing. For a context :math:`h` seen :math:`c(h)` times in
    ``train``, followed by :math:`t(h)` distinct characters, :math:`c(h, v)` of them
    by :math:`v`,

    .. math::
        P(v \mid h) = \frac{c(h, v) + t(h)\, P(v \mid h')}{c(h) + t(h)},

    where :math:`h'` is :math:`h` without its oldest character; an unseen context
    gives :math:`P(v \mid h')`, and the empty context falls back on the uniform
    :math:`1 / V`. ``order=1`` counts single characters, ``order=2`` pairs.

    Parameters
    ----------
    train : torch.Tensor
        The training text as int indices, shape (N,), values in [0, V).
    context : torch.Tensor
        The text to predict from, int, shape (M,), values in [0, V).
    vocab_size : int
        V, at least 2.
    order : int
        n, at least 1: the model sees the current character and the
        ``order - 2`` before it.
    dtype : torch.dtype, default torch.float64
        The dtype of the result (the counting is done in float64).

    Returns
    -------
    torch.Tensor
        Shape (M, V): row ``t`` is the log-probability of the character
        after ``context[t]``, given ``context[max(0, t - order + 2) : t + 1]``.
    """
    _check_ids(train, vocab_size)
    _check_ids(context, vocab_size)
    V, k = vocab_size, order - 1  # k: the longest context
    text = "".join(map(chr, train.tolist()))  # one code point per character
    counts = {}  # context string -> counts of the next character, (V,)
    for j in range(k + 1):
        grams = Counter(text[i - j : i + 1] for i in range(j, len(text)))
        for gram, c in grams.items():
            counts.setdefault(gram[:-1], np.zeros(V))[ord(gram[-1])] += c
    memo = {}

    def probs(h):  # P(. | h) by the recursion, each context once
        if h not in memo:
            p = np.full(V, 1.0 / V) if h == "" else probs(h[1:])
            c = counts.get(h)
            if c is not None:
                t = np.count_nonzero(c)
                p = (c + t * p) / (c.sum() + t)
            memo[h] = p
        return memo[h]

    seen = "".join(map(chr, context.tolist()))
    rows = [
        probs(seen[max(0, t - k + 1) : t + 1] if k else "")
        for t in range(len(seen))
    ]
    log_p = torch.log(torch.from_numpy(np.stack(rows)).reshape(len(seen), V))
    return log_p.to(dtype)


class CharLM(torch.nn.Module):
    """Embedding, a recurrent layer, and a linear layer to one score per character.

    ``torch.nn.LSTM`` (or ``GRU``, or ``RNN`` with tanh) is used for speed;
    :class:`nnbook.rnn.LSTM` computes the same function as the first with the
    chapter's own code.

    Parameters
    ----------
    vocab_size : int
        V, the number of characters, at least 2.
    embedding : int, default 16
        E, the size of a character's embedding.
    hidden : int, default 64
        H, the recurrent layer's state size.
    cell : str, default "lstm"
        ``"lstm"``, ``"gru"`` or ``"rnn"`` (tanh). The state is a tuple ``(h, c)``
        for the LSTM and a tensor ``h`` for the others.
    """

    _CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}

    @contract(
        vocab_size=Int(low=2),
        embedding=Int(low=1),
        hidden=Int(low=1),
        cell=Choice("lstm", "gru", "rnn"),
    )
    def __init__(self, vocab_size, embedding=16, hidden=64, cell="lstm"):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embedding)
        layer = self._CELLS[cell](embedding, hidden, batch_first=True)
        if cell == "lstm":
            self.lstm = layer  # the name the LSTM's parameters have always had
        else:
            self.rnn = layer
        self.cell = cell
        self.head = torch.nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        """Scores for the next character after each one.

        Parameters
        ----------
        ids : torch.Tensor
            int, shape (B, T).
        state : tuple or torch.Tensor, optional
            ``(h, c)``, each (1, B, H), for the LSTM, ``h`` (1, B, H) for the
            others, carried from the chunk before; zeros if None.

        Returns
        -------
        logits : torch.Tensor
            Shape (B, T, V).
        state : tuple or torch.Tensor
            The final state, as ``state``.
        """
        e = embed(ids, self.embedding.weight)  # (B, T, E)
        layer = self.lstm if self.cell == "lstm" else self.rnn
        out, state = layer(e, state)  # (B, T, H)
        return self.head(out), state


def _streams(ids, batch):
    """Inputs and targets as ``batch`` consecutive pieces of the text, (B, n)."""
    n = (len(ids) - 1) // batch
    if n < 1:
        raise ValueError(
            f"ids must have more than batch={batch} characters, got {len(ids)}"
        )
    x = ids[: n * batch].view(batch, n)
    y = ids[1 : n * batch + 1].view(batch, n)
    return x, y


def _detach(state):
    """The state cut from the graph: a tensor (RNN, GRU) or a tuple (LSTM)."""
    if state is None or isinstance(state, torch.Tensor):
        return None if state is None else state.detach()
    return tuple(s.detach() for s in state)


@contract(
    model=Instance(torch.nn.Module),
    ids=Tensor("N", dtype="int", low=0),
    steps=Int(low=1),
    batch=Int(low=1),
    seq_len=Int(low=1),
    lr=Real(low=0, low_open=True),
    clip=Real(low=0, low_open=True, optional=True),
    carry=Flag(),
    progress=Flag(),
)
def fit_char_lm(
    model,
    ids,
    *,
    steps,
    batch=32,
    seq_len=32,
    lr=1e-2,
    clip=1.0,
    carry=True,
    progress=True,
):
    """Train a language model by truncated backpropagation through time, with Adam.

    The text is cut into ``batch`` consecutive pieces read side by side, and each
    piece into chunks of ``seq_len`` characters. Each step reads the next chunk of
    every piece with teacher forcing (the input at every position is the true
    character, the target the one after it) and backpropagates through that chunk
    only. With ``carry`` the final state of a chunk starts the next one, detached, so
    the model sees context from before the chunk; without it every chunk starts from
    zeros. Gradients are clipped to total norm ``clip`` (none if None).

    Parameters
    ----------
    model : torch.nn.Module
        Maps (ids (B, T), state) to (logits (B, T, V), state), as :class:`CharLM`;
        the state is a tensor (as in ``torch.nn.RNN`` or ``torch.nn.GRU``) or a tuple
        of tensors (as in ``torch.nn.LSTM``).
    ids : torch.Tensor
        The training text, int, shape (N,).
    steps : int
        The number of updates; the pieces are read again from the start when they end.
    batch, seq_len : int, default 32 and 32
        The pieces read in parallel and the chunk length.
    lr : float, default 0.01
        Adam's learning rate.
    clip : float, optional
        The largest total gradient norm of an update, 1.0 by default; None clips
        nothing.
    carry : bool, default True
        Carry the state across chunks (detached), or reset it to zeros.
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    dict
        ``"loss"``: the training loss of each step (nats per character);
        ``"grad_norm"``: the total gradient norm of each step, before clipping.
    """
    x, y = _streams(ids, batch)
    chunks = x.shape[1] // seq_len
    if chunks < 1:
        raise ValueError(
            f"seq_len must be at most the length of each piece, {x.shape[1]}, "
            f"got {seq_len}"
        )
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"loss": [], "grad_norm": []}
    state = None
    bar = (
        {} if progress else {"disable": True}
    )  # False would override TQDM_DISABLE
    for step in tqdm(range(steps), desc="steps", **bar):
        k = step % chunks
        if k == 0 or not carry:
            state = None
        piece = slice(k * seq_len, (k + 1) * seq_len)
        logits, state = model(x[:, piece], state)  # (B, L, V)
        state = _detach(state)  # truncate: no gradient into earlier chunks
        V = logits.shape[-1]
        loss = lm_cross_entropy(logits.reshape(-1, V), y[:, piece].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        limit = float("inf") if clip is None else clip
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)
        optimizer.step()
        history["loss"].append(loss.item())
        history["grad_norm"].append(norm.item())
    return history


@contract(
    model=Instance(torch.nn.Module),
    ids=Tensor("N", dtype="int", low=0),
    batch=Int(low=1),
    seq_len=Int(low=1),
    carry=Flag(),
)
def lm_evaluate(model, ids, *, batch=16, seq_len=32, carry=True):
    """The mean cross-entropy of a model on a text, in nats per character.

    The text is read as in :func:`fit_char_lm`, in ``batch`` pieces and chunks of
    ``seq_len``, with the state carried across chunks or reset, and every character of
    the full chunks is predicted from the ones before it.

    Parameters
    ----------
    model : torch.nn.Module
        As in :func:`fit_char_lm`.
    ids : torch.Tensor
        The text, int, shape (N,).
    batch, seq_len : int, default 16 and 32
        The pieces and the chunk length.
    carry : bool, default True
        Carry the state across chunks, or start each chunk from zeros.

    Returns
    -------
    float
        :math:`\\mathcal{L}`; its exponential is the perplexity.
    """
    x, y = _streams(ids, batch)
    device = next(model.parameters()).device
    chunks = x.shape[1] // seq_len
    if chunks < 1:
        raise ValueError(
            f"seq_len must be at most the length of each piece, {x.shape[1]}, "
            f"got {seq_len}"
        )
    total, state = 0.0, None
    with torch.no_grad():
        for k in range(chunks):
            piece = slice(k * seq_len, (k + 1) * seq_len)
            logits, state = model(
                x[:, piece].to(device), state if carry else None
            )
            V = logits.shape[-1]
            targets = y[:, piece].reshape(-1).to(device)
            total += F.cross_entropy(
                logits.reshape(-1, V).double(), targets, reduction="sum"
            ).item()
    return total / (chunks * seq_len * batch)


@contract(
    model=Instance(torch.nn.Module),
    prompt=Tensor("P", dtype="int", low=0),
    n=Int(low=1),
    temperature=Real(low=0, low_open=True),
    streams=Int(low=1),
    generator=Instance(torch.Generator),
)
def sample_text(model, prompt, n, *, temperature, streams, generator):
    """Generate ``n`` characters after ``prompt``, sampling at ``temperature``.

    The model reads the prompt, then draws each character from
    :func:`temperature_softmax` of its scores and reads it back: at generation there
    is no true character to force, so the model consumes its own samples.

    Parameters
    ----------
    model : torch.nn.Module
        As in :func:`fit_char_lm`.
    prompt : torch.Tensor
        int, shape (P,): the characters to start from.
    n : int
        The number of characters to generate.
    temperature : float
        :math:`T > 0`.
    streams : int
        The number of independent texts drawn side by side.
    generator : torch.Generator
        A CPU generator: the draws are made on the CPU.

    Returns
    -------
    ids : torch.Tensor
        int, shape (streams, n).
    entropy : torch.Tensor
        Shape (streams, n): the entropy (nats) of each distribution drawn from.
    """
    if len(prompt) == 0:
        raise ValueError(
            "prompt must hold at least one character (the model needs an input to "
            "score the first draw), got shape (0,)"
        )
    device = next(model.parameters()).device
    ids, entropy = [], []
    with torch.no_grad():
        x = prompt.expand(streams, -1).to(device)
        logits, state = model(x)
        for _ in range(n):
            p = temperature_softmax(logits[:, -1].double().cpu(), temperature)
            entropy.append(-(p * torch.log(p.clamp_min(1e-300))).sum(dim=1))
            nxt = torch.multinomial(p, 1, generator=generator)  # (streams, 1)
            ids.append(nxt[:, 0])
            logits, state = model(nxt.to(device), state)
    return torch.stack(ids, dim=1), torch.stack(entropy, dim=1)
