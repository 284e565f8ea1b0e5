"""A Shopify recovery code's life after the send, against a faked shop that keeps
the discounts it is asked to make: the return link applies the code, the order
using it is attributed, and the periodic sync deletes codes that expired unused
(only ours, only once, never a used one, retrying after an error)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import select

from app import integrations
from app.carts.wake import wake, wake_due
from app.db.models import Activity, Cart, Send, Store
from app.web.admin.carts import timeline
from tests.factories import T0
from tests.shopify_payloads import GRAPHQL_URL, SHOP, checkout_payload, order_payload, post_webhook
from tests.web.test_return_lanes import follow

RECOVER = f"https://{SHOP}/548380009/checkouts/123123123/recover?key=k"


class FakeDiscounts:
    """The discount part of Shopify's GraphQL Admin API, and empty answers to the
    sync's reads (the shop, abandoned checkouts, orders)."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, object]] = {}
        self.deleted: list[str] = []
        self.asked: list[str] = []
        self.fail_deletes = 0

    def __call__(self, request):
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        if "discountCodeBasicCreate" in query:
            gid = f"gid://shopify/DiscountCodeNode/{1000 + len(self.codes)}"
            self.codes[gid] = {"code": variables["input"]["code"], "uses": 0}
            return self._ok({"discountCodeBasicCreate": {
                "codeDiscountNode": {"id": gid}, "userErrors": []}})
        if "codeDiscountNode(id" in query:
            self.asked.append(variables["id"])
            node = self.codes.get(variables["id"])
            return self._ok({"codeDiscountNode": node and {
                "id": variables["id"], "codeDiscount": {"asyncUsageCount": node["uses"]}}})
        if "discountCodeDelete" in query:
            if self.fail_deletes:
                self.fail_deletes -= 1
                return 503, {}, "{}"
            self.codes.pop(variables["id"], None)
            self.deleted.append(variables["id"])
            return self._ok({"discountCodeDelete": {"deletedCodeDiscountId": variables["id"],
                                                    "userErrors": []}})
        if "myshopifyDomain" in query:
            return self._ok({"shop": {"myshopifyDomain": SHOP, "url": f"https://{SHOP}",
                                      "primaryDomain": {"host": SHOP}}})
        field = "abandonedCheckouts" if "abandonedCheckouts" in query else "orders"
        return self._ok({field: {"pageInfo": {"hasNextPage": False, "endCursor": None},
                                 "nodes": []}})

    @staticmethod
    def _ok(data):
        return 200, {}, json.dumps({"data": data})


@pytest.fixture
def shop(fake):
    discounts = FakeDiscounts()
    fake.add_callback(responses.POST, GRAPHQL_URL, callback=discounts)
    fake.assert_all_requests_are_fired = False  # some tests never reach the API
    return discounts


def _offer(runtime, store_id):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        row.settings = {**row.settings, "first_offer": "percent", "first_offer_value": 15,
                        "offer_hours": 12}


def _remind(client, runtime, clock, *, n=1):
    """n checkouts by n shoppers, each reminded with a code at T0 + 4 h."""
    for i in range(n):
        post_webhook(client, "checkouts/create", checkout_payload(
            updated_at=T0, token=f"tok{i}", cart_token=f"cart{i}", email=f"s{i}@example.com",
            abandoned_checkout_url=RECOVER.replace("123123123", f"tok{i}")))
    clock.set(T0 + timedelta(hours=4))
    results = wake_due(runtime, clock())
    assert [r.result for r in results] == ["sent"] * n


def _sends(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Send).where(Send.result == "sent")
                               .order_by(Send.id)).all()


def _sync(runtime):
    [job] = integrations.get("shopify").jobs
    job.run(runtime)


def test_link_applies_the_code_and_the_order_using_it_is_attributed(client, runtime, clock,
                                                                    outbox, shop_store, shop):
    _offer(runtime, shop_store)
    _remind(client, runtime, clock)
    [send] = _sends(runtime)
    [message] = outbox()
    assert f"Your code {send.offer_code}: 15% off" in message.get_body(("plain",)).get_content()
    assert shop.codes[send.offer_ref]["code"] == send.offer_code  # made on the shop

    location = follow(client, message)
    parts = urlsplit(location)
    # Shopify's /discount/CODE route keeps the code for checkout, then goes to the checkout.
    assert (parts.netloc, parts.path) == (SHOP, f"/discount/{send.offer_code}")
    assert parse_qs(parts.query) == {"redirect": ["/548380009/checkouts/tok0/recover?key=k"]}

    clock.advance(hours=2)
    response = post_webhook(client, "orders/create", order_payload(
        created_at=clock(), checkout_token="tok0", discount_codes=[
            {"code": send.offer_code.lower(), "amount": "59.70", "type": "percentage"}]))
    assert response.json["results"][0]["status"] == "recovered"
    with runtime.db.new_session() as session:
        kinds = {a.kind: a.detail for a in session.scalars(select(Activity))}
    assert kinds["click"] == {"offer_code": send.offer_code}
    assert kinds["ordered"]["offer_code"] == send.offer_code
    [used] = _sends(runtime)
    assert used.offer_used_at == clock()


def test_an_expired_code_is_no_longer_put_in_the_link(client, runtime, clock, outbox,
                                                      shop_store, shop):
    _offer(runtime, shop_store)
    _remind(client, runtime, clock)
    clock.advance(hours=12, minutes=1)  # past the 12 hours
    [message] = outbox()
    assert follow(client, message) == RECOVER.replace("123123123", "tok0")


def test_periodic_sync_deletes_expired_unused_codes_once(client, runtime, clock, outbox,
                                                         shop_store, shop):
    _offer(runtime, shop_store)
    _remind(client, runtime, clock, n=3)
    used_by_us, used_elsewhere, unused = _sends(runtime)
    # An order we heard of used the first; the second was used in an order we missed.
    post_webhook(client, "orders/create", order_payload(
        created_at=clock() + timedelta(hours=1), checkout_token="tok0",
        discount_codes=[{"code": used_by_us.offer_code, "amount": "1", "type": "percentage"}]))
    shop.codes[used_elsewhere.offer_ref]["uses"] = 1

    clock.advance(hours=12)  # expired, but inside the grace hour: nothing yet
    _sync(runtime)
    assert shop.asked == [] and shop.deleted == []

    clock.advance(hours=2)
    _sync(runtime)
    assert shop.deleted == [unused.offer_ref]
    assert shop.asked == [used_elsewhere.offer_ref, unused.offer_ref]  # ours was never asked
    assert set(shop.codes) == {used_by_us.offer_ref, used_elsewhere.offer_ref}
    after = {s.id: s for s in _sends(runtime)}
    assert after[unused.id].offer_removed_at == clock()
    with runtime.db.new_session() as session:
        notes = [e.detail for e in timeline(session, session.get(Cart, unused.cart_id))]
    assert (f"plain opening line, offer code {unused.offer_code} "
            "(deleted from the store once it expired unused)") in notes
    assert after[used_elsewhere.id].offer_used_at == clock()  # kept, never asked again

    _sync(runtime)  # idempotent: nothing left to do, nothing asked
    assert shop.deleted == [unused.offer_ref] and len(shop.asked) == 2


def test_a_failed_delete_is_logged_and_retried_at_the_next_sync(client, runtime, clock, outbox,
                                                                shop_store, shop, caplog):
    _offer(runtime, shop_store)
    _remind(client, runtime, clock)
    [send] = _sends(runtime)
    shop.fail_deletes = 1
    clock.advance(hours=14)
    _sync(runtime)
    assert shop.deleted == []
    assert "expired offer code not deleted; tried again at the next sync" in caplog.text
    assert _sends(runtime)[0].offer_removed_at is None

    clock.advance(minutes=15)
    _sync(runtime)
    assert shop.deleted == [send.offer_ref]
    assert _sends(runtime)[0].offer_removed_at == clock()


def test_a_code_made_for_a_reminder_that_failed_is_still_deleted(client, runtime, clock,
                                                                 shop_store, shop):
    """The code exists on the shop even though the email never left: recorded, then swept."""
    _offer(runtime, shop_store)
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0,
                                                              abandoned_checkout_url=RECOVER))
    runtime.mailer.send = _refuse  # the mail server refuses this message for good
    clock.set(T0 + timedelta(hours=4))
    [result] = wake_due(runtime, clock())
    assert result.result == "failed"
    with runtime.db.new_session() as session:
        send = session.scalars(select(Send).where(Send.result == "failed")).one()
        cart = session.scalars(select(Cart)).one()
    assert send.offer_code and send.offer_ref in shop.codes and cart.status == "active"
    clock.advance(hours=14)
    _sync(runtime)
    assert shop.deleted == [send.offer_ref]


def _refuse(*args, **kwargs):
    from app.errors import DeliveryError

    raise DeliveryError("mailbox unavailable", transient=False)


def test_a_lone_timers_wake_records_the_code_and_its_expiry_too(client, runtime, clock,
                                                                shop_store, shop):
    """The per-cart path (a scheduler's lone timer), not only the batch."""
    _offer(runtime, shop_store)
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0,
                                                              abandoned_checkout_url=RECOVER))
    clock.set(T0 + timedelta(hours=4))
    with runtime.db.new_session() as session:
        cart_id = session.scalars(select(Cart.id)).one()
    assert wake(runtime, cart_id, clock()).result == "sent"
    [send] = _sends(runtime)
    assert send.offer_ref in shop.codes
    assert send.offer_expires_at == clock() + timedelta(hours=12)
