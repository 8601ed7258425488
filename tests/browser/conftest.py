"""Browser tests: the real app served on loopback, driven by Chromium, every page checked by axe.

The live server is a second app with its own database. `marketplace.extensions.db` is a
module-level singleton that `create_app` rebinds, so the live server's engine is bound to it
only while a browser test runs (the `site` fixture) and the previous binding is put back
afterwards. Browser tests are also moved to the end of the run. Together these keep the other
tests, which use the main `app` fixture and its engine, working in any order.
"""

from __future__ import annotations

import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, Route, sync_playwright
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from marketplace import create_app
from marketplace.extensions import db, limiter
from marketplace.payments.localstripe_server import free_port
from tests.conftest import Mailbox, reset_schema, separate_database

BROWSER_DIR = Path(__file__).resolve().parent

CHROMIUM = "/usr/bin/chromium"
# The machine has no internet: without these Chromium stalls on its own background requests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    }
}

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password


# --- Ordering -------------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything under tests/browser as `browser` and run it after every other test."""
    for item in items:
        if BROWSER_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)  # stable


# --- The live server ------------------------------------------------------------------------


@dataclass
class LiveServer:
    app: Flask
    engine: Engine
    url: str


def _bind(engine: Engine | None) -> None:
    """Point the shared `db` singleton (engine and session factory) at this engine."""
    db.scoped.remove()
    db.engine = engine
    db.scoped.configure(bind=engine)


@pytest.fixture(scope="session")
def live_server(mailbox: Mailbox) -> Iterator[LiveServer]:
    """The app on http://127.0.0.1:<port>, in a thread, with its own database."""
    url, drop_database = separate_database("browser")
    reset_schema(url)
    previous_engine = db.engine
    port = free_port()
    try:
        app = create_app(
            {
                "DATABASE_URL": url,
                "SESSION_COOKIE_SECURE": False,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": mailbox.port,
                # The browser asks for 127.0.0.1:<port>, whatever the environment says.
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                # Its own index: the main test app's index holds ids from rolled-back tests.
                "SEARCH_INDEX_DIR": str(Path(tempfile.mkdtemp(prefix="browser-index-"))),
            }
        )
        engine = db.engine
    finally:
        _bind(previous_engine)  # the main app keeps its engine until a browser test runs
    assert engine is not None

    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, engine=engine, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        engine.dispose()
        drop_database()


@pytest.fixture
def site(live_server: LiveServer) -> Iterator[str]:
    """The live server's base URL, with `db` bound to its engine for the length of one test."""
    previous_engine = db.engine
    _bind(live_server.engine)
    try:
        yield live_server.url
    finally:
        _bind(previous_engine)
        limiter.reset()


@pytest.fixture
def live_stripe(live_server: LiveServer, localstripe: str) -> Iterator[str]:
    """The live server talks to the run's localstripe for the length of one test."""
    previous = live_server.app.config["STRIPE_API_BASE"]
    live_server.app.config["STRIPE_API_BASE"] = localstripe
    try:
        yield localstripe
    finally:
        live_server.app.config["STRIPE_API_BASE"] = previous


# --- The browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser, site: str) -> Iterator[Callable[..., Page]]:
    """Make a page in a fresh context (fresh cookies); extra keyword arguments go to the context."""
    contexts = []

    def make(**context_options: Any) -> Page:
        context = browser.new_context(base_url=site, **context_options)
        context.set_default_timeout(5_000)
        contexts.append(context)
        page = context.new_page()
        if context_options.get("java_script_enabled") is False:
            _SCRIPTLESS_PAGES.add(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A page in a fresh browser context, with JavaScript on."""
    return new_page()


# --- Accessibility --------------------------------------------------------------------------

_axe = Axe()
# Pages whose context has JavaScript off. axe cannot run in them: with scripting disabled,
# Chromium never fires timers, and axe.run waits on setTimeout, so it would hang for ever.
_SCRIPTLESS_PAGES: weakref.WeakSet[Page] = weakref.WeakSet()


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    if page not in _SCRIPTLESS_PAGES:
        return _axe.run(page, options=AXE_OPTIONS).response["violations"]
    # Check a copy instead: the same DOM, at the same address, in a context with JavaScript on
    # but every script request refused, so the page still looks as it does without JavaScript.
    html = page.content()
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context()
    try:

        def serve(route: Route) -> None:
            if route.request.resource_type == "document":
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
            elif route.request.resource_type == "script":
                route.abort()
            else:
                route.continue_()

        context.route("**/*", serve)
        copy = context.new_page()
        copy.goto(page.url)
        return _axe.run(copy, options=AXE_OPTIONS).response["violations"]
    finally:
        context.close()


def axe_check(page: Page) -> None:
    """Fail with a readable list if axe finds any violation on the current page."""
    violations = _axe_violations(page)
    if not violations:
        return
    lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:200]}")
    pytest.fail("\n".join(lines), pytrace=False)


# WCAG 1.4.10 reflow: content fits 320 CSS px without scrolling sideways, and at 200% zoom of a
# 1280 x 720 window (a 640 x 360 viewport) no control is cut off at the edge.
REFLOW_WIDTH = 320
ZOOMED = {"width": 640, "height": 360}

# Whether the document scrolls sideways, and which controls lie outside the viewport (a control
# inside its own scrolling region, such as a wide table's, can be scrolled to and is not counted).
_REFLOW_SCRIPT = """() => {
  const root = document.documentElement
  const width = root.clientWidth
  const scrolls = (element) => {
    for (let e = element.parentElement; e && e !== document.body; e = e.parentElement) {
      const overflow = getComputedStyle(e).overflowX
      if (overflow === 'auto' || overflow === 'scroll') return true
    }
    return false
  }
  const cut = []
  const controls = 'a[href], button, input, select, textarea, summary'
  for (const control of document.querySelectorAll(controls)) {
    const box = control.getBoundingClientRect()
    if (box.width <= 1 || box.height <= 1 || !control.checkVisibility()) continue
    if ((box.left < -1 || box.right > width + 1) && !scrolls(control)) {
      cut.push(control.outerHTML.slice(0, 120))
    }
  }
  // The innermost elements that stick out past the right edge, to say what to fix.
  const out = (e) => e.getBoundingClientRect().right > width + 1 && !scrolls(e)
  const wide = [...document.body.querySelectorAll('*')]
    .filter((e) => out(e) && ![...e.children].some(out))
    .slice(0, 3)
    .map((e) => e.outerHTML.slice(0, 160))
  return {scrollWidth: root.scrollWidth, width, cut, wide}
}"""


def reflow_check(page: Page) -> None:
    """Fail if the page scrolls sideways at 320 CSS px, or cuts off a control at 200% zoom."""
    size = page.viewport_size
    assert size is not None, "reflow_check needs a viewport"
    problems = []
    try:
        for viewport in ({"width": REFLOW_WIDTH, "height": 640}, ZOOMED):
            page.set_viewport_size(viewport)
            found = page.evaluate(_REFLOW_SCRIPT)
            if found["scrollWidth"] > found["width"]:
                problems.append(
                    f"at {viewport['width']} px the page is {found['scrollWidth']} px wide,"
                    f" because of: {found['wide']}"
                )
            problems.extend(f"at {viewport['width']} px, cut off: {html}" for html in found["cut"])
    finally:
        page.set_viewport_size(size)
    if problems:
        pytest.fail(f"reflow on {page.url}:\n- " + "\n- ".join(problems), pytrace=False)


def check_current(page: Page) -> None:
    """Check the page the browser is on now, once it has loaded: axe, and reflow."""
    page.wait_for_load_state("load")
    axe_check(page)
    reflow_check(page)


def goto_and_check(page: Page, path: str, status: int = 200) -> None:
    """Open a path on the live server, check the HTTP status, and run axe on the result."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.status == status, f"{path}: expected {status}, got {response.status}"
    check_current(page)


def submit_and_check(page: Page, button: str, status: int = 200) -> None:
    """Press a form's submit button, wait for the page it leads to, and run axe on it."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    response = navigation.value
    assert response is not None, f"no response after pressing {button!r}"
    assert response.status == status, f"{button!r}: expected {status}, got {response.status}"
    check_current(page)
