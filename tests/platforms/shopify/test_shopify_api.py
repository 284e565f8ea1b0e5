"""The Admin API client, with Shopify faked by `responses` (unused mocks fail)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import responses
from responses import matchers

from platforms.base import EventKind
from platforms.shopify.adapter import checkout_events, order_events
from platforms.shopify.api import (
    OFFLINE_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    ShopifyApiError,
    ShopifyClient,
)
from tests.shopify_payloads import API_KEY, GRAPHQL_URL, SECRET, SHOP, TOKEN_URL

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    return ShopifyClient(SHOP, api_version="2026-07", http=requests.Session())


def test_code_exchange_asks_for_an_expiring_token(fake, client):
    fake.post(TOKEN_URL, match=[matchers.json_params_matcher({
        "client_id": API_KEY, "client_secret": SECRET, "code": "c0de", "expiring": "1"})],
        json={"access_token": "shpat_new", "scope": "read_orders,write_discounts",
              "expires_in": 3600, "refresh_token": "shprt_1",
              "refresh_token_expires_in": 7776000})
    grant = client.exchange_code("c0de", API_KEY, SECRET, NOW)
    assert grant.access_token == "shpat_new"
    assert grant.expires_at == NOW + timedelta(hours=1)
    assert grant.refresh_token == "shprt_1"
    assert grant.refresh_expires_at == NOW + timedelta(days=90)
    assert fake.calls[0].request.headers["User-Agent"].startswith("Cartback/")


def test_session_token_exchange_sends_the_documented_fields(fake, client):
    fake.post(TOKEN_URL, match=[matchers.json_params_matcher({
        "client_id": API_KEY, "client_secret": SECRET, "grant_type": TOKEN_EXCHANGE,
        "subject_token": "jwt", "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": OFFLINE_TOKEN_TYPE, "expiring": "1"})],
        json={"access_token": "shpat_x", "scope": "read_orders", "expires_in": 3600,
              "refresh_token": "shprt_x", "refresh_token_expires_in": 7776000})
    assert client.exchange_session_token("jwt", API_KEY, SECRET, NOW).access_token == "shpat_x"


def test_refresh_posts_the_refresh_grant(fake, client):
    fake.post(TOKEN_URL, match=[matchers.json_params_matcher({
        "client_id": API_KEY, "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": "shprt_1"})],
        json={"access_token": "shpat_2", "scope": "read_orders", "expires_in": 3600,
              "refresh_token": "shprt_2", "refresh_token_expires_in": 7776000})
    grant = client.refresh("shprt_1", API_KEY, SECRET, NOW)
    assert (grant.access_token, grant.refresh_token) == ("shpat_2", "shprt_2")


@pytest.mark.parametrize(("status", "transient"), [(400, False), (401, False), (429, True),
                                                   (503, True)])
def test_http_errors_become_ours(fake, client, status, transient):
    fake.post(TOKEN_URL, status=status, json={"error": "nope"})
    with pytest.raises(ShopifyApiError) as err:
        client.exchange_code("c0de", API_KEY, SECRET, NOW)
    assert err.value.status == status and err.value.transient is transient


def test_unreachable_shop_is_a_transient_error(fake, client):
    fake.post(TOKEN_URL, body=requests.ConnectionError("down"))
    with pytest.raises(ShopifyApiError) as err:
        client.exchange_code("c0de", API_KEY, SECRET, NOW)
    assert err.value.transient


def test_subscribe_creates_one_subscription_per_topic_and_accepts_existing(fake, client):
    def answer(request):
        variables = json.loads(request.body)["variables"]
        assert request.headers["X-Shopify-Access-Token"] == "shpat_x"
        assert variables["sub"] == {"uri": "https://cartback.test/webhooks/shopify",
                                    "format": "JSON"}
        if variables["topic"] == "CARTS_UPDATE":
            result = {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "callbackUrl"],
                 "message": "Address for this topic has already been taken"}]}
        else:
            result = {"webhookSubscription": {
                "id": f"gid://shopify/WebhookSubscription/{variables['topic']}",
                "topic": variables["topic"], "uri": variables["sub"]["uri"]}, "userErrors": []}
        return 200, {}, json.dumps({"data": {"webhookSubscriptionCreate": result}})

    fake.add_callback(responses.POST, GRAPHQL_URL, callback=answer)
    ids = client.subscribe("shpat_x", "https://cartback.test/webhooks/shopify",
                           ["CARTS_CREATE", "CARTS_UPDATE", "ORDERS_CREATE"])
    assert ids == ["gid://shopify/WebhookSubscription/CARTS_CREATE",
                   "gid://shopify/WebhookSubscription/ORDERS_CREATE"]


def test_subscribe_without_read_orders_is_a_clear_error(fake, client):
    fake.post(GRAPHQL_URL, json={"data": {"webhookSubscriptionCreate": {
        "webhookSubscription": None,
        "userErrors": [{"field": ["topic"],
                        "message": "Invalid topic specified: checkouts/create"}],
    }}})
    with pytest.raises(ShopifyApiError, match="Invalid topic"):
        client.subscribe("shpat_x", "https://cartback.test/webhooks/shopify", ["CHECKOUTS_CREATE"])


def test_graphql_throttle_is_transient(fake, client):
    fake.post(GRAPHQL_URL, json={"errors": [{"message": "Throttled",
                                             "extensions": {"code": "THROTTLED"}}]})
    with pytest.raises(ShopifyApiError) as err:
        client.shop_info("shpat_x")
    assert err.value.transient


ABANDONED = {
    "id": "gid://shopify/AbandonedCheckout/981820079255243537",
    "abandonedCheckoutUrl": "https://checkout.local/548380009/checkouts/123123123/recover?key=k",
    "createdAt": "2026-11-23T08:55:00Z", "updatedAt": "2026-11-23T09:00:00Z",
    "completedAt": None,
    "customer": {"email": "john@example.com", "firstName": "John", "locale": "en-GB"},
    "billingAddress": {"countryCodeV2": "CA", "firstName": "Bob"}, "shippingAddress": None,
    "totalPriceSet": {"presentmentMoney": {"amount": "421.88", "currencyCode": "EUR"}},
    "lineItems": {"nodes": [{"title": "IPod Nano - 8GB", "variantTitle": "Pink", "quantity": 2,
                             "sku": "IPOD2008PINK", "originalUnitPriceSet": {
                                 "presentmentMoney": {"amount": "199.00",
                                                      "currencyCode": "EUR"}}}]},
}


def test_checkouts_since_pages_and_maps_through_the_webhook_mapping(fake, client):
    page = {"pageInfo": {"hasNextPage": True, "endCursor": "c1"}, "nodes": [ABANDONED]}
    last = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
    fake.post(GRAPHQL_URL, json={"data": {"abandonedCheckouts": page}}, match=[
        matchers.json_params_matcher({"variables": {
            "query": "updated_at:>'2026-11-22T09:00:00+00:00'", "after": None}},
            strict_match=False)])
    fake.post(GRAPHQL_URL, json={"data": {"abandonedCheckouts": last}}, match=[
        matchers.json_params_matcher({"variables": {
            "query": "updated_at:>'2026-11-22T09:00:00+00:00'", "after": "c1"}},
            strict_match=False)])
    payloads = list(client.checkouts_since("shpat_x", NOW - timedelta(days=1)))
    [event] = checkout_events(payloads[0], 1, "sync-1")
    assert event.kind is EventKind.CHECKOUT_STARTED
    assert event.cart_key == "981820079255243537"
    assert event.checkout_key == "123123123"
    assert event.email == "john@example.com"
    assert event.total == Decimal("421.88") and event.currency == "EUR"
    assert event.items[0].title == "IPod Nano - 8GB (Pink)"
    assert event.country == "CA"


def test_orders_since_maps_tokens(fake, client):
    fake.post(GRAPHQL_URL, json={"data": {"orders": {
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": [{"id": "gid://shopify/Order/820982911946154508", "name": "#9999",
                   "email": "jon@example.com", "createdAt": "2026-11-23T10:00:00Z",
                   "processedAt": "2026-11-23T10:00:00Z", "updatedAt": "2026-11-23T10:00:01Z",
                   "cartToken": None, "checkoutToken": "123123123", "customerLocale": "en",
                   "totalPriceSet": {"presentmentMoney": {"amount": "421.88",
                                                          "currencyCode": "EUR"}}}]}}})
    [payload] = client.orders_since("shpat_x", NOW)
    [event] = order_events(payload, 1, "sync-2")
    assert event.kind is EventKind.ORDERED
    assert event.cart_key == "123123123"
    assert event.order_ref == "820982911946154508"
