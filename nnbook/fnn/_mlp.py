r"""A multilayer perceptron built from the chapter's own pieces, with backprop by hand.

Each hidden layer is weight averaging, optional batch normalization, the activation and
optional dropout; the output layer is weight averaging alone, and the loss function is
applied outside. ``forward`` stores what ``backward`` needs; ``backward`` fills in the
``.grad`` of every parameter, so any optimizer that reads ``.grad`` (nnbook's or
``torch.optim``'s) can train it.
"""

from __future__ import annotations

import torch

from nnbook.contract import Choice, Flag, Instance, Ints, Real, Tensor, contract
from nnbook.fnn import _linear, _regularization
from nnbook.fnn._activations import ACTIVATIONS
from nnbook.fnn._init import INIT_SCHEMES, init_weight

__all__ = ["MLP"]


def _unchecked(function):
    """The function behind a contract, which then checks nothing.

    :meth:`MLP.forward` and :meth:`MLP.backward` check what the caller gives them once;
    the layers inside then only see tensors the network made itself, so checking each
    layer's call again would cost time (about a third of a small network's training
    step) and find nothing.
    """
    return getattr(function, "__wrapped__", function)


linear_forward = _unchecked(_linear.linear_forward)
linear_backward = _unchecked(_linear.linear_backward)
batch_norm_forward = _unchecked(_regularization.batch_norm_forward)
batch_norm_backward = _unchecked(_regularization.batch_norm_backward)
dropout_forward = _unchecked(_regularization.dropout_forward)
dropout_backward = _unchecked(_regularization.dropout_backward)


def _input_width(self):
    return {"F_0": self.sizes[0]}


class MLP:
    r"""A feedforward network with hand-written forward and backward passes.

    Parameters
    ----------
    sizes : sequence of int
        The widths :math:`F_0, F_1, \dots, F_N`: input, hidden layers, output.
    activation : str, default "relu"
        A key of :data:`~nnbook.fnn.ACTIVATIONS`.
    init : str, default "he_normal"
        A scheme of :func:`~nnbook.fnn.init_weight`.
    batch_norm : bool, default False
        Normalize every hidden layer's weighted sums. Its hidden layers then have no
        bias, because the normalization would cancel it.
    dropout : float, default 0.0
        Dropout probability after every hidden activation.
    generator : torch.Generator, optional
        CPU generator for the initial weights and the dropout masks.
    dtype : torch.dtype, default torch.float32
    device : str or torch.device, default "cpu"

    Examples
    --------
    >>> net = MLP([64, 32, 10])
    >>> logits = net.forward(torch.randn(5, 64))            # (5, 10)
    >>> dx = net.backward(torch.ones(5, 10))                # fills p.grad for every p
    """

    @contract(
        sizes=Ints(low=1),
        activation=Choice(*ACTIVATIONS),
        init=Choice(*INIT_SCHEMES),
        batch_norm=Flag(),
        dropout=Real(low=0, high=1, high_open=True),
        generator=Instance(torch.Generator, optional=True),
        dtype=Instance(torch.dtype),
    )
    def __init__(
        self,
        sizes,
        *,
        activation="relu",
        init="he_normal",
        batch_norm=False,
        dropout=0.0,
        generator=None,
        dtype=torch.float32,
        device="cpu",
    ):
        if len(sizes) < 2:
            raise ValueError(
                f"sizes must hold at least 2 widths (F_0, ..., F_N), got {sizes}"
            )
        self.sizes, self.activation, self.batch_norm, self.dropout = (
            sizes,
            activation,
            batch_norm,
            dropout,
        )
        self.generator = generator
        self.layers = []  # one dict of parameters and buffers per layer
        for nu, (F_in, F_out) in enumerate(
            zip(sizes[:-1], sizes[1:], strict=True)
        ):
            hidden = nu < len(sizes) - 2
            W = init_weight(
                F_out, F_in, init, generator=generator, dtype=dtype
            ).to(device)
            layer = {"W": W}
            if hidden and batch_norm:
                layer |= {
                    "gamma": torch.ones(F_out, dtype=dtype, device=device),
                    "beta": torch.zeros(F_out, dtype=dtype, device=device),
                    "running_mean": torch.zeros(
                        F_out, dtype=dtype, device=device
                    ),
                    "running_var": torch.ones(
                        F_out, dtype=dtype, device=device
                    ),
                }
            else:
                layer["b"] = torch.zeros(F_out, dtype=dtype, device=device)
            self.layers.append(layer)
        self._caches = None

    def named_parameters(self):
        """``(name, tensor)`` for every trainable parameter, named as in :meth:`to_torch`."""
        names = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}
        out = []
        for nu, layer in enumerate(self.layers):
            linear, bn = self._torch_index(nu)
            for key in ("W", "b", "gamma", "beta"):
                if key in layer:
                    index = bn if key in ("gamma", "beta") else linear
                    out.append((f"{index}.{names[key]}", layer[key]))
        return out

    def parameters(self):
        """Every trainable parameter, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Forget the gradients of the last :meth:`backward`."""
        for p in self.parameters():
            p.grad = None

    @contract(x=Tensor("T_mb", "F_0"), training=Flag(), bind=_input_width)
    def forward(self, x, *, training=True):
        """Compute the output (logits, or predictions for regression).

        Parameters
        ----------
        x : Tensor of shape (T_mb, F_0)
        training : bool, default True
            Batch statistics and dropout in training; running statistics and no dropout
            in evaluation.

        Returns
        -------
        Tensor of shape (T_mb, F_N)
        """
        h = x
        g_forward = _unchecked(ACTIVATIONS[self.activation][0])
        self._caches = []
        for nu, layer in enumerate(self.layers):
            cache = {}
            h, cache["linear"] = linear_forward(h, layer["W"], layer.get("b"))
            if nu == len(self.layers) - 1:
                self._caches.append(cache)
                break
            if "gamma" in layer:
                h, cache["bn"] = batch_norm_forward(
                    h,
                    layer["gamma"],
                    layer["beta"],
                    layer["running_mean"],
                    layer["running_var"],
                    training=training,
                )
            h, cache["g"] = g_forward(h)
            if self.dropout:
                h, cache["dropout"] = dropout_forward(
                    h, self.dropout, training=training, generator=self.generator
                )
            self._caches.append(cache)
        return h

    def backward(self, delta, *, input_grad=True):
        r"""Backpropagate :math:`\delta = \partial J/\partial\,\text{output}` through every layer.

        Sets ``p.grad`` of every parameter and returns :math:`\partial J/\partial x`
        (None with ``input_grad=False``, which skips that product, as autograd does for
        inputs that need no gradient). Implements :eq:`eq-fnn-backprop`.
        """
        if self._caches is None:
            raise RuntimeError("backward needs a forward pass first")
        g_backward = _unchecked(ACTIVATIONS[self.activation][1])
        for nu in reversed(range(len(self.layers))):
            layer, cache = self.layers[nu], self._caches[nu]
            if "dropout" in cache:
                delta = dropout_backward(delta, cache["dropout"])
            if "g" in cache:
                delta = g_backward(delta, cache["g"])
            if "bn" in cache:
                delta, layer["gamma"].grad, layer["beta"].grad = (
                    batch_norm_backward(delta, cache["bn"])
                )
            need = input_grad or nu > 0
            delta, layer["W"].grad, db = linear_backward(
                delta, cache["linear"], input_grad=need
            )
            if "b" in layer:
                layer["b"].grad = db
        self._caches = None
        return delta

    def to_torch(self):
        """The same network as a ``torch.nn.Sequential``, with a copy of the weights.

        Returns
        -------
        torch.nn.Sequential
            Linear, [BatchNorm1d], activation, [Dropout] per hidden layer, then Linear.
            Its ``state_dict`` keys match :meth:`named_parameters`.
        """
        modules = {
            "sigmoid": torch.nn.Sigmoid,
            "tanh": torch.nn.Tanh,
            "relu": torch.nn.ReLU,
            "leaky_relu": torch.nn.LeakyReLU,
            "elu": torch.nn.ELU,
        }
        seq = []
        for nu, layer in enumerate(self.layers):
            F_out, F_in = layer["W"].shape
            seq.append(torch.nn.Linear(F_in, F_out, bias="b" in layer))
            if nu == len(self.layers) - 1:
                break
            if "gamma" in layer:
                seq.append(torch.nn.BatchNorm1d(F_out))
            seq.append(modules[self.activation]())
            if self.dropout:
                seq.append(torch.nn.Dropout(self.dropout))
        W = self.layers[0]["W"]
        net = torch.nn.Sequential(*seq).to(W.device, W.dtype)
        state = net.state_dict()
        state.update({name: p.clone() for name, p in self.named_parameters()})
        for nu, layer in enumerate(self.layers):
            _, bn = self._torch_index(nu)
            for key in ("running_mean", "running_var"):
                if key in layer:
                    state[f"{bn}.{key}"] = layer[key].clone()
        net.load_state_dict(state)
        return net

    def _torch_index(self, nu):
        """Positions of layer ``nu``'s Linear and BatchNorm1d inside :meth:`to_torch`."""
        per_hidden = 2 + bool(self.batch_norm) + bool(self.dropout)
        linear = nu * per_hidden
        return linear, linear + 1
