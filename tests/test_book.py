"""The HTML book: it builds with zero warnings, and it works in a real browser, offline.

Chromium (the distribution's package, see tools/install_chromium.sh) loads every page
from a server on 127.0.0.1. Any request that leaves this machine is blocked and counted
as a failure, so a page that needs the network to render fails here.
"""

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Pages Sphinx generates around the book's own content.
GENERATED = {"genindex.html", "search.html", "py-modindex.html"}


@pytest.fixture(scope="module")
def book():
    """Build the book once per test session; return the HTML folder."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", "-W", "-n", "--keep-going", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0 and not warnings, "book build failed:\n" + "\n".join(
        warnings or log.splitlines()[-30:]
    )
    return HTML


def test_book_builds_without_warnings(book):
    assert (book / "index.html").is_file()
    # MathJax is bundled, so pages never point at a CDN.
    assert (book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in book.rglob("*.html"):
        assert "cdn.jsdelivr.net" not in page.read_text(encoding="utf-8"), page


def test_every_page_names_the_version_of_nnbook(book):
    import nnbook

    footer = f"This is nnbook {nnbook.__version__}."
    for path in _pages(book):
        text = (book / path).read_text(encoding="utf-8")
        assert footer in text or 'http-equiv="Refresh"' in text, path
    preface = (book / "chapters" / "preface" / "index.html").read_text(encoding="utf-8")
    assert f"is version {nnbook.__version__}" in preface  # the {{ version }} substitution


@pytest.fixture(scope="module")
def server(book):
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is missing: run tools/install_chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _pages(book):
    """The book's pages: not Sphinx's generated ones, nor the theme's template partials."""
    return sorted(
        str(p.relative_to(book))
        for p in book.rglob("*.html")
        if p.name not in GENERATED and "_static" not in p.relative_to(book).parts
    )


class PageProblems:
    """Collects what goes wrong while one page loads."""

    def __init__(self, page, origin):
        self.items = []
        self.origin = origin
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.items.append(f"page error: {err}"))
        page.on("requestfailed", lambda r: self.items.append(f"request failed: {r.url}"))
        page.on("response", self._response)
        page.route("**/*", self._route)

    def _console(self, message):
        if message.type == "error":
            self.items.append(f"console error: {message.text}")

    def _response(self, response):
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.url}")

    def _route(self, route):
        url = urlparse(route.request.url)
        origin = urlparse(self.origin)
        local = url.scheme == origin.scheme and url.netloc == origin.netloc
        if url.scheme in ("data", "blob") or local:
            route.continue_()
        else:
            self.items.append(f"request leaves the machine: {route.request.url}")
            route.abort()


def _open(browser, server, path, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = PageProblems(page, server)
    page.goto(f"{server}/{path}", wait_until="load")
    # Every request is local, so no wait for the network to go idle: only for the
    # page's content, which a redirecting page (the root index) shows after the jump.
    page.wait_for_selector("main", timeout=15000)
    page.wait_for_load_state("load")
    return page, problems


def _math_state(page):
    """Wait for MathJax to finish, then report what it rendered."""
    page.wait_for_function(
        "() => window.MathJax === undefined || "
        "(window.MathJax.startup && window.MathJax.startup.promise)",
        timeout=15000,
    )
    page.evaluate("() => window.MathJax ? window.MathJax.startup.promise.then(() => true) : true")
    return page.evaluate(
        """() => ({
            hasMath: document.querySelector('.math') !== null,
            rendered: document.querySelectorAll('mjx-container').length,
            rawTex: /\\\\(frac|sum|mathbf|begin)/.test(
                Array.from(document.querySelectorAll('article')).map(a => a.innerText).join(' ')),
        })"""
    )


#: An equation reference printed inside parentheses of the text: "((1.12))".
DOUBLED_EQ = re.compile(r"\(\(\d+\.\d+\)\)")


def _pipe_rows(text):
    """Lines of a Markdown table that was not rendered: ``|---|---|`` and its rows."""
    lines = text.splitlines()
    rules = [
        i for i, line in enumerate(lines) if re.fullmatch(r"\s*\|?(\s*:?-{3,}:?\s*\|)+.*", line)
    ]
    return [lines[i] for i in rules]


#: Code blocks (cells and their outputs) allowed to scroll sideways at 1280 px: a
#: checker's report quoting a reader's wrong answer can be wider than 80 columns.
CODE_OVERFLOW_BUDGET = 5

#: Measured at 1280 px on a loaded page: figures without a caption, figures shrunk below
#: 80 % of their size (their labels become unreadable), display equations wider than the
#: column, and code blocks that scroll sideways.
LAYOUT = """() => {
  const article = document.querySelector('article') || document.body;
  const images = [...article.querySelectorAll('img')].filter(
    img => img.src.includes('/_images/') && img.naturalWidth > 0);
  const shown = img => {
    const declared = parseFloat(img.style.width) || parseFloat(img.getAttribute('width'))
      || img.naturalWidth;
    return img.getBoundingClientRect().width / declared;
  };
  return {
    uncaptioned: images.filter(img => !img.closest('figure')?.querySelector('figcaption'))
      .map(img => img.src.split('/').pop().slice(0, 16)),
    shrunk: images.filter(img => shown(img) < 0.8)
      .map(img => [img.src.split('/').pop().slice(0, 16), shown(img)]),
    clipped: [...article.querySelectorAll('div.math')].filter(div => {
      const math = div.querySelector('mjx-container');
      return math && math.scrollWidth > div.clientWidth + 1;
    }).map(div => (div.querySelector('.eqno') || div).innerText.replace(/\\s+/g, ' ').slice(0, 40)),
    code: [...article.querySelectorAll('div.cell pre')].filter(
      pre => pre.scrollWidth > pre.clientWidth + 1).map(
      pre => pre.innerText.split('\\n').sort((a, b) => b.length - a.length)[0].slice(0, 90)),
  };
}"""


def test_every_page_loads_cleanly_and_renders_math(book, server, browser):
    """Every page, at 1280 px and then at 390 px: no error, no request that leaves the
    machine, math typeset, tables rendered, figures captioned and readable, equations
    and code inside the column, and nothing that makes a phone scroll sideways."""
    failures, overflowing_code = [], []
    for path in _pages(book):
        page, problems = _open(browser, server, path)
        math = _math_state(page)
        broken_images = page.evaluate(
            "() => Array.from(document.images)"
            ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)"
        )
        if math["hasMath"] and not math["rendered"]:
            problems.items.append("math present but MathJax rendered nothing")
        if math["rawTex"]:
            problems.items.append("raw TeX visible in the page text")
        text = page.evaluate("() => document.querySelector('main').innerText")
        problems.items += [f"raw pipe table: {line[:60]}" for line in _pipe_rows(text)]
        problems.items += [f"doubled parentheses: {m}" for m in DOUBLED_EQ.findall(text)]
        problems.items += [f"image does not load: {src}" for src in broken_images]
        layout = page.evaluate(LAYOUT)
        problems.items += [f"figure without a caption: {src}" for src in layout["uncaptioned"]]
        problems.items += [f"figure shrunk to {r:.0%}: {src}" for src, r in layout["shrunk"]]
        problems.items += [f"equation clipped at 1280 px: {eq}" for eq in layout["clipped"]]
        overflowing_code += [f"{path}: {line}" for line in layout["code"]]
        page.set_viewport_size({"width": 390, "height": 900})  # a phone
        page.wait_for_timeout(100)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            problems.items.append(f"the page scrolls sideways on a phone: {width} px wide")
        failures += [f"{path}: {item}" for item in problems.items]
        page.close()
    assert not failures, "\n".join(failures)
    assert len(overflowing_code) <= CODE_OVERFLOW_BUDGET, "\n".join(overflowing_code)


def test_math_and_figures_render_on_a_chapter_page(book, server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, problems = _open(browser, server, "chapters/preface/notation.html")
    math = _math_state(page)
    assert math["rendered"] >= 3, math
    assert page.locator("mjx-container[display='true']").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "notation.png"), full_page=False)
    page.close()

    page, problems = _open(browser, server, "index.html")
    logo = page.locator("img[src*='logo']").first
    assert logo.evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=str(SCREENSHOTS / "index.png"), full_page=False)
    page.close()
    assert not problems.items, problems.items


def test_math_renders_from_disk_without_a_server(book, browser):
    """A reader who opens _build/html/index.html straight from disk sees typeset math."""
    page = browser.new_page()
    problems = PageProblems(page, "file://")
    page.goto((book / "chapters" / "preface" / "notation.html").as_uri(), wait_until="load")
    math = _math_state(page)
    page.close()
    assert math["rendered"] >= 3 and not math["rawTex"], math
    assert not problems.items, problems.items


def test_search_finds_a_word_from_a_chapter(book, server, browser):
    page, problems = _open(browser, server, "search.html?q=backpropagation")
    # the results arrive one by one: wait for the one that must be there
    notation = page.locator("#search-results li a[href*='notation']")
    notation.first.wait_for(timeout=15000)
    links = page.locator("#search-results li a").evaluate_all("links => links.map(a => a.href)")
    assert any("notation" in href for href in links), links
    page.close()
    assert not problems.items, problems.items


@pytest.mark.parametrize("width", [390, 1280])
def test_the_navigation_toggle_opens_and_closes_the_sidebar(book, server, browser, width):
    """The visible "Site navigation" button works, on a phone (a drawer) and on a desktop."""
    page, problems = _open(browser, server, "chapters/fnn/activations.html", width=width)
    toggles = page.locator(".primary-toggle")
    assert toggles.count() == 1, "a second, hidden toggle would take the theme's handler"
    sidebar = page.locator("#pst-primary-sidebar")
    before = sidebar.evaluate("el => el.getBoundingClientRect().right > 0 && el.offsetWidth > 0")
    toggles.first.click()
    page.wait_for_timeout(500)
    if width < 960:
        # a phone: the sidebar moves into a modal dialog, which opens over the page
        assert not before
        assert page.locator("#pst-primary-sidebar-modal[open]").count() == 1
        assert page.locator(
            "#pst-primary-sidebar-modal a[href*='backpropagation']"
        ).first.is_visible()
    else:
        after = sidebar.evaluate("el => el.getBoundingClientRect().right > 0 && el.offsetWidth > 0")
        assert before and not after, "the toggle should collapse the sidebar on a desktop"
    page.close()
    assert not problems.items, problems.items


def test_pages_carry_a_description_a_favicon_and_only_the_mathjax_they_use(book):
    page = (book / "chapters" / "cnn" / "pooling.html").read_text(encoding="utf-8")
    description = re.search(r'<meta name="description" content="([^"]+)"', page)
    assert description and "pooling" in description.group(1).lower()
    assert re.search(r'<link rel="icon" href="[^"]+"', page)
    mathjax = book / "_static" / "mathjax"
    size = sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file())
    assert size < 10e6, f"MathJax takes {size / 1e6:.1f} MB; only tex-chtml and its parts ship"
    assert not (mathjax / "tex-svg-full.js").exists()


def test_the_api_reference_is_one_page_per_part_of_the_package(book):
    pages = sorted((book / "chapters" / "appendix" / "api").glob("*.html"))
    assert len(pages) >= 10
    assert max(p.stat().st_size for p in pages) < 400_000


def test_the_whole_book_prints_to_one_pdf_with_every_chapter(book, browser):
    """``make pdf``: one PDF, a bookmark per chapter, and the HTML title page links to it."""
    pypdf = pytest.importorskip("pypdf")
    sys.path.insert(0, str(ROOT / "tools"))
    import book_pdf

    pdf = book_pdf.print_book(book_pdf.build_singlehtml(ROOT), browser=browser)
    shutil.copyfile(pdf, book / "nnbook.pdf")
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) > 150

    def titles(outline):
        for item in outline:
            yield from titles(item) if isinstance(item, list) else [item.title]

    chapters = [t for t in titles(reader.outline) if re.match(r"\d+\. ", t)]
    toc = (ROOT / "_toc.yml").read_text()
    numbered = toc.split("numbered: true", 1)[1].split("- caption:", 1)[0]
    expected = len(re.findall(r"^      - file: ", numbered, flags=re.MULTILINE))
    assert len(chapters) == expected, chapters
    assert [int(t.split(".")[0]) for t in chapters] == list(range(1, expected + 1))
    text = reader.pages[len(reader.pages) // 2].extract_text()
    assert len(text) > 500  # a real page of the book, not an empty sheet
    index = (book / "chapters" / "index.html").read_text(encoding="utf-8")
    assert 'href="../nnbook.pdf"' in index  # the title page is chapters/index.html
