"""On Shopify's own checkout shape: email first, then a text to the number the shopper
ticked SMS consent for, at 9:00 in that number's zone; never without the tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Send, Store
from app.sms.backends.outbox import read_outbox as read_texts
from tests.factories import T0
from tests.shopify_payloads import checkout_payload, post_webhook

OTTAWA = "613-555-0142"


def second_step_by_sms(runtime, store_id):
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        store.settings = {**store.settings, "second_channel": "sms"}


def test_checkout_with_sms_consent_gets_its_second_reminder_by_text(
        app, client, runtime, clock, outbox, shop_store):
    second_step_by_sms(runtime, shop_store)
    post_webhook(client, "checkouts/create", checkout_payload(
        updated_at=T0, buyer_accepts_sms_marketing=True, sms_marketing_phone=OTTAWA))
    assert [r.result for r in wake_due(runtime, clock.set(T0 + timedelta(hours=4)))] == [
        "sent"]
    assert len(outbox()) == 1
    # A day later it is 08:00 in Ottawa: the text waits for 09:00 there.
    [deferred] = wake_due(runtime, clock.set(T0 + timedelta(hours=28)))
    assert (deferred.move, deferred.result, deferred.reason) == ("second", "deferred",
                                                                 "quiet_hours")
    nine_in_ottawa = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    [sent] = wake_due(runtime, clock.set(nine_in_ottawa))
    assert (sent.move, sent.result) == ("second", "sent")
    [text] = read_texts(app.config["SMS_OUTBOX_DIR"])
    assert text["to"] == "+16135550142"
    assert "your cart is still saved for you." in text["body"]
    assert text["body"].endswith("Reply STOP to opt out")
    assert len(outbox()) == 1  # the second reminder was the text only


def test_checkout_without_sms_consent_is_never_texted(app, client, runtime, clock, shop_store):
    second_step_by_sms(runtime, shop_store)
    post_webhook(client, "checkouts/create", checkout_payload(
        updated_at=T0, buyer_accepts_sms_marketing=False, phone=OTTAWA,
        sms_marketing_phone=None))
    wake_due(runtime, clock.set(T0 + timedelta(hours=4)))
    wake_due(runtime, clock.set(T0 + timedelta(hours=30)))
    assert read_texts(app.config["SMS_OUTBOX_DIR"]) == []
    with runtime.db.new_session() as session:
        second = session.scalars(select(Send).where(Send.move == "second")).one()
    assert (second.channel, second.result, second.reason) == ("sms", "skipped", "no_sms_consent")
