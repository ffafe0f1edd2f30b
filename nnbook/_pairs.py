"""Helpers for the forward/backward convention shared by every layer module."""

from __future__ import annotations

import functools
import inspect

import torch

__all__ = ["autograd_function", "forward_only"]


def forward_only(forward):
    """Make the convenience form of ``name_forward``: same arguments, output only.

    ``linear = forward_only(linear_forward)`` gives ``linear(h, W, b)``, which returns
    ``linear_forward(h, W, b)[0]``.
    """
    name = forward.__name__.removesuffix("_forward")

    @functools.wraps(forward)
    def output_only(*args, **kwargs):
        return forward(*args, **kwargs)[0]

    output_only.__name__ = output_only.__qualname__ = name
    output_only.__doc__ = (
        f"The output of :func:`{forward.__name__}` without its cache.\n\n"
        f"Takes the same arguments; use it where no backward pass follows."
    )
    output_only.__signature__ = inspect.signature(forward)
    del (
        output_only.__wrapped__
    )  # so the docs and nnbook.show see this function itself
    return output_only


def autograd_function(forward, backward, name):
    """A ``torch.autograd.Function`` whose passes are a hand-written pair.

    ``forward(*args)`` returns ``(out, cache)``; ``backward(dout, cache)`` returns the
    gradients of the leading arguments (one tensor, or a tuple). The remaining arguments
    (strides, flags, running statistics) get no gradient. Where ``out`` is a tuple of
    tensors, ``dout`` is the tuple of their gradients. Autograd only chains the
    hand-written functions; it differentiates nothing itself.
    """

    def run_forward(ctx, *args):
        """Run the hand-written forward pass; keep its cache on ``ctx``."""
        out, ctx.cache = forward(*args)
        ctx.n_args = len(args)
        return out

    def run_backward(ctx, *douts):
        """Run the hand-written backward pass; arguments beyond its gradients get None."""
        douts = tuple(d.contiguous() for d in douts)
        grads = backward(douts[0] if len(douts) == 1 else douts, ctx.cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return grads + (None,) * (ctx.n_args - len(grads))

    doc = f"``{forward.__name__}`` and ``{backward.__name__}`` as an autograd function."
    methods = {
        "forward": staticmethod(run_forward),
        "backward": staticmethod(run_backward),
        "__doc__": doc,
    }
    return type(name, (torch.autograd.Function,), methods)
