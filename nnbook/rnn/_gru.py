r"""The gated recurrent unit: one step, whole sequences, and backpropagation through time.

Shapes and parameters follow ``torch.nn.GRU``: sequences are ``(T, B, D)``, hidden
states ``(B, H)``, and the three gates r, z, n are stacked in that order in
``weight_ih (3H, D)``, ``weight_hh (3H, H)``, ``bias_ih`` and ``bias_hh (3H,)``, so
weights copy both ways with torch's module. No backward function calls autograd.

Unlike the LSTM's, the GRU's gates cannot be computed from one sum of the input's and
the hidden state's shares: the reset gate multiplies the hidden share of the candidate
:math:`W_{hn} h_{t-1} + b_{hn}` alone. Every step therefore keeps both shares apart.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook.contract import Instance, Int, Tensor, contract
from nnbook.rnn._recurrent import _at_least_one_step

__all__ = [
    "gru_backward",
    "gru_cell_backward",
    "gru_cell_forward",
    "gru_forward",
    "gru_parameters",
]

#: The GRU's weights: the three gates r, z, n stacked along the first dimension.
GRU_WEIGHTS = dict(
    weight_ih=Tensor("3H", "D"),
    weight_hh=Tensor("3H", "H"),
    bias_ih=Tensor("3H"),
    bias_hh=Tensor("3H"),
)


class GruGates(NamedTuple):
    """The gates of one step, each (B, H), and the hidden share of the candidate.

    ``hn`` is :math:`W_{hn} h_{t-1} + b_{hn}`, which the reset gate multiplies.
    """

    r: torch.Tensor
    z: torch.Tensor
    n: torch.Tensor
    hn: torch.Tensor


class GruCellCache(NamedTuple):
    """What :func:`gru_cell_backward` needs from :func:`gru_cell_forward`."""

    x_t: torch.Tensor
    h_prev: torch.Tensor
    gates: GruGates
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


class GruCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`.

    ``h_prev`` (T, B, H) holds the state each step read, :math:`h_0 .. h_{T-1}`, and
    ``gates`` the gates of every step, each stacked over time to (T, B, H).
    """

    x: torch.Tensor
    h_prev: torch.Tensor
    gates: GruGates
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor


def _three_gates(name, stacked, H):
    """Refuse ``stacked`` unless it holds the three gates' 3H rows."""
    if stacked != 3 * H:
        raise ValueError(
            f"{name} must stack the three gates r, z, n: 3H = {3 * H} "
            f"for H = {H}, got {stacked}"
        )


@contract(
    "eq-rnn-gru",
    **GRU_WEIGHTS,
    x_t=Tensor("B", "D"),
    h_prev=Tensor("B", "H"),
    reference="torch.nn.GRUCell",
)
def gru_cell_forward(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One GRU step, gates in torch's order r, z, n. Implements :eq:`eq-rnn-gru`.

    Parameters
    ----------
    x_t : Tensor of shape (B, D)
    h_prev : Tensor of shape (B, H)
    weight_ih : Tensor of shape (3H, D)
    weight_hh : Tensor of shape (3H, H)
    bias_ih, bias_hh : Tensor of shape (3H,)

    Returns
    -------
    h_t : Tensor of shape (B, H)
    cache : GruCellCache

    Notes
    -----
    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh\bigl(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\bigr) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    :func:`gru_forward` computes the input's share :math:`W_{ih} x_t + b_{ih}` of
    every step with one product and runs the same lines from there on.
    """
    _three_gates("weight_hh", weight_hh.shape[0], weight_hh.shape[1])
    ir, iz, i_n = (x_t @ weight_ih.T + bias_ih).chunk(3, dim=1)  # input share
    hr, hz, hn = (h_prev @ weight_hh.T + bias_hh).chunk(3, dim=1)  # hidden
    r = torch.sigmoid(ir + hr)  # reset gate
    z = torch.sigmoid(iz + hz)  # update gate: how much of h_prev to keep
    n = torch.tanh(i_n + r * hn)  # candidate: r scales the hidden share only
    h_t = (1 - z) * n + z * h_prev
    gates = GruGates(r, z, n, hn)
    return h_t, GruCellCache(x_t, h_prev, gates, weight_ih, weight_hh)


def _gru_step(input_t, h_prev, weight_hh, bias_hh):
    r""":eq:`eq-rnn-gru` given the input's share :math:`W_{ih} x_t + b_{ih}` (B, 3H).

    The lines of :func:`gru_cell_forward` after its input product; the tests check
    that both agree with torch.
    """
    ir, iz, i_n = input_t.chunk(3, dim=1)
    hr, hz, hn = (h_prev @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(ir + hr)  # reset gate
    z = torch.sigmoid(iz + hz)  # update gate: how much of h_prev to keep
    n = torch.tanh(i_n + r * hn)  # candidate state
    h_t = (1 - z) * n + z * h_prev
    return h_t, GruGates(r, z, n, hn)


def _gru_step_backward(dh_t, h_prev, gates):
    """``(d_input, d_hidden, dh_prev)``: the gradients of the two shares (B, 3H) each.

    The shares are ``W_ih x_t + b_ih`` and ``W_hh h_prev + b_hh``; they differ only in
    the candidate's block, which the reset gate scales on the hidden side.
    """
    r, z, n, hn = gates
    dn = dh_t * (1 - z)
    dz = dh_t * (h_prev - n)
    da_n = dn * (1 - n**2)  # through tanh
    da_r = da_n * hn * r * (1 - r)  # through r * hn, then the sigmoid
    da_z = dz * z * (1 - z)
    d_input = torch.cat([da_r, da_z, da_n], dim=1)
    d_hidden = torch.cat([da_r, da_z, da_n * r], dim=1)
    return d_input, d_hidden, dh_t * z  # z * h_prev: the direct path


@contract(
    cache=Instance(GruCellCache),
    dh_t=Tensor(like=lambda cache: cache.h_prev),
)
def gru_cell_backward(dh_t, cache):
    """Gradients of :func:`gru_cell_forward`.

    The state reaches :math:`h_t` along two paths: directly, scaled by the update gate
    :math:`z_t`, and through the gates and the candidate, which pass through
    :math:`W_{hh}`.

    Returns
    -------
    tuple
        ``(dx_t, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``.
    """
    x_t, h_prev, gates, weight_ih, weight_hh = cache
    d_input, d_hidden, dh_direct = _gru_step_backward(dh_t, h_prev, gates)
    return (
        d_input @ weight_ih,
        dh_direct + d_hidden @ weight_hh,
        d_input.T @ x_t,
        d_hidden.T @ h_prev,
        d_input.sum(dim=0),
        d_hidden.sum(dim=0),
    )


@contract(
    "eq-rnn-gru",
    **GRU_WEIGHTS,
    x=Tensor("T", "B", "D"),
    h0=Tensor("B", "H", optional=True),
    reference="torch.nn.GRU",
)
def gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """A whole sequence through one GRU layer. Implements :eq:`eq-rnn-gru`.

    As for the RNN and the LSTM, the input projection of all steps is one matrix
    product; each step then runs the same step function as :func:`gru_cell_forward`.

    Parameters
    ----------
    x : Tensor of shape (T, B, D)
    h0 : Tensor of shape (B, H), optional
        The initial hidden state; zeros when None.
    weight_ih, weight_hh, bias_ih, bias_hh : as in :func:`gru_cell_forward`

    Returns
    -------
    out : Tensor of shape (T, B, H)
        Every hidden state (torch's ``output``).
    h_n : Tensor of shape (B, H)
    cache : GruCache
        Its ``gates`` hold ``r``, ``z``, ``n`` and ``hn`` of every step, (T, B, H) each.
    """
    _three_gates("weight_hh", weight_hh.shape[0], weight_hh.shape[1])
    _at_least_one_step(x)
    B, H = x.shape[1], weight_hh.shape[1]
    h = x.new_zeros(B, H) if h0 is None else h0
    projected = x @ weight_ih.T + bias_ih  # (T, B, 3H), all steps at once
    hs, steps = [h], []
    for input_t in projected:  # the rest of the cell, step after step
        h, gates = _gru_step(input_t, h, weight_hh, bias_hh)
        hs.append(h)
        steps.append(gates)
    out = torch.stack(hs[1:])
    gates = GruGates(*(torch.stack(g) for g in zip(*steps, strict=True)))
    cache = GruCache(x, torch.stack(hs[:-1]), gates, weight_ih, weight_hh)
    return out, h, cache


@contract(
    cache=Instance(GruCache),
    dout=Tensor(like=lambda cache: cache.h_prev),
    dh_n=Tensor(like=lambda cache: cache.h_prev[0], optional=True),
)
def gru_backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`gru_forward`.

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
    x, h_prev, gates, weight_ih, weight_hh = cache
    dh = torch.zeros_like(dout[0]) if dh_n is None else dh_n
    d_input = dout.new_empty(*dout.shape[:2], weight_hh.shape[0])  # (T, B, 3H)
    d_hidden = torch.empty_like(d_input)
    for t in reversed(range(len(x))):
        step = GruGates(*(g[t] for g in gates))
        d_input[t], d_hidden[t], dh_direct = _gru_step_backward(
            dout[t] + dh, h_prev[t], step
        )
        # what step t sends back to step t - 1: the direct path, then the gates
        dh = dh_direct + d_hidden[t] @ weight_hh
    d_in = d_input.reshape(-1, d_input.shape[-1])  # (T*B, 3H)
    d_hid = d_hidden.reshape(-1, d_hidden.shape[-1])
    return (
        d_input @ weight_ih,
        dh,
        d_in.T @ x.reshape(-1, x.shape[-1]),
        d_hid.T @ h_prev.reshape(-1, h_prev.shape[-1]),
        d_in.sum(dim=0),
        d_hid.sum(dim=0),
    )


@contract(input_size=Int(low=1), hidden_size=Int(low=1))
def gru_parameters(input_size, hidden_size):
    r"""Parameters of one ``torch.nn.GRU`` layer.

    Parameters
    ----------
    input_size, hidden_size : int
        :math:`x` and :math:`h`.

    Returns
    -------
    int
        :math:`3h(x + h) + 6h`: three blocks of weights and two bias vectors each,
        against the LSTM's four (:func:`nnbook.rnn.lstm_parameters`).
    """
    x, h = input_size, hidden_size
    return 3 * h * (x + h) + 6 * h
