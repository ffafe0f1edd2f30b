"""Exercises of the recurrent chapter."""

from __future__ import annotations

import torch

from nnbook import _validate as validate
from nnbook import recurrent
from nnbook.check import Case, Exercise, register

__all__ = ["lstm_cell", "lstm_parameters", "rnn_step", "time_major"]


def _randn(rng, *shape):
    return torch.randn(*shape, generator=rng, dtype=torch.float64)


def _weights(rng, gates, D, H):
    return (
        _randn(rng, gates * H, D),
        _randn(rng, gates * H, H),
        _randn(rng, gates * H),
        _randn(rng, gates * H),
    )


def _cell_inputs(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, gates):
    """Check the shapes of one step: x_t (B, D), h_prev (B, H), weights (G*H, D) and (G*H, H)."""
    dims = {}
    validate.tensor("x_t", x_t, shape=("B", "D"), dims=dims)
    validate.tensor("h_prev", h_prev, shape=("B", "H"), dims=dims)
    dims["GH"] = gates * dims["H"]
    validate.tensor("weight_ih", weight_ih, shape=("GH", "D"), dims=dims)
    validate.tensor("weight_hh", weight_hh, shape=("GH", "H"), dims=dims)
    validate.tensor("bias_ih", bias_ih, shape=("GH",), dims=dims)
    validate.tensor("bias_hh", bias_hh, shape=("GH",), dims=dims)


def _rnn_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    _cell_inputs(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    return recurrent.rnn_cell_forward(
        x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )[0]


rnn_step = register(
    Exercise(
        name="rnn.rnn_step",
        statement=(
            "rnn_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) returns the next hidden state "
            "tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh), shape (B, H); it raises ValueError when "
            "x_t's features do not match weight_ih."
        ),
        equation="eq-rnn-cell",
        reference=_rnn_step,
        cases=lambda rng: [
            Case(
                "one sequence, D = H = 1",
                (_randn(rng, 1, 1), _randn(rng, 1, 1), *_weights(rng, 1, 1, 1)),
            ),
            Case(
                "a batch of 4, D = 3, H = 5",
                (_randn(rng, 4, 3), _randn(rng, 4, 5), *_weights(rng, 1, 3, 5)),
            ),
            Case(
                "bad input: x_t has 2 features, weight_ih expects 3",
                (_randn(rng, 4, 2), _randn(rng, 4, 5), *_weights(rng, 1, 3, 5)),
            ),
        ],
    )
)


def _lstm_cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    _cell_inputs(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
    validate.tensor("c_prev", c_prev, shape=tuple(h_prev.shape))
    h_t, c_t, _ = recurrent.lstm_cell_forward(
        x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return h_t, c_t


lstm_cell = register(
    Exercise(
        name="rnn.lstm_cell",
        statement=(
            "lstm_cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh) returns (h_t, c_t) "
            "for one LSTM step with torch's gate order i, f, g, o; it raises ValueError when weight_hh "
            "does not have 4 H rows."
        ),
        equation="eq-lstm-cell",
        reference=_lstm_cell,
        cases=lambda rng: [
            Case(
                "one unit",
                (
                    _randn(rng, 1, 1),
                    _randn(rng, 1, 1),
                    _randn(rng, 1, 1),
                    *_weights(rng, 4, 1, 1),
                ),
            ),
            Case(
                "a batch of 3, D = 2, H = 4",
                (
                    _randn(rng, 3, 2),
                    _randn(rng, 3, 4),
                    _randn(rng, 3, 4),
                    *_weights(rng, 4, 2, 4),
                ),
            ),
            Case(
                "bad input: the weights of an RNN (H rows, not 4 H)",
                (
                    _randn(rng, 3, 2),
                    _randn(rng, 3, 4),
                    _randn(rng, 3, 4),
                    *_weights(rng, 1, 2, 4),
                ),
            ),
        ],
    )
)


def _lstm_parameters(input_size, hidden_size, layers=1, bidirectional=False):
    validate.number("layers", layers, low=1, integer=True)
    directions = 2 if bidirectional else 1
    inputs = [input_size] + [directions * hidden_size] * (layers - 1)
    return directions * sum(
        recurrent.lstm_parameters(d, hidden_size) for d in inputs
    )


lstm_parameters = register(
    Exercise(
        name="rnn.lstm_parameters",
        statement=(
            "lstm_parameters(input_size, hidden_size, layers=1, bidirectional=False) returns the number "
            "of parameters of torch.nn.LSTM with those settings; it raises ValueError for a size below 1."
        ),
        equation="eq-lstm-gates",
        reference=_lstm_parameters,
        cases=lambda rng: [
            Case("the article's LSTM(5) on one feature", (1, 5)),
            Case("two layers", (10, 32, 2)),
            Case("three bidirectional layers", (8, 16, 3, True)),
            Case("bad input: hidden_size 0", (8, 0)),
        ],
    )
)


def _time_major(x):
    x = validate.tensor("x", x, floating=False)
    if x.ndim == 2:
        x = x.unsqueeze(-1)  # one feature per step
    if x.ndim != 3:
        raise ValueError(
            f"x must have 2 or 3 dimensions (samples, steps[, features]), got {x.ndim}: {tuple(x.shape)}"
        )
    return x.transpose(0, 1).contiguous()


time_major = register(
    Exercise(
        name="rnn.time_major",
        statement=(
            "time_major(x) turns Keras-style data, (samples, steps, features) or (samples, steps) for one "
            "feature, into torch's (steps, samples, features); it raises ValueError for any other rank."
        ),
        reference=_time_major,
        cases=lambda rng: [
            Case(
                "one series of 10 values", (torch.arange(10.0).reshape(1, 10),)
            ),
            Case("two parallel series", (_randn(rng, 1, 10, 2),)),
            Case(
                "a batch of 5 sequences, 7 steps, 3 features",
                (_randn(rng, 5, 7, 3),),
            ),
            Case("bad input: a 1-D tensor", (torch.arange(10.0),)),
        ],
    )
)
