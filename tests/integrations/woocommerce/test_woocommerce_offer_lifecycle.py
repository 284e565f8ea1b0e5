"""A WooCommerce recovery coupon's life after the send: a storefront cart's
restore link carries it to the store plugin, which applies it to the rebuilt
cart (core has no apply-coupon URL); the order using it is attributed; the
periodic sync deletes coupons that expired unused, for good, only once."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import select

from app.carts import offer_cleanup
from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Send, Store
from tests.factories import T0, connect_woo_store
from tests.web.test_return_lanes import WOO, beacon_snapshot, docs_order, follow, post_order

COUPONS = f"{WOO}/wp-json/wc/v3/coupons"


def _store(runtime):
    store = connect_woo_store(runtime, WOO)
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**row.settings, "first_offer": "percent", "first_offer_value": 10}
    return store


def _beacon_cart_reminded(client, runtime, store):
    response = client.post(f"/collect/{store.public_key}", data=json.dumps(beacon_snapshot()),
                           headers={"Origin": WOO, "User-Agent": "Mozilla/5.0 Firefox/133",
                                    "Content-Type": "application/json"})
    assert response.status_code == 204
    with responses.RequestsMock() as fake:
        call = fake.add(responses.POST, COUPONS, json={"id": 4242}, status=201)
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    return json.loads(call.calls[0].request.body)["code"]


def _restore(client, message):
    location = follow(client, message)
    token = parse_qs(urlsplit(location).query)["cartback_restore"][0]
    return client.get(f"/restore/{token}").get_json()


def test_restore_link_carries_the_coupon_and_the_order_using_it_is_attributed(
        client, runtime, clock, outbox):
    store = _store(runtime)
    code = _beacon_cart_reminded(client, runtime, store)
    [message] = outbox()
    assert f"Your code {code}: 10% off" in message.get_body(("plain",)).get_content()
    clock.set(T0 + timedelta(hours=5))
    assert _restore(client, message)["coupon"] == code  # the plugin applies it

    response = post_order(client, store, {
        "id": 901, "status": "processing", "currency": "USD", "total": "72.90",
        "date_created_gmt": "2026-11-23T14:00:00", "date_modified_gmt": "2026-11-23T14:00:00",
        "cart_hash": "0f343b0931126a20f133d67c2b018a3b", "needs_payment": False,
        "billing": {"first_name": "Ada", "email": "ada@example.com", "country": "US"},
        "line_items": [{"id": 1, "name": "Hoodie", "quantity": 1, "price": "45.00"}],
        "coupon_lines": [{"id": 9, "code": code.lower(), "discount": "8.10"}]})
    assert response.status_code == 200
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
        ordered = session.scalars(select(Activity).where(Activity.kind == "ordered")).one()
    assert cart.status == "recovered" and ordered.detail["offer_code"] == code


def test_an_expired_coupon_is_not_handed_to_the_plugin(client, runtime, clock, outbox):
    store = _store(runtime)
    _beacon_cart_reminded(client, runtime, store)
    clock.set(T0 + timedelta(hours=16, minutes=1))  # sent at 13:00, 12 hours
    [message] = outbox()
    assert _restore(client, message)["coupon"] is None


def _sent(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Send).where(Send.result == "sent")).one()


def test_periodic_sync_deletes_an_expired_unused_coupon_for_good_once(client, runtime, outbox):
    store = _store(runtime)
    _beacon_cart_reminded(client, runtime, store)
    later = T0 + timedelta(hours=18)
    with responses.RequestsMock() as fake:
        fake.get(f"{COUPONS}/4242", json={"id": 4242, "usage_count": 0})
        gone = fake.delete(f"{COUPONS}/4242", json={"id": 4242})
        swept = offer_cleanup.sweep_platform(runtime, "woocommerce", later)
    assert swept[store.id].deleted == 1
    assert parse_qs(urlsplit(gone.calls[0].request.url).query)["force"] == ["true"]
    assert _sent(runtime).offer_removed_at == later
    with responses.RequestsMock():  # nothing left to delete: no call at all
        assert offer_cleanup.sweep_platform(runtime, "woocommerce", later)[store.id].deleted == 0


def test_sync_keeps_a_coupon_an_order_used_and_counts_one_already_gone(client, runtime, outbox):
    store = _store(runtime)
    _beacon_cart_reminded(client, runtime, store)
    with responses.RequestsMock() as fake:
        fake.get(f"{COUPONS}/4242", json={"id": 4242, "usage_count": 1})
        swept = offer_cleanup.sweep_platform(runtime, "woocommerce", T0 + timedelta(hours=18))
    assert (swept[store.id].deleted, swept[store.id].kept_used) == (0, 1)
    with runtime.db.transaction() as session:
        session.get(Send, _sent(runtime).id).offer_used_at = None
    with responses.RequestsMock() as fake:  # deleted by the merchant meanwhile
        fake.get(f"{COUPONS}/4242", status=404, json={
            "code": "woocommerce_rest_shop_coupon_invalid_id", "message": "Invalid ID.",
            "data": {"status": 404}})
        swept = offer_cleanup.sweep_platform(runtime, "woocommerce", T0 + timedelta(hours=19))
    assert swept[store.id].deleted == 1


def test_pending_order_link_goes_to_its_payment_page_and_the_email_carries_the_code(
        client, runtime, outbox):
    """What is not possible: a pending order is paid on its order-pay page, where
    WooCommerce takes no coupon through a link; the shopper types the code."""
    store = _store(runtime)
    post_order(client, store, docs_order())
    with responses.RequestsMock() as fake:
        call = fake.add(responses.POST, COUPONS, json={"id": 7}, status=201)
        wake_due(runtime, T0 + timedelta(hours=4))
    code = json.loads(call.calls[0].request.body)["code"]
    [message] = outbox()
    assert code in message.get_body(("plain",)).get_content()
    assert follow(client, message) == (f"{WOO}/checkout/order-pay/727/?pay_for_order=true"
                                       "&key=wc_order_58d2d042d1d")
