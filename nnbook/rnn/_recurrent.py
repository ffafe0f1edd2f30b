r"""Recurrent networks: the RNN and LSTM cells, whole sequences, and backpropagation through time.

Shapes and parameters follow ``torch.nn.RNN`` and ``torch.nn.LSTM``: sequences are
``(T, B, D)`` (time, batch, features), hidden states ``(B, H)``, and the weights are
``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih`` and ``bias_hh (G*H,)``, with
``G = 1`` for the RNN and ``G = 4`` for the LSTM, whose gates come in the order
``i, f, g, o``. Weights therefore copy both ways with torch's modules. No backward
function calls autograd.

Each contract lists the weights first, so that a sequence or a state that does not fit
them is the argument an error names; the LSTM's stacked gates are the size ``4H``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook.contract import Choice, Instance, Int, Tensor, contract

__all__ = [
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_gates_backward",
    "lstm_gates_forward",
    "lstm_parameters",
    "rnn_backward",
    "rnn_cell_backward",
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_parameters",
]

#: The weights of a recurrent layer, as torch.nn.RNN names and lays them out.
RNN_WEIGHTS = dict(
    weight_ih=Tensor("H", "D"),
    weight_hh=Tensor("H", "H"),
    bias_ih=Tensor("H"),
    bias_hh=Tensor("H"),
)
#: The LSTM's: the four gates i, f, g, o stacked along the first dimension.
LSTM_WEIGHTS = dict(
    weight_ih=Tensor("4H", "D"),
    weight_hh=Tensor("4H", "H"),
    bias_ih=Tensor("4H"),
    bias_hh=Tensor("4H"),
)


class RnnCellCache(NamedTuple):
    """What :func:`rnn_cell_backward` needs from :func:`rnn_cell_forward`."""

    x_t: torch.Tensor
    h_prev: torch.Tensor
    h_t: torch.Tensor
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


class RnnCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`.

    ``h_prev`` (T, B, H) holds the state each step read, :math:`h_0 .. h_{T-1}`, and
    ``out`` (T, B, H) the state it wrote, :math:`h_1 .. h_T`.
    """

    x: torch.Tensor
    h_prev: torch.Tensor
    out: torch.Tensor
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


class LstmGatesCache(NamedTuple):
    """What :func:`lstm_gates_backward` needs from :func:`lstm_gates_forward`."""

    c_prev: torch.Tensor
    i: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor
    tanh_c: torch.Tensor


class LstmCellCache(NamedTuple):
    """What :func:`lstm_cell_backward` needs from :func:`lstm_cell_forward`."""

    x_t: torch.Tensor
    h_prev: torch.Tensor
    gates: LstmGatesCache
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


class LstmCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`, and the cell states.

    ``h_prev`` (T, B, H) holds the hidden state each step read, ``gates`` one
    :class:`LstmGatesCache` per step, and ``c`` (T, B, H) the cell state each step
    wrote, :math:`c_1 .. c_T`, as ``out`` holds :math:`h_1 .. h_T`.
    """

    x: torch.Tensor
    h_prev: torch.Tensor
    gates: list[LstmGatesCache]
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    c: torch.Tensor


def _four_gates(name, stacked, H):
    """Refuse ``stacked`` unless it holds the four gates' 4H rows or columns."""
    if stacked != 4 * H:
        raise ValueError(
            f"{name} must stack the four gates i, f, g, o: 4H = {4 * H} "
            f"for H = {H}, got {stacked}"
        )


def _at_least_one_step(x):
    """Refuse an empty sequence: there is no last state to return."""
    if len(x) == 0:
        raise ValueError(
            f"x must hold at least one time step, got shape {tuple(x.shape)}"
        )


@contract(
    "eq-rnn-cell",
    **RNN_WEIGHTS,
    x_t=Tensor("B", "D"),
    h_prev=Tensor("B", "H"),
    reference="torch.nn.RNNCell",
)
def rnn_cell_forward(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One step of the plain (Elman) RNN, with tanh. Implements :eq:`eq-rnn-cell`.

    Parameters
    ----------
    x_t : Tensor of shape (B, D)
    h_prev : Tensor of shape (B, H)
    weight_ih : Tensor of shape (H, D)
    weight_hh : Tensor of shape (H, H)
    bias_ih, bias_hh : Tensor of shape (H,)

    Returns
    -------
    h_t : Tensor of shape (B, H)
    cache : RnnCellCache

    Notes
    -----
    .. math:: h_t = \tanh\bigl(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\bigr)

    Everything after the input's share :math:`W_{ih} x_t + b_{ih}` is one step
    function, which :func:`rnn_forward` calls at every step.
    """
    input_t = x_t @ weight_ih.T + bias_ih  # does not wait for h_prev
    # h_t = tanh(input_t + W_hh h_prev + b_hh), the step rnn_forward repeats
    h_t = _rnn_step(input_t, h_prev, weight_hh, bias_hh)
    return h_t, RnnCellCache(x_t, h_prev, h_t, weight_ih, weight_hh)


def _rnn_step(input_t, h_prev, weight_hh, bias_hh):
    r""":eq:`eq-rnn-cell` given the input's share :math:`W_{ih} x_t + b_{ih}`."""
    return torch.tanh(input_t + h_prev @ weight_hh.T + bias_hh)


@contract(
    cache=Instance(RnnCellCache),
    dh_t=Tensor(like=lambda cache: cache.h_t),
)
def rnn_cell_backward(dh_t, cache):
    """Gradients of :func:`rnn_cell_forward`: ``(dx_t, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``."""
    x_t, h_prev, h_t, weight_ih, weight_hh = cache
    da = dh_t * (1 - h_t**2)  # through tanh
    db = da.sum(dim=0)
    return da @ weight_ih, da @ weight_hh, da.T @ x_t, da.T @ h_prev, db, db


@contract(
    "eq-lstm-gates",
    **LSTM_WEIGHTS,
    x_t=Tensor("B", "D"),
    h_prev=Tensor("B", "H"),
    c_prev=Tensor("B", "H"),
    reference="torch.nn.LSTMCell",
)
def lstm_cell_forward(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
):
    r"""One LSTM step, gates in torch's order i, f, g, o. Implements :eq:`eq-lstm-gates`.

    Parameters
    ----------
    x_t : Tensor of shape (B, D)
    h_prev, c_prev : Tensor of shape (B, H)
        Hidden state (working memory) and cell state (long-term memory).
    weight_ih : Tensor of shape (4H, D)
    weight_hh : Tensor of shape (4H, H)
    bias_ih, bias_hh : Tensor of shape (4H,)

    Returns
    -------
    h_t, c_t : Tensor of shape (B, H)
    cache : LstmCellCache

    Notes
    -----
    The pre-activations of all four gates come from one matrix product each; the gates
    themselves are :func:`lstm_gates_forward`, equations :eq:`eq-lstm-gates` to
    :eq:`eq-lstm-hidden`. Everything after the input's share
    :math:`W_{ih} x_t + b_{ih}` is one step function, which :func:`lstm_forward` calls
    at every step.
    """
    _four_gates("weight_hh", weight_hh.shape[0], weight_hh.shape[1])
    input_t = x_t @ weight_ih.T + bias_ih  # does not wait for h_prev
    # the step lstm_forward repeats: the gates of input_t + W_hh h_prev + b_hh
    h_t, c_t, gates = _lstm_step(input_t, h_prev, c_prev, weight_hh, bias_hh)
    return h_t, c_t, LstmCellCache(x_t, h_prev, gates, weight_ih, weight_hh)


def _lstm_step(input_t, h_prev, c_prev, weight_hh, bias_hh):
    r""":func:`lstm_gates_forward` of the pre-activations, given the input's share
    :math:`W_{ih} x_t + b_{ih}` (B, 4H); the arguments are checked by the caller.
    """
    pre = input_t + h_prev @ weight_hh.T + bias_hh  # (B, 4H)
    return lstm_gates_forward.__wrapped__(pre, c_prev)


@contract(
    cache=Instance(LstmCellCache),
    dh_t=Tensor(like=lambda cache: cache.h_prev),
    dc_t=Tensor(like=lambda cache: cache.h_prev),
)
def lstm_cell_backward(dh_t, dc_t, cache):
    """Gradients of :func:`lstm_cell_forward` from ``dh_t`` and the cell gradient ``dc_t``.

    Returns
    -------
    tuple
        ``(dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    x_t, h_prev, gates, weight_ih, weight_hh = cache
    dpre, dc_prev = lstm_gates_backward.__wrapped__(dh_t, dc_t, gates)
    db = dpre.sum(dim=0)
    return (
        dpre @ weight_ih,
        dpre @ weight_hh,
        dc_prev,
        dpre.T @ x_t,
        dpre.T @ h_prev,
        db,
        db,
    )


@contract(
    "eq-lstm-cell",
    pre=Tensor("B", "4H"),
    c_prev=Tensor("B", "H"),
)
def lstm_gates_forward(pre, c_prev):
    r"""The LSTM's gates and memory update, from the pre-activations of all four gates.

    Parameters
    ----------
    pre : Tensor of shape (B, 4H)
        :math:`W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}`, gates in the order i, f, g, o.
    c_prev : Tensor of shape (B, H)

    Returns
    -------
    h_t, c_t : Tensor of shape (B, H)
    cache : LstmGatesCache

    Notes
    -----
    .. math::
        i_t = \sigma(\cdot), \quad f_t = \sigma(\cdot), \quad g_t = \tanh(\cdot), \quad o_t = \sigma(\cdot),
        \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh c_t

    Equations :eq:`eq-lstm-gates`, :eq:`eq-lstm-cell` and :eq:`eq-lstm-hidden`.
    """
    _four_gates("pre", pre.shape[1], c_prev.shape[1])
    i, f, g, o = pre.chunk(4, dim=1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c_t = f * c_prev + i * g
    tanh_c = torch.tanh(c_t)
    return o * tanh_c, c_t, LstmGatesCache(c_prev, i, f, g, o, tanh_c)


@contract(
    "eq-lstm-carousel",
    cache=Instance(LstmGatesCache),
    dh_t=Tensor(like=lambda cache: cache.c_prev),
    dc_t=Tensor(like=lambda cache: cache.c_prev),
)
def lstm_gates_backward(dh_t, dc_t, cache):
    """Gradients of :func:`lstm_gates_forward`: ``(dpre, dc_prev)``.

    The cell state reaches the loss twice, through ``c_t`` itself and through
    ``h_t = o * tanh(c_t)``; its gradient is the sum, and it flows back to ``c_prev``
    multiplied only by the forget gate (equation :eq:`eq-lstm-carousel`).
    """
    c_prev, i, f, g, o, tanh_c = cache
    dc = dc_t + dh_t * o * (1 - tanh_c**2)
    d_i, d_f, d_g, d_o = dc * g, dc * c_prev, dc * i, dh_t * tanh_c
    dpre = torch.cat(
        [
            d_i * i * (1 - i),
            d_f * f * (1 - f),
            d_g * (1 - g**2),
            d_o * o * (1 - o),
        ],
        dim=1,
    )
    return dpre, dc * f


@contract(
    "eq-rnn-cell",
    **RNN_WEIGHTS,
    x=Tensor("T", "B", "D"),
    h0=Tensor("B", "H", optional=True),
    reference="torch.nn.RNN",
)
def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """A whole sequence through one RNN layer.

    The input projection :math:`W_{ih} x_t + b_{ih}` does not depend on the hidden state,
    so it is one matrix product over all time steps; only :math:`W_{hh} h_{t-1}` has to
    wait for the previous step. The result equals :func:`rnn_cell_forward` applied step
    after step.

    Parameters
    ----------
    x : Tensor of shape (T, B, D)
    h0 : Tensor of shape (B, H), optional
        The initial hidden state; zeros when None.
    weight_ih, weight_hh, bias_ih, bias_hh : as in :func:`rnn_cell_forward`

    Returns
    -------
    out : Tensor of shape (T, B, H)
        Every hidden state (torch's ``output``).
    h_n : Tensor of shape (B, H)
    cache : RnnCache
    """
    _at_least_one_step(x)
    B, H = x.shape[1], weight_hh.shape[1]
    h = x.new_zeros(B, H) if h0 is None else h0
    projected = x @ weight_ih.T + bias_ih  # (T, B, H), all steps at once
    hs = [h]
    for input_t in projected:  # the rest of the cell, step after step
        hs.append(_rnn_step(input_t, hs[-1], weight_hh, bias_hh))
    out = torch.stack(hs[1:])
    h_prev = torch.stack(hs[:-1])
    return out, hs[-1], RnnCache(x, h_prev, out, weight_ih, weight_hh)


@contract(
    "eq-bptt",
    cache=Instance(RnnCache),
    dout=Tensor(like=lambda cache: cache.out),
    dh_n=Tensor(like=lambda cache: cache.out[-1], optional=True),
)
def rnn_backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`rnn_forward`. Implements :eq:`eq-bptt`.

    Parameters
    ----------
    dout : Tensor of shape (T, B, H)
        The loss gradient with respect to every output.
    dh_n : Tensor of shape (B, H), or None
        Extra gradient on the final hidden state.

    Returns
    -------
    tuple
        ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``; the weight gradients sum over time.
    """
    x, h_prev, out, weight_ih, weight_hh = cache
    dh = torch.zeros_like(dout[0]) if dh_n is None else dh_n
    da = torch.empty_like(out)  # gradient of every pre-activation
    for t in reversed(range(len(out))):
        da[t] = (dout[t] + dh) * (1 - out[t] ** 2)  # through tanh
        dh = da[t] @ weight_hh  # what step t sends back to step t - 1
    return (da @ weight_ih, dh, *_summed_over_time(da, x, h_prev))


@contract(
    "eq-lstm-gates",
    **LSTM_WEIGHTS,
    x=Tensor("T", "B", "D"),
    h0=Tensor("B", "H", optional=True),
    c0=Tensor("B", "H", optional=True),
    reference="torch.nn.LSTM",
)
def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
    """A whole sequence through one LSTM layer.

    As in :func:`rnn_forward`, the input projection of all steps is one matrix product;
    each step then adds :math:`W_{hh} h_{t-1}` and applies :func:`lstm_gates_forward`,
    the same step as in :func:`lstm_cell_forward`. Implements :eq:`eq-lstm-gates`.

    Parameters
    ----------
    x : Tensor of shape (T, B, D)
    h0, c0 : Tensor of shape (B, H), optional
        The initial states; zeros when None.
    weight_ih, weight_hh, bias_ih, bias_hh : as in :func:`lstm_cell_forward`

    Returns
    -------
    out : Tensor of shape (T, B, H)
    (h_n, c_n) : Tensor of shape (B, H) each
    cache : LstmCache
        Its field ``c`` (T, B, H) holds every cell state :math:`c_1 .. c_T`, which
        torch's module does not return.
    """
    _four_gates("weight_hh", weight_hh.shape[0], weight_hh.shape[1])
    _at_least_one_step(x)
    B, H = x.shape[1], weight_hh.shape[1]
    h = x.new_zeros(B, H) if h0 is None else h0
    c = x.new_zeros(B, H) if c0 is None else c0
    projected = x @ weight_ih.T + bias_ih  # (T, B, 4H), all steps at once
    hs, cs, gate_caches = [h], [], []
    for input_t in projected:  # the rest of the cell, step after step
        h, c, gates = _lstm_step(input_t, h, c, weight_hh, bias_hh)
        hs.append(h)
        cs.append(c)
        gate_caches.append(gates)
    out = torch.stack(hs[1:])
    h_prev = torch.stack(hs[:-1])
    cache = LstmCache(
        x, h_prev, gate_caches, weight_ih, weight_hh, torch.stack(cs)
    )
    return out, (h, c), cache


@contract(
    cache=Instance(LstmCache),
    dout=Tensor(like=lambda cache: cache.h_prev),
    dh_n=Tensor(like=lambda cache: cache.h_prev[0], optional=True),
    dc_n=Tensor(like=lambda cache: cache.h_prev[0], optional=True),
)
def lstm_backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Returns
    -------
    tuple
        ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``; the weight gradients sum over time.
    """
    x, h_prev, gate_caches, weight_ih, weight_hh, _ = cache
    dh = torch.zeros_like(dout[0]) if dh_n is None else dh_n
    dc = torch.zeros_like(dout[0]) if dc_n is None else dc_n
    dpre = dout.new_empty(*dout.shape[:2], weight_hh.shape[0])  # (T, B, 4H)
    for t in reversed(range(len(gate_caches))):
        dpre[t], dc = lstm_gates_backward.__wrapped__(
            dout[t] + dh, dc, gate_caches[t]
        )
        dh = dpre[t] @ weight_hh
    return (dpre @ weight_ih, dh, dc, *_summed_over_time(dpre, x, h_prev))


def _summed_over_time(dpre, x, h_prev):
    """``(dW_ih, dW_hh, db_ih, db_hh)``: each step's outer products, summed in one product."""
    dpre_flat = dpre.reshape(-1, dpre.shape[-1])  # (T*B, G*H)
    db = dpre_flat.sum(dim=0)
    return (
        dpre_flat.T @ x.reshape(-1, x.shape[-1]),
        dpre_flat.T @ h_prev.reshape(-1, h_prev.shape[-1]),
        db,
        db,
    )


@contract(input_size=Int(low=1), hidden_size=Int(low=1))
def rnn_parameters(input_size, hidden_size):
    """Parameters of one ``torch.nn.RNN`` layer: ``h (x + h) + 2h`` (two bias vectors)."""
    return hidden_size * (input_size + hidden_size) + 2 * hidden_size


@contract(
    input_size=Int(low=1),
    hidden_size=Int(low=1),
    convention=Choice("torch", "keras"),
)
def lstm_parameters(input_size, hidden_size, convention="torch"):
    r"""Parameters of one LSTM layer.

    Parameters
    ----------
    input_size, hidden_size : int
        :math:`x` and :math:`h`.
    convention : str, default "torch"
        ``"torch"`` keeps two bias vectors (``bias_ih`` and ``bias_hh``), ``"keras"`` one.

    Returns
    -------
    int
        torch: :math:`4h(x + h) + 8h`; Keras: :math:`4\,(h(h + x) + h)`.
    """
    x, h = input_size, hidden_size
    if convention == "torch":
        return 4 * h * (x + h) + 8 * h
    return 4 * (h * (h + x) + h)  # keras
