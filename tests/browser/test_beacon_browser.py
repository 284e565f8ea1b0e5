"""The storefront beacon in a real headless Chromium: a local shop page with a
fake Store API, Cartback served for real, the snapshot arriving as a cart row."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from flask import Flask, jsonify
from sqlalchemy import select
from werkzeug.serving import make_server

from app.db.models import Cart
from app.runtime import real_now
from app.stores import create_store
from tests.browser.audit import NEEDS_CHROMIUM

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = NEEDS_CHROMIUM
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


class Served:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


def shop_app(beacon_src, endpoint):
    shop = Flask("fake_shop")

    @shop.get("/")
    def page():
        return f"""<!doctype html><html><body>
<h1>Fake WooCommerce checkout</h1>
<label for="email">Email</label><input id="email" type="email" autocomplete="email">
<script src="{beacon_src}" data-endpoint="{endpoint}"></script>
</body></html>"""

    @shop.get("/wp-json/wc/store/v1/cart")
    def cart():
        return jsonify({
            "items": [{"key": "k1", "name": "Ceramic mug", "quantity": 2, "sku": "MUG",
                       "permalink": "http://127.0.0.1/p/mug",
                       "images": [{"src": "http://127.0.0.1/mug.jpg",
                                   "thumbnail": "http://127.0.0.1/mug-100.jpg"}],
                       "prices": {"price": "1800", "currency_code": "EUR",
                                  "currency_minor_unit": 2}}],
            "totals": {"total_price": "3600", "currency_code": "EUR", "currency_minor_unit": 2},
        })

    return shop


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser test runs once, on SQLite")


def test_beacon_posts_a_snapshot_from_a_real_browser(sqlite_only, app, runtime):
    from playwright.sync_api import sync_playwright

    runtime.clock = real_now
    cartback = Served(app)
    # Reserve the shop's port first: the store's domain must be its origin.
    shop_server = make_server("127.0.0.1", 0, Flask("placeholder"))
    shop_origin = f"http://127.0.0.1:{shop_server.server_port}"
    shop_server.server_close()
    with runtime.db.transaction() as session:
        store = create_store(session, platform="woocommerce", name="Fake shop",
                             domain=shop_origin)
        key = store.public_key
    shop = shop_app(f"{cartback.url}/static/cartback-beacon.js", f"{cartback.url}/collect/{key}")
    shop_served = make_server("127.0.0.1", int(shop_origin.rsplit(":", 1)[1]), shop,
                              threaded=True)
    thread = threading.Thread(target=shop_served.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(shop_origin + "/")
            page.fill("#email", "ada@example.com")
            page.dispatch_event("#email", "change")
            cart = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # waits for a network round trip, not a timer
                with runtime.db.new_session() as session:
                    cart = session.scalars(select(Cart).where(Cart.email.is_not(None))).first()
                if cart is not None:
                    break
                page.wait_for_timeout(100)
            browser.close()
    finally:
        shop_served.shutdown()
        cartback.stop()
    assert cart is not None, "no snapshot with the email arrived"
    assert cart.cart_key.startswith("wc-cart:cb.")
    assert cart.email == "ada@example.com"
    assert cart.items[0]["title"] == "Ceramic mug" and cart.items[0]["unit_price"] == "18.00"
    assert str(cart.total).startswith("36.00")
    assert cart.currency == "EUR"
