"""Print the whole book to one PDF: ``make pdf``.

Sphinx's single-page builder puts every chapter into one HTML page, with the equation,
figure and section numbers of the HTML book and links that stay inside the document.
Chromium (the distribution's package, the one the browser test drives) typesets its math
with the bundled MathJax and prints it, and ``print.css`` below turns the web page into
a book: no navigation, a new page for every chapter, and code that wraps at the margin
instead of being cut off. The headings become the PDF's outline (its bookmarks).

Usage: ``python tools/book_pdf.py [--build] [SINGLEHTML_DIR] [PDF]``. ``--build`` first
builds the single page with Sphinx (warnings are errors, as for the HTML book). The
defaults are ``_build/singlehtml`` and ``_build/pdf/nnbook.pdf``, and the PDF is also
copied to ``_build/html/nnbook.pdf``, where the book's title page links to it.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINGLEHTML = ROOT / "_build" / "singlehtml"
PDF = ROOT / "_build" / "pdf" / "nnbook.pdf"
HTML_COPY = ROOT / "_build" / "html" / "nnbook.pdf"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
html { font-size: 10.5pt; }
/* The web page's chrome has no place on paper. */
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article,
.bd-footer, .bd-footer-article, .bd-footer-content, .prev-next-area, .headerlink,
.header-article-items, #pst-skip-link, .search-button-field, .theme-switch-button,
.bd-search, #jb-print-docs-body, section#contents > h4 { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-article, .bd-container,
.bd-container__inner, .bd-page-width { max-width: none !important; width: auto !important;
  padding: 0 !important; margin: 0 !important; display: block !important; }
/* Every chapter starts on a new page; headings stay with what follows them. */
span[id$="/index"] + section { break-before: page; }
h1, h2, h3, h4, h5 { break-after: avoid; }
figure, div.math, table, div.cell_input { break-inside: avoid; }
figcaption, figcaption p { color: #222 !important; }
/* Code and outputs wrap at the margin instead of running off the page. */
pre, div.highlight pre { white-space: pre-wrap !important; overflow-wrap: anywhere;
  overflow: visible !important; font-size: 8.5pt !important; }
div.cell_output, div.highlight, div.math, mjx-container { overflow: visible !important; }
img { max-width: 100% !important; height: auto !important; }
"""

#: On the single page, the chapters' headings (h3) sit below the title page's own
#: sections (h2), so the PDF's bookmarks would nest every chapter under the title page's
#: last section. Those sections go down to h4: the chapters become their siblings.
DEMOTE_TITLE_SECTIONS = """() => {
  const own = [...document.querySelectorAll('h2')].filter(
    h => !h.closest('section#contents') || h.parentElement.id === 'contents');
  for (const h of own) {
    const demoted = document.createElement('h4');
    demoted.innerHTML = h.innerHTML;
    for (const a of h.attributes) demoted.setAttribute(a.name, a.value);
    h.replaceWith(demoted);
  }
  return own.length;
}"""

FOOTER = (
    '<div style="width:100%; font-size:8pt; color:#555; text-align:center;">'
    '<span class="pageNumber"></span></div>'
)


def _serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_book(singlehtml: Path = SINGLEHTML, pdf: Path = PDF, browser=None) -> Path:
    """Print ``singlehtml/chapters/index.html`` (the whole book) to ``pdf``; return it.

    ``browser`` is a Playwright Chromium browser to print with (the browser test passes
    its own); without it, the distribution's Chromium is started for the job.
    """
    page_path = singlehtml / "chapters" / "index.html"
    if not page_path.is_file():
        raise FileNotFoundError(
            f"no single-page book at {page_path}: build it first with "
            "jupyter-book build --builder singlehtml ."
        )
    # Sphinx writes the page's links as if it sat at the top of the folder (the root
    # document is chapters/index), so it is served from there.
    shutil.copyfile(page_path, singlehtml / "book.html")
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if browser is not None:
        _print(browser, singlehtml, pdf)
        return pdf
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Chromium is missing: run tools/install_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        own = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            _print(own, singlehtml, pdf)
        finally:
            own.close()
    return pdf


def _print(browser, singlehtml: Path, pdf: Path) -> None:
    httpd = _serve(singlehtml)
    page = browser.new_page()
    try:
        page.set_default_timeout(300_000)
        page.route("**/*", _local_only(httpd))
        port = httpd.server_address[1]
        page.goto(f"http://127.0.0.1:{port}/book.html", wait_until="load")
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
            timeout=300_000,
        )
        page.evaluate("() => MathJax.startup.promise")
        page.evaluate(DEMOTE_TITLE_SECTIONS)
        page.add_style_tag(content=PRINT_CSS)
        page.emulate_media(media="print")
        page.pdf(
            path=str(pdf),
            format="A4",
            print_background=False,
            display_header_footer=True,
            header_template="<div></div>",
            footer_template=FOOTER,
            margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
            outline=True,
            tagged=True,
        )
    finally:
        page.close()
        httpd.shutdown()
        httpd.server_close()


def _local_only(httpd):
    """A route handler that lets the page load only what the local server serves."""
    origin = f"http://127.0.0.1:{httpd.server_address[1]}/"

    def route(r):
        url = r.request.url
        if url.startswith(origin) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            r.abort()

    return route


def build_singlehtml(root: Path = ROOT) -> Path:
    """Build the whole book as one HTML page with Sphinx; return its folder."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", "-W", "-n", "--keep-going", "--builder", "singlehtml"]
    result = subprocess.run([*command, str(root)], capture_output=True, text=True, cwd=root)
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    if result.returncode != 0 or warnings:
        raise RuntimeError(
            "the single-page build failed:\n" + "\n".join(warnings or log.splitlines()[-30:])
        )
    return root / "_build" / "singlehtml"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--build"]:
        argv = argv[1:]
        build_singlehtml()
    singlehtml = Path(argv[0]) if argv else SINGLEHTML
    pdf = Path(argv[1]) if len(argv) > 1 else PDF
    out = print_book(singlehtml, pdf)
    if HTML_COPY.parent.is_dir() and len(argv) < 2:  # the HTML book offers it
        shutil.copyfile(out, HTML_COPY)
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
