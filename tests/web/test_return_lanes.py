"""Every lane's return link, followed from the email to where it leaves Cartback.

Shopify: the checkout's own recovery URL on any host Shopify vouches for (the
myshopify domain, the shop's domains, Shopify's checkout host), else the
shop's cart page with a log line and a note on the click. WooCommerce: a
pending order's payment_url; a storefront (beacon) cart's restore link, which
the store plugin redeems at /restore/<token>. Custom: the return_url, which
must be on the store's domain (400 naming the field otherwise).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Store
from app.integrations.shopify.install import save_install
from platforms.shopify.api import Grant
from platforms.signing import sign_base64
from tests.factories import (
    T0,
    cart_body,
    connect_woo_store,
    fresh_beacon_limits,
    with_postal_address,
)
from tests.shopify_payloads import OVERRIDES, SHOP, checkout_payload, post_webhook

FIXTURES = Path(__file__).parent.parent / "fixtures"
WOO = "https://example.com"  # the host of the WooCommerce docs' sample order


@pytest.fixture
def app_overrides():
    return dict(OVERRIDES)


def follow(client, message):
    """Click the email's button and follow Cartback's redirects to where they leave it."""
    html = message.get_body(("html",)).get_content()
    link = html.split('class="button" href="')[1].split('"')[0]
    response = client.get(urlsplit(link).path)
    while response.status_code in (301, 302, 303, 307, 308):
        location = response.headers["Location"]
        if urlsplit(location).hostname != "cartback.test":
            return location
        response = client.get(urlsplit(location).path)
    raise AssertionError(f"the link ended inside Cartback with {response.status_code}")


def clicks(runtime):
    with runtime.db.new_session() as session:
        return [a.detail for a in session.scalars(select(Activity).where(
            Activity.kind == "click"))]


# --- custom lane ------------------------------------------------------------------------

def test_custom_lane_link_leads_to_its_return_url(post_custom, runtime, client, outbox):
    post_custom(cart_body(return_url="https://shop.maple.example/cart/c-1?restore=1"))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert follow(client, message) == "https://shop.maple.example/cart/c-1?restore=1"
    assert clicks(runtime) == [{}]


def test_custom_lane_return_url_off_the_store_is_refused_naming_the_field(post_custom, runtime):
    response = post_custom(cart_body(return_url="https://elsewhere.example/cart/c-1"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("return_url: must be on the store's domain")
    assert "maple.example" in response.get_json()["error"]


# --- Shopify -----------------------------------------------------------------------------

@pytest.fixture
def shop_store(runtime, clock):
    store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test", scope="read_orders"),
                            clock(), via="oauth")
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        # What install and sync read from the Admin API (see test_shopify_hosts).
        store.platform_state = {**(store.platform_state or {}),
                                "shop_hosts": [SHOP, "www.snowdevil.ca"]}
        store.from_email = "hello@snowdevil.ca"
    with_postal_address(runtime, store_id)
    return store_id


@pytest.mark.parametrize("recover_url", [
    # Shopify's shared checkout host (older and headless shops)
    "https://checkout.shopify.com/548380009/checkouts/123123123/recover?key=example-secret",
    # the shop's own domain, as in Shopify's published abandoned-checkout sample
    "https://www.snowdevil.ca/14168/checkouts/0123456789abcdef0456456789abcdef/recover"
    "?key=6dacd6065bb80268bda857ee",
    # a custom checkout domain beside the shop's www domain
    "https://checkout.snowdevil.ca/checkouts/cn/Z2NwLWV1cm9wZTM6MDFK/recover?key=k",
    # the myshopify domain
    f"https://{SHOP}/548380009/checkouts/123123123/recover?key=example-secret-token",
])
def test_shopify_link_leads_to_the_checkouts_own_recovery_url(client, runtime, shop_store,
                                                             outbox, recover_url):
    post_webhook(client, "checkouts/update",
                 checkout_payload(updated_at=T0, abandoned_checkout_url=recover_url))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert follow(client, message) == recover_url
    assert clicks(runtime) == [{}]


def test_shopify_link_on_a_host_shopify_does_not_vouch_for_is_said_aloud(client, runtime,
                                                                        shop_store, outbox,
                                                                        caplog):
    post_webhook(client, "checkouts/update", checkout_payload(
        updated_at=T0, abandoned_checkout_url="https://checkout.local/1/checkouts/2/recover"))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    with caplog.at_level(logging.WARNING):
        assert follow(client, message) == f"https://{SHOP}/cart"
    assert clicks(runtime) == [{"fallback": "unvouched_host", "host": "checkout.local"}]
    assert any(r.getMessage() == "return link falls back to the store" for r in caplog.records)


# --- WooCommerce -------------------------------------------------------------------------

@pytest.fixture
def woo_store(runtime):
    return connect_woo_store(runtime, WOO)


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch):
    fresh_beacon_limits(monkeypatch)


def docs_order(**fields):
    """WooCommerce's REST v3 docs sample order 727, as a shopper's pending checkout."""
    body = json.loads((FIXTURES / "woocommerce" / "order-727-docs-v3.json").read_text())
    body.update({"status": "pending", "created_via": "checkout", "needs_payment": True,
                 "date_modified_gmt": "2026-11-23T09:00:00",
                 "date_created_gmt": "2026-11-23T08:58:00", "date_paid_gmt": None,
                 "payment_url": f"{WOO}/checkout/order-pay/727/?pay_for_order=true"
                                "&key=wc_order_58d2d042d1d"})
    body.update(fields)
    return body


def post_order(client, store, body, topic="order.created"):
    raw = json.dumps(body).encode()
    return client.post(f"/webhooks/woocommerce/{store.id}", data=raw, headers={
        "X-WC-Webhook-Signature": sign_base64(store.webhook_secret, raw),
        "X-WC-Webhook-Source": f"{WOO}/", "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": "d" * 32, "Content-Type": "application/json"})


def test_woocommerce_pending_order_link_leads_to_its_payment_url(client, runtime, woo_store,
                                                                 outbox):
    assert post_order(client, woo_store, docs_order()).status_code == 200
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert follow(client, message) == (f"{WOO}/checkout/order-pay/727/?pay_for_order=true"
                                       "&key=wc_order_58d2d042d1d")


def beacon_snapshot():
    return {"cart_token": "cb.k3x9f0a1lq2m", "cart_hash": "0f343b0931126a20f133d67c2b018a3b",
            "cart": {"items": [
                {"name": "Beanie with Logo", "quantity": 2, "sku": "Woo-beanie-logo",
                 "permalink": f"{WOO}/product/beanie-with-logo/",
                 "prices": {"price": "1800", "currency_code": "USD", "currency_minor_unit": 2}},
                {"name": "Hoodie", "quantity": 1, "sku": "woo-hoodie-blue",
                 "permalink": f"{WOO}/product/hoodie/?attribute_pa_color=blue",
                 "prices": {"price": "4500", "currency_code": "USD", "currency_minor_unit": 2}}],
                "totals": {"total_price": "8100", "currency_code": "USD",
                           "currency_minor_unit": 2}},
            "email": "ada@example.com", "cart_url": f"{WOO}/cart/"}


def test_woocommerce_storefront_cart_link_restores_the_cart_on_any_device(client, runtime,
                                                                          woo_store, outbox):
    response = client.post(f"/collect/{woo_store.public_key}", data=json.dumps(
        beacon_snapshot()), headers={"Origin": WOO, "User-Agent": "Mozilla/5.0 Firefox/133",
                                     "Content-Type": "application/json"})
    assert response.status_code == 204
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    location = follow(client, message)
    assert location.startswith(f"{WOO}/?cartback_restore=")
    # What the store plugin does on that page: ask Cartback, server to server.
    token = parse_qs(urlsplit(location).query)["cartback_restore"][0]
    restore = client.get(f"/restore/{token}")
    assert restore.status_code == 200
    assert restore.get_json() == {"cart_token": "cb.k3x9f0a1lq2m", "coupon": None, "items": [
        {"title": "Beanie with Logo", "quantity": 2, "sku": "Woo-beanie-logo",
         "product_url": f"{WOO}/product/beanie-with-logo/"},
        {"title": "Hoodie", "quantity": 1, "sku": "woo-hoodie-blue",
         "product_url": f"{WOO}/product/hoodie/?attribute_pa_color=blue"}]}


def test_restore_token_is_not_a_return_token_and_names_only_beacon_carts(client, runtime,
                                                                         woo_store):
    post_order(client, woo_store, docs_order())
    assert client.get(f"/restore/{runtime.links.token('return', 1)}").status_code == 404
    # An order cart is restored by its payment_url, not by the plugin.
    assert client.get(f"/restore/{runtime.links.token('restore', 1)}").status_code == 404

