r"""Several small recurrent networks trained at once, as one layer.

To count how often a cell learns a task, a page trains it from many initializations.
:func:`side_by_side` packs the networks of several seeds into one recurrent layer of
``K * hidden`` units whose :math:`W_{hh}` is block diagonal, gate by gate: network
:math:`k` owns rows and columns :math:`k H` to :math:`(k + 1) H - 1` of every gate's
block and starts from the weights its seed gives a network of ``hidden`` units.
:class:`NextSymbols` adds one linear read-out per network, and
:func:`train_side_by_side` trains the whole pack with Adam on the sum of the networks'
losses. The gradient of the zeros between the blocks is masked to zero, each
network's loss depends only on its own parameters, and Adam acts element by element,
so every network is trained as it would be alone. :func:`solved` says which networks
answer every scored step of a task.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

import nnbook

__all__ = ["NextSymbols", "side_by_side", "solved", "train_side_by_side"]


def _gates(cell):
    """The number of blocks stacked in ``weight_ih`` of ``cell``'s layers."""
    if isinstance(cell, type):
        for base, gates in (
            (torch.nn.LSTM, 4),
            (torch.nn.GRU, 3),
            (torch.nn.RNN, 1),
        ):
            if issubclass(cell, base):
                return gates
    raise TypeError(
        "cell must be torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU or a subclass "
        f"(such as nnbook.rnn.LSTM), got {cell!r}"
    )


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _seeds(seeds):
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got none")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds must be ints, got {s!r}")
        if not 0 <= s < 1000:
            raise ValueError(f"seeds must be in [0, 1000), got {s}")
    return [int(s) for s in seeds]


def _real(name, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return float(value)


def _task(task):
    needed = ("one_hot", "targets", "mask", "vocabulary")
    if not all(hasattr(task, a) for a in needed):
        raise TypeError(
            "task must be a SequenceTask (with one_hot, targets, mask and "
            f"vocabulary), got {type(task).__name__}"
        )
    return task


def side_by_side(cell, symbols, seeds, hidden=8, *, dtype=torch.float64):
    r"""The networks of several seeds as one recurrent layer with block-diagonal weights.

    For each seed ``s``, torch's global generator is seeded with ``nnbook.seed(s)``,
    then a ``cell(symbols, hidden)`` and a ``torch.nn.Linear(hidden, symbols)`` draw
    their initial weights, as a single network would. The ``K`` networks are copied
    into one ``cell(symbols, K * hidden, batch_first=True)``: in gate block :math:`g`,
    network :math:`k` owns the rows :math:`(g K + k) H` to :math:`(g K + k + 1) H - 1`
    of ``weight_ih_l0``, ``bias_ih_l0`` and ``bias_hh_l0``, and in ``weight_hh_l0``
    the same rows and the columns :math:`k H` to :math:`(k + 1) H - 1`. A hook on
    ``weight_hh_l0`` sets the gradient of every entry outside these blocks to zero,

    .. math::

        W_{hh} = \begin{bmatrix} W^{(0)}_{hh} & & \\ & \ddots & \\
        & & W^{(K-1)}_{hh} \end{bmatrix} \quad\text{for each gate,}

    so the networks never exchange information, forward or backward.

    Parameters
    ----------
    cell : type
        ``torch.nn.RNN``, ``torch.nn.LSTM``, ``torch.nn.GRU`` or a subclass with the
        same parameters, such as :class:`nnbook.rnn.GRU`; one layer, one direction.
    symbols : int
        The input size, the number of symbols of the one-hot inputs.
    seeds : sequence of int
        One network per seed, ``K = len(seeds)`` in all.
    hidden : int, default 8
        The number of units ``H`` of each network.
    dtype : torch.dtype, default ``torch.float64``
        The dtype of every parameter.

    Returns
    -------
    layer : torch.nn.Module
        The ``cell`` of ``K * H`` units, ``batch_first=True``.
    weight : torch.Tensor
        The read-outs' weights, shape (K, symbols, H).
    bias : torch.Tensor
        The read-outs' biases, shape (K, symbols).

    Examples
    --------
    >>> layer, weight, bias = side_by_side(torch.nn.GRU, 5, [0, 1], hidden=4)
    >>> layer.weight_hh_l0.shape, weight.shape, bias.shape
    (torch.Size([24, 8]), torch.Size([2, 5, 4]), torch.Size([2, 5]))
    """
    G = _gates(cell)
    symbols = _positive_int("symbols", symbols)
    seeds = _seeds(seeds)
    H = _positive_int("hidden", hidden)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch.dtype, got {dtype!r}"
        )
    K = len(seeds)
    small, heads = [], []
    for s in seeds:
        torch.manual_seed(nnbook.seed(s))
        small.append(cell(symbols, H, dtype=dtype))
        heads.append(torch.nn.Linear(H, symbols, dtype=dtype))
    big = cell(symbols, K * H, batch_first=True, dtype=dtype)
    with torch.no_grad():
        for name, p in big.named_parameters():
            blocks = [getattr(net, name).view(G, H, -1) for net in small]
            if name.startswith("weight_hh"):  # gate by gate, block diagonal
                per_gate = zip(*blocks, strict=True)
                p.copy_(torch.cat([torch.block_diag(*b) for b in per_gate]))
            else:  # gate g of network k: rows (g * K + k) * H onwards
                p.copy_(torch.stack(blocks, 1).reshape(p.shape))
    mask = torch.block_diag(*[torch.ones(H, H, dtype=dtype)] * K).repeat(G, 1)
    big.weight_hh_l0.register_hook(lambda grad: grad * mask.to(grad.device))
    weight = torch.stack([head.weight.detach() for head in heads])
    return big, weight, torch.stack([head.bias.detach() for head in heads])


class NextSymbols(torch.nn.Module):
    r"""``K`` recurrent networks side by side, each with a linear read-out per step.

    The layer of :func:`side_by_side` reads one-hot symbols; network :math:`k`'s
    hidden state :math:`h^{(k)}_t` gives the scores
    :math:`W^{(k)} h^{(k)}_t + b^{(k)}` of the next symbol.

    Parameters
    ----------
    cell : type
        The recurrent cell class, as in :func:`side_by_side`.
    symbols : int
        The number of symbols, in and out.
    seeds : sequence of int
        One network per seed.
    keep_bias : float, default 1.0
        Added to the bias of the keeping gate of every network, the LSTM's forget
        gate or the GRU's update gate (the second block of rows); ignored for a plain
        RNN.
    hidden : int, default 8
        The number of units of each network.
    dtype : torch.dtype, default ``torch.float64``
        The dtype of every parameter.

    Attributes
    ----------
    rnn : torch.nn.Module
        The layer of ``K * hidden`` units.
    weight : torch.nn.Parameter
        The read-outs' weights, shape (K, symbols, hidden).
    bias : torch.nn.Parameter
        The read-outs' biases, shape (K, symbols).

    Examples
    --------
    >>> model = NextSymbols(torch.nn.LSTM, 5, [0, 1, 2], hidden=4)
    >>> model(torch.zeros(2, 7, 5, dtype=torch.float64)).shape
    torch.Size([2, 7, 3, 5])
    """

    def __init__(
        self,
        cell,
        symbols,
        seeds,
        *,
        keep_bias=1.0,
        hidden=8,
        dtype=torch.float64,
    ):
        keep_bias = _real("keep_bias", keep_bias)
        super().__init__()
        self.rnn, weight, bias = side_by_side(
            cell, symbols, seeds, hidden, dtype=dtype
        )
        self.weight = torch.nn.Parameter(weight)
        self.bias = torch.nn.Parameter(bias)
        K, H = len(self.bias), self.weight.shape[-1]
        if _gates(cell) > 1:  # the keeping gate's rows: the second block
            with torch.no_grad():
                self.rnn.bias_ih_l0[K * H : 2 * K * H] += keep_bias

    def forward(self, x):
        """Scores of shape (B, T, K, symbols) from one-hot inputs (B, T, symbols)."""
        if x.dim() != 3 or x.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"x must have shape (B, T, symbols={self.weight.shape[1]}), "
                f"got {tuple(x.shape)}"
            )
        y = self.rnn(x)[0].unflatten(-1, (len(self.bias), -1))  # (B, T, K, H)
        return torch.einsum("btkh,kvh->btkv", y, self.weight) + self.bias


def solved(model, task):
    """Which networks answer every scored step of ``task`` right.

    Parameters
    ----------
    model : NextSymbols
        The networks, on any device.
    task : nnbook.data.SequenceTask
        The sequences; a step counts where ``task.mask`` is True, and the answer is
        right when the highest score is that of ``task.targets``.

    Returns
    -------
    torch.Tensor
        One flag per network, shape (K,), dtype bool, on the CPU.
    """
    if not isinstance(model, NextSymbols):
        raise TypeError(
            f"model must be a NextSymbols, got {type(model).__name__}"
        )
    task = _task(task)
    p = model.weight
    with torch.no_grad():
        scores = model(task.one_hot(p.dtype).to(p.device)).cpu()
    right = scores.argmax(-1) == task.targets[..., None]
    return right[task.mask].all(dim=0)


def train_side_by_side(
    cell, task, steps, seeds, *, keep_bias=1.0, lr=0.02, hidden=8, device=None
):
    r"""Train the networks of ``seeds`` on ``task``, side by side, in float64.

    Builds a :class:`NextSymbols` and takes ``steps`` full-batch steps of Adam, with
    a step size that falls from ``lr`` to zero along a cosine
    (``torch.optim.lr_scheduler.CosineAnnealingLR``), on the sum of the networks'
    losses. Network :math:`k`'s loss is its mean cross-entropy over the scored steps,

    .. math::

        J = \sum_{k=0}^{K-1} J_k, \qquad
        J_k = -\frac{1}{|M|} \sum_{(n, t) \in M} \log p^{(k)}_{n t}(y_{n t}),

    and depends only on network :math:`k`'s parameters, so each network gets the
    gradient, and Adam the updates, it would get if it were trained alone.

    Parameters
    ----------
    cell : type
        The recurrent cell class, as in :func:`side_by_side`.
    task : nnbook.data.SequenceTask
        The training sequences, all of them at every step.
    steps : int
        The number of Adam steps.
    seeds : sequence of int
        One network per seed.
    keep_bias : float, default 1.0
        Added to the keeping gate's bias, as in :class:`NextSymbols`.
    lr : float, default 0.02
        Adam's initial step size.
    hidden : int, default 8
        The number of units of each network.
    device : torch.device or str, optional
        Where to train; the CPU when None.

    Returns
    -------
    model : NextSymbols
        The trained networks, on ``device``.
    curves : torch.Tensor
        The loss of each network before each step, shape (steps, K), on the CPU.
    """
    from nnbook.train import minimize  # nnbook.train imports the package

    _gates(cell)
    task = _task(task)
    steps = _positive_int("steps", steps)
    seeds = _seeds(seeds)
    lr = _real("lr", lr, positive=True)
    if device is None:
        device = "cpu"
    elif not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    f64 = torch.float64
    symbols = len(task.vocabulary)
    model = NextSymbols(
        cell, symbols, seeds, keep_bias=keep_bias, hidden=hidden
    )
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    x = task.one_hot(f64).to(device)
    targets, mask = task.targets.to(device), task.mask.to(device)
    curves = []

    def loss():  # the sum of the K losses: each network gets its own gradient
        scores = model(x)[mask].transpose(1, 2)  # (scored steps, symbols, K)
        answers = targets[mask][:, None].expand(-1, len(seeds))
        losses = F.cross_entropy(scores, answers, reduction="none").mean(dim=0)
        curves.append(losses.detach().cpu())
        return losses.sum()

    minimize(loss, optimizer, steps, scheduler=schedule)
    return model, torch.stack(curves)
