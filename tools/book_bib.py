"""A Sphinx extension for the bibliography: author-year labels, and each DOI as a link.

The text cites by author and year (``{cite:t}`` and ``{cite:p}``), so the list of references
is labelled the same way: "Rumelhart et al. 1986", "Ng and Jordan 2002", "Polyak 1964". One
author gives the surname, two give both surnames joined by "and", three or more the first
surname and "et al.", as in the citations. The list is sorted by the authors' names, then
by year, then by title. Each entry ends with its DOI as a link to https://doi.org/..., or
else with its URL.

Entries that would get the same label (two papers of the same authors in one year) get
the letters a, b, ... in the order of the list: "He et al. 2016a", "He et al. 2016b". The
citations in the text show the same letter: the reference style ``book_author_year`` is
sphinxcontrib-bibtex's ``author_year`` with the year read from the entry's label.

The extension registers the pybtex plugins ``book`` (a formatting style, and the label and
sorting styles it uses) and the sphinxcontrib-bibtex reference style ``book_author_year``, and
makes ``book`` the default style of the ``{bibliography}`` directive
(``bibtex_default_style``) unless the configuration names another.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pybtex.plugin
from pybtex.backends.plaintext import Backend as PlainText
from pybtex.database import Entry, Person
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import field, first_of, href, join, node, optional
from sphinxcontrib.bibtex.plugin import register_plugin as register_reference_style
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

#: The name of the formatting style (``bibtex_default_style``).
STYLE = "book"
#: The name of the reference style (``bibtex_reference_style``).
REFERENCE_STYLE = "book_author_year"


#: Text.render_as("text") would look the backend up among all installed packages each time.
_PLAIN_TEXT = PlainText()


def _plain(text: Text | str) -> str:
    """``text`` (LaTeX: ``{\\"o}``, ``{NVIDIA}``) as plain Unicode."""
    if isinstance(text, str):
        text = Text.from_latex(text)
    return text.render(_PLAIN_TEXT)


def _surname(person: Person) -> str:
    """The surname as the text prints it: von part and last names ("van Merriënboer")."""
    return " ".join(_plain(part) for part in person.rich_prelast_names + person.rich_last_names)


def _persons(entry: Entry) -> list[Person]:
    return entry.persons.get("author") or entry.persons.get("editor") or []


def _sort_text(text: str) -> str:
    """``text`` for sorting: without accents, case folded ("Köpf" sorts as "kopf")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def author_year(entry: Entry) -> str:
    """The label of ``entry`` before two equal labels are told apart by a letter."""
    surnames = [_surname(person) for person in _persons(entry)]
    et_al = bool(surnames) and surnames[-1] == "others"  # "and others" in the .bib file
    if et_al:
        surnames.pop()
    if not surnames:
        names = entry.key
    elif len(surnames) >= 3 or et_al:
        names = f"{surnames[0]} et al."
    else:
        names = " and ".join(surnames)
    return f"{names} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Surname 1964", "Surname and Surname 2002", "Surname et al. 1986".

    Equal labels get a, b, ... in the order of ``sorted_entries`` (the order of the list).
    """

    def format_labels(self, sorted_entries):
        labels = [author_year(entry) for entry in sorted_entries]
        counts = Counter(labels)
        seen: Counter[str] = Counter()
        for label in labels:
            if counts[label] == 1:
                yield label
            else:
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1


class AuthorYearTitleSortingStyle(BaseSortingStyle):
    """Sorts by the authors' surnames and given names, then year, title and key."""

    def sorting_key(self, entry):
        names = tuple(
            (
                _sort_text(_surname(person)),
                _sort_text(" ".join(_plain(n) for n in person.rich_first_names)),
            )
            for person in _persons(entry)
        )
        title = _sort_text(_plain(entry.fields.get("title", "")))
        return names, entry.fields.get("year", ""), title, entry.key


class BookStyle(UnsrtStyle):
    """pybtex's ``unsrt`` with author-year labels, sorted, ending with the DOI or URL."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearTitleSortingStyle

    def format_web_refs(self, e):
        # The DOI if there is one, else the URL; no "URL:" and no period after the link.
        return first_of[optional[self.format_doi(e)], optional[self.format_url(e)]]

    def format_doi(self, e):
        url = join["https://doi.org/", field("doi", raw=True)]
        return href(url)[url]

    def format_url(self, e):
        url = field("url", raw=True)
        return href(url)[url]


#: The letter that tells apart two equal labels: "2016a" -> "a".
_LABEL_LETTER = re.compile(r"(?<=\d)([a-z])$")


@node
def year_with_label_letter(children, data):
    """Formats ``children`` with the entry's year followed by the letter of its label."""
    entry = data["entry"]
    letter = _LABEL_LETTER.search(data["formatted_entry"].label)
    if letter and "year" in entry.fields:
        fields = dict(entry.fields)
        fields["year"] += letter.group(1)
        entry = Entry(entry.type, fields=fields, persons=entry.persons)
    return join[children].format_data({**data, "entry": entry})


@dataclass
class BookAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year``, whose years carry the label's letter."""

    def inner(self, role_name):
        return year_with_label_letter[super().inner(role_name)]


def register_plugins() -> None:
    """Registers the styles under their names (again: no effect)."""
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, BookStyle)
    pybtex.plugin.register_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.sorting", STYLE, AuthorYearTitleSortingStyle)
    register_reference_style(
        "sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE, BookAuthorYearReferenceStyle
    )


def _use_book_style(app, config):
    if config.bibtex_default_style == "alpha":  # sphinxcontrib-bibtex's default, not a choice
        config.bibtex_default_style = STYLE


def setup(app):
    app.setup_extension("sphinxcontrib.bibtex")
    register_plugins()
    app.connect("config-inited", _use_book_style)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
