"""SMS consent and the number to text, as each lane reports them: only an explicit yes
for a specific number, normalised to E.164 (reference D; libphonenumber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from shopify_payloads import checkout_payload, signed_headers

from platforms import custom, fields
from platforms.base import BadPayload
from platforms.shopify.adapter import adapter as shopify
from platforms.woocommerce.beacon import parse_beacon
from tests.factories import T0, cart_body

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def shopify_checkout(**extra):
    raw = json.dumps(checkout_payload(updated_at=NOW, **extra)).encode()
    [event] = shopify.parse(raw, signed_headers("checkouts/update", raw), store_id=1,
                            received_at=NOW)
    return event.phone, event.sms_consent


@pytest.mark.parametrize("value, region, expected", [
    ("+1 (212) 555-0100", None, "+12125550100"),
    ("+442079460018", None, "+442079460018"),
    ("020 7946 0018", "GB", "+442079460018"),
    ("(212) 555-0100", "us", "+12125550100"),
    ("", None, None),
    (None, None, None),
])
def test_phone_numbers_are_normalised_to_e164(value, region, expected):
    assert fields.phone(value, "phone", region=region) == expected


@pytest.mark.parametrize("value", ["020 7946 0018", "+1 555", "call me", "+99912345678",
                                   "+1" + "2" * 40, 12125550100, ["+12125550100"]])
def test_numbers_we_could_not_text_are_refused_naming_the_field(value):
    with pytest.raises(BadPayload) as refused:
        fields.phone(value, "phone")
    assert refused.value.field == "phone"


def test_shopify_checkout_with_sms_consent_gives_that_number():
    assert shopify_checkout(buyer_accepts_sms_marketing=True,
                            sms_marketing_phone="+1 212-555-0100") == ("+12125550100", True)


def test_shopify_consent_without_a_number_texts_nobody():
    assert shopify_checkout(buyer_accepts_sms_marketing=True,
                            sms_marketing_phone=None) == (None, None)


def test_shopify_checkout_phone_is_never_taken_for_an_sms_number():
    # Pitfall D2: `phone` and the shipping phone are not numbers the shopper agreed to.
    assert shopify_checkout(buyer_accepts_sms_marketing=False, phone="+12125550100",
                            sms_marketing_phone=None) == (None, False)


@pytest.mark.parametrize("state, expected", [
    ("subscribed", ("+12125550100", True)),
    ("pending", (None, None)),  # pitfall D3: pending is not consent
    ("unsubscribed", (None, False)),
])
def test_shopify_customer_sms_consent_counts_only_when_subscribed(state, expected):
    customer = {"id": 1, "phone": "+12125550100", "sms_marketing_consent": {
        "state": state, "opt_in_level": "single_opt_in", "consent_updated_at": None,
        "consent_collected_from": "SHOPIFY"}}
    assert shopify_checkout(buyer_accepts_sms_marketing=None, customer=customer) == expected


def custom_event(**extra):
    raw = json.dumps(cart_body(occurred_at=T0, **extra)).encode()
    [event] = custom.adapter.parse(raw, {}, store_id=1, received_at=T0)
    return event


def test_custom_lane_reads_the_number_in_the_shoppers_country():
    event = custom_event(phone="07911 123456", country="GB", accepts_sms_marketing=True)
    assert (event.phone, event.sms_consent) == ("+447911123456", True)


def test_custom_lane_refuses_a_number_it_cannot_read():
    with pytest.raises(BadPayload) as refused:
        custom_event(phone="07911 123456")  # no country: a national number is ambiguous
    assert refused.value.field == "phone"


def test_custom_lane_bad_number_is_a_400_with_the_reason(post_custom):
    response = post_custom(cart_body(phone="555", accepts_sms_marketing=True))
    assert response.status_code == 400 and "phone" in response.json["error"]


def beacon(**extra):
    body = {"cart_token": "cb.abc12345",
            "cart": {"items": [{"name": "Mug", "quantity": 1,
                                "prices": {"price": "1800", "currency_minor_unit": 2}}],
                     "totals": {"total_price": "1800", "currency_code": "EUR",
                                "currency_minor_unit": 2}},
            "email": "ada@example.com", **extra}
    return parse_beacon(json.dumps(body).encode(), 1, NOW)


def test_beacon_carries_the_stores_sms_opt_in():
    event = beacon(phone="0151 123 4567", country="GB", sms_consent=True)
    assert (event.phone, event.sms_consent) == ("+441511234567", True)
    assert (beacon(sms_consent=False).phone, beacon(sms_consent=False).sms_consent) == (
        None, False)


def test_beacon_never_refuses_a_cart_over_an_odd_number():
    event = beacon(phone="not a phone", sms_consent="yes")
    assert (event.phone, event.sms_consent) == (None, None)
