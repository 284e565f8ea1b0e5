"""WooCommerce traffic as WooCommerce sends it (issue 14): large orders, identical
storefront carts, entities, statuses, merchant-created orders, source URLs,
legacy API versions, decimal quantities, missing line items, From addresses."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, Store
from platforms.signing import sign_base64
from tests.factories import T0, connect_woo_store, fresh_beacon_limits

FIXTURES = Path(__file__).parent.parent.parent / "fixtures" / "woocommerce"
SHOP = "https://example.com"  # the host of the WooCommerce docs' sample orders


@pytest.fixture
def woo_store(runtime):
    return connect_woo_store(runtime, SHOP)


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch):
    fresh_beacon_limits(monkeypatch)


def docs_order(status="pending", modified="2026-11-23T09:00:00", **fields):
    """WooCommerce's REST v3 docs sample order 727 as a shopper's checkout."""
    body = json.loads((FIXTURES / "order-727-docs-v3.json").read_text())
    body.update({"status": status, "created_via": "checkout",
                 "needs_payment": status in ("pending", "failed"),
                 "date_modified_gmt": modified, "date_created_gmt": "2026-11-23T08:58:00",
                 "payment_url": f"{SHOP}/checkout/order-pay/727/?pay_for_order=true"
                                "&key=wc_order_58d2d042d1d"})
    body.update(fields)
    return body


def signed(client, store, body, *, topic="order.updated", source=SHOP + "/", secret=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/webhooks/woocommerce/{store.id}", data=raw, headers={
        "X-WC-Webhook-Signature": sign_base64(secret or store.webhook_secret, raw),
        "X-WC-Webhook-Source": source, "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": "d" * 32, "Content-Type": "application/json"})


def beacon(client, store, body):
    return client.post(f"/collect/{store.public_key}", data=json.dumps(body), headers={
        "Origin": SHOP, "User-Agent": "Mozilla/5.0 Firefox/133",
        "Content-Type": "application/json"})


def snapshot(token, email, cart_hash="0f343b0931126a20f133d67c2b018a3b"):
    return {"cart_token": token, "cart_hash": cart_hash,
            "cart": {"items": [{"name": "Beanie with Logo", "quantity": 2,
                                "sku": "Woo-beanie-logo",
                                "prices": {"price": "1800", "currency_code": "USD",
                                           "currency_minor_unit": 2}}],
                     "totals": {"total_price": "3600", "currency_code": "USD",
                                "currency_minor_unit": 2}},
            "email": email, "cart_url": f"{SHOP}/cart/"}


def carts(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).order_by(Cart.id)).all()


# --- an order always stops its cart -------------------------------------------------------

def test_order_with_700_lines_is_accepted_and_stops_the_cart(client, runtime, clock, woo_store):
    signed(client, woo_store, docs_order(), topic="order.created")
    line = docs_order()["line_items"][1]
    lines = [{**line, "id": 1000 + n, "sku": f"Bar{n}"} for n in range(700)]
    clock.set(T0 + timedelta(hours=1))
    raw = json.dumps(docs_order("processing", "2026-11-23T10:00:00", line_items=lines)).encode()
    assert len(raw) > 256 * 1024
    assert signed(client, woo_store, raw).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.wake_at is None


# --- one row per shopper ---------------------------------------------------------------------

def test_two_shoppers_with_identical_storefront_carts_keep_their_own_rows(client, runtime,
                                                                          clock, woo_store,
                                                                          outbox):
    assert beacon(client, woo_store, snapshot("cb.ada0000001", "ada@example.com")).status_code \
        == 204
    assert beacon(client, woo_store, snapshot("cb.bob0000002", "bob@example.com")).status_code \
        == 204
    assert sorted(c.email for c in carts(runtime)) == ["ada@example.com", "bob@example.com"]
    # Bob buys (the order names the shared cart hash): only Bob's cart stops.
    clock.set(T0 + timedelta(hours=1))
    order = docs_order("processing", "2026-11-23T10:00:00",
                       cart_hash="0f343b0931126a20f133d67c2b018a3b",
                       billing={**docs_order()["billing"], "email": "bob@example.com"})
    signed(client, woo_store, order, topic="order.created")
    by_email = {c.email: c.status for c in carts(runtime) if c.cart_key.startswith("wc-cart:")}
    assert by_email == {"ada@example.com": "active", "bob@example.com": "bought"}
    wake_due(runtime, T0 + timedelta(hours=4))
    assert [m["To"] for m in outbox()] == ["ada@example.com"]


# --- WooCommerce as it sends it ------------------------------------------------------------

def test_item_names_are_decoded_once_in_both_parts_of_the_email(client, runtime, woo_store,
                                                                outbox):
    # The docs' sample names "Ship Your Idea &ndash; Color: Black, Size: M Test".
    assert signed(client, woo_store, docs_order(), topic="order.created").status_code == 200
    [cart] = carts(runtime)
    assert cart.items[1]["title"] == "Ship Your Idea – Color: Black, Size: M Test"
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert "Ship Your Idea – Color: Black" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "&amp;ndash;" not in html and "&ndash;" not in html
    assert "Ship Your Idea – Color" in html


@pytest.mark.parametrize("status", ["ready-for-pickup", "refunded", "processing", "on-hold",
                                    "completed", "wc-shipped"])
def test_every_paid_or_handled_status_stops_a_pending_orders_reminder(client, runtime, clock,
                                                                      woo_store, outbox, status):
    signed(client, woo_store, docs_order(), topic="order.created")
    clock.set(T0 + timedelta(hours=1))
    assert signed(client, woo_store, docs_order(status, "2026-11-23T10:00:00")).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.wake_at is None
    wake_due(runtime, T0 + timedelta(hours=6))
    assert outbox() == []


@pytest.mark.parametrize("created_via", ["admin", "rest-api"])
def test_pending_order_the_merchant_made_is_not_an_abandoned_checkout(client, runtime,
                                                                      woo_store, outbox,
                                                                      created_via):
    response = signed(client, woo_store, docs_order(created_via=created_via),
                      topic="order.created")
    assert response.status_code == 200
    assert carts(runtime) == []
    wake_due(runtime, T0 + timedelta(hours=5))
    assert outbox() == []


@pytest.mark.parametrize("source", ["https://www.example.com/", "http://example.com/",
                                    "https://example.com", "http://www.example.com"])
def test_source_differing_only_by_scheme_www_or_slash_is_accepted(client, runtime, woo_store,
                                                                 caplog, source):
    with caplog.at_level("INFO"):
        response = signed(client, woo_store, docs_order(), source=source)
    assert response.status_code == 200
    assert len(carts(runtime)) == 1
    if source.rstrip("/") != SHOP:
        assert any("only by scheme or www" in r.getMessage() for r in caplog.records)


def test_source_of_another_site_is_refused_and_says_which(client, runtime, woo_store, caplog):
    with caplog.at_level("INFO"):
        response = signed(client, woo_store, docs_order(), source="https://other.example/")
    assert response.status_code == 401
    [line] = [r for r in caplog.records if "names another site" in r.getMessage()]
    assert line.source == "https://other.example/" and line.connected == SHOP


def test_legacy_api_body_is_refused_with_a_message_to_pick_v3(client, runtime, woo_store):
    # The legacy REST API (wc-api) wraps the order: {"order": {...}}.
    legacy = {"order": {"id": 727, "order_number": 727, "status": "pending",
                        "created_at": "2026-11-23T08:58:00Z", "total": "29.35",
                        "customer": {"email": "john.doe@example.com"}}}
    response = signed(client, woo_store, legacy)
    assert response.status_code == 400
    assert "API version" in response.get_json()["error"]
    assert "v3" in response.get_json()["error"]


def test_api_v1_body_is_refused_with_a_message_to_pick_v3(client, runtime, woo_store):
    # API v1 orders have site-time dates only (no *_gmt fields).
    v1 = docs_order()
    for key in [k for k in v1 if k.endswith("_gmt")]:
        del v1[key]
    response = signed(client, woo_store, v1)
    assert response.status_code == 400
    assert "WP REST API Integration v3" in response.get_json()["error"]


def test_decimal_quantities_are_accepted_and_totals_stay_right(client, runtime, woo_store):
    order = docs_order()
    order["line_items"][0]["quantity"] = 1.5  # a weight-based product: 1.5 kg at 3.00
    order["line_items"][1]["quantity"] = 2.0
    response = signed(client, woo_store, order, topic="order.created")
    assert response.status_code == 200
    [cart] = carts(runtime)
    first, second = cart.items
    assert first["title"] == "Woo Single #1 (× 1.5)"
    assert (first["quantity"], first["unit_price"]) == (1, "4.50")
    assert (second["quantity"], second["unit_price"]) == (2, "12")


def test_body_without_line_items_leaves_the_items_unchanged(client, runtime, clock, woo_store,
                                                            outbox):
    signed(client, woo_store, docs_order(), topic="order.created")
    update = docs_order(modified="2026-11-23T09:30:00")
    del update["line_items"]
    clock.set(T0 + timedelta(minutes=30))
    assert signed(client, woo_store, update).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "active" and len(cart.items) == 2
    wake_due(runtime, T0 + timedelta(hours=5))
    assert len(outbox()) == 1


def test_store_connected_on_the_web_sends_from_a_valid_default_and_warns(client, runtime,
                                                                         woo_store, outbox,
                                                                         caplog):
    with runtime.db.transaction() as session:
        session.get(Store, woo_store.id).from_email = None  # as the web flow leaves it
    signed(client, woo_store, docs_order(), topic="order.created")
    with caplog.at_level("WARNING"):
        wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert message["From"].addresses[0].addr_spec == "no-reply@cartback.test"
    assert any("no From address" in r.getMessage() for r in caplog.records)


def test_docs_checkout_order_completed_stops_the_storefront_cart_it_came_from(client, runtime,
                                                                              clock, woo_store):
    """Order 723 of the REST docs (created_via checkout, completed) names the cart hash the
    storefront reported: that cart is stopped, no second row."""
    sample = json.loads((FIXTURES / "order-723-docs-v3-checkout.json").read_text())
    beacon(client, woo_store, snapshot("cb.joao000001", sample["billing"]["email"],
                                       cart_hash=sample["cart_hash"]))
    clock.set(T0 + timedelta(hours=1))
    sample.update(date_modified_gmt="2026-11-23T10:00:00", date_created_gmt="2026-11-23T09:50:00")
    assert signed(client, woo_store, sample, topic="order.created").status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.cart_key == "wc-cart:cb.joao000001"
