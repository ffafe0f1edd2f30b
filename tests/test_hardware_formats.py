"""nnbook.hardware.formats: rounding to TF32, bf16, fp8 and fp4, and MX block quantization.

The references are torch's own casts (bfloat16, float16, float8_e4m3fn, float8_e5m2),
compared in float64, and a brute-force search over every value of the E2M1 format.
"""

import itertools
import math

import matplotlib
import pytest
import torch

from nnbook.hardware import formats
from nnbook.plot.hardware_formats import plot_format_errors

matplotlib.use("Agg")
pytestmark = pytest.mark.hardware

CASTS = {
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
    "e4m3": torch.float8_e4m3fn,
    "e5m2": torch.float8_e5m2,
}


def _float32_values(seed, n=20_000):
    """float32 values (exact in float64) over many binades, subnormals included."""
    g = torch.Generator().manual_seed(seed)
    mantissa = torch.rand(n, generator=g) * 2 - 1
    exponent = torch.randint(-30, 17, (n,), generator=g).float()
    return (mantissa * torch.exp2(exponent)).double()


def _e2m1_values():
    """Every finite E2M1 number, by decoding all 16 bit patterns."""
    values = []
    for sign, exponent, mantissa in itertools.product((1, -1), range(4), range(2)):
        if exponent == 0:  # subnormal: 0.m * 2^(1 - bias), bias 1
            values.append(sign * mantissa / 2)
        else:
            values.append(sign * (1 + mantissa / 2) * 2.0 ** (exponent - 1))
    return torch.tensor(sorted(set(values)), dtype=torch.float64)


@pytest.mark.parametrize("fmt", list(CASTS))
@pytest.mark.parametrize("seed", [0, 1])
def test_rounding_agrees_with_torch_casts_in_range(fmt, seed):
    x = _float32_values(seed)
    limit = formats.FORMATS[fmt].max_value
    if limit is not None:
        x = x[x.abs() <= limit]
    theirs = x.float().to(CASTS[fmt]).double()
    torch.testing.assert_close(formats.round_to_format(x, fmt), theirs, rtol=0, atol=0)


def test_ties_go_to_the_even_neighbour():
    # halfway between 1 and 1 + 2^-7 (bf16) and between 1 and 1.125 (e4m3)
    x = torch.tensor([1 + 2.0**-8, 1 + 3 * 2.0**-8, 1.0625, 1.1875], dtype=torch.float64)
    ours = torch.stack(
        [formats.round_to_format(x[:2], "bf16"), formats.round_to_format(x[2:], "e4m3")]
    ).flatten()
    assert ours.tolist() == [1.0, 1 + 2 * 2.0**-7, 1.0, 1.25]
    assert formats.round_to_format(x[:2], "bf16").tolist() == (
        x[:2].float().bfloat16().double().tolist()
    )


def test_tf32_keeps_ten_mantissa_bits_and_float32_range():
    x = _float32_values(3)
    x = x[(x.abs() > 2.0**-14) & (x.abs() < 65504)]  # where float16 is normal
    ref = x.float().half().double()  # float16 also has 10 mantissa bits
    torch.testing.assert_close(formats.round_to_format(x, "tf32"), ref, rtol=0, atol=0)
    big = torch.tensor([1e30, -3e-30], dtype=torch.float64)
    out = formats.round_to_format(big, "tf32")
    assert torch.all((out - big).abs() <= big.abs() * 2.0**-11)


def test_e2m1_is_the_nearest_representable_value():
    grid = _e2m1_values()
    assert grid.abs().unique().tolist() == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    x = torch.linspace(-6, 6, 4801, dtype=torch.float64)
    ours = formats.round_to_format(x, "e2m1")
    distance = (x[:, None] - grid[None]).abs()
    best = distance.min(dim=1).values
    assert torch.equal((ours - x).abs(), best)
    assert torch.isin(ours, grid).all()


def test_out_of_range_values_are_clamped():
    x = torch.tensor([7.0, -100.0, 500.0, 1e6], dtype=torch.float64)
    assert formats.round_to_format(x[:2], "e2m1").tolist() == [6.0, -6.0]
    assert formats.round_to_format(x[2:3], "e4m3").tolist() == [448.0]
    assert formats.round_to_format(x[3:], "e5m2").tolist() == [57344.0]


def test_rounding_keeps_dtype_and_shape():
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    out = formats.round_to_format(x, "bf16")
    assert out.dtype == torch.float32 and out.shape == (3, 4)
    torch.testing.assert_close(out, x.bfloat16().float(), rtol=0, atol=0)


def _mx_brute_force(x, block=32):
    """MXFP4 by search: per block, the E8M0 scale of the spec, then the nearest value."""
    grid = _e2m1_values()
    v = x.reshape(-1, block)
    out = torch.empty_like(v)
    scales = []
    for i, row in enumerate(v):
        amax = row.abs().max().item()
        e = 0
        if amax > 0:
            while 2.0 ** (e + 1) <= amax:
                e += 1
            while 2.0**e > amax:
                e -= 1
        scale = 2.0 ** (e - 2) if amax > 0 else 1.0  # 2 = exponent of 4, E2M1's top power
        candidates = grid * scale
        d = (row[:, None] - candidates[None]).abs()
        # nearest; ties to the candidate with an even mantissa (E2M1 codes: 0 is even)
        best = d.min(dim=1, keepdim=True).values
        for j in range(block):
            tied = candidates[(d[j] == best[j]).nonzero().flatten()]
            if len(tied) == 1:
                out[i, j] = tied[0]
            else:  # pick the one whose scaled value has an even last mantissa bit
                evens = [t for t in tied if _even_e2m1(t.item() / scale)]
                out[i, j] = evens[0]
        scales.append(scale)
    return out.reshape(x.shape), torch.tensor(scales, dtype=torch.float64)


def _even_e2m1(value):
    """True if the E2M1 code of ``value`` has mantissa bit 0."""
    return abs(value) in (0.0, 1.0, 2.0, 4.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mxfp4_agrees_with_a_brute_force_search(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 64, generator=g, dtype=torch.float64)
    x[0, 5] = 40.0  # an outlier in one block
    x[1, :32] = 0.0  # a block of zeros
    x[2, 32:] *= 1e-3
    values, scales = formats.mx_quantize(x)
    ref_values, ref_scales = _mx_brute_force(x)
    torch.testing.assert_close(values, ref_values, rtol=0, atol=0)
    torch.testing.assert_close(scales.flatten(), ref_scales, rtol=0, atol=0)
    assert scales.shape == (4, 2)


def test_mx_scale_is_a_power_of_two_that_fits_the_block():
    x = torch.randn(8, 96, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    for element in ("e2m1", "e4m3", "e5m2"):
        values, scales = formats.mx_quantize(x, element)
        mantissa, _ = torch.frexp(scales)
        assert torch.all(mantissa == 0.5)  # a power of two: E8M0 has no mantissa
        limit = formats.FORMATS[element].max_value
        blocks = x.reshape(8, 3, 32).abs().amax(-1)
        assert torch.all(blocks / scales < 2 * 2 ** formats.FORMATS[element].max_exponent)
        assert torch.all(values.reshape(8, 3, 32).abs().amax(-1) <= limit * scales)


def test_mxfp8_is_closer_than_mxfp4_and_a_block_scale_beats_none():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(16, 128, generator=g, dtype=torch.float64) * 0.02
    x[:, 7] *= 50  # a channel of outliers

    def err(y):
        return ((y - x).norm() / x.norm()).item()

    mxfp8 = err(formats.mx_quantize(x, "e4m3")[0])
    mxfp4 = err(formats.mx_quantize(x, "e2m1")[0])
    per_row = err(formats.mx_quantize(x, "e2m1", block=128)[0])
    unscaled = err(formats.round_to_format(x, "e2m1"))
    assert mxfp8 < mxfp4 < per_row < unscaled


def test_block_one_is_exact_on_powers_of_two():
    x = torch.tensor([[0.25, -8.0, 1024.0]], dtype=torch.float64)
    values, _ = formats.mx_quantize(x, block=1)
    assert torch.equal(values, x)


def test_bad_arguments_are_refused_by_name():
    x = torch.zeros(2, 30, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x must have a last size .* block=32, got 30"):
        formats.mx_quantize(x)
    with pytest.raises(ValueError, match="x must not contain NaN"):
        formats.round_to_format(torch.tensor([1.0, float("nan")]), "bf16")
    with pytest.raises(ValueError, match="x must not contain NaN"):
        formats.mx_quantize(torch.full((1, 32), float("nan")))
    with pytest.raises(ValueError, match="fmt"):
        formats.round_to_format(x, "fp3")
    with pytest.raises(ValueError, match="element"):
        formats.mx_quantize(torch.zeros(1, 32), element="e8m0")
    with pytest.raises(TypeError, match="x must"):
        formats.round_to_format([1.0], "bf16")
    with pytest.raises(ValueError, match="max_value"):
        _ = formats.FORMATS["bf16"].max_exponent


def test_plot_format_errors():
    ax = plot_format_errors({"bf16": (1e-3, 2e-3), "MXFP4": (0.1, 0.05)})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bf16", "MXFP4"]
    assert ax.get_xscale() == "log"
    assert len(ax.patches) == 0  # dots, not bars, on a log axis
    assert len(ax.lines) == 2 and all(len(line.get_xdata()) == 2 for line in ax.lines)


@pytest.mark.parametrize(
    ("errors", "error", "match"),
    [
        ([1, 2], TypeError, "errors must be a dict"),
        ({}, ValueError, "at least one"),
        ({"a": (1.0,)}, ValueError, r"errors\['a'\] must be a pair"),
        ({"a": (1.0, "x")}, TypeError, r"errors\['a'\] must hold numbers"),
        ({"a": (1.0, 0.0)}, ValueError, "above 0"),
    ],
)
def test_plot_format_errors_refuses_bad_input(errors, error, match):
    with pytest.raises(error, match=match):
        plot_format_errors(errors)


def test_plot_format_errors_refuses_a_bad_axes():
    with pytest.raises(TypeError, match="ax must be"):
        plot_format_errors({"a": (1.0, 1.0)}, ax="left")


def test_quantize_follows_its_scheme():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(4, 64, generator=g, dtype=torch.float64)
    torch.testing.assert_close(formats.quantize(x, "bf16"), formats.round_to_format(x, "bf16"))
    torch.testing.assert_close(
        formats.quantize(x, "MXFP4, spec's floor rule"), formats.mx_quantize(x)[0]
    )
    torch.testing.assert_close(
        formats.quantize(x, "MXFP8, scale rounded up"),
        formats.mx_quantize(x, "e4m3", rounding="up")[0],
    )
    # per-tensor fp8: the scale amax / 448, not a power of two; amax lands on 448
    one = formats.quantize(x, "fp8 E4M3, amax/448")
    scale = x.abs().max() / 448
    torch.testing.assert_close(one, scale * formats.round_to_format(x / scale, "e4m3"))
    assert one.abs().max() == pytest.approx(x.abs().max().item(), rel=1e-15)
    tensor = formats.quantize(x, "fp4, one scale")
    power = 2.0 ** (torch.floor(torch.log2(x.abs().max())) - 2)
    torch.testing.assert_close(tensor, power * formats.round_to_format(x / power, "e2m1"))
    assert torch.equal(formats.quantize(x, "fp4, no scale"), formats.round_to_format(x, "e2m1"))
    assert torch.equal(
        formats.quantize(torch.zeros(2, 32), "fp8 E4M3, amax/448"), torch.zeros(2, 32)
    )
    with pytest.raises(ValueError, match="scheme"):
        formats.quantize(x, "int4")
    with pytest.raises(ValueError, match="x must not contain NaN"):
        formats.quantize(torch.full((1, 32), float("nan")), "fp8 E4M3, amax/448")


def test_bits_per_value():
    expected = {
        "tf32": 19,
        "bf16": 16,
        "fp8 E4M3, amax/448": 8,
        "MXFP8, spec's floor rule": 8.25,
        "MXFP8, scale rounded up": 8.25,
        "MXFP4, spec's floor rule": 4.25,
    }
    for scheme, bits in expected.items():
        assert formats.bits_per_value(scheme) == bits
    with pytest.raises(ValueError, match="scheme"):
        formats.bits_per_value("fp2")


def _round_up_reference(x, element, block):
    """2^ceil(log2(amax / x_max)) by math.log2 on Python floats, block by block."""
    x_max = formats.FORMATS[element].max_value
    v = x.reshape(-1, block)
    out = torch.empty_like(v)
    for i, row in enumerate(v):
        amax = row.abs().max().item()
        scale = 2.0 ** math.ceil(math.log2(amax / x_max)) if amax > 0 else 1.0
        out[i] = scale * formats.round_to_format(row / scale, element)
    return out.reshape(x.shape)


@pytest.mark.parametrize("element", ["e2m1", "e4m3", "e5m2"])
@pytest.mark.parametrize("seed", [0, 1])
def test_round_up_rule_matches_a_reference_and_never_clamps(element, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 64, generator=g, dtype=torch.float64)
    x = x * torch.exp2(torch.randint(-6, 7, (8, 1), generator=g)).double()
    x[0, :32] = 6 * 2.0**3  # amax / x_max an exact power of two for e2m1
    values, scales = formats.mx_quantize(x, element, rounding="up")
    torch.testing.assert_close(values, _round_up_reference(x, element, 32), rtol=0, atol=0)
    ratio = x.reshape(8, 2, 32).abs().amax(-1) / scales
    x_max = formats.FORMATS[element].max_value
    assert (ratio <= x_max).all() and (ratio > x_max / 2).all()
    assert torch.equal(torch.log2(scales), torch.round(torch.log2(scales)))


def test_floor_rule_clamps_where_the_round_up_rule_does_not():
    block = torch.full((1, 32), 0.1, dtype=torch.float64)
    block[0, 0] = 7.5  # top binade [4, 8) of E2M1 with X = 1: 7.5 is clamped to 6
    floor, x_floor = formats.mx_quantize(block)
    up, x_up = formats.mx_quantize(block, rounding="up")
    assert x_floor.item() == 1.0 and floor[0, 0].item() == 6.0
    assert x_up.item() == 2.0 and up[0, 0].item() == 8.0  # 7.5 / 2 = 3.75 -> 4
    with pytest.raises(ValueError, match="rounding"):
        formats.mx_quantize(block, rounding="nearest")
