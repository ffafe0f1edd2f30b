"""Symbol sequences for next-symbol prediction: the recurrent chapter's memory tasks."""

from __future__ import annotations

from typing import NamedTuple

import torch

from nnbook.contract import Ints, contract

__all__ = ["SequenceTask", "counter_task", "echo_task", "memory_task"]


class SequenceTask(NamedTuple):
    """Symbol sequences for next-symbol prediction, batch first.

    ``inputs[n, t]`` is the symbol seen at step ``t`` and ``targets[n, t]`` the one that
    follows it; both are indices into ``vocabulary``. ``mask`` marks the steps whose
    target is determined by what came before: only those can be predicted, so only
    those are scored. Shorter sequences are padded with the last symbol of the
    vocabulary, where ``mask`` is False.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    vocabulary: str

    def one_hot(self, dtype=torch.float32):
        """The inputs as one-hot vectors, shape (N, T, len(vocabulary))."""
        return torch.nn.functional.one_hot(
            self.inputs, len(self.vocabulary)
        ).to(dtype)

    def decode(self, indices):
        """The string spelled by a 1-D sequence of indices."""
        return "".join(self.vocabulary[int(k)] for k in indices)


def _task(strings, vocabulary, scored):
    """Encode strings as a :class:`SequenceTask`; ``scored(s, t)`` says if step t counts."""
    T = max(len(s) for s in strings) - 1
    pad = len(vocabulary) - 1
    inputs = torch.full((len(strings), T), pad, dtype=torch.int64)
    targets = inputs.clone()
    mask = torch.zeros(len(strings), T, dtype=torch.bool)
    for n, s in enumerate(strings):
        ids = torch.tensor([vocabulary.index(ch) for ch in s])
        inputs[n, : len(s) - 1], targets[n, : len(s) - 1] = ids[:-1], ids[1:]
        mask[n, : len(s) - 1] = torch.tensor(
            [scored(s, t) for t in range(len(s) - 1)]
        )
    return SequenceTask(inputs, targets, mask, vocabulary)


@contract(counts=Ints(low=1))
def counter_task(counts):
    """The counter: ``a`` N times, then ``X``, then ``b`` N times, then ``.``.

    Before ``X`` the next symbol cannot be known (another ``a``, or the ``X``?); from
    ``X`` on it is determined, and a model must have counted the ``a`` s to know when
    the ``b`` s stop. Those are the scored steps.

    Parameters
    ----------
    counts : iterable of int
        One sequence per N.
    """
    strings = ["a" * k + "X" + "b" * k + "." for k in counts]
    return _task(strings, "aXb.", lambda s, t: t >= s.index("X"))


@contract(gaps=Ints(low=1))
def memory_task(gaps):
    """The memory task: ``A x...x Y a`` and ``B x...x Y b``.

    After ``Y`` the answer is the first symbol in lower case, however many ``x`` lie
    in between; only that step is scored.

    Parameters
    ----------
    gaps : iterable of int
        The numbers of ``x``; each gives one sequence starting with ``A`` and one with ``B``.
    """
    strings = [
        first + "x" * k + "Y" + first.lower() for first in "AB" for k in gaps
    ]
    return _task(strings, "ABxYab.", lambda s, t: s[t] == "Y")


@contract()
def echo_task():
    """The two sequences ``3, 0, 1, 2, 3`` and ``4, 0, 1, 2, 4``.

    Every next value is determined by the history, but after ``2`` it is 3 in one
    sequence and 4 in the other: a model that sees fewer than the last four values
    cannot tell them apart.
    """
    return _task(["30123", "40124"], "01234", lambda s, t: True)
