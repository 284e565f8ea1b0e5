"""Hostile shopper names through the real lanes: the .eml in the outbox always has
exactly our headers and one recipient (CVE-2024-6923 and friends)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Send
from tests.factories import T0, cart_body, connect_woo_store, with_postal_address
from tests.shopify_payloads import OVERRIDES, SHOP, checkout_payload, post_webhook

EXPECTED = ["from", "to", "subject", "date", "message-id", "list-unsubscribe",
            "list-unsubscribe-post", "mime-version", "content-type"]

HOSTILE_NAMES = [
    "=?utf-8?q?a=0D=0ABcc:_evil@x.test?=",
    "=?utf-8?b?QWRhDQpCY2M6IGV2aWxAeC50ZXN0?=",  # base64 of "Ada\r\nBcc: evil@x.test"
    "Ada =?utf-8?q?=0ABcc:_evil@x.test?= Lovelace",
    "Ada\r\nBcc: evil@x.test",
    "Ada\nReply-To: evil@x.test\n\nfake body",
    "Ada\x00\x1b[31m\x7f",
    "Ada\u2028Bcc: evil@x.test",
    "Zoë 日本語 " * 15,  # long unicode, near the lane's 200-character limit
    "😀" * 199,
]


def assert_safe(message, recipient):
    assert sorted(k.lower() for k in message.keys()) == sorted(EXPECTED)
    [to] = message["To"].addresses
    assert to.addr_spec == recipient
    assert message["Bcc"] is None and message["Cc"] is None and message["Reply-To"] is None
    for value in (str(message["Subject"]), str(message["From"])):
        assert not re.search(r"[\x00-\x1f\x7f]", value)
        assert "=?" not in value  # no encoded word survives decoding as text


def raw_headers(app):
    from pathlib import Path

    [path] = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    return path.read_bytes().split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_first_name_through_custom_lane_yields_one_recipient(name, app, post_custom,
                                                                     runtime, outbox):
    response = post_custom(cart_body(first_name=name))
    assert response.status_code == 200
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert_safe(message, "ada@example.com")
    head = raw_headers(app)
    words = re.findall(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=", head)
    assert all(len(word) <= 75 for word in words)  # RFC 2047 §2


class TestShopifyLane:
    @pytest.fixture
    def app_overrides(self):
        return dict(OVERRIDES)

    def test_hostile_customer_name_through_shopify_lane(self, client, runtime, clock, outbox):
        from app.integrations.shopify.install import save_install
        from platforms.shopify.api import Grant

        store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test",
                                                     scope="read_orders"), clock(), via="oauth")
        with_postal_address(runtime, store_id)
        body = checkout_payload(updated_at=T0)
        body["customer"]["first_name"] = HOSTILE_NAMES[0]
        assert post_webhook(client, "checkouts/create", body).status_code == 200
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
        assert result.result == "sent"
        [message] = outbox()
        assert_safe(message, "example@email.com")
        with runtime.db.new_session() as session:
            assert [s.result for s in session.scalars(select(Send))] == ["sent"]


def test_hostile_billing_name_through_woocommerce_lane(client, runtime, outbox):
    """WooCommerce's own docs order, as a pending checkout whose billing name is hostile."""
    import json
    from pathlib import Path

    from platforms.signing import sign_base64

    shop = "https://example.com"  # the host of the docs' sample order
    store = connect_woo_store(runtime, shop)
    store_id, secret = store.id, store.webhook_secret
    fixture = Path(__file__).parents[1] / "fixtures" / "woocommerce" / "order-727-docs-v3.json"
    body = json.loads(fixture.read_text())
    body.update({"status": "pending", "created_via": "checkout", "needs_payment": True,
                 "date_modified_gmt": "2026-11-23T09:00:00",
                 "date_created_gmt": "2026-11-23T08:58:00"})
    body["billing"]["first_name"] = HOSTILE_NAMES[1]
    raw = json.dumps(body).encode()
    response = client.post(f"/webhooks/woocommerce/{store_id}", data=raw, headers={
        "X-WC-Webhook-Signature": sign_base64(secret, raw), "X-WC-Webhook-Source": shop + "/",
        "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "d" * 32,
        "Content-Type": "application/json"})
    assert response.status_code == 200
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert_safe(message, "john.doe@example.com")
