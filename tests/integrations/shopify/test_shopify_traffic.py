"""Shopify traffic as Shopify sends it (issue 14): late and replayed deliveries,
reconciled old checkouts, return links, headers, names, large orders."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import responses
from shopify_payloads import (
    GRAPHQL_URL,
    OVERRIDES,
    SHOP,
    checkout_payload,
    fake_shopify,
    iso,
    post_webhook,
)
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, Store
from app.integrations.shopify import install
from app.integrations.shopify.install import save_install
from app.integrations.shopify.sync import reconcile
from conftest import T0
from platforms.shopify.api import Grant


@pytest.fixture
def app_overrides():
    return dict(OVERRIDES)


@pytest.fixture
def shop_store(runtime, clock):
    return save_install(runtime, SHOP, Grant(access_token="shpat_test", scope="read_orders"),
                        clock(), via="oauth")


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


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
