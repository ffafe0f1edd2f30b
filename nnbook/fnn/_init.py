r"""Weight initialization schemes for a weight matrix of shape ``(F_out, F_in)``.

Every scheme draws from a CPU generator, so the same seed gives the same weights on any
device. Biases start at zero.
"""

from __future__ import annotations

import math

import torch

from nnbook.contract import Choice, Instance, Int, Real, contract

__all__ = ["INIT_SCHEMES", "init_std", "init_weight"]

#: The schemes :func:`init_weight` knows, with the standard deviation each one gives.
INIT_SCHEMES = {
    "zeros": "0: every neuron identical (symmetric)",
    "normal": "std given by the caller",
    "survey": "sqrt(6 / (F_in + F_out)), a normal scaled by Glorot's uniform bound",
    "glorot_uniform": "sqrt(2 / (F_in + F_out)), uniform on [-sqrt(6/(F_in+F_out)), +]",
    "glorot_normal": "sqrt(2 / (F_in + F_out))",
    "he_uniform": "sqrt(2 / F_in), uniform on [-sqrt(6/F_in), +]",
    "he_normal": "sqrt(2 / F_in)",
}


@contract(
    "eq-fnn-init",
    scheme=Choice(*INIT_SCHEMES),
    F_out=Int(low=1),
    F_in=Int(low=1),
    std=Real(low=0, optional=True),
)
def init_std(scheme, F_out, F_in, *, std=None):
    r"""The standard deviation of the weights a scheme draws. Implements :eq:`eq-fnn-init`.

    Parameters
    ----------
    scheme : str
        One of :data:`INIT_SCHEMES`.
    F_out, F_in : int
        The layer's output and input widths.
    std : float, optional
        Only for ``"normal"``.

    Returns
    -------
    float

    Notes
    -----
    .. math:: \text{Glorot: } \operatorname{Var}\Theta = \frac{2}{F_\nu + F_{\nu+1}},
              \qquad \text{He: } \operatorname{Var}\Theta = \frac{2}{F_\nu}, \\
              \text{survey: } \Theta = \sqrt{\frac{6}{F_\nu + F_{\nu+1}}}\;\mathcal N(0, 1)
    """
    if (scheme == "normal") != (std is not None):
        raise ValueError(
            f"std must be given with scheme 'normal' and only then, got {std!r}"
        )
    return {
        "zeros": lambda: 0.0,
        "normal": lambda: std,
        "survey": lambda: math.sqrt(6 / (F_in + F_out)),
        "glorot_uniform": lambda: math.sqrt(2 / (F_in + F_out)),
        "glorot_normal": lambda: math.sqrt(2 / (F_in + F_out)),
        "he_uniform": lambda: math.sqrt(2 / F_in),
        "he_normal": lambda: math.sqrt(2 / F_in),
    }[scheme]()


@contract(
    F_out=Int(low=1),
    F_in=Int(low=1),
    scheme=Choice(*INIT_SCHEMES),
    std=Real(low=0, optional=True),
    generator=Instance(torch.Generator, optional=True),
    dtype=Instance(torch.dtype),
)
def init_weight(
    F_out,
    F_in,
    scheme="he_normal",
    *,
    std=None,
    generator=None,
    dtype=torch.float32,
):
    """A freshly initialized weight matrix.

    Parameters
    ----------
    F_out, F_in : int
    scheme : str, default "he_normal"
        One of :data:`INIT_SCHEMES`. He suits ReLU-like activations, Glorot suits tanh
        and sigmoid.
    std : float, optional
        The standard deviation, for ``"normal"`` only.
    generator : torch.Generator, optional
        A CPU generator; the global one when omitted.
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor of shape (F_out, F_in)
        On the CPU; move it with ``.to(device)``.

    Notes
    -----
    The uniform schemes draw from :math:`U(-\\sqrt3\\,s, \\sqrt3\\,s)`, which has standard
    deviation :math:`s`; they equal ``torch.nn.init.xavier_uniform_`` and
    ``kaiming_uniform_(nonlinearity="relu")`` draw for draw.
    """
    s = init_std(scheme, F_out, F_in, std=std)
    W = torch.empty(F_out, F_in, dtype=dtype)
    if scheme == "zeros":
        return W.zero_()
    if scheme.endswith("uniform"):
        bound = math.sqrt(3) * s
        return W.uniform_(-bound, bound, generator=generator)
    return W.normal_(0, s, generator=generator)
