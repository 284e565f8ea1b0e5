"""The WooCommerce adapter: signatures over exact bytes, ping, order mapping, money."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from platforms.base import BadPayload, BadSignature, EventKind
from platforms.woocommerce.adapter import adapter, authorize_url, is_ping

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def order(**fields):
    body = {"id": 727, "status": "checkout-draft", "currency": "EUR", "total": "18.00",
            "date_created_gmt": "2026-11-23T10:00:00", "date_modified_gmt": "2026-11-23T10:05:00",
            "cart_hash": "a5771bce93e200c36f7cd9dfd0e5deaa", "needs_payment": True,
            "payment_url": "https://shop.example/checkout/order-pay/727/?pay_for_order=true",
            "billing": {"first_name": "Ada", "email": "ada@example.com", "country": "DE"},
            "line_items": [{"id": 1, "name": "Mug", "quantity": 2, "price": 9, "sku": "MUG"}]}
    body.update(fields)
    return body


def parse(body, topic="order.updated"):
    return adapter.parse(json.dumps(body).encode(), {"X-WC-Webhook-Topic": topic}, 1,
                         received_at=NOW)


def test_woocommerce_reference_signature_vector():
    raw = b'{"id":727,"status":"pending","cart_hash":"abc"}'
    adapter.verify(raw, {"X-WC-Webhook-Signature":
                         "BKtQxJVM3MZr4kQP5EVhPbT6uKUok8WSv/bcwX7Kew8="}, "wc_secret")


def test_woocommerce_signature_over_exact_bytes_with_escaped_slashes():
    from platforms.signing import sign_base64

    raw = b'{"id":1,"payment_url":"https:\\/\\/shop.example\\/pay"}'
    signature = sign_base64("s3cret", raw)
    adapter.verify(raw, {"x-wc-webhook-signature": signature}, "s3cret")
    reencoded = json.dumps(json.loads(raw)).encode()
    with pytest.raises(BadSignature):
        adapter.verify(reencoded, {"X-WC-Webhook-Signature": signature}, "s3cret")


def test_woocommerce_hex_signature_is_refused():
    import hashlib
    import hmac

    raw = b'{"id":1}'
    hexsig = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    with pytest.raises(BadSignature):
        adapter.verify(raw, {"X-WC-Webhook-Signature": hexsig}, "s3cret")


def test_woocommerce_ping_is_recognised_without_parsing():
    assert is_ping(b"webhook_id=12", {"Content-Type": "application/x-www-form-urlencoded"})
    assert not is_ping(b"webhook_id=12", {"X-WC-Webhook-Signature": "x"})
    assert not is_ping(b'{"id": 12}', {})


def test_woocommerce_checkout_draft_is_a_checkout_never_an_order():
    [event] = parse(order())
    assert event.kind is EventKind.CHECKOUT_STARTED
    assert event.email == "ada@example.com"
    assert event.return_url is None  # a draft has no pay link yet
    assert event.items[0].unit_price == Decimal("9")
    assert event.total == Decimal("18.00")
    assert event.occurred_at == datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


def test_woocommerce_pending_payment_links_to_the_payment_url():
    [event] = parse(order(status="pending"))
    assert event.kind is EventKind.CHECKOUT_STARTED
    assert event.return_url.startswith("https://shop.example/checkout/order-pay/727/")


@pytest.mark.parametrize("status", ["processing", "on-hold", "completed"])
def test_woocommerce_placed_statuses_are_orders(status):
    [event] = parse(order(status=status))
    assert event.kind is EventKind.ORDERED
    assert event.cart_key == "wc-order:727"
    assert "a5771bce93e200c36f7cd9dfd0e5deaa" in event.aliases


def test_woocommerce_delivery_id_is_stable_across_redeliveries():
    [first] = parse(order())
    [again] = parse(order())
    assert first.delivery_id == again.delivery_id
    assert first.delivery_id == "wc:727:2026-11-23T10:05:00+00:00:checkout-draft"
    [later] = parse(order(date_modified_gmt="2026-11-23T10:06:00"))
    assert later.delivery_id != first.delivery_id


def test_woocommerce_deleted_with_only_an_id():
    [event] = adapter.parse(b'{"id": 727}', {"X-WC-Webhook-Topic": "order.deleted"}, 1,
                            received_at=NOW)
    assert event.kind is EventKind.DELETED and event.cart_key == "wc-order:727"
    assert event.occurred_at == NOW  # {"id": N} has no time; never the adapter's own clock


def test_woocommerce_add_to_cart_action_is_accepted_and_ignored():
    raw = b'{"action":"woocommerce_add_to_cart","arg":"a5771bce93e200c36f7cd9dfd0e5deaa"}'
    assert adapter.parse(raw, {"X-WC-Webhook-Topic": "action.woocommerce_add_to_cart"}, 1,
                         NOW) == []


@pytest.mark.parametrize(("body", "field"), [
    (b"not json", "body"),
    (json.dumps(order(id="x")).encode(), "id"),
    (json.dumps(order(total="lots")).encode(), "total"),
    (json.dumps(order(date_modified_gmt=None, date_created_gmt=None)).encode(),
     "date_modified_gmt"),
])
def test_woocommerce_malformed_orders_name_the_field(body, field):
    with pytest.raises(BadPayload) as err:
        adapter.parse(body, {}, 1, received_at=NOW)
    assert err.value.field == field


def test_authorize_url_refuses_a_plain_http_callback():
    with pytest.raises(ValueError):
        authorize_url("https://shop.example", app_name="Cartback", state="s",
                      callback_url="http://cartback.test/woocommerce/callback",
                      return_url="https://cartback.test/woocommerce/connected")
    url = authorize_url("https://shop.example/", app_name="Cartback", state="s1",
                        callback_url="https://cartback.test/woocommerce/callback",
                        return_url="https://cartback.test/woocommerce/connected")
    assert url.startswith("https://shop.example/wc-auth/v1/authorize?")
    assert "scope=read_write" in url and "user_id=s1" in url
