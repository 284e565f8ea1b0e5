"""The Shopify webhook adapter: signatures over exact bytes, and each topic's mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from platforms import get_adapter
from platforms.base import BadPayload, BadSignature, EventKind
from platforms.shopify.adapter import adapter, parse_redact
from platforms.signing import sign_base64
from tests.shopify_payloads import (
    CART_TOKEN,
    CHECKOUT_ID,
    CHECKOUT_TOKEN,
    RECOVER_URL,
    cart_payload,
    checkout_payload,
    delete_payload,
    order_payload,
    signed_headers,
)

T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# shared/reference/platforms.md, Shopify test case 2 (derived vectors).
VECTOR_BODY = b'{"id":"exampleCartId","token":"exampleCartId","line_items":[]}'
VECTOR_SIG = "XVJuzPZGGuu4raXMMz3cByx/GiikdC33WjJC0OS6CUA="
VECTOR_PRETTY_SIG = "xkFwLUM08htIfvhdm86X6LHSRCsJlcKUs7wUmD9owFo="


def parse(topic: str, body: dict, **headers_options) -> list:
    raw = json.dumps(body).encode()
    return adapter.parse(raw, signed_headers(topic, raw, **headers_options), store_id=1,
                         received_at=T)


def test_shopify_is_registered():
    assert get_adapter("shopify") is adapter


def test_shopify_hmac_reference_vector_accepted_over_exact_bytes():
    assert sign_base64("hush", VECTOR_BODY) == VECTOR_SIG
    adapter.verify(VECTOR_BODY, {"X-Shopify-Hmac-Sha256": VECTOR_SIG}, "hush")


def test_shopify_hmac_refused_after_reserialization():
    pretty = json.dumps(json.loads(VECTOR_BODY), indent=2).encode()
    assert sign_base64("hush", pretty) == VECTOR_PRETTY_SIG
    with pytest.raises(BadSignature):
        adapter.verify(pretty, {"X-Shopify-Hmac-Sha256": VECTOR_SIG}, "hush")


def test_shopify_hmac_refused_as_hex_digest():
    hex_digest = __import__("hmac").new(b"hush", VECTOR_BODY, "sha256").hexdigest()
    with pytest.raises(BadSignature):
        adapter.verify(VECTOR_BODY, {"X-Shopify-Hmac-Sha256": hex_digest}, "hush")


def test_shopify_hmac_header_name_in_any_case_and_previous_secret():
    adapter.verify(VECTOR_BODY, {"x-shopify-hmac-sha256": VECTOR_SIG}, "new-secret", "hush")
    with pytest.raises(BadSignature):
        adapter.verify(VECTOR_BODY, {"X-SHOPIFY-HMAC-SHA256": VECTOR_SIG}, "a", "b")
    with pytest.raises(BadSignature):
        adapter.verify(VECTOR_BODY, {}, "hush")


def test_shopify_cart_has_items_total_presentment_currency_and_no_email():
    [event] = parse("carts/update", cart_payload(updated_at=T, quantity=3))
    assert event.kind is EventKind.UPDATED
    assert event.cart_key == CART_TOKEN
    assert event.email is None
    assert event.currency == "EUR"
    assert event.items[0].unit_price == Decimal("18.50")
    assert event.total == Decimal("55.50")
    assert event.occurred_at == T
    assert event.delivery_id.startswith("shopify:")


def test_shopify_checkout_maps_its_own_email_not_the_customers():
    [event] = parse("checkouts/create", checkout_payload(updated_at=T))
    assert event.kind is EventKind.CHECKOUT_STARTED
    assert event.cart_key == CART_TOKEN
    assert event.checkout_key == CHECKOUT_TOKEN
    assert event.email == "example@email.com"  # customer.email is john@example.com
    # The name typed at checkout (billing Bob), not the customer account's (John).
    assert event.first_name == "Bob"
    assert event.locale == "en-GB"
    assert event.country == "CA"
    assert event.currency == "EUR"
    assert event.total == Decimal("421.88")
    assert event.return_url == RECOVER_URL
    assert event.marketing_consent is True
    assert [(i.title, i.quantity, i.unit_price, i.sku) for i in event.items] == [
        ("IPod Nano - 8GB (Pink)", 2, Decimal("199.00"), "IPOD2008PINK")]


def test_shopify_checkout_without_cart_token_is_keyed_by_its_id_so_deletes_match():
    body = checkout_payload(updated_at=T, cart_token=None, id=CHECKOUT_ID)
    [event] = parse("checkouts/update", body)
    assert event.cart_key == str(CHECKOUT_ID)
    assert CHECKOUT_TOKEN in event.aliases
    [deleted] = parse("checkouts/delete", delete_payload(cart_token=None))
    assert deleted.kind is EventKind.DELETED
    assert deleted.cart_key == str(CHECKOUT_ID)


def test_shopify_checkout_with_a_null_email_never_guesses_one():
    [event] = parse("checkouts/update", checkout_payload(updated_at=T, email=None))
    assert event.email is None


def test_shopify_completed_checkout_is_an_order():
    done = T + timedelta(minutes=7)
    [event] = parse("checkouts/update",
                    checkout_payload(updated_at=done, completed_at=done))
    assert event.kind is EventKind.ORDERED
    assert event.occurred_at == done
    assert event.checkout_key == CHECKOUT_TOKEN


def test_shopify_delete_with_only_id_and_cart_token_uses_triggered_at():
    [event] = parse("checkouts/delete", delete_payload())
    assert event.cart_key == CART_TOKEN
    assert str(CHECKOUT_ID) in event.aliases
    assert event.occurred_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_shopify_order_links_by_checkout_and_cart_tokens():
    [event] = parse("orders/create",
                    order_payload(created_at=T, cart_token="68778783ad298f1c80c3bafcddeea02f"))
    assert event.kind is EventKind.ORDERED
    assert event.cart_key == "68778783ad298f1c80c3bafcddeea02f"
    assert CHECKOUT_TOKEN in event.aliases
    assert event.order_ref == "820982911946154508"
    assert event.total == Decimal("421.88") and event.currency == "EUR"
    assert event.email == "jon@example.com"


def test_shopify_order_without_tokens_still_has_a_key_and_an_email():
    [event] = parse("orders/create", order_payload(created_at=T, checkout_token=None))
    assert event.cart_key == "order:820982911946154508"
    assert event.email == "jon@example.com"


def test_shopify_cart_token_suffix_is_ignored():
    [event] = parse("carts/update", cart_payload(f"{CART_TOKEN}?key=abc", updated_at=T))
    assert event.cart_key == CART_TOKEN


@pytest.mark.parametrize("topic", ["app/uninstalled", "products/update", "", "customers/redact"])
def test_shopify_other_topics_give_no_cart_events(topic):
    assert parse(topic, {"id": 1}) == []


@pytest.mark.parametrize(("topic", "raw", "field"), [
    ("carts/update", b"not json", "body"),
    ("carts/update", b"[]", "body"),
    ("carts/update", json.dumps({"line_items": []}).encode(), "token"),
    ("carts/update", json.dumps({"token": "t", "updated_at": "yesterday"}).encode(), "updated_at"),
    ("checkouts/update", json.dumps({"updated_at": "2026-11-23T09:00:00Z"}).encode(), "token"),
    ("carts/update", json.dumps({"token": "t", "updated_at": "2026-11-23T09:00:00Z",
                                 "line_items": [{"quantity": 1, "price": "abc"}]}).encode(),
     "line_items[0].price"),
])
def test_shopify_malformed_payloads_name_the_field(topic, raw, field):
    with pytest.raises(BadPayload) as err:
        adapter.parse(raw, signed_headers(topic, raw), store_id=1, received_at=T)
    assert err.value.field == field


def test_shopify_redact_payload():
    redact = parse_redact("customers/redact", {
        "shop_id": 954889, "shop_domain": "cool-shop.myshopify.com",
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263]})
    assert redact.email == "john@example.com"
    assert redact.order_ids == ("299938", "280263")
