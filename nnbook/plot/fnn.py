"""Figures of the feedforward chapter: training curves, weight statistics and digits.

Each function draws one figure of a section of the chapter from the numbers that the
section's experiment computed; the experiment itself stays in the notebook. A function
that draws on one Axes takes ``ax=None`` and returns the Axes; one that stacks several
panels makes its own Figure and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from nnbook.plot._checks import array as _array
from nnbook.plot._checks import axes as _axes
from nnbook.plot._checks import mapping as _mapping

__all__ = [
    "plot_confusion_matrix",
    "plot_digit_grid",
    "plot_fit_and_loss",
    "plot_layer_spread",
    "plot_loss_and_accuracy",
    "plot_loss_curves",
    "plot_matching_runs",
    "plot_weight_histograms",
]


def _history(name, history, fields):
    missing = [f for f in fields if not hasattr(history, f)]
    if missing:
        raise TypeError(
            f"{name} must be a History from nnbook.train.fit with {', '.join(fields)}, "
            f"got {type(history).__name__} without {', '.join(missing)}"
        )
    return history


def plot_layer_spread(stats):
    """Two stacked panels: the spread of each layer's activations and weight gradients.

    The line style names the activation (solid for ReLU, dashed for tanh, dotted for
    anything else); one legend below both panels names each pair.

    Parameters
    ----------
    stats : dict
        ``{(activation, scheme): (h_std, grad_std)}``: for every hidden layer, in order,
        the standard deviation of its activations and of its weight gradient. All
        sequences have the same length, the number of hidden layers.

    Returns
    -------
    matplotlib Figure
        The upper Axes shows the activations, the lower one the weight gradients, both
        on a logarithmic scale against the layer number 1, 2, ...

    Raises
    ------
    TypeError
        If ``stats`` is not a dict or a key is not an (activation, scheme) pair.
    ValueError
        If ``stats`` is empty or its sequences differ in length.
    """
    _mapping("stats", stats)
    lengths = set()
    curves = []
    for key, value in stats.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise TypeError(
                f"stats keys must be (activation, scheme) pairs, got {key!r}"
            )
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise TypeError(
                f"stats[{key!r}] must be a pair (h_std, grad_std), got {value!r:.60}"
            )
        h_std = _array(f"stats[{key!r}][0]", value[0], ndim=1)
        grad_std = _array(f"stats[{key!r}][1]", value[1], ndim=1)
        lengths |= {len(h_std), len(grad_std)}
        curves.append((key, h_std, grad_std))
    if len(lengths) != 1:
        raise ValueError(
            f"every sequence in stats must have one entry per layer, got lengths {sorted(lengths)}"
        )
    layers = np.arange(1, lengths.pop() + 1)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True)
    for (activation, scheme), h_std, grad_std in curves:
        style = {"relu": "-", "tanh": "--"}.get(activation, ":")
        ax1.semilogy(
            layers,
            h_std,
            style,
            marker="o",
            ms=3,
            label=f"{activation}, {scheme}",
        )
        ax2.semilogy(layers, grad_std, style, marker="o", ms=3)
    ax1.set_title("forward: std of the activations")
    ax2.set_title("backward: std of the weight gradients")
    ax2.set_xlabel("hidden layer ν")
    # One legend for both panels, below them, so that the panels keep the full width.
    fig.legend(
        *ax1.get_legend_handles_labels(),
        loc="lower center",
        ncol=3,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_fit_and_loss(x, y, fitted, truth, losses):
    """Two stacked panels: a regression fit to noisy data, and its loss during training.

    Parameters
    ----------
    x, y : tensor or array of shape (T,) or (T, 1)
        The inputs and the noisy targets.
    fitted : tensor or array of shape (T,) or (T, 1)
        The network's prediction at ``x``.
    truth : tensor or array of shape (T,) or (T, 1)
        The function the data was drawn from, at ``x``.
    losses : sequence of float
        The training loss after every gradient step.

    Returns
    -------
    matplotlib Figure
        The upper Axes shows the data (grey dots), the fit (solid) and the true function
        (dotted); the lower one the loss on a logarithmic scale.

    Raises
    ------
    TypeError
        If an argument is not a tensor, an array or a sequence of numbers.
    ValueError
        If ``x``, ``y``, ``fitted`` and ``truth`` do not have the same length, or
        ``losses`` is empty.
    """
    columns = {}
    for name, value in {
        "x": x,
        "y": y,
        "fitted": fitted,
        "truth": truth,
    }.items():
        array = _array(name, value)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(
                f"{name} must have shape (T,) or (T, 1), got {array.shape}"
            )
        columns[name] = array
    if len({len(a) for a in columns.values()}) != 1:
        shapes = {name: len(a) for name, a in columns.items()}
        raise ValueError(
            f"x, y, fitted and truth must have the same length, got {shapes}"
        )
    losses = _array("losses", losses, ndim=1)
    if len(losses) == 0:
        raise ValueError("losses must hold at least one value, got none")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6))
    ax1.scatter(columns["x"], columns["y"], s=6, color="0.6", label="data")
    ax1.plot(columns["x"], columns["fitted"], lw=2, label="network")
    ax1.plot(columns["x"], columns["truth"], "k:", label="sin x")
    ax1.set_xlabel("x")
    ax1.legend()
    ax2.semilogy(losses)
    ax2.set_xlabel("gradient step")
    ax2.set_ylabel("J (MSE)")
    fig.tight_layout()
    return fig


def plot_weight_histograms(
    weights, ax=None, *, clip=0.5, bins=100, xlabel=None
):
    """Step histograms of several sets of weights, on a logarithmic count axis.

    Parameters
    ----------
    weights : dict
        ``{label: weights}``, each a tensor or array of any shape; it is flattened.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 7 × 3.5 inch figure.
    clip : float, default 0.5
        Weights are clipped to ``[-clip, clip]``, so the outermost bins collect the rest.
    bins : int, default 100
        The number of bins, of equal width, across ``[-clip, clip]``.
    xlabel : str, optional
        The label of the horizontal axis; by default "weight (clipped to ±clip)".

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``weights`` is not a dict, ``clip`` is not a number or ``bins`` not an int.
    ValueError
        If ``weights`` is empty, ``clip`` is not positive or ``bins`` is below 1.
    """
    _mapping("weights", weights)
    if isinstance(clip, bool) or not isinstance(clip, (int, float)):
        raise TypeError(f"clip must be a number, got {type(clip).__name__}")
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip}")
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"bins must be an int, got {type(bins).__name__}")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    arrays = {
        label: _array(f"weights[{label!r}]", w).ravel()
        for label, w in weights.items()
    }
    ax = _axes(ax, (7, 3.5))
    edges = np.linspace(-clip, clip, bins + 1)
    for label, w in arrays.items():
        ax.hist(
            np.clip(w, -clip, clip),
            bins=edges,
            histtype="step",
            lw=1.5,
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel(
        xlabel if xlabel is not None else f"weight (clipped to ±{clip:g})"
    )
    ax.set_ylabel("count")
    ax.legend()
    return ax


def plot_loss_curves(
    histories, x="epoch", ax=None, *, xlabel=None, log_x=False
):
    """The training loss of several runs against epochs or training time.

    A run with fewer than 20 recorded epochs is drawn with markers, so that its few
    points stay visible.

    Parameters
    ----------
    histories : dict
        ``{label: history}``, each a History from :func:`nnbook.train.fit`.
    x : {"epoch", "seconds"}, default "epoch"
        What the horizontal axis shows.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 6 × 3.6 inch figure.
    xlabel : str, optional
        The label of the horizontal axis; by default the name given as ``x``.
    log_x : bool, default False
        A symmetric logarithmic horizontal axis, linear between 0 and 1.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If ``histories`` is not a dict of histories.
    ValueError
        If ``histories`` is empty or ``x`` is neither "epoch" nor "seconds".
    """
    _mapping("histories", histories)
    if x not in ("epoch", "seconds"):
        raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")
    for label, history in histories.items():
        _history(f"histories[{label!r}]", history, ("epoch", x, "train_loss"))
    ax = _axes(ax, (6, 3.6))
    for label, history in histories.items():
        style = "o-" if len(history.epoch) < 20 else "-"
        ax.plot(
            getattr(history, x), history.train_loss, style, ms=3, label=label
        )
    if log_x:
        ax.set_xscale("symlog", linthresh=1)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel("training loss J")
    ax.legend()
    return ax


def plot_matching_runs(ours, theirs, labels=("nnbook", "torch.nn")):
    """Two stacked panels comparing two training runs: loss, then test accuracy.

    The first run is drawn as a wide, pale line and the second as a thin dashed black
    line on top of it, so that two curves that agree look like one.

    Parameters
    ----------
    ours, theirs : History
        Histories from :func:`nnbook.train.fit` with test accuracies.
    labels : pair of str
        The legend entries of the two runs.

    Returns
    -------
    matplotlib Figure
        The upper Axes shows the training loss on a logarithmic scale, the lower one the
        test accuracy in percent between 80 and 100, both against the epoch.

    Raises
    ------
    TypeError
        If a history lacks the fields that :func:`nnbook.train.fit` records, or
        ``labels`` is not a pair of strings.
    """
    fields = ("epoch", "train_loss", "test_accuracy")
    _history("ours", ours, fields)
    _history("theirs", theirs, fields)
    if not (
        isinstance(labels, (tuple, list))
        and len(labels) == 2
        and all(isinstance(s, str) for s in labels)
    ):
        raise TypeError(f"labels must be a pair of strings, got {labels!r}")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    wide, thin = {"lw": 4, "alpha": 0.4}, {"lw": 1}
    ax1.plot(ours.epoch, ours.train_loss, **wide, label=labels[0])
    ax1.plot(theirs.epoch, theirs.train_loss, "k--", **thin, label=labels[1])
    ax1.set_yscale("log")
    ax1.set_ylabel("training loss")
    ax1.legend()
    ax2.plot(ours.epoch, [100 * a for a in ours.test_accuracy], **wide)
    ax2.plot(
        theirs.epoch, [100 * a for a in theirs.test_accuracy], "k--", **thin
    )
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy (%)")
    ax2.set_ylim(80, 100)
    fig.tight_layout()
    return fig


def plot_loss_and_accuracy(history, ax=None):
    """A run's training loss (left axis, log scale) and test accuracy (right axis).

    Parameters
    ----------
    history : History
        From :func:`nnbook.train.fit`, with test accuracies.
    ax : matplotlib Axes, optional
        Where to draw the loss; by default a new 6 × 3.5 inch figure.

    Returns
    -------
    (matplotlib Axes, matplotlib Axes)
        The Axes of the loss, and its twin that shows the accuracy in percent between
        80 and 100, in the second colour of the cycle.

    Raises
    ------
    TypeError
        If ``history`` lacks the fields that :func:`nnbook.train.fit` records.
    """
    _history("history", history, ("epoch", "train_loss", "test_accuracy"))
    ax = _axes(ax, (6, 3.5))
    ax.plot(history.epoch, history.train_loss, label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    twin = ax.twinx()
    percent = [100 * a for a in history.test_accuracy]
    twin.plot(history.epoch, percent, color="C1", label="test accuracy")
    twin.set_ylabel("test accuracy (%)", color="C1")
    twin.set_ylim(80, 100)
    twin.grid(False)
    return ax, twin


def plot_confusion_matrix(counts, ax=None, *, dark=50):
    """A confusion matrix as an image, with every non-zero count written in its cell.

    Parameters
    ----------
    counts : tensor or array of shape (C, C)
        ``counts[i, j]`` is how often true class ``i`` was predicted as class ``j``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new 5.5 × 5 inch figure.
    dark : float, default 50
        Counts above it sit on a dark cell and are written in white.

    Returns
    -------
    matplotlib Axes
        Rows are the true classes, columns the predicted ones.

    Raises
    ------
    TypeError
        If ``counts`` is not a tensor or an array of numbers.
    ValueError
        If ``counts`` is not square or holds a negative count.
    """
    matrix = _array("counts", counts, ndim=2)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"counts must be square (C, C), got shape {matrix.shape}"
        )
    if (matrix < 0).any():
        raise ValueError(
            f"counts must be non-negative, got a minimum of {matrix.min():g}"
        )
    ax = _axes(ax, (5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    n = matrix.shape[0]
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if matrix[i, j] > dark else "black",
                )
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.grid(False)
    return ax


def plot_digit_grid(images, titles, ncols=6, *, width=7.0):
    """Square grey-scale images in a grid, each with a title, black ink on white.

    Parameters
    ----------
    images : tensor or array of shape (n, P) or (n, H, W)
        The images; a row of ``P`` pixels is reshaped to a square.
    titles : sequence of str
        One title per image.
    ncols : int, default 6
        Images per row; the number of rows follows.
    width : float, default 7.0
        The figure's width in inches; the height keeps the cells about square, with
        room for a two-line title.

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    TypeError
        If ``images`` is not a tensor or array, ``titles`` not a sequence of strings,
        or ``ncols`` not an int.
    ValueError
        If ``images`` is empty, its rows are not square images, the number of titles
        differs from the number of images, or ``ncols`` is below 1.
    """
    pictures = _array("images", images)
    if pictures.ndim == 2:
        side = int(round(np.sqrt(pictures.shape[1])))
        if side * side != pictures.shape[1]:
            raise ValueError(
                f"images of shape (n, P) must have a square number of pixels P, "
                f"got {pictures.shape[1]}"
            )
        pictures = pictures.reshape(len(pictures), side, side)
    if pictures.ndim != 3 or len(pictures) == 0:
        raise ValueError(
            f"images must have shape (n, P) or (n, H, W) with n > 0, got {pictures.shape}"
        )
    if isinstance(titles, str) or not all(isinstance(t, str) for t in titles):
        raise TypeError(
            f"titles must be a sequence of strings, got {titles!r:.60}"
        )
    if len(titles) != len(pictures):
        raise ValueError(
            f"titles must have one entry per image ({len(pictures)}), got {len(titles)}"
        )
    if isinstance(ncols, bool) or not isinstance(ncols, int):
        raise TypeError(f"ncols must be an int, got {type(ncols).__name__}")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    nrows = -(-len(pictures) // ncols)
    cell = width / ncols
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, nrows * (cell + 0.45)), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(pictures):
            ax.imshow(pictures[k], cmap="gray_r")
            ax.set_title(titles[k])
    fig.tight_layout()
    return fig
