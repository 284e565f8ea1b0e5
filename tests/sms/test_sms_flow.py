"""SMS steps end to end: consent, the stricter quiet hours in the number's zone, the
AWS call as sent (botocore Stubber), one unsubscribe list and one cap for both channels,
and per-step numbers split by channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from sqlalchemy import select

from app.carts.dry_run import plan
from app.carts.wake import wake, wake_due
from app.db.models import Cart, Send, Store, Suppression
from app.performance import step_report
from app.sms.backends.outbox import read_outbox as read_texts
from app.web.admin.carts import timeline
from tests.factories import T0, cart_body

PHONE = "+12125550100"  # New York: 13:00 UTC is 08:00 there in November


def configure(runtime, store, **settings):
    """What the merchant saves on the settings page (merged into what is there)."""
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**(row.settings or {}), **settings}
    return store


def sms_store(runtime, store, **settings):
    return configure(runtime, store, **{"first_channel": "sms", "second_channel": "sms",
                                        **settings})


def texter_body(phone=PHONE, consent=True, **extra):
    return cart_body(phone=phone, accepts_sms_marketing=consent, **extra)


@pytest.fixture
def post_custom(post_custom):
    """Every cart of these tests is accepted (a refused one would make them vacuous)."""
    def post(body):
        response = post_custom(body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response
    return post


def sends(runtime):
    with runtime.db.new_session() as session:
        return [(s.move, s.channel, s.address, s.result, s.reason)
                for s in session.scalars(select(Send).order_by(Send.id))]


def cart_row(runtime, key="c-1"):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).where(Cart.cart_key == key)).one()


@pytest.fixture
def texts(app):
    return lambda: read_texts(app.config["SMS_OUTBOX_DIR"])


class TestThroughAws:
    IDENTITY = "arn:aws:sms-voice:us-east-1:123456789012:pool/pool-cartback"

    @pytest.fixture
    def app_overrides(self):
        return {"SMS_BACKEND": "aws", "SMS_ORIGINATION_IDENTITY": self.IDENTITY,
                "SMS_CONFIGURATION_SET": "cartback-sms", "AWS_REGION": "us-east-1"}

    @pytest.fixture
    def stub(self, runtime):
        with Stubber(runtime.texter.client) as stubber:
            yield stubber
            stubber.assert_no_pending_responses()

    def test_sms_step_waits_for_sms_hours_in_the_numbers_zone_then_goes_out(
            self, store, post_custom, runtime, stub, outbox, admin):
        store = sms_store(runtime, store)
        post_custom(texter_body())
        cart = cart_row(runtime)
        assert (cart.phone, cart.sms_consent) == (PHONE, True)

        # Due at 13:00 UTC = 08:00 in New York: email hours, but not SMS hours (09:00).
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
        assert (result.result, result.reason) == ("deferred", "quiet_hours")
        nine_in_new_york = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
        assert result.wake_at == nine_in_new_york

        link = runtime.links.return_url(cart.id)
        stub.add_response("send_text_message", {"MessageId": "sms-msg-1"}, {
            "DestinationPhoneNumber": PHONE,
            "OriginationIdentity": self.IDENTITY,
            "MessageBody": f"Maple & Co: you left something in your cart. {link} "
                           "Reply STOP to opt out",
            "MessageType": "PROMOTIONAL",
            "ConfigurationSetName": "cartback-sms",
            "TimeToLive": 3600,
            "Context": {"store_id": str(store.id), "cart_id": str(cart.id), "move": "first"},
        })
        [result] = wake_due(runtime, nine_in_new_york)
        assert (result.move, result.result) == ("first", "sent")
        assert sends(runtime) == [("first", "sms", PHONE, "deferred", "quiet_hours"),
                                  ("first", "sms", PHONE, "sent", None)]
        assert outbox() == []  # no email besides
        with runtime.db.new_session() as session:
            assert session.scalars(select(Send.message_id).where(
                Send.result == "sent")).one() == "sms-msg-1"
            entries = timeline(session, session.get(Cart, cart.id))
        assert any(e.title == "First reminder by SMS sent" and PHONE in e.detail for e in entries)

    def test_number_opted_out_at_the_provider_fails_the_text_and_joins_our_list(
            self, store, post_custom, runtime, stub):
        store = sms_store(runtime, store)
        post_custom(texter_body(timezone="America/New_York"))
        stub.add_client_error("send_text_message", service_error_code="ConflictException",
                              modeled_fields={"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                                              "ResourceType": "opt-out-list",
                                              "ResourceId": "Default"})
        [result] = wake_due(runtime, T0 + timedelta(hours=6))  # 10:00 in New York
        assert result.result == "failed" and "OPTED_OUT" in result.reason
        assert result.reason.startswith("permanent")
        with runtime.db.new_session() as session:
            assert [(s.email, s.source) for s in session.scalars(select(Suppression))] == [
                (PHONE, "sms_stop")]
        # The second step is never attempted at AWS (the Stubber has nothing queued).
        [second] = wake_due(runtime, T0 + timedelta(hours=31))
        assert (second.move, second.result, second.reason) == ("second", "skipped",
                                                               "unsubscribed")

    def test_throttling_is_retried_later(self, store, post_custom, runtime, stub):
        store = sms_store(runtime, store)
        post_custom(texter_body(timezone="America/New_York"))
        stub.add_client_error("send_text_message", service_error_code="ThrottlingException")
        [result] = wake_due(runtime, T0 + timedelta(hours=6))
        assert result.result == "failed" and result.reason.startswith("transient")
        assert result.wake_at is not None and result.wake_at > T0 + timedelta(hours=6)


def test_no_text_without_explicit_sms_consent(store, post_custom, runtime, texts):
    store = sms_store(runtime, store)
    # Email marketing consent is not SMS consent.
    post_custom(texter_body(consent=False, accepts_marketing=True,
                            timezone="America/New_York"))
    [result] = wake_due(runtime, T0 + timedelta(hours=6))
    assert (result.result, result.reason) == ("skipped", "no_sms_consent")
    assert texts() == []


def test_no_text_without_a_number(store, post_custom, runtime, texts):
    store = sms_store(runtime, store)
    post_custom(cart_body(accepts_sms_marketing=True))
    [result] = wake_due(runtime, T0 + timedelta(hours=6))
    assert (result.result, result.reason) == ("skipped", "no_phone")
    assert texts() == []


def test_sms_if_no_email_texts_only_the_shopper_email_cannot_reach(
        store, post_custom, runtime, texts, outbox):
    configure(runtime, store, first_channel="sms_if_no_email", consent_policy="subscribers_only")
    post_custom(texter_body(cart_id="has-email", accepts_marketing=True,
                            timezone="Europe/London"))
    post_custom(texter_body(cart_id="no-email", email=None, phone="+44 7911 123456",
                            timezone="Europe/London"))
    post_custom(texter_body(cart_id="no-email-consent", email="bo@example.com",
                            phone="+44 7400 123456", accepts_marketing=False,
                            timezone="Europe/London"))
    due = T0 + timedelta(hours=4)  # 13:00 in London
    # One wake per cart here (the batch path is the other tests' wake_due).
    for key in ("has-email", "no-email", "no-email-consent"):
        assert wake(runtime, cart_row(runtime, key).id, due).result == "sent"
    assert [m["To"] for m in outbox()] == ["ada@example.com"]
    assert sorted(t["to"] for t in texts()) == ["+447400123456", "+447911123456"]
    for text in texts():
        assert text["body"].startswith("Maple & Co: ") and text["body"].endswith(
            "Reply STOP to opt out")
        assert (text["encoding"], text["parts"]) == ("GSM-7", 1)
        assert "https://cartback.test/r/" in text["body"]


def test_frequency_cap_counts_texts_and_emails_alike(store, post_custom, runtime, texts,
                                                     outbox):
    post_custom(texter_body(cart_id="a", timezone="Europe/London"))
    wake_due(runtime, T0 + timedelta(hours=4))
    assert len(outbox()) == 1
    configure(runtime, store, first_channel="sms")
    # A second cart a few hours later: the same shopper, now by SMS; the cap says no.
    post_custom(texter_body(cart_id="b", occurred_at=T0 + timedelta(hours=5),
                            timezone="Europe/London"))
    results = wake_due(runtime, T0 + timedelta(hours=9))
    assert [(r.move, r.result, r.reason) for r in results] == [
        ("first", "skipped", "recently_reminded")]
    assert texts() == []


def test_dry_run_names_the_channel(store, post_custom, runtime):
    store = sms_store(runtime, store)
    post_custom(texter_body(timezone="America/New_York"))
    with runtime.db.new_session() as session:
        planned = plan(session, T0, hours=6)
    assert [(p.step, p.channel, p.outcome, p.email) for p in planned] == [
        ("first", "sms", "deferred", PHONE), ("first", "sms", "send", PHONE)]


def test_per_step_numbers_split_by_channel(store, post_custom, runtime, texts):
    store = sms_store(runtime, store, second_channel="email")
    post_custom(texter_body(timezone="America/New_York"))
    wake_due(runtime, T0 + timedelta(hours=6))
    wake_due(runtime, T0 + timedelta(hours=31))
    assert len(texts()) == 1
    with runtime.db.new_session() as session:
        rows = step_report(session, store.id, T0, T0 + timedelta(days=2), timedelta(days=7))
    assert [(r.step, r.channel, r.sent) for r in rows] == [
        ("first", "email", 0), ("first", "sms", 1), ("second", "email", 1)]


@pytest.mark.parametrize("meanwhile", ["order", "stop"])
def test_an_order_or_a_stop_arriving_while_the_text_is_built_stops_it(
        store, post_custom, runtime, texts, monkeypatch, meanwhile):
    """The race driven for real: while the claimed text is being composed, the
    order webhook arrives (through the real route) or the shopper texts STOP.
    The check just before the hand-over sees it: nothing is texted."""
    from app.sms import optouts, texting

    store = sms_store(runtime, store)
    post_custom(texter_body(timezone="America/New_York"))
    compose = texting.compose
    happened = []

    def compose_while_it_happens(**parts):
        happened.append(meanwhile)
        if meanwhile == "order":
            post_custom(cart_body("order.placed", occurred_at=T0 + timedelta(hours=5)))
        else:
            with runtime.db.transaction() as session:
                optouts.record_stop(session, PHONE, T0 + timedelta(hours=5))
        return compose(**parts)

    monkeypatch.setattr(texting, "compose", compose_while_it_happens)
    wake_due(runtime, T0 + timedelta(hours=6))
    assert happened == [meanwhile]  # the text was claimed and being built
    assert texts() == []
    assert all(result != "sent" for _, _, _, result, _ in sends(runtime))
