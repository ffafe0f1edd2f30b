"""A Sphinx extension for the book's HTML: the package version, and each inline script once.

The footer of every page names the version of nnbook the book was made with, the
launch buttons open that version's notebooks (its release tag ``v<version>``), and
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

Every page gets a ``<meta name="description">``: the first paragraph of its text, cut
at a word near 160 characters, which search engines and link previews show.

sphinx-mathjax-offline copies all of MathJax 3 (24 MB) into ``_static/mathjax``. The book
loads ``tex-chtml.js`` only, with the CommonHTML fonts, the TeX extensions it autoloads,
and the menu's accessibility tools (assistive MathML, the explorer and its speech rule
engine), which load when a reader turns them on. The rest is removed after the build.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from execute_notebooks import version as nnbook_version  # tools/ is on the path


def _add_version(app, config):
    version = nnbook_version()  # written once, in nnbook/__init__.py
    config.myst_substitutions = {**config.myst_substitutions, "version": version}
    options = dict(config.html_theme_options)
    footer = options.get("extra_footer", "")
    options["extra_footer"] = f"{footer}<p>This is nnbook {version}.</p>"
    # The Colab and Binder buttons open the notebook of this version (its release tag),
    # whose first cell installs the same version: the reader runs what the page shows.
    options["repository_branch"] = f"v{version}"
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


#: What the book's pages load from MathJax, relative to ``_static/mathjax``.
MATHJAX_KEEP = ("tex-chtml.js", "output/chtml", "input/tex/extensions", "ui", "a11y", "sre")


def prune_mathjax(folder: Path) -> None:
    """Remove from ``folder`` (a copy of MathJax 3) everything but :data:`MATHJAX_KEEP`."""
    keep = {Path(k) for k in MATHJAX_KEEP}
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(folder)
        if any(rel == k or k in rel.parents for k in keep):
            continue
        if any(rel in k.parents for k in keep):
            continue  # a folder on the way to something kept
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _prune_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        folder = Path(app.outdir) / "_static" / "mathjax"
        if folder.is_dir():
            prune_mathjax(folder)


_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)


def description(body: str, limit: int = 160) -> str:
    """The first paragraph of a page's HTML ``body`` as plain text, at most ``limit`` long."""
    for match in _PARAGRAPH.finditer(body):
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())
        text = re.sub(r"\\\(.*?\\\)", "…", text)  # inline math reads badly as text
        if len(text) < 40:
            continue
        if len(text) > limit:
            text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
        return text
    return ""


def _add_description(app, pagename, templatename, context, doctree):
    text = description(context.get("body", ""))
    if text:
        meta = f'<meta name="description" content="{html.escape(text, quote=True)}" />\n'
        context["metatags"] = context.get("metatags", "") + meta


#: API pages of the first edition, and the pages that replaced them.
MOVED_PAGES = {
    "chapters/appendix/api/conv": "cnn.html",
    "chapters/appendix/api/feedforward": "fnn.html",
    "chapters/appendix/api/recurrent": "rnn.html",
}


def redirect(target: str) -> str:
    """A page that sends the browser on to ``target``, for links to a moved page."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Refresh" content="0; url={target}">'
        f"<title>Moved</title></head><body><p>This page moved to "
        f'<a href="{target}">{target}</a>.</p></body></html>\n'
    )


def _write_redirects(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for old, target in MOVED_PAGES.items():
        path = Path(app.outdir) / f"{old}.html"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(redirect(target), encoding="utf-8")


def setup(app):
    app.connect("build-finished", _write_redirects)
    app.connect("build-finished", _remove_pst_headers)
    app.connect("build-finished", _prune_mathjax)
    app.connect("html-page-context", _add_description)
    app.connect("config-inited", _add_version)
    # Early: a later handler may end the event by returning a template name.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
