"""Padding, masks and last steps, against torch.nn.utils.rnn and closed forms, in float64."""

import pytest
import torch
from helpers import randn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from nnbook import rnn

pytestmark = pytest.mark.rnn

LENGTHS = (5, 2, 4, 1)


def _sequences(D=3):
    return [randn(L, D, seed=k) for k, L in enumerate(LENGTHS)]


def test_pad_matches_pad_sequence_and_returns_the_lengths():
    sequences = _sequences()
    padded, lengths = rnn.pad(sequences, value=-2.0)
    torch.testing.assert_close(padded, pad_sequence(sequences, padding_value=-2.0))
    assert lengths.dtype == torch.int64 and lengths.tolist() == list(LENGTHS)


def test_pad_keeps_trailing_dimensions_and_one_dimensional_steps():
    sequences = [randn(L, 2, 3, seed=L) for L in (3, 1)]
    padded, _ = rnn.pad(sequences)
    assert padded.shape == (3, 2, 2, 3)
    torch.testing.assert_close(padded, pad_sequence(sequences))
    scalars = [torch.arange(3.0), torch.arange(1.0)]
    assert rnn.pad(scalars)[0].T.tolist() == [[0, 1, 2], [0, 0, 0]]


@pytest.mark.parametrize(
    ("sequences", "value", "error", "message"),
    [
        ("abc", 0.0, TypeError, r"sequences must be a list of tensors, got str"),
        ([], 0.0, ValueError, r"sequences must hold at least one tensor"),
        ([torch.zeros(2, 1), [1.0]], 0.0, TypeError, r"sequences\[1\] must be a torch.Tensor"),
        ([torch.zeros(0, 1)], 0.0, ValueError, r"sequences\[0\] must hold at least one time step"),
        ([torch.tensor(1.0)], 0.0, ValueError, r"sequences\[0\] must hold at least one"),
        (
            [torch.zeros(2, 1), torch.zeros(2, 2)],
            0.0,
            ValueError,
            r"sequences\[1\] must have the trailing shape and dtype of sequences\[0\], "
            r"\(1,\) torch.float32, got \(2,\) torch.float32",
        ),
        (
            [torch.zeros(2, 1), torch.zeros(2, 1, dtype=torch.float64)],
            0.0,
            ValueError,
            r"sequences\[1\] must have the trailing shape and dtype",
        ),
        ([torch.zeros(2, 1)], "0", TypeError, r"value must be a real number, got str"),
        ([torch.zeros(2, 1)], float("nan"), ValueError, r"value must be a number, got nan"),
    ],
)
def test_pad_refuses_bad_input_by_name(sequences, value, error, message):
    with pytest.raises(error, match=message):
        rnn.pad(sequences, value)


def test_length_mask_is_the_nonzero_pattern_of_padded_ones():
    lengths = torch.tensor(LENGTHS)
    ones = pad_sequence([torch.ones(L, dtype=torch.float64) for L in LENGTHS])
    assert torch.equal(rnn.length_mask(lengths, 5), ones.bool())
    longer = rnn.length_mask(lengths, 7)
    assert longer.shape == (7, 4) and not longer[5:].any()
    assert longer.sum(0).tolist() == list(LENGTHS)


@pytest.mark.parametrize(
    ("lengths", "T", "error", "message"),
    [
        ([2, 3], 3, TypeError, r"lengths must be a torch.Tensor, got list"),
        (torch.tensor([2.0, 3.0]), 3, TypeError, r"lengths must have an integer dtype"),
        (torch.tensor([[2, 3]]), 3, ValueError, r"lengths must have 1 dimensions"),
        (torch.tensor([2, 0]), 3, ValueError, r"lengths must have values in \[1, inf\), got 0"),
        (
            torch.tensor([2, 4]),
            3,
            ValueError,
            r"lengths must be at most T=3, the padded length, got 4",
        ),
        (torch.tensor([2, 3]), 0, ValueError, r"T must be in \[1, inf\], got 0"),
        (torch.tensor([2, 3]), 3.0, TypeError, r"T must be an int, got float"),
    ],
)
def test_length_mask_refuses_bad_input_by_name(lengths, T, error, message):
    with pytest.raises(error, match=message):
        rnn.length_mask(lengths, T)


def test_last_steps_is_h_n_of_the_packed_sequence():
    sequences = _sequences()
    padded, lengths = rnn.pad(sequences)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, dtype=torch.float64)
    output, _ = lstm(padded)
    _, (h_n, _) = lstm(pack_padded_sequence(padded, lengths, enforce_sorted=False))
    torch.testing.assert_close(rnn.last_steps(output, lengths), h_n[0], rtol=0, atol=1e-12)
    for b, s in enumerate(sequences):  # and the state of each sequence run alone
        alone = lstm(s[:, None])[1][0][0, 0]
        torch.testing.assert_close(rnn.last_steps(output, lengths)[b], alone, rtol=0, atol=1e-12)


def test_last_steps_by_a_loop():
    output, lengths = randn(6, 3, 2, seed=3), torch.tensor([6, 1, 3])
    expected = torch.stack([output[L - 1, b] for b, L in enumerate(lengths.tolist())])
    assert torch.equal(rnn.last_steps(output, lengths), expected)


def test_last_steps_refuses_bad_input_by_name():
    output = randn(4, 2, 3, seed=1)
    with pytest.raises(ValueError, match=r"lengths must have shape \(B=2,\), got \(3,\)"):
        rnn.last_steps(output, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"lengths must be at most T=4, the padded length, got 5"):
        rnn.last_steps(output, torch.tensor([1, 5]))
    with pytest.raises(ValueError, match=r"lengths must have values in \[1, inf\), got 0"):
        rnn.last_steps(output, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match=r"output must have 3 dimensions"):
        rnn.last_steps(output[0], torch.tensor([1, 2]))


def test_masked_mean_is_the_mean_of_the_kept_entries_and_its_gradient():
    values = randn(5, 4, seed=2).requires_grad_()
    mask = rnn.length_mask(torch.tensor(LENGTHS), 5)
    ours = rnn.masked_mean(values, mask)
    torch.testing.assert_close(ours, values[mask].mean(), rtol=0, atol=1e-15)
    (grad,) = torch.autograd.grad(ours, values)
    expected = mask.double() / mask.sum()  # closed form: 1 / count at kept, 0 at pads
    torch.testing.assert_close(grad, expected, rtol=0, atol=1e-15)


def test_masked_mean_ignores_whatever_the_pads_hold():
    values, mask = randn(3, 2, seed=4), torch.tensor([[1, 1], [1, 0], [0, 0]]).bool()
    spoiled = values.masked_fill(~mask, float("nan"))
    assert torch.equal(rnn.masked_mean(spoiled, mask), rnn.masked_mean(values, mask))
    values = values.masked_fill(~mask, 0.0)
    assert rnn.masked_mean(values, mask) * 3 / 6 == pytest.approx(values.mean().item())


def test_masked_mean_refuses_bad_input_by_name():
    values = randn(3, 2, seed=5)
    with pytest.raises(ValueError, match=r"mask must keep at least one entry, got all False"):
        rnn.masked_mean(values, torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"mask must have dtype torch.bool, got torch.int64"):
        rnn.masked_mean(values, torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"mask must have shape \(T=3, B=2\), got \(2, 3\)"):
        rnn.masked_mean(values, torch.ones(2, 3, dtype=torch.bool))


def test_packing_fixes_the_backward_direction():
    """The claim of the section: padded, the backward final state is wrong; packed, right."""
    sequences = _sequences()
    padded, lengths = rnn.pad(sequences)
    torch.manual_seed(1)
    bi = torch.nn.LSTM(3, 4, bidirectional=True, dtype=torch.float64)
    out_padded, (h_padded, _) = bi(padded)
    out, (h_packed, _) = bi(pack_padded_sequence(padded, lengths, enforce_sorted=False))
    out, _ = pad_packed_sequence(out)
    mask = rnn.length_mask(lengths, len(padded))
    for b, s in enumerate(sequences):
        out_alone, (h_alone, _) = bi(s[:, None])
        torch.testing.assert_close(h_packed[:, b], h_alone[:, 0], rtol=0, atol=1e-12)
        torch.testing.assert_close(out[: len(s), b], out_alone[:, 0], rtol=0, atol=1e-12)
        forward = out_padded[: len(s), b, :4]
        torch.testing.assert_close(forward, out_alone[:, 0, :4], rtol=0, atol=1e-12)
        backward_error = (h_padded[1, b] - h_alone[1, 0]).abs().max()
        assert (backward_error > 1e-6) == (len(s) < len(padded))
    assert not out[~mask].any()


def test_pad_returns_the_lengths_on_the_cpu_whatever_the_data_device():
    sequences = [torch.zeros(3, 2, device="meta"), torch.zeros(1, 2, device="meta")]
    padded, lengths = rnn.pad(sequences)
    assert padded.device.type == "meta" and padded.shape == (3, 2, 2)
    assert lengths.device.type == "cpu" and lengths.tolist() == [3, 1]


def test_masked_mean_cannot_clean_a_non_finite_value_made_at_a_pad():
    x = torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True], [True, False]])
    loss = rnn.masked_mean(torch.log(x), mask)  # log(0) = -inf at the pad
    assert torch.isfinite(loss)
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.isnan(grad[1, 1])  # 0 * d log(x)/dx at x = 0: 0 * inf
    assert torch.isfinite(grad[mask]).all()
    safe = torch.where(mask, x, torch.ones_like(x))  # a finite value at the pad
    (grad,) = torch.autograd.grad(rnn.masked_mean(torch.log(safe), mask), x)
    assert torch.isfinite(grad).all() and grad[1, 1] == 0
