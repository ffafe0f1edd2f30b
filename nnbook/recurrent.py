r"""Recurrent networks: the RNN and LSTM cells, whole sequences, and backpropagation through time.

Shapes and parameters follow ``torch.nn.RNN`` and ``torch.nn.LSTM``: sequences are
``(T, B, D)`` (time, batch, features), hidden states ``(B, H)``, and the weights are
``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih`` and ``bias_hh (G*H,)``, with
``G = 1`` for the RNN and ``G = 4`` for the LSTM, whose gates come in the order
``i, f, g, o``. Weights therefore copy both ways with torch's modules. No backward
function calls autograd.
"""

from __future__ import annotations

import torch

from nnbook import _validate as v

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


def rnn_cell_forward(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One step of the plain (Elman) RNN, with tanh.

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
    cache : tuple

    Notes
    -----
    .. math:: h_t = \tanh\bigl(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\bigr)

    Equation :eq:`eq-rnn-cell`.
    """
    h_t = torch.tanh(
        x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    )
    return h_t, (x_t, h_prev, h_t, weight_ih, weight_hh)


def rnn_cell_backward(dh_t, cache):
    """Gradients of :func:`rnn_cell_forward`: ``(dx_t, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``."""
    x_t, h_prev, h_t, weight_ih, weight_hh = cache
    da = dh_t * (1 - h_t**2)  # through tanh
    db = da.sum(dim=0)
    return da @ weight_ih, da @ weight_hh, da.T @ x_t, da.T @ h_prev, db, db


def lstm_cell_forward(
    x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh
):
    r"""One LSTM step, gates in torch's order i, f, g, o.

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
    cache : tuple

    Notes
    -----
    The pre-activations of all four gates come from one matrix product each; the gates
    themselves are :func:`lstm_gates_forward`, equations :eq:`eq-lstm-gates` to
    :eq:`eq-lstm-hidden`.
    """
    pre = (
        x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    )  # (B, 4H)
    h_t, c_t, gates = lstm_gates_forward(pre, c_prev)
    return h_t, c_t, (x_t, h_prev, gates, weight_ih, weight_hh)


def lstm_cell_backward(dh_t, dc_t, cache):
    """Gradients of :func:`lstm_cell_forward` from ``dh_t`` and the cell gradient ``dc_t``.

    Returns
    -------
    tuple
        ``(dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    x_t, h_prev, gates, weight_ih, weight_hh = cache
    dpre, dc_prev = lstm_gates_backward(dh_t, dc_t, gates)
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
    cache : tuple

    Notes
    -----
    .. math::
        i_t = \sigma(\cdot), \quad f_t = \sigma(\cdot), \quad g_t = \tanh(\cdot), \quad o_t = \sigma(\cdot),
        \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh c_t

    Equations :eq:`eq-lstm-gates`, :eq:`eq-lstm-cell` and :eq:`eq-lstm-hidden`.
    """
    i, f, _, o = torch.sigmoid(pre).chunk(
        4, dim=1
    )  # the sigmoid of eq-fnn-sigmoid, one fused kernel
    g = torch.tanh(pre.chunk(4, dim=1)[2])
    c_t = f * c_prev + i * g
    tanh_c = torch.tanh(c_t)
    return o * tanh_c, c_t, (c_prev, i, f, g, o, tanh_c)


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


def _sequence(x, state, weight_ih, weight_hh, bias_ih, bias_hh, gates):
    """Validate a sequence and its weights; return (T, B, D, H)."""
    x = v.tensor("x", x)
    if x.ndim != 3:
        raise ValueError(
            f"x must be 3-D (T, B, D), got {x.ndim}-D: {tuple(x.shape)}"
        )
    T, B, D = x.shape
    if T == 0:
        raise ValueError(
            f"x must hold at least one time step, got shape {tuple(x.shape)}"
        )
    dims = {"dtype": x.dtype}
    weight_hh = v.tensor("weight_hh", weight_hh, shape=("GH", "H"), dims=dims)
    H = weight_hh.shape[1]
    if weight_hh.shape[0] != gates * H:
        raise ValueError(
            f"weight_hh must have shape ({gates}*H, H), got {tuple(weight_hh.shape)}"
        )
    weight_ih = v.tensor(
        "weight_ih", weight_ih, shape=(gates * H, None), dims=dims
    )
    if weight_ih.shape[1] != D:
        raise ValueError(
            f"x has {D} features per step (shape {tuple(x.shape)}), but weight_ih expects "
            f"{weight_ih.shape[1]} (shape {tuple(weight_ih.shape)})"
        )
    v.tensor("bias_ih", bias_ih, shape=(gates * H,), dims=dims)
    v.tensor("bias_hh", bias_hh, shape=(gates * H,), dims=dims)
    for name, s in state.items():
        if s is not None:
            v.tensor(name, s, shape=(B, H), dims=dims)
    return T, B, D, H


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
    cache : tuple
    """
    T, B, _, H = _sequence(
        x, {"h0": h0}, weight_ih, weight_hh, bias_ih, bias_hh, gates=1
    )
    h = x.new_zeros(B, H) if h0 is None else h0
    projected = x @ weight_ih.T + bias_ih  # (T, B, H), all steps at once
    hs = [h]
    for t in range(T):
        hs.append(
            torch.tanh(projected[t] + hs[-1] @ weight_hh.T + bias_hh)
        )  # eq-rnn-cell
    out = torch.stack(hs[1:])
    return out, hs[-1], (x, torch.stack(hs[:-1]), out, weight_ih, weight_hh)


def rnn_backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`rnn_forward` (equation :eq:`eq-bptt`).

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


def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
    """A whole sequence through one LSTM layer.

    As in :func:`rnn_forward`, the input projection of all steps is one matrix product;
    each step then adds :math:`W_{hh} h_{t-1}` and applies :func:`lstm_gates_forward`.

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
    cache : tuple
    """
    T, B, _, H = _sequence(
        x, {"h0": h0, "c0": c0}, weight_ih, weight_hh, bias_ih, bias_hh, gates=4
    )
    h = x.new_zeros(B, H) if h0 is None else h0
    c = x.new_zeros(B, H) if c0 is None else c0
    projected = x @ weight_ih.T + bias_ih  # (T, B, 4H), all steps at once
    hs, gate_caches = [h], []
    for t in range(T):
        h, c, gates = lstm_gates_forward(
            projected[t] + h @ weight_hh.T + bias_hh, c
        )
        hs.append(h)
        gate_caches.append(gates)
    out = torch.stack(hs[1:])
    return (
        out,
        (h, c),
        (x, torch.stack(hs[:-1]), gate_caches, weight_ih, weight_hh),
    )


def lstm_backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Returns
    -------
    tuple
        ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``; the weight gradients sum over time.
    """
    x, h_prev, gate_caches, weight_ih, weight_hh = cache
    dh = torch.zeros_like(dout[0]) if dh_n is None else dh_n
    dc = torch.zeros_like(dout[0]) if dc_n is None else dc_n
    dpre = dout.new_empty(*dout.shape[:2], weight_hh.shape[0])  # (T, B, 4H)
    for t in reversed(range(len(gate_caches))):
        dpre[t], dc = lstm_gates_backward(dout[t] + dh, dc, gate_caches[t])
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


def rnn_parameters(input_size, hidden_size):
    """Parameters of one ``torch.nn.RNN`` layer: ``h (x + h) + 2h`` (two bias vectors)."""
    v.number("input_size", input_size, low=1, integer=True)
    v.number("hidden_size", hidden_size, low=1, integer=True)
    return hidden_size * (input_size + hidden_size) + 2 * hidden_size


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
    v.number("input_size", input_size, low=1, integer=True)
    v.number("hidden_size", hidden_size, low=1, integer=True)
    x, h = input_size, hidden_size
    if convention == "torch":
        return 4 * h * (x + h) + 8 * h
    if convention == "keras":
        return 4 * (h * (h + x) + h)
    raise ValueError(
        f"convention must be 'torch' or 'keras', got {convention!r}"
    )
