"""End to end on Shopify's own webhook shapes: abandoned checkout → one reminder; order → none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shopify_payloads import (
    OVERRIDES,
    SHOP,
    cart_payload,
    checkout_payload,
    order_payload,
    post_webhook,
)

from app.carts.wake import wake_due
from app.integrations.shopify.install import save_install
from conftest import T0, with_postal_address
from platforms.shopify.api import Grant


@pytest.fixture
def app_overrides():
    return dict(OVERRIDES)


@pytest.fixture
def shop_store(runtime, clock):
    store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test",
                                                  scope="read_orders"), clock(), via="oauth")
    with_postal_address(runtime, store_id)
    return store_id


def test_abandoned_checkout_gets_exactly_one_first_reminder(client, runtime, clock, outbox,
                                                            shop_store):
    post_webhook(client, "carts/create", cart_payload(updated_at=T0 - timedelta(minutes=5)))
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))

    clock.advance(hours=3, minutes=59)
    assert [r.result for r in wake_due(runtime, clock())] == []
    assert outbox() == []

    clock.advance(minutes=1)
    results = wake_due(runtime, clock())
    assert [(r.move, r.result) for r in results] == [("first", "sent")]
    [message] = outbox()
    assert message["To"] == "example@email.com"  # the checkout's email, not customer.email
    text = message.get_body(("plain",)).get_content()
    assert "IPod Nano - 8GB (Pink)" in text
    assert "https://cartback.test/r/" in text
    # Running the due wakes again sends nothing new.
    wake_due(runtime, clock())
    assert len(outbox()) == 1


def test_no_reminder_after_the_order(client, runtime, clock, outbox, shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=1)
    post_webhook(client, "orders/create", order_payload(created_at=clock()))
    clock.advance(hours=30)
    wake_due(runtime, clock())
    assert outbox() == []


def test_order_after_the_first_reminder_stops_the_second(client, runtime, clock, outbox,
                                                         shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=4)
    wake_due(runtime, clock())
    assert len(outbox()) == 1
    clock.advance(hours=2)
    response = post_webhook(client, "orders/create", order_payload(created_at=clock()))
    assert response.json["results"][0]["status"] == "recovered"
    clock.advance(days=2)
    wake_due(runtime, clock())
    assert len(outbox()) == 1
