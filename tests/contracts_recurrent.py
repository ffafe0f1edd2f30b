"""Samples and references for the contracts of nnbook.rnn.

The backward passes are compared with autograd. Their samples run the forward pass on
the fixed tensors below, so a reference can rebuild the same graph from the cache and
the biases, which the cache does not hold.
"""

import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.rnn import _gru as gru
from nnbook.rnn import _recurrent as rec

B, D, H, T = 3, 2, 4, 5
X = randn(T, B, D, seed=1)
H_PREV, C_PREV = randn(B, H, seed=2), randn(B, H, seed=3)
RNN = [randn(H, D, seed=4), randn(H, H, seed=5), randn(H, seed=6), randn(H, seed=7)]
LSTM = [
    randn(4 * H, D, seed=8),
    randn(4 * H, H, seed=9),
    randn(4 * H, seed=10),
    randn(4 * H, seed=11),
]
GRU = [
    randn(3 * H, D, seed=16),
    randn(3 * H, H, seed=17),
    randn(3 * H, seed=18),
    randn(3 * H, seed=19),
]
PRE = randn(B, 4 * H, seed=12)
DH, DC, DOUT = randn(B, H, seed=13), randn(B, H, seed=14), randn(T, B, H, seed=15)


def _call(*args):
    return lambda: (args, {})


def _with_cache(forward, *args, upstream):
    """A backward call: the upstream gradients, then the cache of ``forward(*args)``."""

    def sample():
        return (*upstream, forward(*args)[-1]), {}

    return sample


def _torch_layer(module, x, state, weights):
    """``module`` (torch.nn.RNN, LSTM or GRU) with ``weights``, run on ``x``."""
    layer = module(x.shape[-1], weights[1].shape[1], dtype=x.dtype)
    with torch.no_grad():
        for name, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights, strict=True):
            getattr(layer, f"{name}_l0").copy_(w)
    return layer(x, state)[0].detach()


def _first_grad(function, inputs, upstream):
    """The gradient of ``sum(upstream * function(*inputs))`` by the first input."""
    inputs = [t.detach().requires_grad_() for t in inputs]
    outputs = function(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    total = sum((o * u).sum() for o, u in zip(outputs, upstream, strict=True) if u is not None)
    return torch.autograd.grad(total, inputs[0])[0]


def _lstm_gates(pre, c_prev):
    """torch.lstm_cell with identity weights takes ``pre`` as its pre-activations."""
    eye, zero = torch.eye(4 * H, dtype=pre.dtype), torch.zeros(4 * H, dtype=pre.dtype)
    hidden = torch.zeros_like(c_prev)
    return torch.lstm_cell(
        pre, (hidden, c_prev), eye, torch.zeros(4 * H, H, dtype=pre.dtype), zero, zero
    )


def _torch_lstm(x, h0, c0, *weights):
    return _torch_layer(torch.nn.LSTM, x, (h0[None], c0[None]), weights)


def _gru_module_call():
    """A two-layer bidirectional GRU in float64 and a (T, B, D) batch for it."""
    from nnbook.rnn import GRU as Gru

    torch.manual_seed(0)
    return (Gru(D, H, num_layers=2, bidirectional=True).double(), X), {}


def _torch_gru_twin(ours, input):  # noqa: A002 (torch's argument name)
    """torch.nn.GRU with ``ours``'s configuration and weights, run on ``input``."""
    theirs = torch.nn.GRU(D, H, num_layers=ours.num_layers, bidirectional=ours.bidirectional)
    theirs.double().load_state_dict(ours.state_dict())
    return theirs(input)[0]


def _forecaster_call():
    from nnbook.rnn import Forecaster

    torch.manual_seed(0)
    return (
        (Forecaster(hidden=2).double(), randn(5, 3, seed=2), randn(5, seed=3)),
        {"steps": 2, "lr": 0.01},
    )


SAMPLES = {
    "nnbook.rnn.ar_fit": _call(randn(20, 3, seed=17), randn(20, seed=18)),
    "nnbook.rnn.fit_with_chosen_steps": lambda: (
        (randn(30, seed=16),),
        {"window": 3, "hidden": 2, "max_steps": 10},
    ),
    "nnbook.rnn.adam_steps": _forecaster_call,
    "nnbook.rnn.rnn_cell_backward": _with_cache(
        rec.rnn_cell_forward, X[0], H_PREV, *RNN, upstream=(DH,)
    ),
    "nnbook.rnn.rnn_backward": _with_cache(rec.rnn_forward, X, H_PREV, *RNN, upstream=(DOUT, DH)),
    "nnbook.rnn.lstm_gates_forward": _call(PRE, C_PREV),
    "nnbook.rnn.lstm_gates_backward": _with_cache(
        rec.lstm_gates_forward, PRE, C_PREV, upstream=(DH, DC)
    ),
    "nnbook.rnn.lstm_cell_forward": _call(X[0], H_PREV, C_PREV, *LSTM),
    "nnbook.rnn.lstm_cell_backward": _with_cache(
        rec.lstm_cell_forward, X[0], H_PREV, C_PREV, *LSTM, upstream=(DH, DC)
    ),
    "nnbook.rnn.lstm_forward": _call(X, H_PREV, C_PREV, *LSTM),
    "nnbook.rnn.lstm_backward": _with_cache(
        rec.lstm_forward, X, H_PREV, C_PREV, *LSTM, upstream=(DOUT, DH, DC)
    ),
    "nnbook.rnn.gru_cell_forward": _call(X[0], H_PREV, *GRU),
    "nnbook.rnn.gru_cell_backward": _with_cache(
        gru.gru_cell_forward, X[0], H_PREV, *GRU, upstream=(DH,)
    ),
    "nnbook.rnn.gru_forward": _call(X, H_PREV, *GRU),
    "nnbook.rnn.GRU.forward": _gru_module_call,
    "nnbook.rnn.gru_backward": _with_cache(gru.gru_forward, X, H_PREV, *GRU, upstream=(DOUT, DH)),
}


#: The reference each function is compared with, given the same call.
def _ar_reference(X, y):
    """The AR coefficients by scikit-learn's least squares, with an intercept."""
    from sklearn.linear_model import LinearRegression

    return torch.from_numpy(LinearRegression().fit(X.numpy(), y.numpy()).coef_)


REFERENCES = {
    "nnbook.rnn.ar_fit": _ar_reference,
    "nnbook.rnn.embed": lambda ids, weight: F.embedding(ids, weight),
    "nnbook.rnn.lm_cross_entropy": F.cross_entropy,
    "nnbook.rnn.perplexity": lambda logits, targets: torch.exp(F.cross_entropy(logits, targets)),
    "nnbook.rnn.temperature_softmax": lambda logits, temperature: (
        torch.distributions.Categorical(logits=logits / temperature).probs
    ),
    "nnbook.rnn.rnn_cell_forward": torch.rnn_tanh_cell,
    "nnbook.rnn.rnn_forward": lambda x, h0, *weights: _torch_layer(
        torch.nn.RNN, x, h0[None], weights
    ),
    "nnbook.rnn.lstm_cell_forward": lambda x_t, h, c, *weights: torch.lstm_cell(
        x_t, (h, c), *weights
    )[0],
    "nnbook.rnn.lstm_gates_forward": lambda pre, c_prev: _lstm_gates(pre, c_prev)[0],
    "nnbook.rnn.lstm_forward": _torch_lstm,
    "nnbook.rnn.rnn_parameters": lambda x, h: sum(
        p.numel() for p in torch.nn.RNN(x, h).parameters()
    ),
    "nnbook.rnn.lstm_parameters": lambda x, h, convention: sum(
        p.numel() for p in torch.nn.LSTM(x, h).parameters()
    ),
    "nnbook.rnn.gru_cell_forward": torch.gru_cell,
    "nnbook.rnn.gru_forward": lambda x, h0, *weights: _torch_layer(
        torch.nn.GRU, x, h0[None], weights
    ),
    "nnbook.rnn.GRU.forward": _torch_gru_twin,
    "nnbook.rnn.gru_parameters": lambda x, h: sum(
        p.numel() for p in torch.nn.GRU(x, h).parameters()
    ),
    # the backward passes: dx_t (or dpre, dx) by autograd through torch's cells
    "nnbook.rnn.rnn_cell_backward": lambda dh_t, cache: _first_grad(
        torch.rnn_tanh_cell, (cache.x_t, cache.h_prev, *RNN), (dh_t,)
    ),
    "nnbook.rnn.rnn_backward": lambda dout, dh_n, cache: _first_grad(
        lambda x, h0, *w: torch.rnn_tanh(x, h0[None], list(w), True, 1, 0.0, False, False, False)[
            :2
        ],
        (cache.x, cache.h_prev[0], *RNN),
        (dout, dh_n[None]),
    ),
    "nnbook.rnn.lstm_gates_backward": lambda dh_t, dc_t, cache: _first_grad(
        _lstm_gates, (PRE, cache.c_prev), (dh_t, dc_t)
    ),
    "nnbook.rnn.lstm_cell_backward": lambda dh_t, dc_t, cache: _first_grad(
        lambda x_t, h, c, *w: torch.lstm_cell(x_t, (h, c), *w),
        (cache.x_t, cache.h_prev, cache.gates.c_prev, *LSTM),
        (dh_t, dc_t),
    ),
    "nnbook.rnn.lstm_backward": lambda dout, dh_n, dc_n, cache: _first_grad(
        lambda x, h0, c0, *w: _lstm_sequence(x, h0, c0, w),
        (cache.x, cache.h_prev[0], cache.gates[0].c_prev, *LSTM),
        (dout, dh_n, dc_n),
    ),
    "nnbook.rnn.gru_cell_backward": lambda dh_t, cache: _first_grad(
        torch.gru_cell, (cache.x_t, cache.h_prev, *GRU), (dh_t,)
    ),
    "nnbook.rnn.gru_backward": lambda dout, dh_n, cache: _first_grad(
        lambda x, h0, *w: torch.gru(x, h0[None], list(w), True, 1, 0.0, False, False, False),
        (cache.x, cache.h_prev[0], *GRU),
        (dout, dh_n[None]),
    ),
}


def _lstm_sequence(x, h0, c0, weights):
    """torch.nn.LSTM's ``(out, h_n, c_n)``, differentiable in x, h0, c0 and weights."""
    out, h_n, c_n = torch.lstm(
        x, (h0[None], c0[None]), list(weights), True, 1, 0.0, False, False, False
    )
    return out, h_n[0], c_n[0]
