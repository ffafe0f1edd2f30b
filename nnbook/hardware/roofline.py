r"""The roofline model: how fast a kernel can run, given its arithmetic intensity.

A kernel that performs :math:`F` floating-point operations while moving :math:`Q` bytes
to and from memory has arithmetic intensity :math:`I = F / Q`. On a machine with peak
throughput :math:`P` (FLOP/s) and memory bandwidth :math:`\beta` (bytes/s) it cannot
exceed

.. math:: \text{attainable}(I) = \min(P, \beta I),

a sloped roof where memory is the limit and a flat one where arithmetic is. The ridge
point :math:`I = P / \beta` separates memory-bound from compute-bound kernels. The
costs below count each operand read once and each result written once: the minimum
traffic, which real kernels exceed.
"""

from __future__ import annotations

from nnbook.contract import Int, Real, contract

__all__ = [
    "attainable",
    "conv2d_cost",
    "linear_cost",
    "lstm_step_cost",
    "plot_roofline",
]


#: FLOP, bytes, FLOP/s and bytes/s: numbers above zero.
POSITIVE = Real(low=0, low_open=True)
#: Sizes of a layer: at least one.
SIZE = Int(low=1)


@contract(intensity=POSITIVE, peak_flops=POSITIVE, bandwidth=POSITIVE)
def attainable(intensity, peak_flops, bandwidth):
    """The roof: ``min(peak_flops, bandwidth * intensity)``, in FLOP/s."""
    return min(peak_flops, bandwidth * intensity)


@contract(batch=SIZE, f_in=SIZE, f_out=SIZE, bytes_per_element=SIZE)
def linear_cost(batch, f_in, f_out, bytes_per_element=4):
    """``(flops, bytes)`` of a fully connected layer's forward pass: ``2 B F_in F_out`` and its operands."""
    flops = 2 * batch * f_in * f_out
    return flops, bytes_per_element * (
        batch * f_in + f_in * f_out + f_out + batch * f_out
    )


@contract(
    batch=SIZE,
    c_in=SIZE,
    size=SIZE,
    c_out=SIZE,
    kernel=SIZE,
    stride=SIZE,
    padding=Int(low=0),
    bytes_per_element=SIZE,
)
def conv2d_cost(
    batch, c_in, size, c_out, kernel, stride=1, padding=0, bytes_per_element=4
):
    """``(flops, bytes)`` of a square convolution's forward pass: ``2 N C_out H_out^2 C_in k^2`` and its operands."""
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel must fit the padded input, size + 2 * padding = "
            f"{size + 2 * padding}, got {kernel}"
        )
    out = (size + 2 * padding - kernel) // stride + 1
    flops = 2 * batch * c_out * out * out * c_in * kernel * kernel
    elements = (
        batch * c_in * size * size
        + c_out * c_in * kernel * kernel
        + c_out
        + batch * c_out * out * out
    )
    return flops, bytes_per_element * elements


@contract(batch=SIZE, d=SIZE, h=SIZE, bytes_per_element=SIZE)
def lstm_step_cost(batch, d, h, bytes_per_element=4):
    """``(flops, bytes)`` of one LSTM step: the products into the 4H gates, then ~10 operations per unit."""
    flops = 2 * batch * (d + h) * 4 * h + 10 * batch * h
    elements = (
        batch * (d + 2 * h) + 4 * h * (d + h) + 8 * h + 2 * batch * h
    )  # x, h, c in; weights; h, c out
    return flops, bytes_per_element * elements


@contract(peak_flops=POSITIVE, bandwidth=POSITIVE)
def plot_roofline(
    ax, peak_flops, bandwidth, kernels=None, *, label="this machine"
):
    """Draw the roof of a machine on log-log axes, and place ``kernels`` on it.

    The roof is a black line, the ridge point a dotted vertical line. Each kernel gets a
    colour of its own: an open circle on the roof at its intensity and, if it was
    measured, a filled circle at its measured speed, joined to the open one by a thin
    line. The legend, in the lower right corner, names the roof and the kernels, so
    that kernels of similar intensity do not write their names over each other.

    Parameters
    ----------
    ax : matplotlib Axes
    peak_flops, bandwidth : float
        FLOP/s and bytes/s, positive.
    kernels : dict, optional
        ``name -> (intensity, measured FLOP/s or None)``. Each is marked at its
        intensity on the roof, and at its measured speed if one is given.
    label : str, default "this machine"
        The roof's entry in the legend.

    Returns
    -------
    float
        The ridge point ``peak_flops / bandwidth``, in FLOP/byte.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes or ``kernels`` is not a dict of pairs.
    ValueError
        If ``peak_flops``, ``bandwidth`` or an intensity is not positive.
    """
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}"
        )
    kernels = {} if kernels is None else kernels
    if not isinstance(kernels, dict):
        raise TypeError(
            f"kernels must be a dict or None, got {type(kernels).__name__}"
        )
    for name, entry in kernels.items():
        if not (isinstance(entry, tuple | list) and len(entry) == 2):
            raise TypeError(
                f"kernels[{name!r}] must be a pair (intensity, measured), got {entry!r:.60}"
            )
    ridge = peak_flops / bandwidth
    lo, hi = min(0.1, ridge / 100), max(1000.0, ridge * 100)
    xs = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    ax.loglog(
        xs,
        [attainable(x, peak_flops, bandwidth) / 1e9 for x in xs],
        "k",
        label=label,
    )
    ax.axvline(ridge, color="0.6", ls=":", lw=1)
    for name, (intensity, measured) in kernels.items():
        roof = attainable(intensity, peak_flops, bandwidth) / 1e9
        line = ax.plot([intensity], [roof], "o", mfc="none", label=name)[0]
        if measured is not None:
            ax.plot([intensity], [measured / 1e9], "o", color=line.get_color())
            ax.plot(
                [intensity, intensity],
                [measured / 1e9, roof],
                color=line.get_color(),
                lw=0.8,
            )
    if kernels:
        ax.legend(loc="lower right")
    ax.set(xlabel="arithmetic intensity (FLOP/byte)", ylabel="GFLOP/s")
    return ridge
