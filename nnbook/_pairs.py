"""Helpers for the forward/backward convention shared by every layer module."""

from __future__ import annotations

import functools
import inspect

__all__ = ["forward_only"]


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
    del output_only.__wrapped__  # so the docs and nnbook.show see this function itself
    return output_only
