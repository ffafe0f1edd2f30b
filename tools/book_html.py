"""A Sphinx extension for the book's HTML: the package version, and each inline script once.

The footer of every page names the version of nnbook the book was made with, and
``{{ version }}`` in a page's Markdown is that version (a MyST substitution), read from
``nnbook/__init__.py`` so that it is written in one place only.

The pinned pydata-sphinx-theme (0.17) renders a header of its own above sphinx-book-theme's
article header: a second top bar with a second search box, whose hidden sidebar buttons
come first in the page. The theme binds its sidebar toggles with
``querySelector(".primary-toggle")``, so it binds those hidden buttons, and the visible
ones open nothing: on a phone the navigation drawer never opens. The extension empties
that header on every page after the build and hides it (the element stays: the theme's
scripts measure it); the first toggles are then the article header's, which the theme
binds and the reader sees.

With the pinned Jupyter Book 1 stack, the inline configuration scripts of sphinx-thebe
and sphinx-togglebutton are emitted twice per page (once with filename None, once with
""). The second ``const THEBE_JS_URL`` declaration is a JavaScript error in every page,
which the browser test reports.
"""

from __future__ import annotations

import re
from pathlib import Path

from execute_notebooks import version as nnbook_version  # tools/ is on the path


def _add_version(app, config):
    version = nnbook_version()  # written once, in nnbook/__init__.py
    config.myst_substitutions = {**config.myst_substitutions, "version": version}
    options = dict(config.html_theme_options)
    footer = options.get("extra_footer", "")
    options["extra_footer"] = f"{footer}<p>This is nnbook {version}.</p>"
    config.html_theme_options = options


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or None, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


#: pydata-sphinx-theme's own header, which sphinx-book-theme's article header duplicates.
_PST_HEADER = re.compile(r'(<header id="pst-header"[^>]*?)>.*?</header>', re.DOTALL)


def remove_pst_header(html: str) -> str:
    """``html`` with pydata-sphinx-theme's header empty and hidden (there is at most one)."""
    if re.search(r'<header id="pst-header"[^>]* hidden>', html):
        return html  # a page from an earlier build, done already
    return _PST_HEADER.sub(r"\1 hidden></header>", html, count=1)


def _remove_pst_headers(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = remove_pst_header(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _remove_pst_headers)
    app.connect("config-inited", _add_version)
    # Early: a later handler may end the event by returning a template name.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
