"""Exercises of the recurrent chapter.

Every reference calls the chapter's own code: :mod:`nnbook.rnn` for the cells,
whole sequences and backpropagation through time, :class:`nnbook.rnn.RNN` for the
bidirectional layer, :func:`nnbook.data.windows` for the forecasting windows, and
scikit-learn's ``TimeSeriesSplit``, which the section on diagnosing fit uses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nnbook import rnn
from nnbook.check import Case, exercise
from nnbook.exercises._cases import randn
from nnbook.rnn import _gru as gru_module
from nnbook.rnn import _recurrent as recurrent

__all__ = [
    "ar_fit",
    "attention_step",
    "bidirectional_rnn",
    "bigram_perplexity",
    "carousel_factor",
    "cell_states",
    "forecast_ahead",
    "forecasting_split",
    "forward_chaining_folds",
    "gradient_ratio",
    "gru_cell",
    "gru_step_backward",
    "last_outputs",
    "lm_perplexity",
    "lstm_cell",
    "lstm_parameters",
    "lstm_step_backward",
    "padding_mask",
    "rnn_bptt",
    "rnn_sequence",
    "rnn_step",
    "time_major",
    "windows",
]


def _weights(rng, gates, D, H, scale=1.0):
    """(weight_ih, weight_hh, bias_ih, bias_hh) for ``gates`` stacked layers."""
    return (
        randn(rng, gates * H, D, scale=scale),
        randn(rng, gates * H, H, scale=scale),
        randn(rng, gates * H, scale=scale),
        randn(rng, gates * H, scale=scale),
    )


def _sigmoid_tanh_gates(pre, order="ifgo"):
    """The four gates of an LSTM from the pre-activations, read in ``order``."""
    chunks = dict(zip(order, pre.chunk(4, dim=1), strict=True))
    i, f, o = (torch.sigmoid(chunks[k]) for k in "ifo")
    return i, f, torch.tanh(chunks["g"]), o


# ---------------------------------------------------------------------------
# why_recurrence: one rule, applied at every step, with the state carried over


def _sequence_cases(rng):
    return [
        Case(
            "one sequence, one unit, 3 steps",
            (randn(rng, 3, 1, 1), randn(rng, 1, 1), *_weights(rng, 1, 1, 1)),
        ),
        Case(
            "a batch of 3, D = 2, H = 4, 5 steps",
            (
                randn(rng, 5, 3, 2),
                randn(rng, 3, 4),
                *_weights(rng, 1, 2, 4, scale=0.5),
            ),
        ),
        Case(
            "a batch of 2, D = 3, H = 3, 4 steps",
            (
                randn(rng, 4, 2, 3),
                randn(rng, 2, 3),
                *_weights(rng, 1, 3, 3, scale=0.5),
            ),
        ),
    ]


def _sequence_state_not_carried(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = x @ weight_ih.T + bias_ih + h0 @ weight_hh.T + bias_hh
    return torch.tanh(pre)


def _sequence_includes_h0(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x[:-1]:
        pre = x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh
        states.append(torch.tanh(pre))
    return torch.stack(states)


def _sequence_from_zeros(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    h, states = torch.zeros_like(h0), []
    for x_t in x:
        h = torch.tanh(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        states.append(h)
    return torch.stack(states)


def _sequence_by_cells(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    h, states = h0, []
    for t in range(x.shape[0]):
        h, _ = recurrent.rnn_cell_forward(
            x[t], h, weight_ih, weight_hh, bias_ih, bias_hh
        )
        states.append(h)
    return torch.stack(states)


@exercise(
    statement=(
        "rnn_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh) runs a "
        "plain tanh RNN over a whole sequence x of shape (T, B, D), starting "
        "from the state h0 (B, H), with the same weights at every step, and "
        "returns the hidden states h_1 .. h_T, shape (T, B, H)."
    ),
    cases=_sequence_cases,
    equation="eq-rnn-cell",
    kind="implement",
    section="rnn/why_recurrence",
    outputs=("out",),
    hint=(
        "Each step reads its own input and the state the previous step "
        "produced (h0 for the first step); the output starts with h_1, the "
        "state after the first input, not with h0."
    ),
    wrong={
        "the state is not carried: every step reads h0": (
            _sequence_state_not_carried
        ),
        "off by one: returns h_0 .. h_{T-1}": _sequence_includes_h0,
        "h0 ignored: the state starts from zeros": _sequence_from_zeros,
    },
    alternatives=(_sequence_by_cells,),
)
def rnn_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """All hidden states of :func:`nnbook.rnn.rnn_forward`."""
    return recurrent.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)[
        0
    ]


# ---------------------------------------------------------------------------
# rnn_bptt: one step, backpropagation through time, vanishing gradients


def _step_cases(rng):
    return [
        Case(
            "one sequence, D = H = 1",
            (randn(rng, 1, 1), randn(rng, 1, 1), *_weights(rng, 1, 1, 1)),
        ),
        Case(
            "a batch of 4, D = 3, H = 5",
            (randn(rng, 4, 3), randn(rng, 4, 5), *_weights(rng, 1, 3, 5)),
        ),
        Case(
            "a batch of 2, D = H = 3",
            (randn(rng, 2, 3), randn(rng, 2, 3), *_weights(rng, 1, 3, 3)),
        ),
    ]


def _step_one_bias(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T + bias_ih)


def _step_sigmoid(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    return torch.sigmoid(pre)


def _step_untransposed(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh + bias_hh
    return torch.tanh(pre)


def _step_einsum(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = (
        torch.einsum("hd,bd->bh", weight_ih, x_t)
        + torch.einsum("hk,bk->bh", weight_hh, h_prev)
        + (bias_ih + bias_hh)
    )
    return torch.tanh(pre)


@exercise(
    statement=(
        "rnn_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) "
        "returns the next hidden state h_t (B, H) of the plain RNN that reads "
        "x_t (B, D) from the state h_prev (B, H); weight_ih is (H, D), "
        "weight_hh (H, H) and both biases (H,), laid out as in "
        "torch.nn.RNNCell."
    ),
    cases=_step_cases,
    equation="eq-rnn-cell",
    kind="implement",
    section="rnn/rnn_bptt",
    outputs=("h_t",),
    hint=(
        "Rows of x_t and h_prev are sequences of the batch, so each weight "
        "multiplies from the right, transposed; both biases are added, and "
        "the nonlinearity is tanh."
    ),
    wrong={
        "bias_hh left out": _step_one_bias,
        "sigmoid instead of tanh": _step_sigmoid,
        "weight_hh not transposed": _step_untransposed,
    },
    alternatives=(_step_einsum,),
)
def rnn_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """One step of :func:`nnbook.rnn.rnn_cell_forward`."""
    return recurrent.rnn_cell_forward(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )[0]


def _bptt_cases(rng):
    def case(label, T, B, D, H):
        return Case(
            label,
            (
                randn(rng, T, B, D),
                randn(rng, B, H, scale=0.5),
                *_weights(rng, 1, D, H, scale=0.5),
                randn(rng, T, B, H),
            ),
        )

    return [
        case("one step, one unit", 1, 1, 1, 1),
        case("4 steps, a batch of 3, D = 2, H = 3", 4, 3, 2, 3),
        case("6 steps, a batch of 2, D = 3, H = 4", 6, 2, 3, 4),
    ]


def _bptt_loop(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dout, *, mode):
    """BPTT written step by step; ``mode`` names a mistake, or "right"."""
    hs, pres = [h0], []
    for x_t in x:
        pres.append(
            x_t @ weight_ih.T + bias_ih + hs[-1] @ weight_hh.T + bias_hh
        )
        hs.append(torch.tanh(pres[-1]))
    dW_ih = torch.zeros_like(weight_ih)
    dW_hh = torch.zeros_like(weight_hh)
    db = torch.zeros_like(bias_ih)
    dh_next = torch.zeros_like(h0)  # what step t + 1 sends back to h_t
    for t in reversed(range(len(x))):
        delta = dout[t] + (0 if mode == "no carry" else dh_next)
        slope = 1 - (pres[t] if mode == "slope at a" else hs[t + 1]) ** 2
        da = delta * slope
        h_in = hs[t + 1] if mode == "h_t" else hs[t]
        dW_ih += da.T @ x[t]
        dW_hh += da.T @ h_in
        db += da.sum(dim=0)
        dh_next = da @ weight_hh
        if mode == "dh0 = delta" and t == 0:
            dh_next = delta
    return dW_ih, dW_hh, db, dh_next


def _bptt_h_t(*args):
    return _bptt_loop(*args, mode="h_t")


def _bptt_no_carry(*args):
    return _bptt_loop(*args, mode="no carry")


def _bptt_slope_at_a(*args):
    return _bptt_loop(*args, mode="slope at a")


def _bptt_dh0_is_delta(*args):
    return _bptt_loop(*args, mode="dh0 = delta")


def _bptt_autograd(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dout):
    w_ih, w_hh, b, h = (
        t.clone().requires_grad_() for t in (weight_ih, weight_hh, bias_ih, h0)
    )
    states, state = [], h
    for x_t in x:
        state = torch.tanh(x_t @ w_ih.T + state @ w_hh.T + b + bias_hh)
        states.append(state)
    J = (torch.stack(states) * dout).sum()
    return torch.autograd.grad(J, (w_ih, w_hh, b, h))


@exercise(
    statement=(
        "rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dout) runs "
        "the plain RNN over x (T, B, D) from h0 (B, H) and returns the "
        "gradients (dW_ih, dW_hh, db, dh0) of a loss J whose direct "
        "gradient with respect to each hidden state h_t is dout[t] "
        "(shape (T, B, H)). db is the gradient with respect to either bias "
        "vector (they are equal)."
    ),
    cases=_bptt_cases,
    equation="eq-bptt",
    kind="implement",
    section="rnn/rnn_bptt",
    outputs=("dW_ih", "dW_hh", "db", "dh0"),
    hint=(
        "Go backwards in time: the gradient on h_t is its own dout[t] plus "
        "what step t + 1 sends back. The tanh slope comes from the state h_t "
        "itself, and the recurrent weight meets the state that step t read, "
        "h_{t-1}. dh0 is what the first step sends back."
    ),
    wrong={
        "off by one in time: dW_hh pairs step t with h_t": _bptt_h_t,
        "the gradient from later steps is not carried back": _bptt_no_carry,
        "tanh slope 1 - a_t^2 from the pre-activation": _bptt_slope_at_a,
        "dh0 is dJ/dh_1, not sent back through weight_hh": _bptt_dh0_is_delta,
    },
    alternatives=(
        _bptt_autograd,
        lambda *args: _bptt_loop(*args, mode="right"),
    ),
)
def rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dout):
    """:func:`nnbook.rnn.rnn_forward`, then :func:`~nnbook.rnn.rnn_backward`."""
    _, _, cache = recurrent.rnn_forward(
        x, h0, weight_ih, weight_hh, bias_ih, bias_hh
    )
    _, dh0, dW_ih, dW_hh, db, _ = recurrent.rnn_backward(dout, None, cache)
    return dW_ih, dW_hh, db, dh0


def _ratio_cases(rng):
    return [
        Case("lag 0", (0.9, 0)),
        Case("gamma 0.5, lag 3", (0.5, 3)),
        Case("gamma 1.5, lag 5", (1.5, 5)),
        Case("gamma 3, lag 10", (3.0, 10)),
    ]


@exercise(
    statement=(
        "gradient_ratio(gamma, k): a plain RNN with H units has "
        "weight_hh = gamma Q for an orthogonal Q, weight_ih the identity, "
        "zero biases, h0 = 0 and zero inputs, so every h_t is 0. A loss "
        "depends on the last state h_T only. Return the ratio of the norm "
        "of dJ/dx_{T-k} to the norm of dJ/dx_T, a float, for lag k >= 0."
    ),
    cases=_ratio_cases,
    equation="eq-bptt",
    kind="derive",
    section="rnn/rnn_bptt",
    outputs=("ratio",),
    hint=(
        "At h = 0 the slope of tanh is exactly 1, and an orthogonal matrix "
        "keeps every length. Count how many times the gradient crosses "
        "weight_hh on its way from step T back to step T - k."
    ),
    wrong={
        "one step too many: gamma^(k + 1)": lambda gamma, k: gamma ** (k + 1),
        "the squared norm: gamma^(2k)": lambda gamma, k: gamma ** (2 * k),
    },
    alternatives=(lambda gamma, k: math.exp(k * math.log(gamma)),),
)
def gradient_ratio(gamma, k):
    """Measured with :func:`nnbook.rnn.rnn_backward`, as in the section."""
    H, B, T = 4, 2, k + 2
    rng = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(randn(rng, H, H))
    zero = torch.zeros(H, dtype=torch.float64)
    identity = torch.eye(H, dtype=torch.float64)
    x = torch.zeros(T, B, H, dtype=torch.float64)
    _, _, cache = recurrent.rnn_forward(
        x, None, identity, gamma * q, zero, zero
    )
    dout = torch.zeros(T, B, H, dtype=torch.float64)
    dout[-1] = randn(rng, B, H)
    dx = recurrent.rnn_backward(dout, None, cache)[0]
    return (dx[T - 1 - k].norm() / dx[T - 1].norm()).item()


# ---------------------------------------------------------------------------
# lstm: the cell, one step backward, the constant error carousel


def _lstm_cell_cases(rng):
    def case(label, B, D, H, scale=1.0):
        return Case(
            label,
            (
                randn(rng, B, D),
                randn(rng, B, H),
                randn(rng, B, H),
                *_weights(rng, 4, D, H, scale=scale),
            ),
        )

    return [
        case("one unit", 1, 1, 1),
        case("a batch of 3, D = 2, H = 4", 3, 2, 4),
        case("a batch of 2, D = H = 3, small weights", 2, 3, 3, scale=0.3),
    ]


def _lstm_cell_by_hand(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, *, mode
):
    pre = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    order = "ifog" if mode == "ifog" else "ifgo"
    i, f, g, o = _sigmoid_tanh_gates(pre, order)
    if mode == "swap i f":
        c_t = i * c_prev + f * g
    else:
        c_t = f * c_prev + i * g
    h_t = o * c_t if mode == "no tanh" else o * torch.tanh(c_t)
    return h_t, c_t


def _lstm_cell_mistake(mode):
    def wrong(*args):
        return _lstm_cell_by_hand(*args, mode=mode)

    return wrong


def _lstm_cell_torch(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
):
    D, H = x_t.shape[1], h_prev.shape[1]
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    params = dict(
        weight_ih=weight_ih,
        weight_hh=weight_hh,
        bias_ih=bias_ih,
        bias_hh=bias_hh,
    )
    cell.load_state_dict(params)
    with torch.no_grad():
        return cell(x_t, (h_prev, c_prev))


@exercise(
    statement=(
        "lstm_cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, "
        "bias_hh) returns (h_t, c_t), each (B, H), for one LSTM step that "
        "reads x_t (B, D) from the states h_prev and c_prev (B, H). The "
        "weights are (4H, D) and (4H, H), the biases (4H,), with the gates "
        "stacked in torch's order i, f, g, o, so that the weights of a "
        "torch.nn.LSTMCell work unchanged."
    ),
    cases=_lstm_cell_cases,
    equation="eq-lstm-gates",
    kind="implement",
    section="rnn/lstm",
    outputs=("h_t", "c_t"),
    hint=(
        "The four blocks of H rows are, in order, the input gate, the forget "
        "gate, the candidate (the only tanh) and the output gate. The forget "
        "gate scales the old cell state; the input gate scales the "
        "candidate; h_t reads the cell state through a tanh."
    ),
    wrong={
        "gates in the order i, f, o, g": _lstm_cell_mistake("ifog"),
        "input and forget gates swapped in c_t": _lstm_cell_mistake("swap i f"),
        "h_t = o * c_t, the tanh left out": _lstm_cell_mistake("no tanh"),
    },
    alternatives=(_lstm_cell_torch, _lstm_cell_mistake("right")),
)
def lstm_cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """(h_t, c_t) of :func:`nnbook.rnn.lstm_cell_forward`."""
    h_t, c_t, _ = recurrent.lstm_cell_forward(
        x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return h_t, c_t


def _step_backward_cases(rng):
    def case(label, B, D, H):
        return Case(
            label,
            (
                randn(rng, B, D),
                randn(rng, B, H),
                randn(rng, B, H),
                *_weights(rng, 4, D, H, scale=0.5),
                randn(rng, B, H),
                randn(rng, B, H),
            ),
        )

    return [
        case("one unit", 1, 1, 1),
        case("a batch of 3, D = 2, H = 4", 3, 2, 4),
        case("a batch of 2, D = 4, H = 3", 2, 4, 3),
    ]


def _lstm_backward_by_hand(
    x_t,
    h_prev,
    c_prev,
    weight_ih,
    weight_hh,
    bias_ih,
    bias_hh,
    dh_t,
    dc_t,
    *,
    mode,
):
    """One LSTM step backward, by the product rule; ``mode`` names a mistake."""
    pre = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    order = "ifog" if mode == "ifog" else "ifgo"
    i, f, g, o = _sigmoid_tanh_gates(pre, order)
    tanh_c = torch.tanh(f * c_prev + i * g)
    through_h = dh_t * o * (1 - tanh_c**2)
    if mode == "no dc_t":
        dc = through_h
    elif mode == "no h path":
        dc = dc_t
    else:
        dc = dc_t + through_h
    grads = {
        "i": dc * g * i * (1 - i),
        "f": dc * c_prev * f * (1 - f),
        "g": dc * i * (1 - g**2),
        "o": dh_t * tanh_c * o * (1 - o),
    }
    dpre = torch.cat([grads[k] for k in order], dim=1)
    dc_prev = dc if mode == "no forget" else dc * f
    return (
        dpre @ weight_ih,
        dpre @ weight_hh,
        dc_prev,
        dpre.T @ x_t,
        dpre.T @ h_prev,
        dpre.sum(dim=0),
    )


def _lstm_backward_autograd(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, dh_t, dc_t
):
    leaves = [
        t.clone().requires_grad_()
        for t in (x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih)
    ]
    x, h, c, w_ih, w_hh, b = leaves
    pre = x @ w_ih.T + b + h @ w_hh.T + bias_hh
    i, f, o = (torch.sigmoid(pre.chunk(4, dim=1)[k]) for k in (0, 1, 3))
    c_new = f * c + i * torch.tanh(pre.chunk(4, dim=1)[2])
    h_new = o * torch.tanh(c_new)
    J = (h_new * dh_t).sum() + (c_new * dc_t).sum()
    return torch.autograd.grad(J, leaves)


def _lstm_backward_mistake(mode):
    def wrong(*args):
        return _lstm_backward_by_hand(*args, mode=mode)

    return wrong


@exercise(
    statement=(
        "lstm_step_backward(x_t, h_prev, c_prev, weight_ih, weight_hh, "
        "bias_ih, bias_hh, dh_t, dc_t) returns the gradients (dx_t, dh_prev, "
        "dc_prev, dW_ih, dW_hh, db) of one LSTM step (torch's gate order i, "
        "f, g, o). dh_t (B, H) is the whole gradient reaching h_t; dc_t "
        "(B, H) is the gradient reaching c_t from step t + 1 only. db is "
        "the gradient with respect to either bias vector."
    ),
    cases=_step_backward_cases,
    equation="eq-lstm-carousel",
    kind="implement",
    section="rnn/lstm",
    outputs=("dx_t", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db"),
    hint=(
        "Recompute the gates first. The cell state reaches the loss along "
        "two paths, through the next step (dc_t) and through "
        "h_t = o tanh(c_t); add both before going into the gates. Keep the "
        "gradients of the pre-activations in the order i, f, g, o."
    ),
    wrong={
        "dc_t from the next step ignored": _lstm_backward_mistake("no dc_t"),
        "the cell's path through h_t left out": _lstm_backward_mistake(
            "no h path"
        ),
        "gates in the order i, f, o, g": _lstm_backward_mistake("ifog"),
        "dc_prev not scaled by the forget gate": _lstm_backward_mistake(
            "no forget"
        ),
    },
    alternatives=(_lstm_backward_autograd, _lstm_backward_mistake("right")),
)
def lstm_step_backward(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, dh_t, dc_t
):
    """:func:`nnbook.rnn.lstm_cell_backward` after the forward step."""
    _, _, cache = recurrent.lstm_cell_forward(
        x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db, _ = recurrent.lstm_cell_backward(
        dh_t, dc_t, cache
    )
    return dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db


def _carousel_cases(rng):
    return [
        Case("PyTorch's start: bias 0, one step", (0.0, 1)),
        Case("bias -1, 2 steps", (-1.0, 2)),
        Case("bias +1, 10 steps", (1.0, 10)),
        Case("bias +3, 40 steps", (3.0, 40)),
    ]


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


@exercise(
    statement=(
        "carousel_factor(forget_bias, k): an LSTM cell has all weights zero, "
        "all biases zero except the forget gate's, forget_bias, and h0 = "
        "c0 = 0. A loss depends on the cell state c_T only. Return the ratio "
        "of the norm of dJ/dc_{T-k} to the norm of dJ/dc_T, a float, for "
        "k >= 1 steps."
    ),
    cases=_carousel_cases,
    equation="eq-lstm-carousel",
    kind="derive",
    section="rnn/lstm",
    outputs=("ratio",),
    hint=(
        "With zero weights nothing flows through h, and the gates are "
        "constants set by the biases. What multiplies the cell's gradient "
        "at each step back, and what is its value for this bias?"
    ),
    wrong={
        "the sigmoid left out: forget_bias^k": lambda b, k: b**k,
        "the gate read as what is forgotten: (1 - f)^k": lambda b, k: (
            (1 - _sigmoid(b)) ** k
        ),
        "one step too many: f^(k + 1)": lambda b, k: _sigmoid(b) ** (k + 1),
    },
    alternatives=(lambda b, k: math.exp(-k * math.log1p(math.exp(-b))),),
)
def carousel_factor(forget_bias, k):
    """Measured with :func:`nnbook.rnn.lstm_backward` over k steps."""
    H, B = 3, 2
    weight_ih = torch.zeros(4 * H, 1, dtype=torch.float64)
    weight_hh = torch.zeros(4 * H, H, dtype=torch.float64)
    bias_ih = torch.zeros(4 * H, dtype=torch.float64)
    bias_ih[H : 2 * H] = forget_bias  # the f rows of i, f, g, o
    bias_hh = torch.zeros(4 * H, dtype=torch.float64)
    x = torch.zeros(k, B, 1, dtype=torch.float64)
    _, _, cache = recurrent.lstm_forward(
        x, None, None, weight_ih, weight_hh, bias_ih, bias_hh
    )
    dc_T = randn(torch.Generator().manual_seed(0), B, H)
    dout = torch.zeros(k, B, H, dtype=torch.float64)
    dc_0 = recurrent.lstm_backward(dout, None, dc_T, cache)[2]
    return (dc_0.norm() / dc_T.norm()).item()


# ---------------------------------------------------------------------------
# lstm_memory: reading the cell states


def _cell_states_cases(rng):
    def case(label, T, B, D, H):
        return Case(
            label,
            (
                randn(rng, T, B, D),
                randn(rng, B, H),
                randn(rng, B, H),
                *_weights(rng, 4, D, H, scale=0.5),
            ),
        )

    return [
        case("one step, one unit", 1, 1, 1, 1),
        case("5 steps, a batch of 2, D = 3, H = 4", 5, 2, 3, 4),
        case("3 steps, one sequence, D = 1, H = 2", 3, 1, 1, 2),
    ]


def _cell_states_loop(
    x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, *, mode="right"
):
    h, c, kept = h0, c0, []
    for x_t in x:
        c_prev = c0 if mode == "reset" else c
        h, c, _ = recurrent.lstm_cell_forward(
            x_t, h, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
        )
        kept.append({"c_prev": c_prev, "h": h}.get(mode, c))
    return torch.stack(kept)


def _cell_states_mistake(mode):
    def wrong(*args):
        return _cell_states_loop(*args, mode=mode)

    return wrong


def _cell_states_torch(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
    D, H = x.shape[2], h0.shape[1]
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    params = dict(
        weight_ih=weight_ih,
        weight_hh=weight_hh,
        bias_ih=bias_ih,
        bias_hh=bias_hh,
    )
    cell.load_state_dict(params)
    h, c, kept = h0, c0, []
    with torch.no_grad():
        for x_t in x:
            h, c = cell(x_t, (h, c))
            kept.append(c)
    return torch.stack(kept)


@exercise(
    statement=(
        "cell_states(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh) "
        "runs an LSTM (torch's gate order i, f, g, o) over x (T, B, D) from "
        "the states h0 and c0 (B, H) and returns its cell states c_1 .. c_T, "
        "shape (T, B, H): the long-term memory that the section reads to "
        "find the unit that counts and the unit that holds a bit."
    ),
    cases=_cell_states_cases,
    equation="eq-lstm-cell",
    kind="implement",
    section="rnn/lstm_memory",
    outputs=("c",),
    hint=(
        "Carry both states from step to step. Keep the cell state after "
        "each step, c_t, not the one the step started from, and not the "
        "hidden state h_t = o tanh(c_t)."
    ),
    wrong={
        "off by one: c_0 .. c_{T-1}, the states each step started from": (
            _cell_states_mistake("c_prev")
        ),
        "the hidden states h_t instead of the cell states": (
            _cell_states_mistake("h")
        ),
        "the cell state restarts from c0 at every step": (
            _cell_states_mistake("reset")
        ),
    },
    alternatives=(_cell_states_torch, _cell_states_mistake("right")),
)
def cell_states(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
    """c_1 .. c_T from :func:`nnbook.rnn.lstm_forward` and its cache."""
    _, (_, c_T), cache = recurrent.lstm_forward(
        x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh
    )
    gate_caches = cache[2]  # per step: (c_prev, i, f, g, o, tanh c_t)
    return torch.stack([step[0] for step in gate_caches[1:]] + [c_T])


# ---------------------------------------------------------------------------
# shapes: parameter counts and the layout of the input


def _parameter_cases(rng):
    return [
        Case("the article's LSTM(5) on one feature", (1, 5)),
        Case("two layers", (10, 32, 2)),
        Case("one bidirectional layer", (4, 6, 1, True)),
        Case("three bidirectional layers", (8, 16, 3, True)),
    ]


def _count_keras(input_size, hidden_size, layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, d = 0, input_size
    for _ in range(layers):
        h = hidden_size
        total += directions * 4 * (h * (d + h) + h)
        d = directions * h
    return total


def _count_h_inputs(input_size, hidden_size, layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, d, h = 0, input_size, hidden_size
    for _ in range(layers):
        total += directions * (4 * h * (d + h) + 8 * h)
        d = h
    return total


def _count_same_inputs(input_size, hidden_size, layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    h = hidden_size
    return layers * directions * (4 * h * (input_size + h) + 8 * h)


def _count_module(input_size, hidden_size, layers=1, bidirectional=False):
    lstm = torch.nn.LSTM(
        input_size, hidden_size, num_layers=layers, bidirectional=bidirectional
    )
    return sum(p.numel() for p in lstm.parameters())


@exercise(
    statement=(
        "lstm_parameters(input_size, hidden_size, layers=1, "
        "bidirectional=False) returns the number of parameters of "
        "torch.nn.LSTM(input_size, hidden_size, num_layers=layers, "
        "bidirectional=bidirectional), an int, without building one."
    ),
    cases=_parameter_cases,
    equation="eq-lstm-gates",
    kind="derive",
    section="rnn/shapes",
    outputs=("count",),
    hint=(
        "PyTorch keeps two bias vectors per gate layer. A layer after the "
        "first reads what the layer below outputs at each step, and a "
        "bidirectional layer outputs both directions side by side."
    ),
    wrong={
        "one bias vector, Keras's count": _count_keras,
        "later layers read H inputs, even when bidirectional": _count_h_inputs,
        "every layer reads input_size features": _count_same_inputs,
    },
    alternatives=(_count_module,),
)
def lstm_parameters(input_size, hidden_size, layers=1, bidirectional=False):
    """Sum of :func:`nnbook.rnn.lstm_parameters` over layers and directions."""
    directions = 2 if bidirectional else 1
    inputs = [input_size] + [directions * hidden_size] * (layers - 1)
    return directions * sum(
        recurrent.lstm_parameters(d, hidden_size) for d in inputs
    )


def _layout_cases(rng):
    return [
        Case("one series of 10 values", (torch.arange(10.0).reshape(1, 10),)),
        Case("two parallel series", (randn(rng, 1, 10, 2),)),
        Case("3 series of 4 values, one feature", (randn(rng, 3, 4),)),
        Case(
            "a batch of 5 sequences, 7 steps, 3 features",
            (randn(rng, 5, 7, 3),),
        ),
    ]


def _layout_reshape(x):
    if x.ndim == 2:
        x = x.unsqueeze(-1)
    samples, steps, features = x.shape
    return x.reshape(steps, samples, features)


def _layout_feature_in_front(x):
    if x.ndim == 2:
        x = x.unsqueeze(1)  # the feature axis added before the steps
    return x.transpose(0, 1)


def _layout_steps_last(x):
    if x.ndim == 2:
        x = x.unsqueeze(-1)
    return x.permute(2, 0, 1)


def _layout_stacked(x):
    if x.ndim == 2:
        x = x[..., None]
    return torch.stack([x[:, t] for t in range(x.shape[1])])


@exercise(
    statement=(
        "time_major(x) turns Keras-style data, of shape (samples, steps, "
        "features), or (samples, steps) when each step has one feature, "
        "into PyTorch's default layout (steps, samples, features)."
    ),
    cases=_layout_cases,
    kind="implement",
    section="rnn/shapes",
    outputs=("x",),
    hint=(
        "Moving an axis changes which values sit next to each other; a "
        "reshape keeps the order of the values in memory and only cuts it "
        "differently. A missing feature axis goes last."
    ),
    wrong={
        "reshape instead of transpose": _layout_reshape,
        "the feature axis added before the steps": _layout_feature_in_front,
        "features first: (features, samples, steps)": _layout_steps_last,
    },
    alternatives=(_layout_stacked,),
)
def time_major(x):
    """Keras's (samples, steps[, features]) in torch's (steps, samples, features)."""
    if x.ndim == 2:
        x = x.unsqueeze(-1)  # one feature per step
    return x.transpose(0, 1).contiguous()


# ---------------------------------------------------------------------------
# bidirectional: two directions, concatenated


def _bidirectional_cases(rng):
    def case(label, T, B, D, H):
        return Case(
            label,
            (
                randn(rng, T, B, D),
                _weights(rng, 1, D, H, scale=0.5),
                _weights(rng, 1, D, H, scale=0.5),
            ),
        )

    return [
        case("one step, one unit", 1, 1, 1, 1),
        case("5 steps, a batch of 2, D = 3, H = 4", 5, 2, 3, 4),
        case("3 steps, one sequence, D = 1, H = 2", 3, 1, 1, 2),
    ]


def _run(x, weights):
    """All states h_1 .. h_T of a plain RNN from a zero state."""
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    h = x.new_zeros(x.shape[1], weight_hh.shape[0])
    out = []
    for x_t in x:
        h = torch.tanh(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        out.append(h)
    return torch.stack(out)


def _bi_right(x, forward, backward):
    ahead, behind = _run(x, forward), _run(x.flip(0), backward).flip(0)
    return torch.cat([ahead, behind], dim=2), torch.stack(
        [ahead[-1], behind[0]]
    )


def _bi_not_flipped_back(x, forward, backward):
    ahead, behind = _run(x, forward), _run(x.flip(0), backward)
    return torch.cat([ahead, behind], dim=2), torch.stack(
        [ahead[-1], behind[-1]]
    )


def _bi_final_from_last_row(x, forward, backward):
    out, _ = _bi_right(x, forward, backward)
    H = out.shape[2] // 2
    return out, torch.stack([out[-1, :, :H], out[-1, :, H:]])


def _bi_backward_first(x, forward, backward):
    out, h_n = _bi_right(x, forward, backward)
    H = out.shape[2] // 2
    return torch.cat([out[:, :, H:], out[:, :, :H]], dim=2), h_n


def _bi_reads_forward(x, forward, backward):
    ahead, behind = _run(x, forward), _run(x, backward)
    return torch.cat([ahead, behind], dim=2), torch.stack(
        [ahead[-1], behind[-1]]
    )


@exercise(
    statement=(
        "bidirectional_rnn(x, forward, backward) runs a bidirectional plain "
        "RNN layer over x (T, B, D) from zero states, where forward and "
        "backward are the tuples (weight_ih, weight_hh, bias_ih, bias_hh) of "
        "the two directions. It returns (out, h_n) laid out as "
        "torch.nn.RNN(bidirectional=True) lays them out: out (T, B, 2H), "
        "h_n (2, B, H)."
    ),
    cases=_bidirectional_cases,
    equation="eq-rnn-cell",
    kind="implement",
    section="rnn/bidirectional",
    outputs=("out", "h_n"),
    hint=(
        "The backward direction reads x from the last step to the first; "
        "its state at row t of out must be the one after reading steps "
        "T .. t. Forward features come first. Each direction's final state "
        "is the one at the step where it finishes reading."
    ),
    wrong={
        "backward states left in reversed time order": _bi_not_flipped_back,
        "h_n[1] taken from out[-1]": _bi_final_from_last_row,
        "backward features first": _bi_backward_first,
        "the backward direction reads x forwards": _bi_reads_forward,
    },
    alternatives=(_bi_right,),
)
def bidirectional_rnn(x, forward, backward):
    """:class:`nnbook.rnn.RNN` with ``bidirectional=True`` and these weights."""
    D, H = x.shape[2], forward[1].shape[0]
    layer = rnn.RNN(D, H, bidirectional=True, dtype=torch.float64)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    state = {f"{n}_l0": w for n, w in zip(names, forward, strict=True)}
    state |= {
        f"{n}_l0_reverse": w for n, w in zip(names, backward, strict=True)
    }
    layer.load_state_dict(state)
    with torch.no_grad():
        return layer(x)


# ---------------------------------------------------------------------------
# real_data: windows, and a split in time


def _data_windows(series, length):
    """:func:`nnbook.data.windows`, imported when first used: nnbook.data loads
    scikit-learn, which every check would otherwise wait for."""
    from nnbook.data import windows as book_windows

    return book_windows(series, length)


def _windows_cases(rng):
    return [
        Case("0 .. 5, windows of 2", (torch.arange(6.0), 2)),
        Case("10 random values, windows of 3", (randn(rng, 10), 3)),
        Case("4 values, windows of 1", (randn(rng, 4), 1)),
    ]


def _windows_last_inside(series, length):
    X = series.unfold(0, length, 1)[:-1]
    return X, series[length - 1 : -1]


def _windows_first_skipped(series, length):
    X = torch.stack(
        [series[i : i + length] for i in range(1, len(series) - length)]
    )
    return X, series[length + 1 :]


def _windows_disjoint(series, length):
    starts = range(0, len(series) - length, length)
    X = torch.stack([series[i : i + length] for i in starts])
    return X, torch.stack([series[i + length] for i in starts])


def _windows_loop(series, length):
    starts = range(len(series) - length)
    X = torch.stack([series[i : i + length] for i in starts])
    y = torch.stack([series[i + length] for i in starts])
    return X, y


@exercise(
    statement=(
        "windows(series, length) cuts a series of shape (n,) into supervised "
        "pairs: X (n - length, length), every run of length consecutive "
        "values, and y (n - length,), the value that follows each run."
    ),
    cases=_windows_cases,
    kind="implement",
    section="rnn/real_data",
    outputs=("X", "y"),
    hint=(
        "The windows overlap: one starts at every step whose window still "
        "has a value after it. The target of the window series[i : i + "
        "length] is the first value outside it."
    ),
    wrong={
        "off by one: the target is the window's last value": (
            _windows_last_inside
        ),
        "the first window skipped": _windows_first_skipped,
        "windows that do not overlap": _windows_disjoint,
    },
    alternatives=(_windows_loop,),
)
def windows(series, length):
    """:func:`nnbook.data.windows`."""
    return _data_windows(series, length)


def _split_cases(rng):
    t = torch.arange(30, dtype=torch.float64)
    return [
        Case(
            "20 random values, windows of 3, 80 % to train",
            (randn(rng, 20), 3, 0.8),
        ),
        Case(
            "a rising cycle of 30 values, windows of 4, 60 % to train",
            (0.2 * t + torch.sin(t) + randn(rng, 30, scale=0.1), 4, 0.6),
        ),
    ]


def _split_by(series, window, train_fraction, *, mode):
    n_train = int(len(series) * train_fraction)
    part = series if mode == "whole" else series[:n_train]
    z = (series - part.mean()) / part.std()
    X, y = _data_windows(z, window)
    if mode == "start":
        train = torch.arange(len(X)) < n_train
    elif mode == "fraction of windows":
        train = torch.arange(len(X)) < int(len(X) * train_fraction)
    else:
        train = torch.arange(window, len(series)) < n_train
    return X[train], y[train], X[~train], y[~train]


def _split_mistake(mode):
    def wrong(series, window, train_fraction):
        return _split_by(series, window, train_fraction, mode=mode)

    return wrong


@exercise(
    statement=(
        "forecasting_split(series, window, train_fraction) prepares a series "
        "(n,) for forecasting as the section does: the first "
        "int(n * train_fraction) values are the training years. It "
        "standardizes the series with the mean and standard deviation "
        "(torch's default, unbiased) of the training years, cuts it into "
        "windows, and returns (X_train, y_train, X_test, y_test): a window "
        "trains when the value it predicts is a training year, and tests "
        "otherwise."
    ),
    cases=_split_cases,
    kind="implement",
    section="rnn/real_data",
    outputs=("X_train", "y_train", "X_test", "y_test"),
    hint=(
        "Nothing from the test years may reach training: not through the "
        "scaling, and not through the targets. Decide where a window goes by "
        "the index of the value it predicts."
    ),
    wrong={
        "standardized with the whole series": _split_mistake("whole"),
        "the split by each window's first index": _split_mistake("start"),
        "the first train_fraction of the windows train": _split_mistake(
            "fraction of windows"
        ),
    },
    alternatives=(_split_mistake("right"),),
)
def forecasting_split(series, window, train_fraction):
    """The split of the section, around :func:`nnbook.data.windows`."""
    n_train = int(len(series) * train_fraction)
    mean, std = series[:n_train].mean(), series[:n_train].std()
    X, y = _data_windows((series - mean) / std, window)
    train = torch.arange(window, len(series)) < n_train  # index of each target
    return X[train], y[train], X[~train], y[~train]


# ---------------------------------------------------------------------------
# diagnosing_fit: folds that never train on the future


def _fold_cases(rng):
    return [
        Case("10 windows, 3 folds", (10, 3)),
        Case("12 windows, 5 folds", (12, 5)),
        Case("7 windows, 2 folds", (7, 2)),
    ]


def _as_tensors(folds):
    return [
        (
            torch.as_tensor(tr, dtype=torch.int64),
            torch.as_tensor(va, dtype=torch.int64),
        )
        for tr, va in folds
    ]


def _folds_shuffled(n, k):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    blocks = order.chunk(k)
    return [
        (
            torch.cat(blocks[:j] + blocks[j + 1 :]).sort().values,
            blocks[j].sort().values,
        )
        for j in range(k)
    ]


def _folds_k_fold(n, k):
    blocks = torch.arange(n).chunk(k)
    return [
        (torch.cat(blocks[:j] + blocks[j + 1 :]), blocks[j]) for j in range(k)
    ]


def _folds_k_blocks(n, k):
    size = n // k
    folds = []
    for j in range(1, k):
        end = n - (k - 1 - j) * size
        folds.append((torch.arange(end - size), torch.arange(end - size, end)))
    return folds


def _folds_by_arithmetic(n, k):
    size = n // (k + 1)
    first = n - k * size  # the first training block takes the remainder
    return [
        (
            torch.arange(first + j * size),
            torch.arange(first + j * size, first + (j + 1) * size),
        )
        for j in range(k)
    ]


@exercise(
    statement=(
        "forward_chaining_folds(n, k) returns the k folds of "
        "cross-validation for a series of n windows, as a list of "
        "(train, validate) pairs of int64 index tensors, each sorted: the "
        "folds of sklearn's TimeSeriesSplit(n_splits=k). The validation "
        "blocks have n // (k + 1) windows each, the last one ends with "
        "window n - 1, and no fold trains on a window that comes after one "
        "it validates on."
    ),
    cases=_fold_cases,
    kind="implement",
    section="rnn/diagnosing_fit",
    outputs=("folds",),
    hint=(
        "For a series, a fold trains on the past and validates on the block "
        "right after it, so the training part grows from fold to fold. With "
        "k validation blocks there are k + 1 blocks in all, and the first "
        "one is only ever trained on."
    ),
    wrong={
        "shuffled folds": _folds_shuffled,
        "ordinary k-fold: trains on the blocks after the validation block": (
            _folds_k_fold
        ),
        "n // k windows per block: one fold too few": _folds_k_blocks,
    },
    alternatives=(_folds_by_arithmetic,),
)
def forward_chaining_folds(n, k):
    """sklearn's TimeSeriesSplit, as the section uses it."""
    from sklearn.model_selection import TimeSeriesSplit

    return _as_tensors(TimeSeriesSplit(n_splits=k).split(range(n)))


# ---------------------------------------------------------------------------
# final_model: forecasts fed back as inputs


class Forecaster(torch.nn.Module):
    """The section's forecaster: an LSTM reads a window, a linear layer maps its
    last state to the next value; (N, window) to (N,), standardized units."""

    def __init__(self, hidden, rng):
        super().__init__()
        self.lstm = torch.nn.LSTM(
            1, hidden, batch_first=True, dtype=torch.float64
        )
        self.head = torch.nn.Linear(hidden, 1, dtype=torch.float64)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(randn(rng, *p.shape, scale=0.5))

    def forward(self, windows):
        last = self.lstm(windows.unsqueeze(-1))[0][:, -1]
        return self.head(last).squeeze(-1)

    def __repr__(self):
        return f"Forecaster(hidden={self.lstm.hidden_size})"


def _forecast_cases(rng):
    def case(label, n, window, steps, hidden):
        series = 50 + 20 * torch.sin(torch.arange(n, dtype=torch.float64) / 2)
        series = series + randn(rng, n)
        mean, std = series.mean().item(), series.std().item()
        model = Forecaster(hidden, rng)
        return Case(label, (model, series, window, steps, mean, std))

    return [
        case("one step ahead, windows of 4", 20, 4, 1, 3),
        case("5 steps ahead, windows of 6", 30, 6, 5, 4),
        case("3 steps ahead, windows of 3", 12, 3, 3, 2),
    ]


def _forecast_loop(model, series, window, steps, mean, std, *, mode="right"):
    recent = (series[-window:] - mean) / std
    first = recent
    forecast = []
    with torch.no_grad():
        for _ in range(steps):
            z = model((first if mode == "fixed" else recent)[None])[0]
            value = z * std + mean
            forecast.append(z if mode == "standardized" else value)
            fed = value if mode == "feed value" else z
            recent = torch.cat([recent[1:], fed[None]])
    return torch.stack(forecast)


def _forecast_mistake(mode):
    def wrong(model, series, window, steps, mean, std):
        return _forecast_loop(
            model, series, window, steps, mean, std, mode=mode
        )

    return wrong


def _forecast_batch_of_one(model, series, window, steps, mean, std):
    z = ((series - mean) / std).tolist()
    with torch.no_grad():
        for _ in range(steps):
            z.append(
                model(torch.tensor([z[-window:]], dtype=torch.float64)).item()
            )
    return torch.tensor(z[-steps:], dtype=torch.float64) * std + mean


@exercise(
    statement=(
        "forecast_ahead(model, series, window, steps, mean, std) forecasts "
        "the steps values after the end of series (n,), as the section does "
        "with its restored model: model maps a batch of standardized "
        "windows (N, window) to standardized next values (N,); mean and std "
        "are the saved statistics. Each forecast is fed back as the newest "
        "input. Return the forecasts in the series' units, shape (steps,)."
    ),
    cases=_forecast_cases,
    kind="implement",
    section="rnn/final_model",
    outputs=("forecast",),
    hint=(
        "The model only ever sees standardized values: scale the last "
        "window, and feed each forecast back in the same units before "
        "scaling it back for the answer. The window slides by one step per "
        "forecast."
    ),
    wrong={
        "forecasts returned in standardized units": _forecast_mistake(
            "standardized"
        ),
        "forecasts fed back in the series' units": _forecast_mistake(
            "feed value"
        ),
        "the window never slides: the last real window every time": (
            _forecast_mistake("fixed")
        ),
    },
    alternatives=(_forecast_batch_of_one,),
)
def forecast_ahead(model, series, window, steps, mean, std):
    """The section's loop: the restored model, each forecast fed back."""
    recent = (series[-window:] - mean) / std
    forecast = []
    with torch.no_grad():
        for _ in range(steps):
            next_value = model(recent[None])[0]
            forecast.append(next_value * std + mean)
            recent = torch.cat([recent[1:], next_value[None]])
    return torch.stack(forecast)


# ---------------------------------------------------------------------------
# gru: one gated recurrent unit step, forward and backward


def _gru_cell_cases(rng):
    def case(label, B, D, H, scale=1.0):
        return Case(
            label,
            (
                randn(rng, B, D),
                randn(rng, B, H),
                *_weights(rng, 3, D, H, scale=scale),
            ),
        )

    return [
        case("one unit", 1, 1, 1),
        case("a batch of 3, D = 2, H = 4", 3, 2, 4),
        case("a batch of 2, D = H = 3, small weights", 2, 3, 3, scale=0.3),
    ]


def _gru_gates_by_hand(
    x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, mode
):
    """(r, z, n, hn) of one GRU step; ``mode`` names a mistake, or "right"."""
    order = "zrn" if mode == "zrn" else "rzn"
    gi = dict(
        zip(order, (x_t @ weight_ih.T + bias_ih).chunk(3, dim=1), strict=True)
    )
    w_hh = dict(zip(order, weight_hh.chunk(3, dim=0), strict=True))
    b_hh = dict(zip(order, bias_hh.chunk(3, dim=0), strict=True))
    gh = {k: h_prev @ w_hh[k].T + b_hh[k] for k in "rzn"}
    r = torch.sigmoid(gi["r"] + gh["r"])
    z = torch.sigmoid(gi["z"] + gh["z"])
    if mode == "reset before":
        hn = (r * h_prev) @ w_hh["n"].T + b_hh["n"]
        n = torch.tanh(gi["n"] + hn)
    else:
        hn = gh["n"]
        n = torch.tanh(gi["n"] + r * hn)
    return r, z, n, hn


def _gru_cell_by_hand(
    x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, *, mode
):
    _, z, n, _ = _gru_gates_by_hand(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, mode
    )
    if mode == "swap z":
        return z * n + (1 - z) * h_prev
    return (1 - z) * n + z * h_prev


def _gru_cell_mistake(mode):
    def wrong(*args):
        return _gru_cell_by_hand(*args, mode=mode)

    return wrong


def _gru_cell_torch(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    cell = torch.nn.GRUCell(x_t.shape[1], h_prev.shape[1], dtype=torch.float64)
    cell.load_state_dict(
        dict(
            weight_ih=weight_ih,
            weight_hh=weight_hh,
            bias_ih=bias_ih,
            bias_hh=bias_hh,
        )
    )
    with torch.no_grad():
        return cell(x_t, h_prev)


@exercise(
    statement=(
        "gru_cell(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) returns "
        "h_t (B, H), one GRU step that reads x_t (B, D) from the state h_prev "
        "(B, H). The weights are (3H, D) and (3H, H), the biases (3H,), with "
        "the blocks stacked in torch's order r, z, n, so that the weights of a "
        "torch.nn.GRUCell work unchanged."
    ),
    cases=_gru_cell_cases,
    equation="eq-rnn-gru",
    kind="implement",
    section="rnn/gru",
    outputs=("h_t",),
    hint=(
        "The three blocks of H rows are the reset gate, the update gate and "
        "the candidate. The reset gate multiplies the hidden share of the "
        "candidate, W_hn h_prev + b_hn, after the matrix product. The update "
        "gate z weighs the old state, 1 - z the candidate."
    ),
    wrong={
        "blocks in the order z, r, n": _gru_cell_mistake("zrn"),
        "h_t = z n + (1 - z) h_prev: the update gate swapped": _gru_cell_mistake(
            "swap z"
        ),
        "reset gate applied to h_prev before the product": _gru_cell_mistake(
            "reset before"
        ),
    },
    alternatives=(_gru_cell_torch, _gru_cell_mistake("right")),
)
def gru_cell(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """h_t of :func:`nnbook.rnn.gru_cell_forward`."""
    h_t, _ = gru_module.gru_cell_forward(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return h_t


def _gru_backward_cases(rng):
    def case(label, B, D, H):
        return Case(
            label,
            (
                randn(rng, B, D),
                randn(rng, B, H),
                *_weights(rng, 3, D, H, scale=0.5),
                randn(rng, B, H),
            ),
        )

    return [
        case("one unit", 1, 1, 1),
        case("a batch of 3, D = 2, H = 4", 3, 2, 4),
        case("a batch of 2, D = 4, H = 3", 2, 4, 3),
    ]


def _gru_backward_by_hand(
    x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, dh_t, *, mode
):
    """One GRU step backward, by the product rule; ``mode`` names a mistake."""
    r, z, n, hn = _gru_gates_by_hand(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, "right"
    )
    da_n = dh_t * (1 - z) * (1 - n**2)
    da_z = dh_t * (h_prev - n) * z * (1 - z)
    da_r = da_n * hn * r * (1 - r)
    d_input = torch.cat([da_r, da_z, da_n], dim=1)
    n_hidden = da_n if mode == "no r" else da_n * r
    d_hidden = torch.cat([da_r, da_z, n_hidden], dim=1)
    dh_prev = d_hidden @ weight_hh
    if mode != "no direct":
        dh_prev = dh_prev + dh_t * z
    db_hh = d_input.sum(dim=0) if mode == "one bias" else d_hidden.sum(dim=0)
    return (
        d_input @ weight_ih,
        dh_prev,
        d_input.T @ x_t,
        d_hidden.T @ h_prev,
        d_input.sum(dim=0),
        db_hh,
    )


def _gru_backward_mistake(mode):
    def wrong(*args):
        return _gru_backward_by_hand(*args, mode=mode)

    return wrong


def _gru_backward_autograd(
    x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, dh_t
):
    leaves = [
        t.clone().requires_grad_()
        for t in (x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    ]
    h_t = torch.gru_cell(*leaves)
    return torch.autograd.grad((h_t * dh_t).sum(), leaves)


@exercise(
    statement=(
        "gru_step_backward(x_t, h_prev, weight_ih, weight_hh, bias_ih, "
        "bias_hh, dh_t) returns the gradients (dx_t, dh_prev, dW_ih, dW_hh, "
        "db_ih, db_hh) of one GRU step (torch's block order r, z, n), given "
        "the gradient dh_t (B, H) that reaches h_t. The two bias gradients "
        "differ: the reset gate scales the candidate's hidden share."
    ),
    cases=_gru_backward_cases,
    equation="eq-rnn-gru",
    kind="implement",
    section="rnn/gru",
    outputs=("dx_t", "dh_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"),
    hint=(
        "Recompute r, z, n and the hidden share hn = W_hn h_prev + b_hn. The "
        "old state reaches h_t directly, through z h_prev, and through the "
        "gates and the candidate; add both. The input's share and the hidden "
        "share get the same gradient except in the candidate's block, where "
        "the hidden one is multiplied by r."
    ),
    wrong={
        "the direct path z * dh_t left out of dh_prev": _gru_backward_mistake(
            "no direct"
        ),
        "the candidate's hidden gradient not scaled by r": _gru_backward_mistake(
            "no r"
        ),
        "db_hh taken equal to db_ih": _gru_backward_mistake("one bias"),
    },
    alternatives=(_gru_backward_autograd, _gru_backward_mistake("right")),
)
def gru_step_backward(
    x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, dh_t
):
    """:func:`nnbook.rnn.gru_cell_backward` after the forward step."""
    _, cache = gru_module.gru_cell_forward(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return gru_module.gru_cell_backward(dh_t, cache)


# ---------------------------------------------------------------------------
# variable_length: masks from lengths, and each sequence's own last step


def _lengths(rng, B, T):
    """B lengths in [1, T], the longest equal to T."""
    lengths = torch.randint(1, T + 1, (B,), generator=rng)
    lengths[torch.randint(0, B, (1,), generator=rng)] = T
    return lengths


def _mask_cases(rng):
    return [
        Case("one sequence of one step", (torch.tensor([1]), 1)),
        Case(
            "three sequences, no pads in the first",
            (torch.tensor([4, 2, 1]), 4),
        ),
        Case("T longer than every sequence", (torch.tensor([2, 3]), 5)),
        Case("a batch of 6, lengths up to 7", (_lengths(rng, 6, 7), 7)),
    ]


@exercise(
    statement=(
        "padding_mask(lengths, T) returns the mask of a padded batch, time "
        "first: a bool tensor of shape (T, B), True at the real steps of each "
        "sequence and False at its pads. lengths (B,) holds each sequence's "
        "number of steps, between 1 and T."
    ),
    cases=_mask_cases,
    equation="eq-rnn-length-mask",
    kind="implement",
    section="rnn/variable_length",
    outputs=("mask",),
    hint=(
        "Compare a column of step indices with a row of lengths and let "
        "broadcasting do the rest. Steps are counted from 0 in Python: the "
        "last real step of a sequence of length L has index L - 1."
    ),
    wrong={
        "one step too many: t <= L with t from 0": lambda lengths, T: (
            torch.arange(T)[:, None] <= lengths[None, :]
        ),
        "batch first: shape (B, T)": lambda lengths, T: (
            torch.arange(T)[None, :] < lengths[:, None]
        ),
        "the pads marked True": lambda lengths, T: (
            torch.arange(T)[:, None] >= lengths[None, :]
        ),
    },
    alternatives=(
        lambda lengths, T: torch.stack(
            [torch.arange(T) < int(L) for L in lengths], dim=1
        ),
    ),
)
def padding_mask(lengths, T):
    """:func:`nnbook.rnn.length_mask`."""
    return rnn.length_mask(lengths, T)


def _last_cases(rng):
    def case(label, T, B, H):
        return Case(label, (randn(rng, T, B, H), _lengths(rng, B, T)))

    return [
        case("one sequence, one step", 1, 1, 2),
        case("a batch of 3, up to 5 steps, H = 4", 5, 3, 4),
        case("a batch of 8, up to 6 steps, H = 1", 6, 8, 1),
    ]


def _last_loop(output, lengths):
    return torch.stack([output[int(L) - 1, b] for b, L in enumerate(lengths)])


@exercise(
    statement=(
        "last_outputs(output, lengths) returns each sequence's output at its "
        "own last real step. output (T, B, H) holds the outputs of a "
        "recurrent layer run over a padded batch, time first; lengths (B,) "
        "holds the lengths, between 1 and T. Return a tensor of shape (B, H) "
        "whose row b is the output of sequence b at step lengths[b]."
    ),
    cases=_last_cases,
    equation="eq-rnn-last-step",
    kind="implement",
    section="rnn/variable_length",
    outputs=("h_last",),
    hint=(
        "Index two axes at once: one index per sequence on the time axis, "
        "paired with torch.arange(B) on the batch axis. Python counts steps "
        "from 0."
    ),
    wrong={
        "the last index of the padded tensor: output[-1]": lambda output, lengths: (
            output[-1]
        ),
        "the first step after the sequence: output[L]": lambda output, lengths: (
            output[
                lengths.clamp(max=len(output) - 1),
                torch.arange(output.shape[1]),
            ]
        ),
        "a grid instead of pairs: output[L - 1][:, 0]": lambda output, lengths: (
            output[lengths - 1][:, 0]
        ),
    },
    alternatives=(
        _last_loop,
        lambda output, lengths: output.gather(
            0, (lengths - 1)[None, :, None].expand(1, *output.shape[1:])
        )[0],
    ),
)
def last_outputs(output, lengths):
    """:func:`nnbook.rnn.last_steps`."""
    return rnn.last_steps(output, lengths)


# ---------------------------------------------------------------------------
# attention: one decoder step looks back at every encoder state


def _attention_cases(rng):
    def case(label, B, S, H):
        lengths = _lengths(rng, B, S)
        mask = torch.arange(S)[None, :] < lengths[:, None]  # (B, S)
        return Case(label, (randn(rng, B, H), randn(rng, B, S, H), mask))

    return [
        case("one sequence, one source position", 1, 1, 2),
        case("a batch of 3, 5 positions, H = 4, some padded", 3, 5, 4),
        case("a batch of 4, 7 positions, H = 8", 4, 7, 8),
    ]


def _attention_parts(
    s, encoder_states, mask, *, scale=True, fill=True, axis=-1
):
    scores = torch.einsum("bh,bsh->bs", s, encoder_states)
    if scale:
        scores = scores / math.sqrt(s.shape[-1])
    if fill:
        scores = scores.masked_fill(~mask, -math.inf)
    weights = torch.softmax(scores, dim=axis)
    if not fill:
        weights = weights * mask  # zeroed after the softmax, not renormalized
    return torch.einsum("bs,bsh->bh", weights, encoder_states), weights


def _attention_mistake(**how):
    return lambda s, encoder_states, mask: _attention_parts(
        s, encoder_states, mask, **how
    )


@exercise(
    statement=(
        "attention_step(s, encoder_states, mask) is one step of dot-product "
        "attention, scaled by 1/sqrt(H): the decoder's state s (B, H) is the "
        "query, and the encoder's states (B, S, H) are both the keys and the "
        "values. mask (B, S) is True at the real source positions. Return "
        "(context, weights): the context vectors (B, H) and the attention "
        "weights (B, S), zero at the masked positions."
    ),
    cases=_attention_cases,
    equation="eq-rnn-attention",
    kind="implement",
    section="rnn/attention",
    outputs=("context", "weights"),
    hint=(
        "One score per source position, then a softmax over the source "
        "positions. A position the mask rules out must get zero weight while "
        "the others still sum to one: set its score to minus infinity before "
        "the softmax."
    ),
    wrong={
        "no 1/sqrt(H) scaling": _attention_mistake(scale=False),
        "mask applied after the softmax, not renormalized": _attention_mistake(
            fill=False
        ),
        "softmax over the batch axis": _attention_mistake(axis=0),
    },
    alternatives=(
        lambda s, encoder_states, mask: (
            torch.nn.functional.scaled_dot_product_attention(
                s[:, None],
                encoder_states,
                encoder_states,
                attn_mask=mask[:, None],
            )[:, 0],
            _attention_parts(s, encoder_states, mask)[1],
        ),
    ),
)
def attention_step(s, encoder_states, mask):
    """:func:`nnbook.rnn.attention` with one query per sequence."""
    S = encoder_states.shape[1]
    context, weights = rnn.attention(
        s[:, None],
        encoder_states,
        encoder_states,
        mask=mask[:, None].expand(-1, 1, S),
    )
    return context[:, 0], weights[:, 0]


# ---------------------------------------------------------------------------
# language_model: each step a classification, perplexity and its baselines


def _ids(rng, n, V):
    return torch.randint(0, V, (n,), generator=rng)


def _perplexity_cases(rng):
    return [
        Case("3 positions, 4 characters", (randn(rng, 3, 4), _ids(rng, 3, 4))),
        Case(
            "20 positions, 23 characters",
            (randn(rng, 20, 23), _ids(rng, 20, 23)),
        ),
        Case(
            "scores near 1000: needs a stable log-softmax",
            (1000.0 + randn(rng, 6, 5), _ids(rng, 6, 5)),
        ),
        Case(
            "equal scores: the perplexity is V",
            (torch.zeros(4, 7, dtype=torch.float64), _ids(rng, 4, 7)),
        ),
    ]


def _ppl_raw_scores(logits, targets):
    return torch.exp(-logits.gather(1, targets[:, None]).mean())


def _ppl_sum(logits, targets):
    log_p = torch.log_softmax(logits, dim=1)
    return torch.exp(-log_p.gather(1, targets[:, None]).sum())


def _ppl_naive_softmax(logits, targets):
    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return torch.exp(-torch.log(p.gather(1, targets[:, None])).mean())


def _ppl_mean_probability(logits, targets):
    p = torch.softmax(logits, dim=1).gather(1, targets[:, None])
    return 1 / p.mean()


def _ppl_cross_entropy(logits, targets):
    return torch.exp(F.cross_entropy(logits, targets))


@exercise(
    statement=(
        "lm_perplexity(logits, targets) returns the perplexity of a language "
        "model: logits (N, V) are its scores for the next character at N "
        "positions, targets (N,) the characters that came next. It is the "
        "exponential of the mean cross-entropy per position, as a 0-d tensor."
    ),
    cases=_perplexity_cases,
    equation="eq-rnn-lm-loss",
    kind="implement",
    section="rnn/language_model",
    outputs=("ppl",),
    hint=(
        "Each position is a classification: take the log-softmax of its "
        "scores (stably, subtracting the largest score), pick the entry of "
        "the character that came next, average the negatives over the "
        "positions, then exponentiate the mean, not the sum."
    ),
    wrong={
        "raw scores instead of log-probabilities": _ppl_raw_scores,
        "the sum of the losses instead of their mean": _ppl_sum,
        "softmax by exp without subtracting the maximum": _ppl_naive_softmax,
        "one over the mean probability": _ppl_mean_probability,
    },
    alternatives=(_ppl_cross_entropy,),
)
def lm_perplexity(logits, targets):
    """:func:`nnbook.rnn.perplexity`."""
    return rnn.perplexity(logits, targets)


def _bigram_cases(rng):
    def case(label, n_train, n_valid, V):
        return Case(label, (_ids(rng, n_train, V), _ids(rng, n_valid, V), V))

    return [
        case("a text of 12 over 3 characters", 12, 6, 3),
        case("a text of 200 over 6 characters", 200, 50, 6),
        case("some pairs never seen in training: smoothing", 15, 40, 8),
    ]


def _bigram_counts(ids, V, alpha=1.0):
    counts = torch.full((V, V), alpha, dtype=torch.float64)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
        counts[a, b] += 1
    return counts


def _score(P, valid):
    return torch.exp(-torch.log(P[valid[:-1], valid[1:]]).mean())


def _bigram_loop(train, valid, V):
    counts = _bigram_counts(train, V)
    return _score(counts / counts.sum(dim=1, keepdim=True), valid)


def _bigram_joint(train, valid, V):
    counts = _bigram_counts(train, V)
    return _score(counts / counts.sum(), valid)


def _bigram_reversed(train, valid, V):
    counts = _bigram_counts(train, V).T
    return _score(counts / counts.sum(dim=1, keepdim=True), valid)


def _bigram_on_valid(train, valid, V):
    counts = _bigram_counts(valid, V)
    return _score(counts / counts.sum(dim=1, keepdim=True), valid)


def _bigram_unsmoothed(train, valid, V):
    counts = _bigram_counts(train, V, alpha=0.0)
    return _score(counts / counts.sum(dim=1, keepdim=True).clamp_min(1), valid)


@exercise(
    statement=(
        "bigram_perplexity(train, valid, vocab_size) fits a bigram model by "
        "counting the pairs (a, b) of consecutive characters of train, with "
        "one pseudo-count added to every pair, P(b | a) = (n_ab + 1) / "
        "(n_a + V), and returns its perplexity on valid: the exponential of "
        "the mean of -log P(valid[t + 1] | valid[t]). train and valid are "
        "int64 tensors of character indices in [0, vocab_size)."
    ),
    cases=_bigram_cases,
    equation="eq-rnn-lm-loss",
    kind="implement",
    section="rnn/language_model",
    outputs=("ppl",),
    hint=(
        "Normalize each row of the pair counts, one per current character, "
        "so that it sums to 1 over the next character; count on the training "
        "text only, and add the pseudo-count before normalizing, so that a "
        "pair never seen in training keeps a small probability."
    ),
    wrong={
        "normalized over the whole table, not per row": _bigram_joint,
        "rows and columns swapped: P(current | next)": _bigram_reversed,
        "counted on the validation text": _bigram_on_valid,
        "no pseudo-count": _bigram_unsmoothed,
    },
    alternatives=(_bigram_loop,),
)
def bigram_perplexity(train, valid, vocab_size):
    """The bigram baseline of the section, with :func:`nnbook.rnn.bigram_log_probs`."""
    log_p = rnn.bigram_log_probs(train, vocab_size)  # (V, V)
    return rnn.perplexity(log_p[valid[:-1]], valid[1:])


# ---------------------------------------------------------------------------
# real_data: the linear baseline, AR(p) by least squares


def _ar_cases(rng):
    t = torch.arange(40, dtype=torch.float64)
    cycle = torch.sin(2 * math.pi * t / 11) + randn(rng, 40, scale=0.1)
    return [
        Case("30 random windows of 4", (randn(rng, 30, 4), randn(rng, 30))),
        Case(
            "windows of 6 of a noisy cycle of period 11",
            (*_data_windows(cycle, 6),),
        ),
        Case(
            "a series with an offset of 5: the intercept matters",
            (*_data_windows(5.0 + cycle, 3),),
        ),
    ]


def _ar_no_intercept(X, y):
    coef = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    return coef, torch.zeros((), dtype=X.dtype)


def _ar_newest_first(X, y):
    coef, intercept = ar_fit(X, y)
    return coef.flip(0), intercept


def _ar_intercept_first(X, y):
    coef, intercept = ar_fit(X, y)  # the solution vector, misread
    w = torch.cat([coef, intercept[None]])
    return w[1:], w[0]


def _ar_normal_equations(X, y):
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    w = torch.linalg.solve(A.T @ A, A.T @ y)
    return w[:-1], w[-1]


def _ar_centered(X, y):
    x_mean, y_mean = X.mean(0), y.mean()
    coef = torch.linalg.lstsq(X - x_mean, (y - y_mean)[:, None]).solution[:, 0]
    return coef, y_mean - x_mean @ coef


@exercise(
    statement=(
        "ar_fit(X, y) fits the autoregressive model AR(p) of the section by "
        "least squares: X (N, p) holds windows of the series, oldest value "
        "first, and y (N,) the value after each. Return coef (p,), the weight "
        "of each window position in the same order, and intercept (a 0-D "
        "tensor), such that X @ coef + intercept is as close as possible to "
        "y in squared error."
    ),
    cases=_ar_cases,
    equation="eq-rnn-ar",
    kind="implement",
    section="rnn/real_data",
    outputs=("coef", "intercept"),
    hint=(
        "Append a column of ones to X, so that the intercept becomes one more "
        "coefficient, and solve the least-squares problem with "
        "torch.linalg.lstsq (the right-hand side must be a column, (N, 1)). "
        "The last entry of the solution is the intercept."
    ),
    wrong={
        "no intercept: the line through the origin": _ar_no_intercept,
        "the coefficients newest first": _ar_newest_first,
        "the column of ones read as the first coefficient": _ar_intercept_first,
    },
    alternatives=(_ar_normal_equations, _ar_centered),
    rtol=1e-7,
    atol=1e-9,
)
def ar_fit(X, y):
    """:func:`nnbook.rnn.ar_fit`."""
    return rnn.ar_fit(X, y)
