"""nnbook.hardware.accelerators: the table of accelerators, its sources and its derived numbers."""

import json
import math
import re
from pathlib import Path

import pytest

from nnbook.hardware import accelerators as acc

pytestmark = pytest.mark.hardware

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "chapters" / "hardware" / "since_2015.ipynb"
MARKERS = (acc.NOT_PUBLISHED, acc.NOT_SUPPORTED)


def _bib_keys():
    """Keys of references.bib."""
    text = (ROOT / "references.bib").read_text()
    return set(re.findall(r"@\w+\{([^,\s]+),", text))


def test_every_entry_cites_a_known_source():
    keys = _bib_keys()
    for entry in acc.ACCELERATORS:
        assert entry.sources, f"{entry.name} has no source"
        missing = [k for k in entry.sources if k not in keys]
        assert not missing, f"{entry.name} cites unknown keys {missing}"


def test_the_page_cites_every_source_of_the_table():
    nb = json.loads(PAGE.read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    cited = set()
    for group in re.findall(r"\{cite:[pt]\}`([^`]+)`", text):
        cited |= {k.strip() for k in group.split(",")}
    for entry in acc.ACCELERATORS:
        assert set(entry.sources) <= cited, f"the page never cites {entry.name}'s sources"


def test_every_figure_is_a_positive_number_or_a_marker():
    for entry in acc.ACCELERATORS:
        for name, value in entry.figures().items():
            if isinstance(value, str):
                assert value in MARKERS, f"{entry.name}.{name} = {value!r}"
            else:
                assert isinstance(value, int | float) and not isinstance(value, bool)
                assert math.isfinite(value) and value > 0, f"{entry.name}.{name}"
        assert entry.memory_gb not in MARKERS and entry.bandwidth_tbs not in MARKERS


def test_the_table_holds_the_2026_parts_and_the_4090_fp8_fix():
    names = [e.name for e in acc.ACCELERATORS]
    for part in ("H200", "B200", "GB200", "MI300X", "MI355X", "RTX 5090", "Apple"):
        assert any(part in n for n in names), part
    rtx4090 = next(e for e in acc.ACCELERATORS if e.name == "RTX 4090")
    assert rtx4090.fp8_tflops == 330.3  # Ada whitepaper, float32 accumulation, dense


def test_dense_figures_follow_the_format_ladder():
    # where a part has them, dense fp8 is twice bf16 and fp4 twice fp8 (RTX 5090: four
    # times its fp8 with float32 accumulation, which runs at half rate on GeForce cards)
    for e in acc.ACCELERATORS:
        if isinstance(e.bf16_tflops, float | int) and isinstance(e.fp8_tflops, float | int):
            assert e.fp8_tflops == pytest.approx(2 * e.bf16_tflops, rel=1e-3), e.name
        if isinstance(e.fp8_tflops, float | int) and isinstance(e.fp4_tflops, float | int):
            factor = 4 if e.name == "RTX 5090" else 2
            assert e.fp4_tflops == pytest.approx(factor * e.fp8_tflops, rel=1e-3), e.name


def test_derived_numbers_match_their_closed_forms():
    h100 = next(e for e in acc.ACCELERATORS if e.name == "H100 SXM")
    assert acc.ridge_point(989, 3.35) == pytest.approx(989e12 / 3.35e12)
    assert acc.ridge_point(h100.bf16_tflops, h100.bandwidth_tbs) == pytest.approx(295.2, abs=0.1)
    assert acc.bytes_per_flop(989, 3.35) == pytest.approx(3.35 / 989)
    assert acc.ridge_point(2, 4) * acc.bytes_per_flop(2, 4) == pytest.approx(1.0)
    assert acc.memory_per_tflops(80, 989) == pytest.approx(80 / 989)


def test_markdown_tables_render_every_entry_and_marker():
    table = acc.markdown_table()
    lines = table.splitlines()
    assert len(lines) == 2 + len(acc.ACCELERATORS) + 2  # and a blank and a key line
    assert all(line.count("|") == 10 for line in lines[: 2 + len(acc.ACCELERATORS)])
    assert "$" not in table and "—" not in table
    assert "| RTX 4090 | 2022 | 24 | 1.008 | 165.2 | 330.3 | not supported |" in table
    assert "| H100 SXM | 2022 | 80 | 3.35 | 989† | 1,979† | not supported |" in table
    assert "| 209.5‡ | 419‡ | 1,676† | 575 |" in table
    assert lines[-1].startswith("† computed") and "‡ not read" in lines[-1]
    derived = acc.markdown_table(derived=True).splitlines()
    assert "| H100 SXM | 295 | 591 | 0.0034 | 0.08 |" in derived
    apple = next(line for line in derived if "M3 Ultra" in line)
    assert apple.count(acc.NOT_PUBLISHED) == 4


def test_halved_and_divided_cells_are_recorded():
    parts = {e.name: e for e in acc.ACCELERATORS}
    for name in ("H100 SXM", "H200 SXM"):
        assert set(parts[name].derived) == {"bf16_tflops", "fp8_tflops"}
        assert "/ 2" in parts[name].derived["bf16_tflops"]
    assert set(parts["B200 (HGX)"].derived) == {"bf16_tflops", "fp8_tflops", "fp4_tflops"}
    gb200 = parts["GB200 NVL72, per GPU"]
    assert all("/ 72" in how for how in gb200.derived.values())
    assert 13.4e3 / 72 == pytest.approx(gb200.memory_gb, abs=0.5)
    assert 360e3 / 72 / 2 == gb200.bf16_tflops  # 360 PFLOP/s sparse per rack
    rtx5090 = parts["RTX 5090"]
    assert rtx5090.derived == {"fp4_tflops": "3,352 AI TOPS (fp4 with sparsity), / 2"}
    assert rtx5090.fp4_tflops == 3352 / 2
    assert set(rtx5090.unconfirmed) == {"bf16_tflops", "fp8_tflops"}
    # parts whose sources give dense figures: nothing computed
    for name in ("A100 SXM 80 GB", "RTX 4090", "MI300X", "MI325X", "MI355X"):
        assert parts[name].derived == {}, name
    for e in acc.ACCELERATORS:
        assert set(e.derived) <= set(e.figures()), e.name
        assert all(isinstance(v, str) and v for v in e.derived.values()), e.name


def test_power_and_links_carry_their_sources_and_directions():
    parts = {e.name: e for e in acc.ACCELERATORS}
    assert "lockwood2025b200" in parts["B200 (HGX)"].sources
    assert "lockwood2025b200" in parts["GB200 NVL72, per GPU"].sources
    assert parts["GB200 NVL72, per GPU"].power_w == 1200
    assert "apple2025macstudio" in parts["Apple M3 Ultra"].sources
    for e in acc.ACCELERATORS:
        if "NVLink" in e.interconnect and "no NVLink" not in e.interconnect:
            assert "(both directions)" in e.interconnect, e.name
        if "Infinity Fabric" in e.interconnect:
            assert "(both directions)" in e.interconnect, e.name
    assert "153.6" in parts["MI355X"].interconnect


def test_an_unknown_column_in_derived_is_refused():
    with pytest.raises(ValueError, match="derived must name figure columns"):
        acc.Accelerator("x", 2025, 1, 1, 1, 1, 1, 1, "-", ("k",), derived={"tflops": "?"})
    with pytest.raises(ValueError, match="unconfirmed must name figure columns"):
        acc.Accelerator("x", 2025, 1, 1, 1, 1, 1, 1, "-", ("k",), unconfirmed=("fp2",))


def test_decode_bound_matches_its_closed_form():
    # 4.8 TB/s over 70 GB of weights: 68.6 tokens/s; a 10 GB cache lowers it to 60
    assert acc.decode_tokens_per_second(4.8, 70) == pytest.approx(4.8e12 / 70e9)
    assert acc.decode_tokens_per_second(4.8, 70, 10) == pytest.approx(60.0)
    assert acc.decode_tokens_per_second(8, 70, 0) > acc.decode_tokens_per_second(8, 70, 1)
    with pytest.raises(ValueError, match="kv_cache_gb"):
        acc.decode_tokens_per_second(1, 1, -1)
    with pytest.raises(ValueError, match="weights_gb"):
        acc.decode_tokens_per_second(1, 0)
    with pytest.raises(TypeError, match="bandwidth_tbs"):
        acc.decode_tokens_per_second("1", 1)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="peak_tflops"):
        acc.ridge_point(0, 1)
    with pytest.raises(ValueError, match="bandwidth_tbs"):
        acc.bytes_per_flop(1, float("nan"))
    with pytest.raises(TypeError, match="memory_gb"):
        acc.memory_per_tflops("80", 1)
    with pytest.raises(TypeError, match="entries must hold Accelerator objects, got dict"):
        acc.markdown_table([{}])
