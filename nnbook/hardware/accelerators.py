r"""The accelerators of 2015 to 2026, as their vendors specify them, with the sources.

Each :class:`Accelerator` holds the vendor's figures for one part and the bibliography
keys of the documents they come from. Throughputs are *dense* peaks, in TFLOP/s. Many
sources give only the rate with 2:4 structured sparsity, which is twice the dense one,
or only the figures of a whole server or rack: there the table holds the figure
computed from the source's (halved, or divided by the number of GPUs), and the entry's
``derived`` field records, column by column, which figure of the source it came from
and how. A figure that could not be read from the cited document itself is listed in
the entry's ``unconfirmed`` field. A cell that no source gives holds
:data:`NOT_PUBLISHED`; a format that the hardware lacks holds :data:`NOT_SUPPORTED`.

From the table, the machine balance of each part follows, equation :eq:`eq-hw-machine-balance`:
the ridge point :math:`P / \beta` in FLOP per byte, its inverse in bytes per FLOP, and
the memory per unit of throughput, :math:`M / P`; and the bound on the tokens per
second of memory-bound decoding, equation :eq:`eq-hw-decode-bound`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from nnbook.contract import Real, contract

__all__ = [
    "ACCELERATORS",
    "NOT_PUBLISHED",
    "NOT_SUPPORTED",
    "Accelerator",
    "bytes_per_flop",
    "decode_tokens_per_second",
    "markdown_table",
    "memory_per_tflops",
    "ridge_point",
]

#: A figure that no vendor document gives.
NOT_PUBLISHED = "not published"
#: A number format that the hardware does not compute in.
NOT_SUPPORTED = "not supported"

#: A figure: a number, or one of the two markers.
Figure = float | str


@dataclass(frozen=True)
class Accelerator:
    """One accelerator as its vendor specifies it.

    Attributes
    ----------
    name : str
        The product, with the variant (SXM, per GPU of a rack, ...).
    year : int
        The year it shipped.
    memory_gb : float or str
        Memory capacity in GB (10^9 bytes) as the vendor quotes it.
    bandwidth_tbs : float or str
        Memory bandwidth in TB/s (10^12 bytes per second).
    bf16_tflops, fp8_tflops, fp4_tflops : float or str
        Dense tensor throughput in TFLOP/s (10^12 FLOP per second).
    power_w : float or str
        Board power (TDP or TBP) in watts.
    interconnect : str
        The link between accelerators.
    sources : tuple
        Bibliography keys of the documents the figures come from.
    note : str
        What the figures mean where that is not obvious.
    derived : dict
        ``{column: how}`` for each figure that the table computes from a source's
        figure instead of copying it, such as ``{"bf16_tflops": "1,979 with sparsity,
        / 2"}``; the table marks these cells with a dagger.
    unconfirmed : tuple
        Columns whose figure could not be read from the cited document itself (only
        from copies of it); the table marks these cells with a double dagger.
    """

    name: str
    year: int
    memory_gb: Figure
    bandwidth_tbs: Figure
    bf16_tflops: Figure
    fp8_tflops: Figure
    fp4_tflops: Figure
    power_w: Figure
    interconnect: str
    sources: tuple
    note: str = ""
    derived: dict = field(default_factory=dict)
    unconfirmed: tuple = ()

    def __post_init__(self):
        columns = [f.name for f in fields(self)][2:8]
        for label, names in (
            ("derived", self.derived),
            ("unconfirmed", self.unconfirmed),
        ):
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise ValueError(
                    f"{label} must name figure columns ({', '.join(columns)}), "
                    f"got {unknown}"
                )

    def figures(self) -> dict:
        """The numeric columns by name: memory, bandwidth, throughputs and power."""
        names = [f.name for f in fields(self)][2:8]
        return {name: getattr(self, name) for name in names}


_NO = NOT_SUPPORTED
_NP = NOT_PUBLISHED

#: Link bandwidths are counted in both directions, as the vendors count them.
BOTH = " (both directions)"

_HALF = "{} with sparsity, / 2"
_HGX = "HGX B200 (8 GPUs) figure with sparsity, / 8 / 2"
_NVL72 = "GB200 NVL72 rack figure with sparsity, / 72 / 2"

#: The table of the book, oldest first.
ACCELERATORS = (
    Accelerator(
        "GTX Titan X",
        2015,
        12,
        0.336,
        _NO,
        _NO,
        _NO,
        250,
        "PCIe 3.0",
        ("nvidia2015titanx",),
        "float32 peak about 6.6 TFLOP/s",
    ),
    Accelerator(
        "A100 SXM 80 GB",
        2020,
        80,
        2.039,
        312,
        _NO,
        _NO,
        400,
        "NVLink 3, 600 GB/s" + BOTH,
        ("nvidia2020a100",),
    ),
    Accelerator(
        "H100 SXM",
        2022,
        80,
        3.35,
        989,
        1979,
        _NO,
        700,
        "NVLink 4, 900 GB/s" + BOTH,
        ("nvidia2022h100",),
        derived={
            "bf16_tflops": _HALF.format("1,979"),
            "fp8_tflops": _HALF.format("3,958"),
        },
    ),
    Accelerator(
        "RTX 4090",
        2022,
        24,
        1.008,
        165.2,
        330.3,
        _NO,
        450,
        "PCIe 4.0, no NVLink",
        ("nvidia2022ada",),
        "bf16 and fp8 with float32 accumulation, at half the rate of fp16 "
        "accumulation (fp8 with fp16 accumulation: 660.6)",
    ),
    Accelerator(
        "MI300X",
        2023,
        192,
        5.3,
        1307.4,
        2614.9,
        _NO,
        750,
        "Infinity Fabric, 7 x 128 GB/s" + BOTH,
        ("amd2023mi300x",),
    ),
    Accelerator(
        "H200 SXM",
        2024,
        141,
        4.8,
        989,
        1979,
        _NO,
        700,
        "NVLink 4, 900 GB/s" + BOTH,
        ("nvidia2024h200",),
        derived={
            "bf16_tflops": _HALF.format("1,979"),
            "fp8_tflops": _HALF.format("3,958"),
        },
    ),
    Accelerator(
        "MI325X",
        2024,
        256,
        6.0,
        1307.4,
        2614.9,
        _NO,
        1000,
        "Infinity Fabric, 7 x 128 GB/s" + BOTH,
        ("amd2024mi325x",),
    ),
    Accelerator(
        "Apple M4 Max",
        2024,
        128,
        0.546,
        _NP,
        _NP,
        _NP,
        _NP,
        "none (one chip)",
        ("apple2024m4promax",),
        "unified memory shared by CPU and GPU",
    ),
    Accelerator(
        "B200 (HGX)",
        2025,
        180,
        8.0,
        2250,
        4500,
        9000,
        1000,
        "NVLink 5, 1.8 TB/s" + BOTH,
        ("nvidia2024blackwell", "nvidia2024dgxb200", "lockwood2025b200"),
        "power per GPU from a compilation of NVIDIA's figures",
        derived={"bf16_tflops": _HGX, "fp8_tflops": _HGX, "fp4_tflops": _HGX},
    ),
    Accelerator(
        "GB200 NVL72, per GPU",
        2025,
        186,
        8.0,
        2500,
        5000,
        10000,
        1200,
        "NVLink 5, 1.8 TB/s" + BOTH + ", 72 GPUs",
        ("nvidia2024gb200nvl72", "lockwood2025b200"),
        "rack figures divided by 72; power per GPU from a compilation of NVIDIA's "
        "figures (for the rack, see the power and cooling section)",
        derived={
            "memory_gb": "13.4 TB per rack / 72",
            "bandwidth_tbs": "576 TB/s per rack / 72",
            "bf16_tflops": _NVL72,
            "fp8_tflops": _NVL72,
            "fp4_tflops": _NVL72,
        },
    ),
    Accelerator(
        "MI355X",
        2025,
        288,
        8.0,
        2500,
        5000,
        10000,
        1400,
        "Infinity Fabric, 7 x 153.6 GB/s" + BOTH,
        ("amd2025mi355x",),
        "fp4 is MXFP4; MXFP6 runs at the MXFP4 rate; AMD's page gives the "
        "throughputs rounded",
    ),
    Accelerator(
        "RTX 5090",
        2025,
        32,
        1.792,
        209.5,
        419,
        1676,
        575,
        "PCIe 5.0, no NVLink",
        ("nvidia2025rtxblackwell", "nvidia2025rtx5090"),
        "every column with float32 accumulation: fp8, and bf16 (which accumulates "
        "only in float32), at half the rate of 16-bit accumulation (fp8 with fp16 "
        "accumulation: 838), fp4 (block-scaled NVFP4 or MXFP4) at full rate, so "
        "that fp4 is four times fp8 here",
        derived={"fp4_tflops": "3,352 AI TOPS (fp4 with sparsity), / 2"},
        unconfirmed=("bf16_tflops", "fp8_tflops"),
    ),
    Accelerator(
        "Apple M3 Ultra",
        2025,
        512,
        0.819,
        _NP,
        _NP,
        _NP,
        _NP,
        "none (one chip)",
        ("apple2025m3ultra", "apple2025macstudio"),
        "unified memory shared by CPU and GPU; the announcement says over 800 GB/s, "
        "the Mac Studio's specifications 819 GB/s",
    ),
)


#: FLOP/s, bytes/s, bytes: numbers above zero.
POSITIVE = Real(low=0, low_open=True)


@contract(
    "eq-hw-machine-balance",
    peak_tflops=POSITIVE,
    bandwidth_tbs=POSITIVE,
    reference="the closed form P / beta",
)
def ridge_point(peak_tflops, bandwidth_tbs):
    r"""The ridge point of the roofline: FLOP per byte of memory traffic.

    Implements :eq:`eq-hw-machine-balance`, :math:`I^* = P / \beta`. A kernel with a
    lower arithmetic intensity is bound by memory on this machine.

    Parameters
    ----------
    peak_tflops : float
        :math:`P`, dense peak in TFLOP/s, positive.
    bandwidth_tbs : float
        :math:`\beta`, memory bandwidth in TB/s, positive.

    Returns
    -------
    float
        FLOP per byte (both rates are per 10^12, so the ratio needs no conversion).

    Raises
    ------
    TypeError
        If an argument is not a real number.
    ValueError
        If an argument is NaN or not positive.
    """
    return peak_tflops / bandwidth_tbs


@contract(
    "eq-hw-machine-balance",
    peak_tflops=POSITIVE,
    bandwidth_tbs=POSITIVE,
    reference="the closed form beta / P",
)
def bytes_per_flop(peak_tflops, bandwidth_tbs):
    r"""Bytes of memory traffic the machine offers per FLOP: :math:`\beta / P`.

    Implements :eq:`eq-hw-machine-balance`; the inverse of :func:`ridge_point`.

    Parameters
    ----------
    peak_tflops : float
        :math:`P` in TFLOP/s, positive.
    bandwidth_tbs : float
        :math:`\beta` in TB/s, positive.

    Returns
    -------
    float
        Bytes per FLOP.

    Raises
    ------
    TypeError
        If an argument is not a real number.
    ValueError
        If an argument is NaN or not positive.
    """
    return bandwidth_tbs / peak_tflops


@contract(
    "eq-hw-machine-balance",
    memory_gb=POSITIVE,
    peak_tflops=POSITIVE,
    reference="the closed form M / P",
)
def memory_per_tflops(memory_gb, peak_tflops):
    r"""Memory per unit of throughput, :math:`M / P`, in GB per TFLOP/s.

    Implements :eq:`eq-hw-machine-balance`. It says how much state (weights, cache)
    each unit of arithmetic has to work on; a large value suits memory-hungry
    inference, a small one compute-hungry training.

    Parameters
    ----------
    memory_gb : float
        :math:`M` in GB, positive.
    peak_tflops : float
        :math:`P` in TFLOP/s, positive.

    Returns
    -------
    float
        GB per TFLOP/s.

    Raises
    ------
    TypeError
        If an argument is not a real number.
    ValueError
        If an argument is NaN or not positive.
    """
    return memory_gb / peak_tflops


@contract(
    "eq-hw-decode-bound",
    bandwidth_tbs=POSITIVE,
    weights_gb=POSITIVE,
    kv_cache_gb=Real(low=0),
    reference="the closed form beta / (W + C)",
)
def decode_tokens_per_second(bandwidth_tbs, weights_gb, kv_cache_gb=0.0):
    r"""Upper bound on the tokens per second of decoding at batch 1.

    Implements :eq:`eq-hw-decode-bound`,

    .. math::

        r \le \frac{\beta}{W + C},

    for a model that reads all its weights, :math:`W` bytes, and the key-value cache of
    the sequence so far, :math:`C` bytes, from memory once per generated token, on a
    memory of bandwidth :math:`\beta`. It is a bound: real kernels reach only a
    fraction of the peak bandwidth, and the arithmetic, the launches and the
    communication are left out.

    Parameters
    ----------
    bandwidth_tbs : float
        :math:`\beta`, memory bandwidth in TB/s, positive.
    weights_gb : float
        :math:`W`, bytes of the weights in GB, positive.
    kv_cache_gb : float, default 0.0
        :math:`C`, bytes of the key-value cache read per token, in GB, at least 0.

    Returns
    -------
    float
        Tokens per second.

    Raises
    ------
    TypeError
        If an argument is not a real number.
    ValueError
        If an argument is NaN, or out of its range.
    """
    return bandwidth_tbs * 1000 / (weights_gb + kv_cache_gb)


#: Marks of a table cell: computed from a source's figure, and not read from the
#: cited document itself.
DAGGER, DOUBLE_DAGGER = "\u2020", "\u2021"


def _cell(value, mark=""):
    """A table cell: a marker as it is, a number with thousands separators."""
    return (value if isinstance(value, str) else f"{value:,}") + mark


def _mark(entry, name):
    mark = DAGGER if name in entry.derived else ""
    return mark + (DOUBLE_DAGGER if name in entry.unconfirmed else "")


def markdown_table(entries=ACCELERATORS, *, derived=False):
    """A Markdown table of ``entries``: the vendor's figures, or the derived balance.

    Parameters
    ----------
    entries : tuple
        :class:`Accelerator` objects; the book's table by default.
    derived : bool, default False
        False: memory, bandwidth, throughputs, power and link. True: the
        ridge point at bf16 and fp8 (FLOP/byte), bytes per bf16 FLOP, and GB per
        bf16 TFLOP/s, computed with :func:`ridge_point`, :func:`bytes_per_flop` and
        :func:`memory_per_tflops`.

    Returns
    -------
    str
        The table, one row per entry, and for the figures a line that explains the
        marks of computed and unconfirmed cells. It holds no citations (Markdown outputs are
        rendered as plain GitHub Markdown); the page cites each entry's ``sources``.

    Raises
    ------
    TypeError
        If an entry is not an :class:`Accelerator`.
    """
    for entry in entries:
        if not isinstance(entry, Accelerator):
            raise TypeError(
                f"entries must hold Accelerator objects, got {type(entry).__name__}"
            )
    if derived:
        rows = [
            "| accelerator | ridge bf16 (FLOP/byte) | ridge fp8 (FLOP/byte) "
            "| bytes per bf16 FLOP | GB per bf16 TFLOP/s |",
            "|---|---|---|---|---|",
        ]
        for e in entries:
            rows.append(
                f"| {e.name} | {_derived(ridge_point, e.bf16_tflops, e.bandwidth_tbs, 0)} "
                f"| {_derived(ridge_point, e.fp8_tflops, e.bandwidth_tbs, 0)} "
                f"| {_derived(bytes_per_flop, e.bf16_tflops, e.bandwidth_tbs, 4)} "
                f"| {_derived(memory_per_tflops, e.memory_gb, e.bf16_tflops, 2)} |"
            )
        return "\n".join(rows)
    rows = [
        "| accelerator | year | memory (GB) | bandwidth (TB/s) | bf16 (TFLOP/s) "
        "| fp8 (TFLOP/s) | fp4 (TFLOP/s) | power (W) | link |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        cells = [_cell(v, _mark(e, n)) for n, v in e.figures().items()]
        rows.append(
            f"| {e.name} | {e.year} | "
            + " | ".join(cells)
            + f" | {e.interconnect} |"
        )
    rows += [
        "",
        f"{DAGGER} computed from the source's figure: half its rate with 2:4 "
        "sparsity, or a server's or rack's figure divided by its GPUs. "
        f"{DOUBLE_DAGGER} not read from the cited document itself, only from "
        "copies of its table.",
    ]
    return "\n".join(rows)


def _derived(function, a, b, digits):
    """``function(a, b)`` formatted, or the marker of whichever input is missing."""
    for value in (a, b):
        if isinstance(value, str):
            return value
    return f"{function(a, b):,.{digits}f}"
