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
    page.wait_for_load_state("networkidle")
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
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*\|?(\s*:?-{3,}:?\s*\|)+.*", line)]
    return [lines[i] for i in rules]


def test_every_page_loads_cleanly_and_renders_math(book, server, browser):
    failures = []
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
        failures += [f"{path}: {item}" for item in problems.items]
        page.close()
    assert not failures, "\n".join(failures)


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
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=15000)
    links = results.locator("a").evaluate_all("links => links.map(a => a.href)")
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
        assert page.locator("#pst-primary-sidebar-modal a[href*='backpropagation']").first.is_visible()
    else:
        after = sidebar.evaluate("el => el.getBoundingClientRect().right > 0 && el.offsetWidth > 0")
        assert before and not after, "the toggle should collapse the sidebar on a desktop"
    page.close()
    assert not problems.items, problems.items
