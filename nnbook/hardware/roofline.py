r"""The roofline model: how fast a kernel can run, given its arithmetic intensity.

A kernel that performs :math:`F` floating-point operations while moving :math:`Q` bytes
to and from memory has arithmetic intensity :math:`I = F / Q`
(:func:`intensity`). On a machine with peak throughput :math:`P` (FLOP/s) and memory
bandwidth :math:`\beta` (bytes/s) it cannot exceed

.. math:: \text{attainable}(I) = \min(P, \beta I),

a sloped roof where memory is the limit and a flat one where arithmetic is
(:func:`attainable`). The ridge point :math:`I = P / \beta` (:func:`ridge_point`)
separates memory-bound from compute-bound kernels. The costs below count each operand
read once and each result written once: the traffic of a kernel that never rereads,
which real kernels exceed. (The embedding bag counts every looked-up row, a row drawn
twice counted twice.)
"""

from __future__ import annotations

from nnbook.contract import Choice, Int, Real, contract

__all__ = [
    "attainable",
    "conv2d_cost",
    "elementwise_cost",
    "embedding_bag_cost",
    "intensity",
    "layer_norm_cost",
    "linear_cost",
    "lstm_step_cost",
    "plot_roofline",
    "ridge_point",
]


#: FLOP, bytes, FLOP/s and bytes/s: numbers above zero.
POSITIVE = Real(low=0, low_open=True)
#: Sizes of a layer: at least one.
SIZE = Int(low=1)


@contract(
    "eq-hw-intensity", reference="closed form", flops=POSITIVE, nbytes=POSITIVE
)
def intensity(flops, nbytes):
    r"""Arithmetic intensity: FLOP per byte of memory traffic.

    Implements :eq:`eq-hw-intensity`.

    .. math:: I = \frac{F}{Q}

    Parameters
    ----------
    flops : float
        :math:`F`, the floating-point operations of the kernel, positive.
    nbytes : float
        :math:`Q`, the bytes it moves to and from memory, positive.

    Returns
    -------
    float
        :math:`I` in FLOP/byte.
    """
    return flops / nbytes


@contract(
    "eq-hw-roofline",
    reference="closed form",
    intensity=POSITIVE,
    peak_flops=POSITIVE,
    bandwidth=POSITIVE,
)
def attainable(intensity, peak_flops, bandwidth):
    r"""The roof: the highest FLOP/s a kernel of this intensity can reach.

    Implements :eq:`eq-hw-roofline`.

    .. math:: \text{attainable}(I) = \min(P, \beta I)

    Parameters
    ----------
    intensity : float
        :math:`I` in FLOP/byte, positive.
    peak_flops : float
        :math:`P` in FLOP/s, positive.
    bandwidth : float
        :math:`\beta` in bytes/s, positive.

    Returns
    -------
    float
        ``min(peak_flops, bandwidth * intensity)``, in FLOP/s.
    """
    return min(peak_flops, bandwidth * intensity)


@contract(
    "eq-hw-ridge",
    reference="closed form",
    peak_flops=POSITIVE,
    bandwidth=POSITIVE,
)
def ridge_point(peak_flops, bandwidth):
    r"""The intensity where the sloped roof meets the flat one.

    Implements :eq:`eq-hw-ridge`.

    .. math:: I^{*} = \frac{P}{\beta}

    Kernels below it are memory-bound, kernels above it compute-bound.

    Parameters
    ----------
    peak_flops : float
        :math:`P` in FLOP/s, positive.
    bandwidth : float
        :math:`\beta` in bytes/s, positive.

    Returns
    -------
    float
        :math:`I^{*}` in FLOP/byte.
    """
    return peak_flops / bandwidth


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
    """``(flops, bytes)`` of one LSTM step: the products into the 4H gates, then 10 operations per unit.

    The 10 per unit stand for the gates' activations and the cell update; a finer
    count, with the two bias additions and the sum of the two products, comes to
    about 20. Either is negligible next to the ``8 (d + h)`` operations per unit of
    the products.
    """
    flops = 2 * batch * (d + h) * 4 * h + 10 * batch * h
    elements = (
        batch * (d + 2 * h) + 4 * h * (d + h) + 8 * h + 2 * batch * h
    )  # x, h, c in; weights; h, c out
    return flops, bytes_per_element * elements


@contract(
    numel=SIZE,
    inputs=SIZE,
    flops_per_element=POSITIVE,
    bytes_per_element=SIZE,
)
def elementwise_cost(numel, inputs=1, flops_per_element=1, bytes_per_element=4):
    r"""``(flops, bytes)`` of an elementwise operation on ``numel`` elements.

    Each output element reads one element of each of the ``inputs`` tensors, does
    ``flops_per_element`` operations and is written once: an addition ``x + y`` has
    ``inputs=2`` and one FLOP per element.

    .. math::

        F = f\,n, \qquad Q = b\,(k + 1)\,n

    for :math:`n` elements, :math:`k` inputs, :math:`f` FLOP per element and
    :math:`b` bytes per element. The intensity, :math:`f / (b (k + 1))`, does not
    depend on :math:`n`: a larger tensor is no more efficient.

    Parameters
    ----------
    numel : int
        :math:`n`, the number of output elements.
    inputs : int, default 1
        :math:`k`, the tensors read, each of ``numel`` elements.
    flops_per_element : float, default 1
        :math:`f`.
    bytes_per_element : int, default 4
        :math:`b`: 4 for float32, 2 for bfloat16.

    Returns
    -------
    tuple
        ``(flops, bytes)``.
    """
    flops = flops_per_element * numel
    return flops, bytes_per_element * (inputs + 1) * numel


@contract(rows=SIZE, features=SIZE, bytes_per_element=SIZE)
def layer_norm_cost(rows, features, bytes_per_element=4):
    r"""``(flops, bytes)`` of a layer norm over the last axis, with a scale and a shift.

    Per row of :math:`d` features: :math:`d` additions for the mean, :math:`d`
    subtractions, :math:`d` squares and :math:`d` additions for the variance,
    :math:`d` multiplications by :math:`1/\sigma`, and :math:`d` multiplications and
    :math:`d` additions for the scale and shift; four more operations per row turn the
    sums into the mean and :math:`1/\sigma`. The input and output are moved once, the
    scale and shift once.

    .. math::

        F = r\,(7d + 4), \qquad Q = b\,(2rd + 2d)

    Parameters
    ----------
    rows : int
        :math:`r`, the rows normalized (batch times positions).
    features : int
        :math:`d`, the size of the normalized axis.
    bytes_per_element : int, default 4
        :math:`b`.

    Returns
    -------
    tuple
        ``(flops, bytes)``.
    """
    flops = rows * (7 * features + 4)
    return flops, bytes_per_element * (2 * rows * features + 2 * features)


@contract(
    bags=SIZE,
    bag_size=SIZE,
    dim=SIZE,
    bytes_per_element=SIZE,
    index_bytes=SIZE,
)
def embedding_bag_cost(bags, bag_size, dim, bytes_per_element=4, index_bytes=8):
    r"""``(flops, bytes)`` of looking up ``bag_size`` rows per bag and summing them.

    This is ``torch.nn.functional.embedding_bag`` with ``mode="sum"``, the lookup of
    recommendation models and bag-of-words classifiers. Each looked-up number is read
    once and added once into its bag's sum; each index is read once; each sum is
    written once. The bytes are those looked up, duplicates counted: with random
    indices some rows are drawn more than once (of :math:`n s` draws from a table of
    :math:`R` rows about :math:`R (1 - e^{-ns/R})` are distinct), and a cache may serve
    the repeats. The FLOP count adds every row into a zeroed sum, :math:`s` additions
    per number, as PyTorch's kernel does; :math:`s - 1` would be the minimum.
    (A plain lookup, ``bag_size`` 1 and no sum, does no arithmetic at
    all: it only moves data.)

    .. math::

        F = n\,s\,d, \qquad Q = b\,(n s d + n d) + c\,n s

    for :math:`n` bags of :math:`s` rows of :math:`d` numbers, :math:`b` bytes per
    number and :math:`c` bytes per index.

    Parameters
    ----------
    bags : int
        :math:`n`.
    bag_size : int
        :math:`s`, the rows summed into each bag.
    dim : int
        :math:`d`, the width of the table.
    bytes_per_element : int, default 4
        :math:`b`.
    index_bytes : int, default 8
        :math:`c`: 8 for int64 indices.

    Returns
    -------
    tuple
        ``(flops, bytes)``.
    """
    looked_up = bags * bag_size * dim
    nbytes = bytes_per_element * (looked_up + bags * dim)
    return looked_up, nbytes + index_bytes * bags * bag_size


#: The units :func:`plot_roofline` can label its vertical axis in.
UNITS = {"GFLOP/s": 1e9, "TFLOP/s": 1e12}


@contract(peak_flops=POSITIVE, bandwidth=POSITIVE, unit=Choice(*UNITS))
def plot_roofline(
    ax,
    peak_flops,
    bandwidth,
    kernels=None,
    *,
    label="this machine",
    unit="GFLOP/s",
):
    """Draw the roof of a machine on log-log axes, and place ``kernels`` on it.

    The roof is a black line, the ridge point a dotted vertical line. Each kernel gets a
    colour and a number of its own: an open circle on the roof at its intensity and, if
    it was measured, a filled circle at its measured speed, joined to the open one by a
    thin line, with the number beside the filled circle (or the open one). The number
    goes in the first of a few spots around the point where it overlaps no marker, no
    line between markers, no other number, not the roof and not the legend
    (:func:`nnbook.plot.hardware_roofline.number_points`); the legend, in the lower
    right corner, names the roof and the numbered kernels.

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
    unit : str, default "GFLOP/s"
        The vertical axis's unit: ``"GFLOP/s"`` or ``"TFLOP/s"`` (for a GPU).

    Returns
    -------
    float
        The ridge point ``peak_flops / bandwidth``, in FLOP/byte.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes or ``kernels`` is not a dict of pairs.
    ValueError
        If ``peak_flops``, ``bandwidth`` or an intensity is not positive, or
        ``unit`` is not one of ``UNITS``.
    """
    from matplotlib.axes import Axes
    from matplotlib.transforms import Bbox

    from nnbook.plot.hardware_roofline import number_points

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
    ridge = ridge_point(peak_flops, bandwidth)
    per = UNITS[unit]
    roofs = [
        attainable(i, peak_flops, bandwidth) / per for i, _ in kernels.values()
    ]  # checks each intensity
    lo = min([0.1, ridge / 100] + [i / 3 for i, _ in kernels.values()])
    hi = max(1000.0, ridge * 100)
    xs = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    ax.loglog(
        xs,
        [attainable(x, peak_flops, bandwidth) / per for x in xs],
        "k",
        label=label,
    )
    ax.axvline(ridge, color="0.6", ls=":", lw=1)
    anchors, colors, segments = [], [], []
    for k, (name, (intensity_, measured)) in enumerate(kernels.items(), 1):
        roof = roofs[k - 1]
        line = ax.plot(
            [intensity_], [roof], "o", mfc="none", label=f"{k}  {name}"
        )[0]
        anchors.append((intensity_, roof))
        colors.append(line.get_color())
        if measured is not None:
            ax.plot([intensity_], [measured / per], "o", color=colors[-1])
            ax.plot(
                [intensity_, intensity_],
                [measured / per, roof],
                color=colors[-1],
                lw=0.8,
            )
            anchors[-1] = (intensity_, measured / per)
            segments.append(((intensity_, measured / per), (intensity_, roof)))
    ax.set(xlabel="arithmetic intensity (FLOP/byte)", ylabel=unit)
    if kernels:
        legend = ax.legend(loc="lower right")
        # Fix the limits, so that the numbers are placed where the points end up.
        ax.autoscale_view()
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        to_pixels = ax.transData.transform
        radius = ax.get_lines()[2].get_markersize() * ax.figure.dpi / 72 / 2 + 1
        avoid = [legend.get_window_extent()]
        for line in ax.get_lines()[2:]:
            if line.get_marker() == "o":
                px, py = to_pixels((line.get_xdata()[0], line.get_ydata()[0]))
                avoid.append(
                    Bbox(
                        [[px - radius, py - radius], [px + radius, py + radius]]
                    )
                )
        for a, b in segments:
            (xa, ya), (_, yb) = to_pixels(a), to_pixels(b)
            avoid.append(Bbox([[xa - 1, min(ya, yb)], [xa + 1, max(ya, yb)]]))
        curve = to_pixels(ax.get_lines()[0].get_xydata())
        number_points(ax, anchors, colors, avoid=avoid, curve=curve)
    return ridge
