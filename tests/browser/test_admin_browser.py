"""The merchant admin in a real headless Chromium, served for real.

Set CARTBACK_SCREENSHOTS=docs/screenshots to also save the pictures the README
shows.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.carts.wake import wake_due
from platforms.signing import sign_base64
from tests.factories import T0, cart_body

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("CARTBACK_SCREENSHOTS")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="headless Chromium not installed (apt-get install chromium)"),
]

PEOPLE = [("Ada", "ada"), ("Ben", "ben"), ("Chloé", "chloe"), ("Dev", "dev"), ("Elif", "elif"),
          ("Femi", "femi"), ("Greta", "greta"), ("Hiro", "hiro"), (None, "ines"),
          ("Jonas", "jonas"), ("Kai", "kai"), ("Lena", "lena")]
PRODUCTS = [("Linen shirt", "49.00"), ("Canvas tote", "24.50"), ("Merino beanie", "32.00"),
            ("Ceramic mug", "18.00"), ("Desk lamp", "74.90")]


def seed(runtime, client, store, clock):
    """Twelve shoppers over four days: reminded, recovered, bought, skipped."""
    def post(body):
        raw = json.dumps(body).encode()
        client.post(f"/webhooks/custom/{store.id}", data=raw,
                    headers={"X-Cartback-Hmac-Sha256": sign_base64(store.webhook_secret, raw)})

    for n, (name, handle) in enumerate(PEOPLE):
        day = n % 4
        at = T0 + timedelta(days=day, hours=n % 5)
        title, price = PRODUCTS[n % len(PRODUCTS)]
        items = [{"title": title, "quantity": 1 + n % 2, "price": price}]
        total = f"{float(price) * (1 + n % 2):.2f}"
        email = None if n in (3, 9) else f"{handle}@example.com"
        post(cart_body(cart_id=f"cart-{n}", occurred_at=at, email=email, first_name=name,
                       items=items, total=total, event_id=f"e{n}"))
        wake_due(runtime, at + timedelta(hours=4))
        if n % 3 == 0:
            post(cart_body("order.placed", cart_id=f"cart-{n}", items=items, total=total,
                           occurred_at=at + timedelta(hours=6), event_id=f"o{n}"))
        elif n % 4 == 1:
            post(cart_body("order.placed", cart_id=f"cart-{n}", items=items, total=total,
                           occurred_at=at + timedelta(hours=1), event_id=f"o{n}"))
    clock.set(T0 + timedelta(days=4, hours=6))
    wake_due(runtime, clock.now)


@pytest.fixture
def served(app, runtime, store, client, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser tests run once, on SQLite")
    seed(runtime, client, store, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    from app.web.admin.auth import mint_login_link

    with app.app_context():
        link = mint_login_link(runtime, store.id, clock())
    yield f"http://127.0.0.1:{server.server_port}", link.removeprefix(app.config["PUBLIC_URL"])
    server.shutdown()


def signed_in(page, served):
    """Follow the one-time sign-in link: the browser keeps the session cookie, no URL has it."""
    base, login_path = served
    page.goto(f"{base}{login_path}")
    assert page.url == f"{base}/admin/"
    [cookie] = [c for c in page.context.cookies() if c["name"] == "cartback_admin"]
    assert cookie["httpOnly"] and cookie["path"] == "/admin"
    return base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_browser_dashboard_chart_renders(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/?days=7")
    assert page.locator("svg.chart").is_visible()
    assert page.locator("svg.chart rect.bar-sent").count() == 7
    heights = page.eval_on_selector_all("svg.chart rect.bar-sent",
                                        "els => els.map(e => parseFloat(e.getAttribute('height')))")
    assert max(heights) > 0
    assert "Carts recovered" in page.inner_text("main")
    shot(page, "dashboard")


def test_browser_quiet_hours_change_sticks(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/settings")
    page.fill("#quiet_start", "22:30")
    page.click("text=Save settings")
    assert page.locator("text=Settings saved.").is_visible()
    page.goto(f"{base}/admin/settings")
    assert page.input_value("#quiet_start") == "22:30"
    page.fill("#quiet_end", "7:75")
    page.click("text=Save settings")
    assert page.locator(".field.has-error #quiet_end").count() == 1
    shot(page, "settings")


def test_browser_template_preview_and_broken_template(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/templates/first")
    page.fill("textarea[name='subject.txt']", "Psst {{ first_name }}, your cart misses you")
    # The preview shows the store's most recent cart: Lena's, the last seeded shopper with a name.
    page.wait_for_function(
        "document.getElementById('preview-subject').textContent.startsWith('Psst Lena')")
    shot(page, "template-editor")
    page.fill("textarea[name='txt']", "Hello\n{% if items %}\nno end here")
    page.click("button:has-text('Save template')")
    banner = page.locator("#template-errors")
    assert banner.is_visible()
    assert "Plain-text body, line" in banner.inner_text()


def test_browser_unsubscribe_add_and_remove(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/unsubscribes")
    page.fill("#add-email", "Zoe@Example.com")
    page.click("button:has-text('Add to list')")
    row = page.locator("tr", has_text="zoe@example.com")
    assert row.count() == 1
    shot(page, "unsubscribes")
    page.click("button[aria-label='Remove zoe@example.com']")
    assert page.locator("tr", has_text="zoe@example.com").count() == 0


def test_browser_stop_a_cart(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/carts?status=reminded")
    shot(page, "carts")
    page.locator("table a").first.click()
    page.click("button:has-text('Stop this cart')")
    assert page.locator("text=This cart gets no more reminders.").is_visible()
    assert page.locator(".details .badge.stopped").is_visible()
    assert "Stopped by you" in page.inner_text(".timeline")
    shot(page, "cart-timeline")
