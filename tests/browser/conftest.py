"""Browser fixtures: one headless Chromium per test module, the app served for real."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser.audit import ARGS, CHROMIUM, DESKTOP
from tests.browser.seed import seed


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module: Playwright's sync API allows one running instance at a time, and
    # other browser tests start their own.
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """`new_page(viewport)`: a page in its own context (its own cookies)."""
    contexts = []

    def _new(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page(DESKTOP)


@pytest.fixture
def live_server(app: Any, database_url: str) -> Iterator[str]:
    """The app on a real port; the base URL. Once, on SQLite."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser tests run once, on SQLite")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def served(app, runtime, store, client, clock, live_server):
    seed(runtime, client, store, clock)
    from app.web.admin.auth import mint_login_link

    def login_path():
        with app.app_context():
            link = mint_login_link(runtime, store.id, clock())
        return link.removeprefix(app.config["PUBLIC_URL"])

    return live_server, login_path
