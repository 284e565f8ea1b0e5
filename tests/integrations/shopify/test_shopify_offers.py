"""Recovery offers on Shopify: a unique code made through the (faked) GraphQL Admin API
only when the reminder is really sent, shown in the email, recorded on the send; a
platform refusal sends the reminder without it."""

from __future__ import annotations

import json

import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from app.web.admin.carts import timeline
from tests.factories import T0
from tests.shopify_payloads import GRAPHQL_URL, checkout_payload, order_payload, post_webhook

NODE = "gid://shopify/DiscountCodeNode/1055"


def _offer(runtime, store_id, **settings):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        row.settings = {**row.settings, "first_offer": "percent", "first_offer_value": 10,
                        "offer_hours": 12, **settings}


def _answer(errors=()):
    node = None if errors else {"id": NODE}
    return {"data": {"discountCodeBasicCreate": {
        "codeDiscountNode": node,
        "userErrors": [{"field": ["basicCodeDiscount", "code"], "code": c, "message": c}
                       for c in errors]}}}


def test_reminder_carries_a_unique_shopify_code(client, runtime, clock, outbox, shop_store,
                                                fake):
    _offer(runtime, shop_store, offer_minimum=50)
    call = fake.add(responses.POST, GRAPHQL_URL, json=_answer())
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=4)

    [result] = wake_due(runtime, clock())

    assert (result.move, result.result) == ("first", "sent")
    sent = json.loads(call.calls[0].request.body)
    fields = sent["variables"]["input"]
    assert "discountCodeBasicCreate" in sent["query"]
    assert call.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert fields["customerGets"]["value"] == {"percentage": 0.1}
    assert (fields["usageLimit"], fields["appliesOncePerCustomer"]) == (1, True)
    assert fields["context"] == {"all": "ALL"}
    assert fields["startsAt"] == "2026-11-23T13:00:00Z"
    assert fields["endsAt"] == "2026-11-24T01:00:00Z"  # 12 hours
    assert fields["minimumRequirement"] == {
        "subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}
    code = fields["code"]
    assert code.startswith("CB-") and len(code) == 13
    [message] = outbox()
    text = message.get_body(("plain",)).get_content()
    assert f"Your code {code}: 10% off" in text
    assert code in message.get_body(("html",)).get_content()
    with runtime.db.new_session() as session:
        send = session.scalars(select(Send).where(Send.result == "sent")).one()
    assert (send.offer_code, send.offer_ref) == (code, NODE)


def test_no_code_is_made_for_a_skipped_or_deferred_reminder(client, runtime, clock, outbox,
                                                            shop_store, fake):
    _offer(runtime, shop_store, quiet_start="12:00", quiet_end="14:00")
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=4)  # 13:00: quiet hours
    [result] = wake_due(runtime, clock())
    assert result.result == "deferred"
    assert [c.request.url for c in fake.calls] == [] and outbox() == []  # no code made


def test_a_refused_code_means_a_reminder_without_offer(client, runtime, clock, outbox,
                                                      shop_store, fake):
    _offer(runtime, shop_store)
    fake.add(responses.POST, GRAPHQL_URL, json=_answer(errors=["TAKEN"]))
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=4)
    [result] = wake_due(runtime, clock())
    assert result.result == "sent"
    [message] = outbox()
    assert "Your code" not in message.get_body(("plain",)).get_content()
    with runtime.db.new_session() as session:
        assert session.scalars(select(Send.offer_code)).all() == [None]


def test_order_using_the_code_is_attributed_to_the_offer(client, runtime, clock, outbox,
                                                        shop_store, fake):
    _offer(runtime, shop_store)
    fake.add(responses.POST, GRAPHQL_URL, json=_answer())
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    clock.advance(hours=4)
    wake_due(runtime, clock())
    with runtime.db.new_session() as session:
        code = session.scalars(select(Send.offer_code).where(Send.result == "sent")).one()
    clock.advance(hours=2)
    response = post_webhook(client, "orders/create", order_payload(
        created_at=clock(), discount_codes=[{"code": code.lower(), "amount": "9.80",
                                             "type": "percentage"}]))
    assert response.json["results"][0]["status"] == "recovered"
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
        ordered = [e for e in timeline(session, cart) if e.kind == "ordered"]
    assert [e.detail for e in ordered] == [f"status: recovered, offer_code: {code}"]
