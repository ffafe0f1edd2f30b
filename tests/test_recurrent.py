"""nnbook.rnn against torch.nn.RNN / torch.nn.LSTM and autograd, in float64."""

import pytest
import torch
from helpers import assert_all_close, randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.rnn import _recurrent as rec

pytestmark = pytest.mark.rnn


def _params(module):
    return [module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0]


def _weights(module):
    return [p.detach() for p in _params(module)]


sizes = st.fixed_dictionaries(
    {
        "T": st.integers(1, 6),
        "B": st.integers(1, 4),
        "D": st.integers(1, 5),
        "H": st.integers(1, 5),
        "seed": seeds,
        "state": st.booleans(),
    }
)


@settings(max_examples=30, deadline=None)
@given(s=sizes)
def test_rnn_forward_and_bptt_match_torch(s):
    torch.manual_seed(s["seed"])
    module = torch.nn.RNN(s["D"], s["H"], dtype=torch.float64)
    x = randn(s["T"], s["B"], s["D"], seed=s["seed"]).requires_grad_()
    h0 = randn(1, s["B"], s["H"], seed=s["seed"] + 1).requires_grad_() if s["state"] else None
    out_t, h_t = module(x, h0)
    dout, dh_n = (
        randn(*out_t.shape, seed=s["seed"] + 2),
        randn(s["B"], s["H"], seed=s["seed"] + 3),
    )
    (out_t * dout).sum().add((h_t[0] * dh_n).sum()).backward()

    out, h_n, cache = rec.rnn_forward(
        x.detach(), None if h0 is None else h0[0].detach(), *_weights(module)
    )
    torch.testing.assert_close(out, out_t.detach(), rtol=0, atol=1e-10)
    torch.testing.assert_close(h_n, h_t[0].detach(), rtol=0, atol=1e-10)
    dx, dh0, *dw = rec.rnn_backward(dout, dh_n, cache)
    torch.testing.assert_close(dx, x.grad)
    if h0 is not None:
        torch.testing.assert_close(dh0, h0.grad[0])
    assert_all_close(dw, [p.grad for p in _params(module)])


@settings(max_examples=30, deadline=None)
@given(s=sizes)
def test_lstm_forward_and_bptt_match_torch(s):
    torch.manual_seed(s["seed"])
    module = torch.nn.LSTM(s["D"], s["H"], dtype=torch.float64)
    x = randn(s["T"], s["B"], s["D"], seed=s["seed"]).requires_grad_()
    state = None
    if s["state"]:
        state = (randn(1, s["B"], s["H"], seed=s["seed"] + 1).requires_grad_(),
                 randn(1, s["B"], s["H"], seed=s["seed"] + 2).requires_grad_())  # fmt: skip
    out_t, (h_t, c_t) = module(x, state)
    dout = randn(*out_t.shape, seed=s["seed"] + 3)
    dh_n, dc_n = (
        randn(s["B"], s["H"], seed=s["seed"] + 4),
        randn(s["B"], s["H"], seed=s["seed"] + 5),
    )
    ((out_t * dout).sum() + (h_t[0] * dh_n).sum() + (c_t[0] * dc_n).sum()).backward()

    h0, c0 = (None, None) if state is None else (state[0][0].detach(), state[1][0].detach())
    out, (h_n, c_n), cache = rec.lstm_forward(x.detach(), h0, c0, *_weights(module))
    torch.testing.assert_close(out, out_t.detach(), rtol=0, atol=1e-10)
    torch.testing.assert_close(c_n, c_t[0].detach(), rtol=0, atol=1e-10)
    dx, dh0, dc0, *dw = rec.lstm_backward(dout, dh_n, dc_n, cache)
    torch.testing.assert_close(dx, x.grad)
    if state is not None:
        torch.testing.assert_close(dh0, state[0].grad[0])
        torch.testing.assert_close(dc0, state[1].grad[0])
    assert_all_close(dw, [p.grad for p in _params(module)])


def test_lstm_cache_holds_every_cell_state():
    """cache.c is c_1 .. c_T, torch's c_n at every prefix of the sequence."""
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, dtype=torch.float64)
    x = randn(6, 2, 3, seed=1)
    state = (randn(1, 2, 4, seed=2), randn(1, 2, 4, seed=3))
    out, (h_n, c_n), cache = rec.lstm_forward(x, state[0][0], state[1][0], *_weights(module))
    assert cache.c.shape == (6, 2, 4)
    for t in range(6):
        c_t = module(x[: t + 1], state)[1][1][0].detach()
        torch.testing.assert_close(cache.c[t], c_t, rtol=0, atol=1e-12)
    assert torch.equal(cache.c[-1], c_n)
    # the fields before it keep their places: the gates of step t read c_{t-1}
    assert torch.equal(cache[2][1].c_prev, cache.c[0])


def test_lstm_gates_squash_each_block_with_its_own_function():
    """sigmoid on i, f, o and tanh on g, as torch.lstm_cell with identity weights."""
    B, H = 3, 2
    pre = randn(B, 4 * H, seed=4, scale=3.0)
    c_prev = randn(B, H, seed=5)
    h_t, c_t, gates = rec.lstm_gates_forward(pre, c_prev)
    i, f, g, o = pre.chunk(4, dim=1)
    torch.testing.assert_close(gates.i, torch.sigmoid(i), rtol=0, atol=1e-15)
    torch.testing.assert_close(gates.f, torch.sigmoid(f), rtol=0, atol=1e-15)
    torch.testing.assert_close(gates.g, torch.tanh(g), rtol=0, atol=1e-15)
    torch.testing.assert_close(gates.o, torch.sigmoid(o), rtol=0, atol=1e-15)
    eye = torch.eye(4 * H, dtype=pre.dtype)
    zero = torch.zeros(4 * H, dtype=pre.dtype)
    h_ref, c_ref = torch.lstm_cell(
        pre, (torch.zeros_like(c_prev), c_prev), eye, torch.zeros(4 * H, H, dtype=pre.dtype),
        zero, zero,
    )  # fmt: skip
    torch.testing.assert_close(h_t, h_ref, rtol=0, atol=1e-14)
    torch.testing.assert_close(c_t, c_ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("x", "h"), [(1, 1), (10, 32), (64, 128)])
def test_parameter_counts(x, h):
    assert rec.lstm_parameters(x, h) == sum(p.numel() for p in torch.nn.LSTM(x, h).parameters())
    assert rec.rnn_parameters(x, h) == sum(p.numel() for p in torch.nn.RNN(x, h).parameters())
    assert (
        rec.lstm_parameters(x, h, "keras") == rec.lstm_parameters(x, h) - 4 * h
    )  # one bias vector


W = {
    "weight_ih": torch.zeros(8, 3),
    "weight_hh": torch.zeros(8, 2),
    "bias_ih": torch.zeros(8),
    "bias_hh": torch.zeros(8),
}


@pytest.mark.parametrize(
    ("x", "h0", "message"),
    [
        (torch.zeros(5, 3), None, r"x must have 3 dimensions \(T, B, D=3\), got 2: \(5, 3\)"),
        (torch.zeros(5, 4, 7), None, r"x must have shape \(T, B, D=3\), got \(5, 4, 7\)"),
        (
            torch.zeros(5, 4, 3),
            torch.zeros(3, 2),
            r"h0 must have shape \(B=4, H=2\), got \(3, 2\)",
        ),
        (torch.zeros(0, 4, 3), None, r"x must hold at least one time step, got shape \(0, 4, 3\)"),
    ],
)
def test_bad_input(x, h0, message):
    with pytest.raises(ValueError, match=message):
        rec.lstm_forward(x, h0, None, *W.values())


def test_bad_counts():
    with pytest.raises(ValueError, match=r"convention must be one of torch, keras, got 'tf'"):
        rec.lstm_parameters(3, 4, "tf")
