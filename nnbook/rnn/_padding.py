r"""Sequences of different lengths: padding, masks, and each sequence's last step.

A batch of sequences of lengths :math:`L_1, \dots, L_B` becomes one tensor of shape
``(T, B, ...)`` with :math:`T = \max_b L_b`, time first as in ``torch.nn.RNN``; the
steps after :math:`L_b` hold a pad value. A mask from the lengths says which entries
are real, so that a loss or a mean can leave the pads out, and the output of a
recurrent layer is read at each sequence's own last step. Lengths are integer tensors
of shape ``(B,)``, each between 1 and ``T``, as ``torch.nn.utils.rnn`` counts them.
"""

from __future__ import annotations

import torch

from nnbook import _validate
from nnbook.contract import Int, Tensor, contract

__all__ = ["last_steps", "length_mask", "masked_mean", "pad"]


def _lengths_fit(lengths, T):
    """Refuse lengths longer than the padded time axis."""
    if len(lengths) and int(lengths.max()) > T:
        raise ValueError(
            f"lengths must be at most T={T}, the padded length, "
            f"got {int(lengths.max())}"
        )


def pad(sequences, value=0.0):
    r"""Stack sequences of different lengths into one padded tensor, time first.

    Parameters
    ----------
    sequences : list
        ``B >= 1`` tensors of shapes ``(L_b, ...)``, each with ``L_b >= 1`` steps; the
        trailing dimensions and the dtype are the same for all.
    value : float, default 0.0
        What the steps after a sequence's end hold.

    Returns
    -------
    padded : torch.Tensor
        Shape ``(T, B, ...)`` with ``T = max(L_b)``: ``padded[t, b]`` is step ``t``
        of sequence ``b`` for ``t < L_b`` and ``value`` after it, as
        ``torch.nn.utils.rnn.pad_sequence`` lays it out.
    lengths : torch.Tensor
        Shape ``(B,)``, dtype int64, on the CPU whatever the device of the data: the
        lengths ``L_b``, ready for ``torch.nn.utils.rnn.pack_padded_sequence``,
        which requires them there.

    Notes
    -----
    .. math::
        x_{t,b} = \begin{cases} x^{(b)}_t & t \le L_b \\
        \text{value} & t > L_b \end{cases}
        \qquad T = \max_b L_b
    """
    if not isinstance(sequences, list | tuple):
        raise TypeError(
            f"sequences must be a list of tensors, got {type(sequences).__name__}"
        )
    if not sequences:
        raise ValueError("sequences must hold at least one tensor, got none")
    _validate.number("value", value)
    first = sequences[0]
    for b, x in enumerate(sequences):
        name = f"sequences[{b}]"
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(x).__name__}"
            )
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(
                f"{name} must hold at least one time step, got shape "
                f"{tuple(x.shape)}"
            )
        if x.shape[1:] != first.shape[1:] or x.dtype != first.dtype:
            raise ValueError(
                f"{name} must have the trailing shape and dtype of "
                f"sequences[0], {tuple(first.shape[1:])} {first.dtype}, "
                f"got {tuple(x.shape[1:])} {x.dtype}"
            )
    lengths = torch.tensor([len(x) for x in sequences])  # CPU, as packing wants
    T = int(lengths.max())
    padded = first.new_full((T, len(sequences), *first.shape[1:]), value)
    for b, x in enumerate(sequences):
        padded[: len(x), b] = x
    return padded, lengths


@contract(
    "eq-rnn-length-mask",
    lengths=Tensor("B", dtype="int", low=1),
    T=Int(low=1),
    reference="torch.nn.utils.rnn.pad_sequence of ones",
)
def length_mask(lengths, T):
    r"""Which entries of a padded batch are real steps. Implements :eq:`eq-rnn-length-mask`.

    Parameters
    ----------
    lengths : torch.Tensor
        Shape ``(B,)``, an integer dtype, each length in ``[1, T]``.
    T : int
        The padded length, at least ``max(lengths)``.

    Returns
    -------
    torch.Tensor
        Shape ``(T, B)``, dtype bool: True at a real step, False at a pad.

    Notes
    -----
    .. math::
        m_{t,b} = [\, t \le L_b \,], \qquad t = 1, \dots, T
    """
    _lengths_fit(lengths, T)
    steps = torch.arange(T, device=lengths.device)  # 0 .. T-1
    return steps[:, None] < lengths[None, :]  # (T, B)


@contract(
    "eq-rnn-last-step",
    output=Tensor("T", "B", "H"),
    lengths=Tensor("B", dtype="int", low=1),
    reference="h_n of a layer run on torch.nn.utils.rnn.pack_padded_sequence",
)
def last_steps(output, lengths):
    r"""Each sequence's output at its own last step. Implements :eq:`eq-rnn-last-step`.

    Parameters
    ----------
    output : torch.Tensor
        Shape ``(T, B, H)``, time first: the outputs of a recurrent layer run over a
        padded batch.
    lengths : torch.Tensor
        Shape ``(B,)``, an integer dtype, each length in ``[1, T]``.

    Returns
    -------
    torch.Tensor
        Shape ``(B, H)``: row ``b`` is ``output[lengths[b] - 1, b]``.

    Notes
    -----
    .. math::
        h^{(b)}_{\text{last}} = h_{L_b,\, b}
    """
    _lengths_fit(lengths, len(output))
    batch = torch.arange(output.shape[1], device=output.device)
    return output[lengths.to(output.device) - 1, batch]  # (B, H)


@contract(
    "eq-rnn-masked-loss",
    values=Tensor("T", "B"),
    mask=Tensor("T", "B", dtype="bool"),
    reference="the mean of values[mask]",
)
def masked_mean(values, mask):
    r"""The mean over the real entries only. Implements :eq:`eq-rnn-masked-loss`.

    Parameters
    ----------
    values : torch.Tensor
        Shape ``(T, B)``: a loss (or any number) per step and sequence.
    mask : torch.Tensor
        Shape ``(T, B)``, dtype bool, True at the entries that count; at least one.

    Returns
    -------
    torch.Tensor
        A scalar: the sum of the kept values over their count. Whatever finite or
        non-finite number a pad holds, it contributes nothing to the value, and
        nothing flows back to it. The gradient is clean upstream of the pads only
        if their values are finite: an inf or a NaN computed at a pad (say, a log
        of zero) still turns into a NaN gradient in the layers that produced it,
        since the chain rule multiplies its zero incoming gradient by an infinite
        or undefined local derivative. Keep the values at the pads finite, for
        example by padding with a harmless value.

    Notes
    -----
    .. math::
        \mathcal{L} = \frac{\sum_{b=1}^{B} \sum_{t=1}^{T} m_{t,b}\,
        \ell_{t,b}}{\sum_{b=1}^{B} \sum_{t=1}^{T} m_{t,b}}
    """
    if not bool(mask.any()):
        raise ValueError("mask must keep at least one entry, got all False")
    # where, not a product: a NaN or an inf at a pad stays out
    kept = torch.where(mask, values, torch.zeros_like(values))
    return kept.sum() / mask.sum()
