"""Shopify traffic as Shopify sends it (issue 14): late and replayed deliveries,
reconciled old checkouts, return links, headers, names, large orders."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Store
from app.integrations.shopify import install
from app.integrations.shopify.sync import reconcile
from platforms.signing import sign_base64
from tests.factories import T0, with_postal_address
from tests.shopify_payloads import (
    GRAPHQL_URL,
    SHOP,
    cart_payload,
    checkout_payload,
    fake_shopify,
    iso,
    order_payload,
    post_webhook,
    signed_headers,
)

FIXTURES = Path(__file__).parent.parent.parent / "fixtures" / "shopify"


def carts(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Cart).order_by(Cart.id)))


# --- the give-up age --------------------------------------------------------------------

def test_checkout_delivered_twelve_days_late_gets_no_reminder(client, runtime, clock,
                                                              shop_store, outbox):
    clock.set(T0 + timedelta(days=12))
    response = post_webhook(client, "checkouts/update", checkout_payload(updated_at=T0))
    assert response.status_code == 200
    wake_due(runtime, clock.now + timedelta(hours=5))
    assert outbox() == []
    [cart] = carts(runtime)
    assert cart.status == "expired"


def test_reconciled_checkout_past_the_give_up_age_gets_no_reminder(runtime, clock, shop_store,
                                                                   fake, outbox):
    clock.set(T0 + timedelta(days=12))
    old = {
        "id": "gid://shopify/AbandonedCheckout/7001",
        "abandonedCheckoutUrl": f"https://{SHOP}/1/checkouts/tok1/recover?key=k",
        "createdAt": iso(T0 - timedelta(minutes=5)), "updatedAt": iso(T0), "completedAt": None,
        "customer": {"email": "lost@example.com", "firstName": "Lou", "locale": "fr"},
        "billingAddress": None, "shippingAddress": None,
        "totalPriceSet": {"presentmentMoney": {"amount": "59.00", "currencyCode": "EUR"}},
        "lineItems": {"nodes": [{"title": "Mug", "variantTitle": None, "quantity": 1,
                                 "sku": "MUG", "originalUnitPriceSet": {"presentmentMoney": {
                                     "amount": "59.00", "currencyCode": "EUR"}}}]},
    }

    def graphql(request):
        body = json.loads(request.body)
        field = "abandonedCheckouts" if "abandonedCheckouts" in body["query"] else "orders"
        nodes = [old] if field == "abandonedCheckouts" else []
        return 200, {}, json.dumps({"data": {field: {
            "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}}})

    fake.add_callback(responses.POST, GRAPHQL_URL, callback=graphql)
    assert reconcile(runtime, shop_store, clock.now).applied == 1
    wake_due(runtime, clock.now + timedelta(hours=5))
    assert outbox() == []
    assert [c.status for c in carts(runtime)] == ["expired"]


# --- the shop's hosts: read at install, refreshed by the sync ---------------------------

def follow(client, message):
    html = message.get_body(("html",)).get_content()
    link = html.split('class="button" href="')[1].split('"')[0]
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302
    return response.headers["Location"]


def test_install_reads_the_shops_domains_so_its_checkout_links_are_followed(
        client, runtime, clock, fake, outbox):
    fake_shopify(fake)
    store_id = install.complete_oauth(runtime, SHOP, "code-1", clock())
    with_postal_address(runtime, store_id)
    with runtime.db.new_session() as session:
        state = session.get(Store, store_id).platform_state
    assert state["shop_hosts"] == [SHOP, "www.cool-shop.example"]
    recover = "https://checkout.cool-shop.example/checkouts/cn/abc/recover?key=k"
    post_webhook(client, "checkouts/update",
                 checkout_payload(updated_at=T0, abandoned_checkout_url=recover))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert follow(client, message) == recover


def test_sync_refreshes_the_shops_domains_once_a_day(client, runtime, clock, shop_store, fake,
                                                      outbox):
    recover = "https://www.maple-new.example/548380009/checkouts/1/recover?key=k"
    post_webhook(client, "checkouts/update",
                 checkout_payload(updated_at=T0, abandoned_checkout_url=recover))

    def graphql(request):
        body = json.loads(request.body)
        if "myshopifyDomain" in body["query"]:  # the merchant connected a new domain
            return 200, {}, json.dumps({"data": {"shop": {
                "myshopifyDomain": SHOP, "url": "https://www.maple-new.example",
                "primaryDomain": {"host": "www.maple-new.example"}}}})
        field = "abandonedCheckouts" if "abandonedCheckouts" in body["query"] else "orders"
        return 200, {}, json.dumps({"data": {field: {
            "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}})

    fake.add_callback(responses.POST, GRAPHQL_URL, callback=graphql)
    clock.advance(hours=1)
    assert reconcile(runtime, shop_store, clock.now).ok
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert follow(client, message) == recover
    with runtime.db.new_session() as session:
        state = session.get(Store, shop_store).platform_state
    assert state["shop_hosts_at"] == clock.now.isoformat()
    # Read again only a day later.
    before = len(fake.calls)
    assert reconcile(runtime, shop_store, clock.now + timedelta(hours=2)).ok
    assert len(fake.calls) - before == 2  # checkouts and orders, not the shop


# --- an order always stops its cart, whatever its size ------------------------------------

def big_order(lines, **extra):
    """orders/paid as API 2026-07 sends it, with `lines` full line items (~1 KB each:
    price sets, tax lines, discount allocations, properties)."""
    body = order_payload(created_at=T0 + timedelta(hours=5), **extra)
    template = body["line_items"][0]
    body["line_items"] = [{
        **template, "id": 866550311766439020 + n, "variant_id": 808950810 + n,
        "title": f"Enamel pin No. {n}", "name": f"Enamel pin No. {n} - Gold",
        "sku": f"PIN-{n:04d}", "quantity": 1, "current_quantity": 1, "price": "4.00",
        "price_set": {"shop_money": {"amount": "4.00", "currency_code": "USD"},
                      "presentment_money": {"amount": "3.70", "currency_code": "EUR"}},
        "total_discount_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"},
                               "presentment_money": {"amount": "0.00", "currency_code": "EUR"}},
        "tax_lines": [{"title": "State Tax", "rate": 0.06, "price": "0.24", "channel_liable": False,
                       "price_set": {"shop_money": {"amount": "0.24", "currency_code": "USD"},
                                     "presentment_money": {"amount": "0.22",
                                                           "currency_code": "EUR"}}}],
        "discount_allocations": [], "duties": [], "fulfillment_service": "manual",
        "fulfillment_status": None, "gift_card": False, "grams": 12, "product_exists": True,
        "properties": [{"name": "Engraving", "value": f"For A. #{n}"}],
        "requires_shipping": True, "taxable": True, "vendor": "Maple Pins",
        "variant_inventory_management": "shopify", "variant_title": "Gold",
        "admin_graphql_api_id": f"gid://shopify/LineItem/{866550311766439020 + n}",
    } for n in range(lines)]
    return body


def checkout_reminded(client, runtime, outbox):
    post_webhook(client, "checkouts/update", checkout_payload(updated_at=T0))
    wake_due(runtime, T0 + timedelta(hours=4))
    assert len(outbox()) == 1


def test_order_with_270_lines_is_accepted_and_stops_the_cart(client, runtime, clock, shop_store,
                                                             outbox):
    checkout_reminded(client, runtime, outbox)
    clock.set(T0 + timedelta(hours=5))
    raw = json.dumps(big_order(270)).encode()
    assert len(raw) > 272 * 1000
    response = post_webhook(client, "orders/paid", raw)
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "recovered" and cart.wake_at is None
    wake_due(runtime, T0 + timedelta(days=2))
    assert len(outbox()) == 1  # no second reminder after buying


def test_order_too_large_to_keep_still_stops_its_cart(app, client, runtime, clock, shop_store,
                                                      outbox, caplog):
    app.config["PLATFORM_BODY_BYTES"] = 64 * 1024
    checkout_reminded(client, runtime, outbox)
    clock.set(T0 + timedelta(hours=5))
    raw = json.dumps(big_order(400)).encode()
    response = post_webhook(client, "orders/create", raw)
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "recovered" and cart.wake_at is None
    assert cart.order_ref == "820982911946154508"
    assert any(r.getMessage() == "shopify webhook larger than kept" for r in caplog.records)


def test_body_too_large_to_keep_is_still_checked_for_its_signature(app, client, shop_store):
    app.config["PLATFORM_BODY_BYTES"] = 64 * 1024
    raw = json.dumps(big_order(400)).encode()
    response = post_webhook(client, "orders/create", raw,
                            signature=sign_base64("shpss_" + "e" * 32, raw))
    assert response.status_code == 401


def test_cart_update_too_large_to_keep_is_acknowledged_and_left(app, client, runtime,
                                                                shop_store):
    app.config["PLATFORM_BODY_BYTES"] = 64 * 1024
    lines = big_order(300)["line_items"]
    response = post_webhook(client, "carts/update",
                            cart_payload(updated_at=T0, lines=lines))
    assert response.status_code == 200 and response.json["outcome"] == "too_large"
    assert carts(runtime) == []


# --- one cart row per checkout, whatever the delivery order and duplicates -----------------

def test_order_linked_by_email_delivered_twice_leaves_one_row(client, runtime, clock,
                                                              shop_store):
    post_webhook(client, "checkouts/update", checkout_payload(updated_at=T0))
    clock.set(T0 + timedelta(hours=1))
    # As in Shopify's orders/paid sample: no cart or checkout token, linked by email.
    order = order_payload(created_at=clock.now, checkout_token=None, cart_token=None,
                          email="example@email.com")
    assert post_webhook(client, "orders/create", order).status_code == 200
    assert post_webhook(client, "orders/paid", order).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.order_ref == "820982911946154508"


def test_same_event_under_two_webhook_ids_is_applied_once(client, runtime, shop_store, clock):
    # Two subscriptions (an app-specific and a shop-specific one) deliver one event.
    post_webhook(client, "checkouts/update", checkout_payload(updated_at=T0))
    clock.set(T0 + timedelta(hours=1))
    order = order_payload(created_at=clock.now)
    raw = json.dumps(order).encode()
    first = signed_headers("orders/create", raw, webhook_id="wh-app-1")
    second = signed_headers("orders/create", raw, webhook_id="wh-shop-2")
    second["X-Shopify-Event-Id"] = first["X-Shopify-Event-Id"]
    assert client.post("/webhooks/shopify", data=raw, headers=first).json["results"][0][
        "outcome"] == "ordered"
    again = client.post("/webhooks/shopify", data=raw, headers=second)
    assert again.status_code == 200 and again.json["results"][0]["outcome"] == "duplicate"
    assert len(carts(runtime)) == 1
    with runtime.db.new_session() as session:
        assert session.scalars(select(Activity).where(Activity.kind == "ordered")).all()


# --- Shopify as it sends it -----------------------------------------------------------------

def test_deliveries_with_only_the_newer_header_names_are_accepted(client, runtime,
                                                                  shop_store):
    raw = json.dumps(checkout_payload(updated_at=T0)).encode()
    headers = {k.removeprefix("X-").lower(): v
               for k, v in signed_headers("checkouts/create", raw).items()}
    assert "shopify-hmac-sha256" in headers and not any(k.startswith("x-") for k in headers)
    response = client.post("/webhooks/shopify", data=raw, headers=headers)
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.email == "example@email.com"


def test_greeting_uses_the_name_typed_at_checkout(client, runtime, shop_store, outbox):
    # The checkout's billing name is Bob; the customer account on it says John.
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    text = message.get_body(("plain",)).get_content()
    assert "Bob" in text and "John" not in text


def test_checkout_from_a_saved_cart_link_is_tagged_saved_by_the_theme_attribute(
        client, runtime, shop_store, outbox):
    payload = checkout_payload(updated_at=T0, note_attributes=[
        {"name": "gift_note", "value": "Happy Birthday"},
        {"name": "_cartback_saved", "value": "1"}])
    post_webhook(client, "checkouts/create", payload)
    [cart] = carts(runtime)
    assert cart.saved_link is True
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert "still saved" in message["Subject"] or "saving" in message["Subject"]


def test_checkout_and_order_from_shopifys_api_library_fixtures(client, runtime, clock,
                                                               shop_store, outbox):
    """Shopify's Python API fixtures: a checkout (cart token 6877…, billing name Bob,
    recovery link on the placeholder host checkout.local) and the order placed from it."""
    checkout = json.loads((FIXTURES / "checkout-python-api-fixture.json").read_text())
    checkout.update(created_at=iso(T0 - timedelta(minutes=5)), updated_at=iso(T0))
    assert post_webhook(client, "checkouts/update", checkout).status_code == 200
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert message["To"] == "bob.norman@hostmail.com"
    assert "Bob" in message.get_body(("plain",)).get_content()
    # checkout.local is no host Shopify vouches for: the shop's cart page, said aloud.
    assert follow(client, message) == f"https://{SHOP}/cart"
    order = json.loads((FIXTURES / "order-python-api-fixture.json").read_text())
    clock.set(T0 + timedelta(hours=5))
    order.update(created_at=iso(clock.now), updated_at=iso(clock.now))
    assert post_webhook(client, "orders/create", order).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "recovered" and cart.wake_at is None
