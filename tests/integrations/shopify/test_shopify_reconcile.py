"""Reconciliation: lost webhooks are caught up from the Admin API; tokens refresh first."""

from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from app.db.crypto import decrypt_json
from app.db.models import Cart, Store
from app.integrations.shopify.install import save_install
from app.integrations.shopify.sync import reconcile, reconcile_all
from platforms.shopify.api import Grant
from tests.factories import T0
from tests.shopify_payloads import (
    GRAPHQL_URL,
    SHOP,
    TOKEN_URL,
    checkout_payload,
    iso,
    post_webhook,
)


def install(runtime, clock, expires_in=timedelta(hours=3)):
    grant = Grant(access_token="shpat_old", scope="read_orders",
                  expires_at=clock() + expires_in, refresh_token="shprt_old",
                  refresh_expires_at=clock() + timedelta(days=90))
    return save_install(runtime, SHOP, grant, clock(), via="oauth")


def abandoned(n, updated_at, email="lost@example.com"):
    return {
        "id": f"gid://shopify/AbandonedCheckout/{7000 + n}",
        "abandonedCheckoutUrl": f"https://cool-shop.example/1/checkouts/tok{n}/recover?key=k",
        "createdAt": iso(updated_at - timedelta(minutes=5)), "updatedAt": iso(updated_at),
        "completedAt": None,
        "customer": {"email": email, "firstName": "Lou", "locale": "fr"},
        "billingAddress": {"countryCodeV2": "FR", "firstName": "Lou"}, "shippingAddress": None,
        "totalPriceSet": {"presentmentMoney": {"amount": "59.00", "currencyCode": "EUR"}},
        "lineItems": {"nodes": [{"title": "Mug", "variantTitle": None, "quantity": 1,
                                 "sku": "MUG", "originalUnitPriceSet": {"presentmentMoney": {
                                     "amount": "59.00", "currencyCode": "EUR"}}}]},
    }


def order(checkout_token, at):
    return {"id": "gid://shopify/Order/5550001", "name": "#1001", "email": "x@example.com",
            "createdAt": iso(at), "processedAt": iso(at), "updatedAt": iso(at),
            "cartToken": None, "checkoutToken": checkout_token, "customerLocale": "en",
            "totalPriceSet": {"presentmentMoney": {"amount": "421.88", "currencyCode": "EUR"}}}


def shopify_answers(fake, checkouts, orders, seen):
    def graphql(request):
        body = json.loads(request.body)
        if "myshopifyDomain" in body["query"]:  # the daily re-read of the shop's hosts
            return 200, {}, json.dumps({"data": {"shop": {
                "myshopifyDomain": SHOP, "url": "https://cool-shop.example",
                "primaryDomain": {"host": "cool-shop.example"}}}})
        seen.append((request.headers["X-Shopify-Access-Token"], body["variables"]["query"]))
        field = "abandonedCheckouts" if "abandonedCheckouts" in body["query"] else "orders"
        nodes = checkouts if field == "abandonedCheckouts" else orders
        return 200, {}, json.dumps({"data": {field: {
            "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}}})

    fake.add_callback(responses.POST, GRAPHQL_URL, callback=graphql)


def carts(runtime):
    with runtime.db.new_session() as session:
        return {c.cart_key: c for c in session.scalars(select(Cart))}


def test_reconcile_catches_a_lost_checkout_and_a_lost_order(client, runtime, clock, fake):
    store_id = install(runtime, clock, expires_in=timedelta(hours=3))
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))  # delivered
    clock.advance(hours=1)
    seen = []
    shopify_answers(fake, [abandoned(1, T0 + timedelta(minutes=20))],
                    [order("123123123", T0 + timedelta(minutes=50))], seen)
    result = reconcile(runtime, store_id, clock())
    assert result.ok and result.checkouts == 1 and result.orders == 1 and result.applied == 2
    rows = carts(runtime)
    lost = rows["7001"]
    assert lost.email == "lost@example.com" and lost.checkout_key == "tok1"
    assert lost.wake_at == T0 + timedelta(minutes=20, hours=4)
    assert rows["eeafa272cebfd4b22385bc4b645e762c"].status == "bought"
    # First sync looks back a day (minus overlap) from now.
    since = clock() - timedelta(days=1, minutes=10)
    assert seen[0] == ("shpat_old", f"updated_at:>'{since.isoformat()}'")
    with runtime.db.new_session() as session:
        state = session.get(Store, store_id).platform_state
    assert state["synced_until"] == clock().isoformat()


def test_reconcile_skips_what_the_rows_already_reflect(client, runtime, clock, fake):
    store_id = install(runtime, clock)
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    same = abandoned(2, T0, email="john@example.com")
    same["abandonedCheckoutUrl"] = "https://checkout.local/548380009/checkouts/123123123/recover"
    newer = abandoned(3, T0 + timedelta(minutes=30), email="john@example.com")
    newer["abandonedCheckoutUrl"] = "https://checkout.local/548380009/checkouts/123123123/recover"
    shopify_answers(fake, [same, newer], [], [])
    clock.advance(hours=1)
    result = reconcile(runtime, store_id, clock() + timedelta(hours=1))
    assert result.applied == 1
    [cart] = carts(runtime).values()
    # GraphQL only knows customer.email; the checkout's own email stays.
    assert cart.email == "example@email.com"
    assert cart.last_event_at == T0 + timedelta(minutes=30)


def test_expiring_token_is_refreshed_first_and_the_new_pair_kept(runtime, clock, fake):
    store_id = install(runtime, clock, expires_in=timedelta(minutes=2))
    fake.post(TOKEN_URL, json={"access_token": "shpat_new", "scope": "read_orders",
                               "expires_in": 3600, "refresh_token": "shprt_new",
                               "refresh_token_expires_in": 7776000})
    seen = []
    shopify_answers(fake, [], [], seen)
    assert reconcile(runtime, store_id, clock()).ok
    assert {token for token, _ in seen} == {"shpat_new"}
    refresh = json.loads(fake.calls[0].request.body)
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == "shprt_old"
    with runtime.db.new_session() as session:
        creds = decrypt_json(runtime.fernet(), session.get(Store, store_id).credentials)
    assert creds["access_token"] == "shpat_new" and creds["refresh_token"] == "shprt_new"


def test_a_failing_shop_leaves_its_sync_mark_and_others_continue(runtime, clock, fake):
    store_id = install(runtime, clock)
    fake.post(GRAPHQL_URL, status=503)
    [result] = reconcile_all(runtime, clock())
    assert result.store_id == store_id and not result.ok and result.error == "ShopifyApiError"
    with runtime.db.new_session() as session:
        assert "synced_until" not in session.get(Store, store_id).platform_state


def test_uninstalled_stores_are_not_synced(runtime, clock):
    store_id = install(runtime, clock)
    with runtime.db.transaction() as session:
        session.get(Store, store_id).installed = False
    assert reconcile_all(runtime, clock()) == []
