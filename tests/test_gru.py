"""nnbook.rnn's GRU against torch.nn.GRU, torch.nn.GRUCell and autograd, in float64."""

import pytest
import torch
from helpers import assert_all_close, randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import rnn
from nnbook.rnn import _gru
from nnbook.rnn._modules import GRUFunction

pytestmark = pytest.mark.rnn


def _params(module, suffix="_l0"):
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return [getattr(module, name + suffix) for name in names]


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
def test_gru_forward_and_bptt_match_torch(s):
    torch.manual_seed(s["seed"])
    module = torch.nn.GRU(s["D"], s["H"], dtype=torch.float64)
    x = randn(s["T"], s["B"], s["D"], seed=s["seed"]).requires_grad_()
    h0 = None
    if s["state"]:
        h0 = randn(1, s["B"], s["H"], seed=s["seed"] + 1).requires_grad_()
    out_t, h_t = module(x, h0)
    dout = randn(*out_t.shape, seed=s["seed"] + 2)
    dh_n = randn(s["B"], s["H"], seed=s["seed"] + 3)
    ((out_t * dout).sum() + (h_t[0] * dh_n).sum()).backward()

    weights = [p.detach() for p in _params(module)]
    h0_ours = None if h0 is None else h0[0].detach()
    out, h_n, cache = rnn.gru_forward(x.detach(), h0_ours, *weights)
    torch.testing.assert_close(out, out_t.detach(), rtol=0, atol=1e-10)
    torch.testing.assert_close(h_n, h_t[0].detach(), rtol=0, atol=1e-10)
    dx, dh0, *dw = rnn.gru_backward(dout, dh_n, cache)
    torch.testing.assert_close(dx, x.grad)
    if h0 is not None:
        torch.testing.assert_close(dh0, h0.grad[0])
    assert_all_close(dw, [p.grad for p in _params(module)])


@settings(max_examples=30, deadline=None)
@given(s=sizes)
def test_gru_cell_matches_torch_cell_and_autograd(s):
    torch.manual_seed(s["seed"])
    cell = torch.nn.GRUCell(s["D"], s["H"], dtype=torch.float64)
    x_t = randn(s["B"], s["D"], seed=s["seed"]).requires_grad_()
    h_prev = randn(s["B"], s["H"], seed=s["seed"] + 1).requires_grad_()
    h_t = cell(x_t, h_prev)
    dh_t = randn(s["B"], s["H"], seed=s["seed"] + 2)
    (h_t * dh_t).sum().backward()

    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    ours, cache = rnn.gru_cell_forward(
        x_t.detach(), h_prev.detach(), *(w.detach() for w in weights)
    )
    torch.testing.assert_close(ours, h_t.detach(), rtol=0, atol=1e-12)
    grads = rnn.gru_cell_backward(dh_t, cache)
    expected = [x_t.grad, h_prev.grad, *(w.grad for w in weights)]
    assert_all_close(grads, expected, rtol=1e-10, atol=1e-12)


def test_sequence_is_the_cell_step_after_step():
    x, h = randn(4, 2, 3, seed=1), randn(2, 5, seed=2)
    weights = [randn(15, 3, seed=3), randn(15, 5, seed=4), randn(15, seed=5), randn(15, seed=6)]
    out, h_n, _ = rnn.gru_forward(x, h, *weights)
    for t in range(4):
        h, _ = rnn.gru_cell_forward(x[t], h, *weights)
        torch.testing.assert_close(out[t], h, rtol=0, atol=1e-14)
    torch.testing.assert_close(h_n, h, rtol=0, atol=1e-14)


def test_backward_agrees_with_finite_differences():
    """gradcheck of a function whose gradient is the hand-written backward pass."""
    x = randn(3, 2, 2, seed=7).requires_grad_()
    h0 = randn(2, 3, seed=8).requires_grad_()
    weights = [
        randn(9, 2, seed=9).requires_grad_(),
        randn(9, 3, seed=10).requires_grad_(),
        randn(9, seed=11).requires_grad_(),
        randn(9, seed=12).requires_grad_(),
    ]

    def run(x, h0, *w):
        return GRUFunction.apply(x, h0, *w)

    assert torch.autograd.gradcheck(run, (x, h0, *weights))


def test_update_gate_near_one_passes_the_gradient_through():
    """With z = 1 the state is copied: dh_prev = dh_t, whatever W_hh is."""
    H = 3
    weights = [randn(3 * H, 2, seed=1), randn(3 * H, H, seed=2), randn(3 * H, scale=0.0),
               randn(3 * H, scale=0.0)]  # fmt: skip
    weights[2][H : 2 * H] = 40.0  # the z rows of r, z, n: sigmoid(40) = 1 in float64
    x, h0 = randn(6, 2, 2, seed=3), randn(2, H, seed=4)
    out, h_n, cache = rnn.gru_forward(x, h0, *weights)
    torch.testing.assert_close(h_n, h0, rtol=0, atol=1e-15)
    dh_n = randn(2, H, seed=5)
    dh0 = rnn.gru_backward(torch.zeros_like(out), dh_n, cache)[1]
    torch.testing.assert_close(dh0, dh_n, rtol=0, atol=1e-14)


configs = st.fixed_dictionaries(
    {
        "T": st.integers(1, 5),
        "B": st.integers(1, 3),
        "D": st.integers(1, 4),
        "H": st.integers(1, 4),
        "layers": st.integers(1, 3),
        "bidirectional": st.booleans(),
        "batch_first": st.booleans(),
        "state": st.booleans(),
        "seed": seeds,
    }
)


@settings(max_examples=30, deadline=None)
@given(c=configs)
def test_module_matches_torch_gru(c):
    kwargs = dict(num_layers=c["layers"], bidirectional=c["bidirectional"],
                  batch_first=c["batch_first"], dtype=torch.float64)  # fmt: skip
    torch.manual_seed(c["seed"])
    theirs = torch.nn.GRU(c["D"], c["H"], **kwargs)
    ours = rnn.GRU(c["D"], c["H"], **kwargs)
    ours.load_state_dict(theirs.state_dict())
    shape = (c["B"], c["T"], c["D"]) if c["batch_first"] else (c["T"], c["B"], c["D"])
    x = randn(*shape, seed=c["seed"])
    directions = 2 if c["bidirectional"] else 1
    h0 = randn(c["layers"] * directions, c["B"], c["H"], seed=c["seed"] + 1)
    results = []
    for module in (ours, theirs):
        xs = x.clone().requires_grad_()
        hx = h0.clone().requires_grad_() if c["state"] else None
        out, h_n = module(xs, hx)
        loss = (out * randn(*out.shape, seed=7)).sum() + (h_n * randn(*h_n.shape, seed=8)).sum()
        loss.backward()
        grads = (
            [xs.grad] + ([hx.grad] if c["state"] else []) + [p.grad for p in module.parameters()]
        )
        results.append(([out, h_n], grads))
    (outs, grads), (outs_t, grads_t) = results
    assert_all_close(outs, outs_t, rtol=0, atol=1e-10)
    assert_all_close(grads, grads_t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    ("bias", "dropout"),
    [(False, 0.0), (True, 0.5), (False, 0.5)],
    ids=["no-bias", "dropout", "both"],
)
def test_module_without_bias_and_with_dropout_in_eval_mode_matches_torch(bias, dropout):
    """bias=False drops both bias vectors; in eval mode dropout between layers is off."""
    kwargs = dict(num_layers=2, bidirectional=True, bias=bias, dropout=dropout, dtype=torch.float64)
    torch.manual_seed(3)
    theirs = torch.nn.GRU(3, 4, **kwargs).eval()
    ours = rnn.GRU(3, 4, **kwargs).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert any("bias" in name for name in ours.state_dict()) == bias
    ours.load_state_dict(theirs.state_dict())
    x, dy = randn(5, 2, 3, seed=4), randn(5, 2, 8, seed=5)
    results = []
    for module in (ours, theirs):
        xs = x.clone().requires_grad_()
        out, h_n = module(xs)
        (out * dy).sum().backward()
        results.append(([out, h_n], [xs.grad] + [p.grad for p in module.parameters()]))
    (outs, grads), (outs_t, grads_t) = results
    assert_all_close(outs, outs_t, rtol=0, atol=1e-10)
    assert_all_close(grads, grads_t, rtol=1e-9, atol=1e-10)


def test_two_layer_bidirectional_module_with_names_as_torch():
    theirs = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True)
    ours = rnn.GRU(3, 5, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 2, 3)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("x", "h"), [(1, 1), (10, 32), (64, 128)])
def test_parameter_count(x, h):
    assert rnn.gru_parameters(x, h) == sum(p.numel() for p in torch.nn.GRU(x, h).parameters())
    # three blocks against the LSTM's four, whatever the sizes
    assert 4 * rnn.gru_parameters(x, h) == 3 * rnn.lstm_parameters(x, h)


W = {
    "weight_ih": torch.zeros(6, 3),
    "weight_hh": torch.zeros(6, 2),
    "bias_ih": torch.zeros(6),
    "bias_hh": torch.zeros(6),
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
def test_bad_sequence(x, h0, message):
    with pytest.raises(ValueError, match=message):
        rnn.gru_forward(x, h0, *W.values())


def test_bad_weights_and_cell_inputs():
    with pytest.raises(
        ValueError, match=r"weight_hh must stack the three gates r, z, n: 3H = 6 for H = 2, got 8"
    ):
        rnn.gru_forward(torch.zeros(5, 4, 3), None, torch.zeros(8, 3), torch.zeros(8, 2),
                        torch.zeros(8), torch.zeros(8))  # fmt: skip
    with pytest.raises(ValueError, match=r"h_prev must have shape \(B=4, H=2\), got \(4, 3\)"):
        rnn.gru_cell_forward(torch.zeros(4, 3), torch.zeros(4, 3), *W.values())
    with pytest.raises(TypeError, match=r"x_t must be a torch.Tensor, got list"):
        rnn.gru_cell_forward([[0.0] * 3], torch.zeros(1, 2), *W.values())
    _, cache = rnn.gru_cell_forward(torch.zeros(4, 3), torch.zeros(4, 2), *W.values())
    with pytest.raises(
        ValueError,
        match=r"dh_t must have the shape of the forward pass's tensors, \(4, 2\), got \(4, 3\)",
    ):
        rnn.gru_cell_backward(torch.zeros(4, 3), cache)
    with pytest.raises(TypeError, match=r"cache must be"):
        rnn.gru_cell_backward(torch.zeros(4, 2), tuple(cache))
    _, _, seq_cache = rnn.gru_forward(torch.zeros(5, 4, 3), None, *W.values())
    with pytest.raises(
        ValueError,
        match=r"dout must have the shape of the forward pass's tensors, \(5, 4, 2\), got \(4, 4, 2\)",
    ):
        rnn.gru_backward(torch.zeros(4, 4, 2), None, seq_cache)


def test_bad_counts_and_module_input():
    with pytest.raises(ValueError, match=r"hidden_size must be in \[1, inf\], got 0"):
        rnn.gru_parameters(3, 0)
    with pytest.raises(TypeError, match=r"input_size must be an int, got float"):
        rnn.gru_parameters(1.5, 2)
    gru = rnn.GRU(3, 4, num_layers=2)
    with pytest.raises(
        ValueError, match=r"input must have shape \(\*, \*, F_in=3\), got \(5, 2, 7\)"
    ):
        gru(torch.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 2, 4\), got \(1, 2, 4\)"):
        gru(torch.zeros(5, 2, 3), torch.zeros(1, 2, 4))


def test_private_step_is_the_cell():
    """The step that gru_forward repeats runs the same lines as gru_cell_forward."""
    x_t, h = randn(2, 3, seed=1), randn(2, 2, seed=2)
    weights = [randn(6, 3, seed=3), randn(6, 2, seed=4), randn(6, seed=5), randn(6, seed=6)]
    h_t, cache = rnn.gru_cell_forward(x_t, h, *weights)
    step, gates = _gru._gru_step(x_t @ weights[0].T + weights[2], h, weights[1], weights[3])
    torch.testing.assert_close(h_t, step, rtol=0, atol=0)
    assert all(torch.equal(a, b) for a, b in zip(cache.gates, gates, strict=True))
