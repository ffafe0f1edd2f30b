"""The bibliography: every entry links to its source, titles render, author-year labels."""

import re
from pathlib import Path

import book_bib  # tools/ is on the path (conftest.py)
import pybtex.database
import pytest
from pybtex.plugin import find_plugin
from sphinxcontrib.bibtex.style.template import year

pytestmark = pytest.mark.spine

ROOT = Path(__file__).resolve().parent.parent
BIB = pybtex.database.parse_file(ROOT / "references.bib")


@pytest.fixture(scope="module")
def labels() -> dict[str, str]:
    """Each entry's label by key, for the whole file (the book lists the cited entries)."""
    book_bib.register_plugins()
    style = find_plugin("pybtex.style.formatting", book_bib.STYLE)()
    return {entry.key: entry.label for entry in style.format_entries(BIB.entries.values())}


@pytest.mark.parametrize("key", BIB.entries.keys())
def test_every_entry_has_a_doi_or_url(key):
    fields = BIB.entries[key].fields
    assert "doi" in fields or "url" in fields, f"{key}: add a doi (or, if it has none, a url)"


@pytest.mark.parametrize("key", BIB.entries.keys())
def test_dois_and_urls_are_well_formed(key):
    fields = BIB.entries[key].fields
    if "doi" in fields:  # the bare DOI: the style writes https://doi.org/ in front
        assert re.fullmatch(r"10\.\d{4,9}/\S+", fields["doi"]), f"{key}: {fields['doi']}"
    if "url" in fields:
        assert re.fullmatch(r"https://\S+", fields["url"]), f"{key}: {fields['url']}"


@pytest.mark.parametrize("key", BIB.entries.keys())
def test_text_fields_have_no_latex_math_or_url_commands(key):
    """pybtex prints ``$O(1/k^2)$`` and ``\\url{...}`` as they are: write O(1/k²) instead."""
    for name, value in BIB.entries[key].fields.items():
        if name not in ("url", "doi"):
            assert "$" not in value and "\\url" not in value, f"{key}.{name}: {value}"


@pytest.mark.parametrize("key", BIB.entries.keys())
def test_author_lists_are_complete(key):
    """With "and others" the citations would name a person called others."""
    persons = BIB.entries[key].persons.get("author", [])
    assert all(str(person) != "others" for person in persons), f"{key}: list every author"


def test_labels_are_author_year(labels):
    assert labels["rumelhart1986"] == "Rumelhart et al. 1986"  # three or more authors
    assert labels["ng2002"] == "Ng and Jordan 2002"  # two
    assert labels["polyak1964"] == "Polyak 1964"  # one
    assert labels["cho2014"] == "Cho et al. 2014"
    assert labels["nvidia2020a100"] == "NVIDIA 2020"  # a corporate author in braces


def test_equal_labels_get_letters_in_the_order_of_the_list(labels):
    """Sorted by authors, year, then title: "Deep residual ..." before "Identity ..."."""
    assert labels["he2016"] == "He et al. 2016a"
    assert labels["he2016identity"] == "He et al. 2016b"
    assert labels["he2015"] == "He et al. 2015"


def test_no_two_entries_have_the_same_label(labels):
    seen: dict[str, str] = {}
    for key, label in labels.items():
        assert label not in seen, f"{key} and {seen[label]} are both [{label}]"
        seen[label] = key


def test_the_list_is_sorted_by_author_then_year():
    book_bib.register_plugins()
    style = find_plugin("pybtex.style.formatting", book_bib.STYLE)()
    keys = [entry.key for entry in style.sort(BIB.entries.values())]
    assert keys.index("hinton2002") < keys.index("hinton2006") < keys.index("hochreiter1997")
    assert keys.index("dettmers2015hardware") < keys.index("dettmers2023gpus")
    assert keys[0] == "ackley1985" and keys[-1] == "zhu2002learning"


def test_entries_end_with_the_doi_as_a_link_or_else_the_url():
    book_bib.register_plugins()
    style = find_plugin("pybtex.style.formatting", book_bib.STYLE)()
    entries = {entry.key: entry for entry in style.format_entries(BIB.entries.values())}
    doi = "https://doi.org/10.1038/323533a0"
    html = entries["rumelhart1986"].text.render_as("html")
    assert html.endswith(f'<a href="{doi}">{doi}</a>')
    url = "https://arxiv.org/abs/1212.5701"
    assert entries["zeiler2012"].text.render_as("text").endswith(url)


def test_a_title_with_math_renders_as_text():
    book_bib.register_plugins()
    style = find_plugin("pybtex.style.formatting", book_bib.STYLE)()
    (entry,) = style.format_entries([BIB.entries["nesterov1983"]])
    assert "convergence rate O(1/k²)." in entry.text.render_as("text")


def test_citations_in_the_text_show_the_letter_of_the_label():
    book_bib.register_plugins()
    style = find_plugin("pybtex.style.formatting", book_bib.STYLE)()
    entries = {entry.key: entry for entry in style.format_entries(BIB.entries.values())}
    for key, expected in [("he2016identity", "2016b"), ("he2015", "2015")]:
        data = {"entry": BIB.entries[key], "formatted_entry": entries[key]}
        assert str(book_bib.year_with_label_letter[year].format_data(data)) == expected
