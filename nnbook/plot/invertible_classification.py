"""Figures of the invertible-ResNet classification section.

The training curves of several classifiers, each trained at several seeds, next to a
linear model's value (:mod:`nnbook.invertible`). The function draws histories that the
notebook recorded; it trains nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["draw_classifier_training"]


def _curves(label, histories, field):
    """The values of ``field`` of every history, as an array (runs, epochs)."""
    if not isinstance(histories, list | tuple) or not histories:
        raise ValueError(
            f"histories[{label!r}] must be a non-empty list of histories, got {histories!r}"
        )
    lengths = {len(getattr(h, field)) for h in histories}
    if len(lengths) != 1:
        raise ValueError(
            f"histories[{label!r}] must record the same number of epochs, got lengths {sorted(lengths)}"
        )
    return np.array([getattr(h, field) for h in histories], dtype=float)


def draw_classifier_training(histories, *, linear=None):
    """Training loss and test accuracy against epochs: the mean over runs, the range shaded.

    Parameters
    ----------
    histories : dict
        Label -> list of :class:`~nnbook.train.History`, one per seed, each with
        ``train_loss`` and ``test_accuracy`` recorded at the same epochs, drawn at
        the first history's ``epoch`` (at 0, 1, 2, ... if that does not match).
    linear : tuple, optional
        ``(train_loss, test_accuracy)`` of a linear model, drawn as dashed lines.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: training loss (log scale) and test accuracy (%).
    """
    if not isinstance(histories, Mapping):
        raise TypeError(
            f"histories must be a dict, got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError(
            "histories must hold at least one entry, got an empty dict"
        )
    if linear is not None and (
        not isinstance(linear, tuple | list) or len(linear) != 2
    ):
        raise ValueError(
            f"linear must be a pair (train_loss, test_accuracy), got {linear!r}"
        )
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8.2, 3.2))
    for label, runs in histories.items():
        loss = _curves(label, runs, "train_loss")
        acc = 100 * _curves(label, runs, "test_accuracy")
        epochs = np.asarray(runs[0].epoch, dtype=float)
        if len(epochs) != loss.shape[1]:
            epochs = np.arange(loss.shape[1])
        for ax, values in ((ax_loss, loss), (ax_acc, acc)):
            (line,) = ax.plot(epochs, values.mean(axis=0), label=label)
            ax.fill_between(
                epochs,
                values.min(axis=0),
                values.max(axis=0),
                color=line.get_color(),
                alpha=0.25,
                linewidth=0,
            )
    if linear is not None:
        ax_loss.axhline(linear[0], color="k", ls="--", lw=1, label="linear")
        ax_acc.axhline(
            100 * linear[1], color="k", ls="--", lw=1, label="linear"
        )
    ax_loss.set(yscale="log", xlabel="epoch", ylabel="training loss (nats)")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(90, 100))
    ax_loss.legend(fontsize=8)
    fig.tight_layout()
    return fig
