"""nnbook.rnn.RNN/LSTM/GRU/TimeDistributed against torch.nn, checkpoints, and the sequence tasks."""

import pytest
import torch
from helpers import assert_all_close, randn, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import checkpoint, data, rnn

pytestmark = pytest.mark.rnn

configs = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["RNN", "LSTM", "GRU"]),
        "T": st.integers(1, 5),
        "B": st.integers(1, 3),
        "D": st.integers(1, 4),
        "H": st.integers(1, 4),
        "layers": st.integers(1, 2),
        "bidirectional": st.booleans(),
        "batch_first": st.booleans(),
        "state": st.booleans(),
        "seed": seeds,
    }
)


def _pair(c):
    """A torch.nn module and nnbook's twin holding the same weights."""
    kwargs = dict(num_layers=c["layers"], bidirectional=c["bidirectional"], batch_first=c["batch_first"],
                  dtype=torch.float64)  # fmt: skip
    torch.manual_seed(c["seed"])
    theirs = getattr(torch.nn, c["kind"])(c["D"], c["H"], **kwargs)
    ours = getattr(rnn, c["kind"])(c["D"], c["H"], **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@settings(max_examples=40, deadline=None)
@given(c=configs)
def test_modules_match_torch_forward_and_backward(c):
    ours, theirs = _pair(c)
    shape = (c["B"], c["T"], c["D"]) if c["batch_first"] else (c["T"], c["B"], c["D"])
    x = randn(*shape, seed=c["seed"])
    n_states = 2 if c["kind"] == "LSTM" else 1
    directions = 2 if c["bidirectional"] else 1
    states = [
        randn(c["layers"] * directions, c["B"], c["H"], seed=c["seed"] + k + 1)
        for k in range(n_states)
    ]
    results = []
    for module in (ours, theirs):
        xs = x.clone().requires_grad_()
        hx = [s.clone().requires_grad_() for s in states] if c["state"] else None
        out, final = module(xs, None if hx is None else (tuple(hx) if n_states == 2 else hx[0]))
        finals = final if n_states == 2 else (final,)
        loss = (out * randn(*out.shape, seed=7)).sum() + sum(
            (f * randn(*f.shape, seed=8)).sum() for f in finals
        )
        loss.backward()
        grads = (
            [xs.grad] + ([h.grad for h in hx] if hx else []) + [p.grad for p in module.parameters()]
        )
        results.append(([out, *finals], grads))
    (outs, grads), (outs_t, grads_t) = results
    assert_all_close(outs, outs_t, rtol=0, atol=1e-10)
    assert_all_close(grads, grads_t, rtol=1e-9, atol=1e-10)


def test_state_dict_copies_both_ways():
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    ours = rnn.LSTM(3, 5, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 2, 3)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=1e-6, atol=1e-6)


def test_module_bad_input():
    lstm = rnn.LSTM(3, 4, num_layers=2)
    with pytest.raises(
        ValueError, match=r"input must have 3 dimensions \(\*, \*, F_in=3\), got 2: \(5, 3\)"
    ):
        lstm(torch.zeros(5, 3))
    with pytest.raises(
        ValueError,
        match=r"input must have shape \(\*, \*, F_in=3\), got \(5, 2, 7\)",
    ):
        lstm(torch.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(
        ValueError, match=r"input must hold at least one time step, got shape \(0, 2, 3\)"
    ):
        lstm(torch.zeros(0, 2, 3))
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh', got 'relu'"):
        rnn.RNN(3, 4, nonlinearity="relu")
    with pytest.raises(ValueError, match=r"proj_size must be 0"):
        rnn.LSTM(3, 4, proj_size=2)


@pytest.mark.parametrize("batch_first", [False, True])
def test_time_distributed_shares_one_layer_across_steps(batch_first):
    dense = torch.nn.Linear(5, 2, dtype=torch.float64)
    wrapped = rnn.TimeDistributed(dense)
    x = randn(7, 3, 5)
    y = wrapped(x)
    assert y.shape == (7, 3, 2)
    for t in range(7):
        torch.testing.assert_close(y[t], dense(x[t]))
    assert sum(p.numel() for p in wrapped.parameters()) == 5 * 2 + 2
    with pytest.raises(
        ValueError, match=r"x must have at least 3 dimensions \(T, B, F, \.\.\.\), got \(3, 5\)"
    ):
        wrapped(x[0])


@pytest.mark.parametrize("batch_first", [False, True])
def test_linear_needs_no_time_distributed(batch_first):
    """torch's Linear maps over every leading dimension, so over the time steps too."""
    dense = torch.nn.Linear(5, 2, dtype=torch.float64)
    x = randn(3, 7, 5) if batch_first else randn(7, 3, 5)
    torch.testing.assert_close(dense(x), rnn.TimeDistributed(dense)(x), rtol=0, atol=1e-14)


def test_time_distributed_is_for_modules_that_take_only_n_by_features():
    """BatchNorm1d reads (T, B, H) as (N, C, L); wrapped, it sees (T * B, H)."""
    norm = torch.nn.BatchNorm1d(4, dtype=torch.float64)
    x = randn(6, 3, 4)
    with pytest.raises(RuntimeError):
        norm(x)  # 3 channels where it expects 4
    y = rnn.TimeDistributed(norm)(x)
    flat = x.reshape(-1, 4)
    expected = (flat - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + norm.eps)
    torch.testing.assert_close(y, expected.reshape(6, 3, 4))


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = rnn.LSTM(2, 3, num_layers=2)
    path = checkpoint.save(model, tmp_path / "lstm.pt")
    fresh = checkpoint.load(rnn.LSTM(2, 3, num_layers=2), path)
    x = torch.randn(6, 4, 2)
    assert torch.equal(model(x)[0], fresh(x)[0])


def test_checkpoint_errors(tmp_path):
    path = checkpoint.save(torch.nn.LSTM(2, 3), tmp_path / "lstm.pt")
    blob = path.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "corrupted.pt").write_bytes(blob[:100] + b"\x00" * 200 + blob[300:])
    (tmp_path / "text.pt").write_bytes(b"not a checkpoint")
    for name in ("truncated", "corrupted", "text"):
        with pytest.raises(
            checkpoint.CheckpointError,
            match=rf"{name}.pt' \(\d+ bytes\) is not a readable checkpoint",
        ):
            checkpoint.load(torch.nn.LSTM(2, 3), tmp_path / f"{name}.pt")
    with pytest.raises(
        checkpoint.CheckpointError, match=r"does not fit LSTM: different shapes: weight_ih_l0"
    ):
        checkpoint.load(torch.nn.LSTM(2, 4), path)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at"):
        checkpoint.load(torch.nn.LSTM(2, 3), tmp_path / "missing.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"holds a list, not a state_dict"):
        checkpoint.load(torch.nn.LSTM(2, 3), tmp_path / "list.pt")
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got dict"):
        checkpoint.save({}, path)


def test_counter_task():
    task = data.counter_task([1, 3])
    assert task.decode(task.inputs[1]) == "aaaXbbb"
    assert task.decode(task.targets[1]) == "aaXbbb."
    assert task.decode(task.inputs[0][task.mask[0]]) == "Xb"
    assert task.mask.sum().item() == 2 + 4
    assert task.one_hot().shape == (2, 7, 4)


def test_memory_and_echo_tasks():
    task = data.memory_task([2, 5])
    assert [task.decode(task.targets[n][task.mask[n]]) for n in range(4)] == ["a", "a", "b", "b"]
    assert task.decode(task.inputs[3]) == "BxxxxxY"
    echo = data.echo_task()
    assert echo.decode(echo.inputs[0]) + echo.decode(echo.targets[0][-1:]) == "30123"
    assert echo.decode(echo.targets[1]) == "0124"


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([], ValueError, r"counts must hold at least one int, got \[\]"),
        ([0], ValueError, r"counts\[0\] must be in \[1, inf\], got 0"),
        ([1, 1.5], TypeError, r"counts\[1\] must be an int, got float"),
        ([True], TypeError, r"counts\[0\] must be an int, got bool"),
        (3, TypeError, r"counts must be a sequence of ints, got int"),
    ],
)
def test_tasks_reject_bad_lengths(bad, error, message):
    with pytest.raises(error, match=message):
        data.counter_task(bad)


def test_series_and_windows():
    s = data.sunspots()
    assert s.shape == (309,) and s[0] == 5.0
    assert data.co2().shape == (526,) and not data.co2().isnan().any()
    X, y = data.windows(torch.arange(6.0), 2)
    assert X.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]] and y.tolist() == [2, 3, 4, 5]
    with pytest.raises(
        ValueError, match=r"length must be an int in \[1, 5\] for a series of 6 values, got 6"
    ):
        data.windows(torch.arange(6.0), 6)
    with pytest.raises(ValueError, match=r"series must have 1 dimensions \(n,\), got 2: \(2, 3\)"):
        data.windows(torch.zeros(2, 3), 1)


def test_mnist1d_is_generated_offline():
    split = data.mnist1d()
    assert split.X_train.shape == (4000, 40) and split.X_test.shape == (1000, 40)
    assert set(split.y_train.tolist()) == set(range(10))
