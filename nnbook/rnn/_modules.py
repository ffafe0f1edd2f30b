"""``RNN``, ``LSTM``, ``GRU``, ``TimeDistributed``: ``torch.nn`` layers computed by nnbook's own passes.

They hold their parameters like their ``torch.nn`` namesakes (same names, shapes and
initialization), so a model can be built from them, trained with any optimizer, and
compared with the same model in ``torch.nn`` weight for weight. Autograd only chains
the hand-written backward functions.
"""

from __future__ import annotations

import torch
from torch import nn

from nnbook import _validate as v
from nnbook._pairs import autograd_function
from nnbook.contract import Instance, Tensor, contract
from nnbook.rnn import _gru as gru
from nnbook.rnn import _recurrent as recurrent

__all__ = ["GRU", "LSTM", "RNN", "TimeDistributed"]


def _rnn_layer(x, h0, *weights):
    out, h_n, cache = recurrent.rnn_forward(x, h0, *weights)
    return (out, h_n), cache


def _rnn_layer_backward(douts, cache):
    return recurrent.rnn_backward(*douts, cache)


def _lstm_layer(x, h0, c0, *weights):
    out, (h_n, c_n), cache = recurrent.lstm_forward(x, h0, c0, *weights)
    return (out, h_n, c_n), cache


def _lstm_layer_backward(douts, cache):
    return recurrent.lstm_backward(*douts, cache)


def _gru_layer(x, h0, *weights):
    out, h_n, cache = gru.gru_forward(x, h0, *weights)
    return (out, h_n), cache


def _gru_layer_backward(douts, cache):
    return gru.gru_backward(*douts, cache)


RNNFunction = autograd_function(_rnn_layer, _rnn_layer_backward, "RNNFunction")
GRUFunction = autograd_function(_gru_layer, _gru_layer_backward, "GRUFunction")
LSTMFunction = autograd_function(
    _lstm_layer, _lstm_layer_backward, "LSTMFunction"
)


def _run_layers(module, function, x, states):
    """Every layer and direction of a recurrent module, each one call of ``function``.

    ``states`` holds the initial states, each of shape (layers * directions, B, H). The
    reverse direction reads the sequence backwards and writes its outputs back in
    forward order; the next layer reads both directions' outputs side by side.
    """
    directions = 2 if module.bidirectional else 1
    finals = [[] for _ in states]
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [
                getattr(module, name + suffix)
                for name in ("weight_ih", "weight_hh")
            ]
            weights += [
                getattr(module, name + suffix, None)
                for name in ("bias_ih", "bias_hh")
            ]
            weights[2:] = [
                x.new_zeros(len(weights[0])) if b is None else b
                for b in weights[2:]
            ]
            k = layer * directions + direction
            seq = x.flip(0) if direction else x
            out, *final = function.apply(seq, *(s[k] for s in states), *weights)
            outputs.append(out.flip(0) if direction else out)
            for kept, state in zip(finals, final, strict=True):
                kept.append(state)
        x = torch.cat(outputs, dim=2)
        if module.dropout and module.training and layer < module.num_layers - 1:
            x = nn.functional.dropout(x, module.dropout)
    return x, [torch.stack(kept) for kept in finals]


def _recurrent(module, function, x, hx, n_states):
    """Check the initial states ``hx`` against ``x``, then run :func:`_run_layers`."""
    if module.batch_first:
        x = x.transpose(0, 1)
    T, B, _ = x.shape
    if T == 0:
        raise ValueError(
            f"input must hold at least one time step, got shape {tuple(x.shape)}"
        )
    shape = (
        module.num_layers * (2 if module.bidirectional else 1),
        B,
        module.hidden_size,
    )
    if hx is None:
        states = [x.new_zeros(shape)] * n_states
    else:
        states = list(hx) if n_states == 2 else [hx]
        for name, s in zip(("h0", "c0"), states, strict=False):
            v.tensor(name, s, shape=shape, dims={"dtype": x.dtype})
    out, finals = _run_layers(module, function, x, states)
    return (out.transpose(0, 1) if module.batch_first else out), finals


#: A batch of sequences, (T, B, F_in), or (B, T, F_in) with ``batch_first``.
SEQUENCES = Tensor(None, None, "F_in")


def _input_sizes(self):
    """The features per step and the dtype that a recurrent module expects."""
    return {"F_in": self.input_size, "dtype": self.weight_ih_l0.dtype}


class RNN(nn.RNN):
    """``torch.nn.RNN`` (tanh; any number of layers, bidirectional, ``batch_first``) computed by
    :func:`nnbook.rnn.rnn_forward` and :func:`nnbook.rnn.rnn_backward`.

    Same parameters, names and initialization as ``torch.nn.RNN``, so a ``state_dict``
    loads into either.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.nonlinearity != "tanh":
            raise ValueError(
                f"nonlinearity must be 'tanh', got {self.nonlinearity!r}"
            )

    @contract(input=SEQUENCES, bind=_input_sizes)
    def forward(self, input, hx=None):  # noqa: A002 (torch's argument name)
        """``output`` of shape (T, B, directions * H) (or batch first), and ``h_n``."""
        out, (h_n,) = _recurrent(self, RNNFunction, input, hx, n_states=1)
        return out, h_n


class LSTM(nn.LSTM):
    """``torch.nn.LSTM`` (any number of layers, bidirectional, ``batch_first``) computed by
    :func:`nnbook.rnn.lstm_forward` and :func:`nnbook.rnn.lstm_backward`.

    Same parameters, names, gate order and initialization as ``torch.nn.LSTM``, so a
    ``state_dict`` loads into either.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.proj_size:
            raise ValueError(
                f"proj_size must be 0 (projections are not implemented), got {self.proj_size}"
            )

    @contract(input=SEQUENCES, bind=_input_sizes)
    def forward(self, input, hx=None):  # noqa: A002 (torch's argument name)
        """``output`` of shape (T, B, directions * H) (or batch first), and ``(h_n, c_n)``."""
        out, (h_n, c_n) = _recurrent(self, LSTMFunction, input, hx, n_states=2)
        return out, (h_n, c_n)


class GRU(nn.GRU):
    """``torch.nn.GRU`` (any number of layers, bidirectional, ``batch_first``) computed by
    :func:`nnbook.rnn.gru_forward` and :func:`nnbook.rnn.gru_backward`.

    Same parameters, names, gate order (r, z, n) and initialization as
    ``torch.nn.GRU``, so a ``state_dict`` loads into either.
    """

    @contract(input=SEQUENCES, bind=_input_sizes)
    def forward(self, input, hx=None):  # noqa: A002 (torch's argument name)
        """``output`` of shape (T, B, directions * H) (or batch first), and ``h_n``."""
        out, (h_n,) = _recurrent(self, GRUFunction, input, hx, n_states=1)
        return out, h_n


class TimeDistributed(nn.Module):
    """Apply one module to every time step: Keras's ``TimeDistributed``.

    The first two dimensions, time and batch in either order, are merged into one batch
    dimension, the module runs once on it, and they are split again. The same weights
    therefore serve every step; a ``TimeDistributed(Linear(H, 1))`` has ``H + 1``
    parameters whatever the sequence length.

    It is not needed for ``torch.nn.Linear``, nor for Keras 2's ``Dense``: both already
    act on the last dimension and map over every leading one, so ``Linear(H, 1)``
    applied to a (T, B, H) sequence gives the same (T, B, 1) as its
    ``TimeDistributed`` wrapper. The wrapper is for modules that accept only a batch of
    shape (N, features), such as ``torch.nn.BatchNorm1d``, which would read a
    (T, B, H) input as (N, C, L).
    """

    @contract(module=Instance(nn.Module))
    def __init__(self, module):
        super().__init__()
        self.module = module

    @contract(x=Tensor("T", "B", "F", ..., dtype="any"))
    def forward(self, x):
        """``module`` applied to ``x[t, b]`` for every ``t`` and ``b``; x has shape (T, B, F, ...)."""
        y = self.module(x.reshape(-1, *x.shape[2:]))
        return y.reshape(*x.shape[:2], *y.shape[1:])
