"""The book's list of exercises, generated from the registry of nnbook.check.

The directive ``nnbook-exercises`` (used on the API page of :mod:`nnbook.check`)
renders every registered exercise, grouped by chapter: its name, its kind, the
section that teaches it and its task. Nothing is listed by hand, so the page cannot
fall behind the package.
"""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class ExerciseList(SphinxDirective):
    """Every registered exercise, one bullet each, under a heading per chapter."""

    def run(self):
        from nnbook.check import _REGISTRY, _load_all

        _load_all()
        chapters = {}
        for name in sorted(_REGISTRY):
            if not name.startswith("test."):
                chapters.setdefault(name.split(".")[0], []).append(_REGISTRY[name])
        lines = []
        for chapter, exercises in chapters.items():
            lines += [f".. rubric:: {chapter} ({len(exercises)})", ""]
            for ex in exercises:
                where = f" in :doc:`/chapters/{ex.section}`" if ex.section else ""
                task = " ".join(ex.statement.split()).replace("*", r"\*")
                lines += [f"* ``{ex.name}``, {ex.kind}{where}: {task}", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("nnbook-exercises", ExerciseList)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
