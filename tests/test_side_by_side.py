"""Networks trained side by side train exactly as they would alone."""

import pytest
import torch
import torch.nn.functional as F

import nnbook
from nnbook import data, rnn

F64 = torch.float64
CELLS = [rnn.RNN, rnn.LSTM, rnn.GRU]
GATES = {rnn.RNN: 1, rnn.LSTM: 4, rnn.GRU: 3}


def _task():
    return data.memory_task([1, 3])


def _alone(cell, task, steps, seed, *, keep_bias, lr=0.02, hidden=8):
    """One network and its read-out, trained on its own with a loop of this file."""
    symbols = len(task.vocabulary)
    torch.manual_seed(nnbook.seed(seed))
    net = cell(symbols, hidden, batch_first=True, dtype=F64)
    head = torch.nn.Linear(hidden, symbols, dtype=F64)
    if cell is not rnn.RNN:
        with torch.no_grad():
            net.bias_ih_l0[hidden : 2 * hidden] += keep_bias
    params = [*net.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    x = task.one_hot(F64)
    for _ in range(steps):
        optimizer.zero_grad()
        scores = head(net(x)[0])[task.mask]
        F.cross_entropy(scores, task.targets[task.mask]).backward()
        optimizer.step()
        schedule.step()
    return net, head


def _block(model, k, K, G, H):
    """Network k's parameters, cut out of the side-by-side layer."""
    layer = model.rnn
    return {
        "weight_ih_l0": layer.weight_ih_l0.view(G, K, H, -1)[:, k].reshape(G * H, -1),
        "weight_hh_l0": layer.weight_hh_l0.view(G, K, H, K, H)[:, k, :, k].reshape(G * H, H),
        "bias_ih_l0": layer.bias_ih_l0.view(G, K, H)[:, k].reshape(-1),
        "bias_hh_l0": layer.bias_hh_l0.view(G, K, H)[:, k].reshape(-1),
        "weight": model.weight[k],
        "bias": model.bias[k],
    }


def _off_diagonal(K, G, H, tensor):
    blocks = tensor.view(G, K, H, K, H)
    keep = ~torch.eye(K, dtype=torch.bool)
    return blocks.permute(1, 3, 0, 2, 4)[keep]


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.__name__)
def test_each_block_trains_as_the_network_alone(cell):
    task, seeds, steps, H = _task(), [0, 3, 5], 6, 8
    model, curves = rnn.train_side_by_side(cell, task, steps, seeds, keep_bias=1.0)
    assert curves.shape == (steps, len(seeds))
    G, K = GATES[cell], len(seeds)
    for k, s in enumerate(seeds):
        net, head = _alone(cell, task, steps, s, keep_bias=1.0)
        block = _block(model, k, K, G, H)
        for name, p in net.named_parameters():
            torch.testing.assert_close(block[name], p, rtol=0, atol=1e-10)
        torch.testing.assert_close(block["weight"], head.weight, rtol=0, atol=1e-10)
        torch.testing.assert_close(block["bias"], head.bias, rtol=0, atol=1e-10)
    # the weights between the networks are still exactly zero
    zeros = _off_diagonal(K, G, H, model.rnn.weight_hh_l0.detach())
    assert (zeros == 0).all()


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.__name__)
def test_no_gradient_between_blocks(cell):
    task, seeds, H = _task(), [1, 2], 4
    model = rnn.NextSymbols(cell, len(task.vocabulary), seeds, hidden=H)
    scores = model(task.one_hot(F64))
    scores.square().sum().backward()
    grad = model.rnn.weight_hh_l0.grad
    assert (_off_diagonal(2, GATES[cell], H, grad) == 0).all()
    assert grad.abs().sum() > 0


def test_the_blocks_start_from_the_seeds_networks():
    layer, weight, bias = rnn.side_by_side(rnn.GRU, 5, [4, 7], hidden=3)
    torch.manual_seed(nnbook.seed(7))
    net = rnn.GRU(5, 3, dtype=F64)
    head = torch.nn.Linear(3, 5, dtype=F64)
    assert torch.equal(layer.weight_hh_l0.view(3, 2, 3, 2, 3)[:, 1, :, 1],
                       net.weight_hh_l0.view(3, 3, 3))  # fmt: skip
    assert torch.equal(weight[1], head.weight) and torch.equal(bias[1], head.bias)


def test_the_keep_bias_goes_to_the_second_block():
    a = rnn.NextSymbols(rnn.LSTM, 4, [0, 1], keep_bias=0.0, hidden=3)
    b = rnn.NextSymbols(rnn.LSTM, 4, [0, 1], keep_bias=1.5, hidden=3)
    diff = (b.rnn.bias_ih_l0 - a.rnn.bias_ih_l0).detach()
    expected = torch.zeros(24, dtype=F64)
    expected[6:12] = 1.5
    torch.testing.assert_close(diff, expected)


def test_solved_flags_each_network():
    task = _task()
    model, _ = rnn.train_side_by_side(rnn.GRU, task, 2, [0, 1])
    flags = rnn.solved(model, task)
    assert flags.shape == (2,) and flags.dtype == torch.bool


def test_seeds_go_through_nnbook_seed(monkeypatch):
    base = rnn.side_by_side(rnn.RNN, 3, [0], hidden=2)[1]
    monkeypatch.setenv("NNBOOK_SEED", "1")
    shifted = rnn.side_by_side(rnn.RNN, 3, [0], hidden=2)[1]
    torch.manual_seed(nnbook.seed(0))  # 1000 with NNBOOK_SEED=1
    rnn.RNN(3, 2, dtype=F64)
    head = torch.nn.Linear(2, 3, dtype=F64)
    assert not torch.equal(base, shifted) and torch.equal(shifted[0], head.weight)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(cell=torch.nn.Linear), TypeError, "cell must be torch.nn.RNN"),
        (dict(cell="GRU"), TypeError, "cell must be torch.nn.RNN"),
        (dict(symbols=2.5), TypeError, "symbols must be an int, got float"),
        (dict(symbols=0), ValueError, "symbols must be at least 1, got 0"),
        (dict(seeds=3), TypeError, "seeds must be a sequence of ints, got 3"),
        (dict(seeds=[]), ValueError, "seeds must hold at least one seed"),
        (dict(seeds=[0, 1.5]), TypeError, "seeds must be ints, got 1.5"),
        (dict(seeds=[-1]), ValueError, r"seeds must be in \[0, 1000\), got -1"),
        (dict(seeds=[1000]), ValueError, r"seeds must be in \[0, 1000\), got 1000"),
        (dict(hidden=True), TypeError, "hidden must be an int, got bool"),
        (dict(hidden=-2), ValueError, "hidden must be at least 1, got -2"),
        (dict(dtype=torch.int64), TypeError, "dtype must be a floating-point"),
    ],
)
def test_side_by_side_refuses_bad_arguments(kwargs, error, message):
    call = dict(cell=rnn.GRU, symbols=4, seeds=[0, 1], hidden=3) | kwargs
    with pytest.raises(error, match=message):
        rnn.side_by_side(**call)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(task="abc"), TypeError, "task must be a SequenceTask"),
        (dict(steps=0), ValueError, "steps must be at least 1, got 0"),
        (dict(steps=1.0), TypeError, "steps must be an int, got float"),
        (dict(lr=0.0), ValueError, "lr must be positive, got 0.0"),
        (dict(lr=float("nan")), ValueError, "lr must be finite, got nan"),
        (dict(lr="0.1"), TypeError, "lr must be a real number, got str"),
        (dict(keep_bias=float("nan")), ValueError, "keep_bias must be finite"),
        (dict(device=3), TypeError, "device must be a str or torch.device"),
        (dict(cell=int), TypeError, "cell must be torch.nn.RNN"),
    ],
)
def test_train_side_by_side_refuses_bad_arguments(kwargs, error, message):
    call = dict(cell=rnn.GRU, task=_task(), steps=1, seeds=[0]) | kwargs
    with pytest.raises(error, match=message):
        rnn.train_side_by_side(**call)


def test_solved_and_forward_refuse_bad_arguments():
    model = rnn.NextSymbols(rnn.GRU, 4, [0], hidden=2)
    with pytest.raises(TypeError, match="model must be a NextSymbols, got GRU"):
        rnn.solved(rnn.GRU(4, 2), _task())
    with pytest.raises(TypeError, match="task must be a SequenceTask"):
        rnn.solved(model, None)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, symbols=4\)"):
        model(torch.zeros(2, 3, 5, dtype=F64))
