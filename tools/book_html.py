"""A Sphinx extension for the book's HTML: each inline script appears once per page.

With the pinned Jupyter Book 1 stack, the inline configuration scripts of sphinx-thebe
and sphinx-togglebutton are emitted twice per page (once with filename None, once with
""). The second ``const THEBE_JS_URL`` declaration is a JavaScript error in every page,
which the browser test reports.
"""

from __future__ import annotations


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


def setup(app):
    # Early: a later handler may end the event by returning a template name.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
