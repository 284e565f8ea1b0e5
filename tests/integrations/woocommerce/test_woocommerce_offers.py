"""Recovery offers on WooCommerce: a single-use coupon made through the (faked) REST API
when the reminder is sent, restricted to the shopper's email, shown in the email."""

from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Send, Store
from tests.factories import T0
from tests.woocommerce_payloads import SHOP, order, signed

COUPONS = f"{SHOP}/wp-json/wc/v3/coupons"


def _offer(runtime, store_id, **settings):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        row.settings = {**row.settings, "first_offer": "fixed", "first_offer_value": 5,
                        **settings}


def test_reminder_carries_a_single_use_woocommerce_coupon(client, woo_store,  # noqa: F811
                                                           runtime, outbox):
    _offer(runtime, woo_store.id)
    signed(client, woo_store, order("pending"))
    with responses.RequestsMock() as fake:
        call = fake.add(responses.POST, COUPONS, json={"id": 4242, "code": "x"}, status=201)
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.move, result.result) == ("first", "sent")
    body = json.loads(call.calls[0].request.body)
    assert body["discount_type"] == "fixed_cart" and body["amount"] == "5"
    assert (body["usage_limit"], body["usage_limit_per_user"]) == (1, 1)
    assert body["email_restrictions"] == ["ada@example.com"]
    assert body["date_expires_gmt"] == "2026-11-24T01:00:00"  # 12 hours by default
    [message] = outbox()
    assert f"Your code {body['code']}: €5.00 off" in message.get_body(("plain",)).get_content()
    with runtime.db.new_session() as session:
        send = session.scalars(select(Send).where(Send.result == "sent")).one()
    assert (send.offer_code, send.offer_ref) == (body["code"], "4242")


def test_store_error_means_a_reminder_without_the_coupon(client, woo_store,  # noqa: F811
                                                         runtime, outbox):
    _offer(runtime, woo_store.id)
    signed(client, woo_store, order("pending"))
    with responses.RequestsMock() as fake:
        fake.add(responses.POST, COUPONS, status=400, json={
            "code": "woocommerce_rest_coupon_code_already_exists", "message": "taken",
            "data": {"status": 400}})
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert "Your code" not in message.get_body(("plain",)).get_content()


def test_paid_order_with_the_coupon_is_attributed_to_the_offer(client, woo_store,  # noqa: F811
                                                              runtime, outbox, clock):
    _offer(runtime, woo_store.id)
    signed(client, woo_store, order("pending"))
    with responses.RequestsMock() as fake:
        call = fake.add(responses.POST, COUPONS, json={"id": 4242}, status=201)
        wake_due(runtime, T0 + timedelta(hours=4))
    code = json.loads(call.calls[0].request.body)["code"]
    clock.set(T0 + timedelta(hours=5))
    signed(client, woo_store, order("processing", modified="2026-11-23T14:00:00",
                                    coupon_lines=[{"id": 9, "code": code.lower(),
                                                   "discount": "5.00"}]))
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
        assert cart.status == "recovered"
        details = [a.detail for a in session.scalars(
            select(Activity).where(Activity.kind == "ordered"))]
    assert details[0]["offer_code"] == code
