"""The storefront beacon: Store API minor units, keys, and refusals by field name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from platforms.base import BadPayload, EventKind
from platforms.woocommerce.beacon import minor_units, parse_beacon

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_woocommerce_minor_units_are_scaled_once():
    assert minor_units("1800", 2, "p") == Decimal("18.00")
    assert minor_units("1800", 0, "p") == Decimal("1800")
    assert minor_units("12345", 3, "p") == Decimal("12.345")


def beacon(**fields):
    body = {"cart_token": "cb.abc12345", "cart_hash": "a5771bce93e200c36f7cd9dfd0e5deaa",
            "cart": {"items": [{"name": "Mug", "quantity": 1, "sku": "MUG",
                                "permalink": "https://shop.example/p/mug",
                                "prices": {"price": "1800", "currency_code": "EUR",
                                           "currency_minor_unit": 2}}],
                     "totals": {"total_price": "1800", "currency_code": "EUR",
                                "currency_minor_unit": 2}},
            "email": "ada@example.com", "timezone": "Europe/Berlin", "locale": "de-DE",
            "cart_url": "https://shop.example/cart/"}
    body.update(fields)
    return body


def test_beacon_snapshot_maps_minor_units_and_keys():
    event = parse_beacon(json.dumps(beacon()).encode(), 1, NOW)
    assert event.cart_key == "wc-cart:cb.abc12345"
    assert event.checkout_key == "a5771bce93e200c36f7cd9dfd0e5deaa"
    assert event.items[0].unit_price == Decimal("18.00")
    assert event.total == Decimal("18.00")
    assert event.kind is EventKind.CHECKOUT_STARTED
    assert event.occurred_at == NOW


@pytest.mark.parametrize(("fields", "field"), [
    ({"email": "a@example.com, b@example.com"}, "email"),
    ({"email": "a@example.com;b@example.com"}, "email"),
    ({"cart_token": "x"}, "cart_token"),
    ({"cart": []}, "cart"),
    ({"cart": {"items": [{"quantity": 1000, "prices": {"price": "1"}}]}}, "cart.items[0].quantity"),
    ({"cart": {"totals": {"total_price": "1.5"}}}, "cart.totals.total_price"),
])
def test_beacon_bad_snapshots_are_refused(fields, field):
    with pytest.raises(BadPayload) as err:
        parse_beacon(json.dumps(beacon(**fields)).encode(), 1, NOW)
    assert err.value.field == field


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"\xff\xfe", b"[" * 16_000 + b"]" * 16_000])
def test_beacon_body_that_is_not_a_json_object_is_refused(raw):
    with pytest.raises(BadPayload) as err:
        parse_beacon(raw, 1, NOW)
    assert err.value.field == "body"
