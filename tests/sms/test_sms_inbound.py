"""POST /webhooks/sms: a shopper's STOP, delivered by SNS and signature-checked as SES
events are, puts the number on the unsubscribe list, START takes it off; the
texts' delivery events on the same topic mark undelivered ones bounced; forged
401, malformed 400."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from app import performance
from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Send
from app.privacy import suppressions
from app.web.mail_events import SnsClient
from tests.factories import T0, cart_body, post_sns, sns_signed, sns_signer, suppression_rows

TOPIC = "arn:aws:sns:us-east-1:123456789012:cartback-inbound-sms"
PHONE = "+12125550100"


@pytest.fixture
def app_overrides():
    return {"SMS_SNS_TOPIC_ARNS": TOPIC}


@pytest.fixture(scope="module")
def signer():
    return sns_signer()


@pytest.fixture(autouse=True)
def certificates(app, signer):
    app.extensions["cartback_sns"] = SnsClient(requests.Session(), lambda url: signer[1])


def inbound(signer, body="STOP", *, phone=PHONE, message_id="m-1", **fields):
    event = {"originationNumber": phone, "destinationNumber": "+18005550199",
             "messageKeyword": "KEYWORD_123456789012", "messageBody": body,
             "inboundMessageId": f"in-{message_id}", **fields}
    return sns_signed(signer, {"Type": "Notification", "Message": json.dumps(event)},
                      topic=TOPIC, message_id=message_id)


def post(client, body):
    return post_sns(client, "/webhooks/sms", body)


listed = suppression_rows


@pytest.fixture
def texted_shopper(runtime, store, post_custom):
    """A shopper with SMS consent whose first reminder went out by text."""
    with runtime.db.transaction() as session:
        session.get(type(store), store.id).settings = {
            **store.settings, "first_channel": "sms", "second_channel": "email"}
    post_custom(cart_body(phone=PHONE, accepts_sms_marketing=True, timezone="America/New_York"))
    [first] = wake_due(runtime, T0 + timedelta(hours=6))
    assert first.result == "sent"
    return store


@pytest.mark.parametrize("words", ["STOP", "stop", "Stop.", " unsubscribe please", "QUIT",
                                   "Arret", "opt-out"])
def test_stop_puts_the_number_on_the_list_and_no_reminder_follows_on_any_channel(
        words, client, runtime, texted_shopper, signer, outbox):
    response = post(client, inbound(signer, words))
    assert response.status_code == 200 and response.json["stores"] == 1
    assert listed(runtime) == [(texted_shopper.id, PHONE, "sms_stop")]
    # The second step goes by email, to the same shopper: the STOP stops it too.
    [second] = wake_due(runtime, T0 + timedelta(hours=31))
    assert (second.move, second.result, second.reason) == ("second", "skipped", "unsubscribed")
    assert outbox() == []


def test_a_redelivered_stop_changes_nothing(client, runtime, texted_shopper, signer):
    assert post(client, inbound(signer)).json["stores"] == 1
    assert post(client, inbound(signer)).json["stores"] == 0
    with runtime.db.new_session() as session:
        kinds = session.scalars(select(Activity.kind).where(Activity.kind == "unsubscribed"))
        assert list(kinds) == ["unsubscribed"]
    assert len(listed(runtime)) == 1


def test_stop_reaches_every_store_that_has_the_number(client, runtime, store, make_store,
                                                      signer):
    other = make_store(name="Other", domain="other.example")
    stranger = make_store(name="Stranger", domain="stranger.example")
    with runtime.db.transaction() as session:
        for owner, key in ((store, "a"), (other, "b")):
            session.add(Cart(store_id=owner.id, cart_key=key, phone=PHONE, sms_consent=True,
                             last_activity_at=T0, last_event_at=T0))
    assert post(client, inbound(signer)).json["stores"] == 2
    assert {s for s, _, _ in listed(runtime)} == {store.id, other.id}
    assert stranger.id not in {s for s, _, _ in listed(runtime)}


def test_other_replies_are_ignored(client, runtime, texted_shopper, signer):
    response = post(client, inbound(signer, "When does the sale end? STOP asking me"))
    assert response.status_code == 200 and response.json["ignored"] == "not an opt-out"
    assert listed(runtime) == []


@pytest.mark.parametrize("tamper, status", [
    (lambda m: {**m, "Message": m["Message"].replace("STOP", "HELP")}, 401),
    (lambda m: {**m, "TopicArn": TOPIC + "-other"}, 403),
    (lambda m: {**m, "SigningCertURL": "https://evil.example/sns.pem"}, 400),
    (lambda m: {k: v for k, v in m.items() if k != "Signature"}, 400),
])
def test_forged_or_foreign_messages_are_refused(tamper, status, client, runtime,
                                                texted_shopper, signer):
    assert post(client, tamper(inbound(signer))).status_code == status
    assert listed(runtime) == []


@pytest.mark.parametrize("event", [
    {"messageBody": "STOP"},  # no number
    {"originationNumber": "not a number", "messageBody": "STOP"},
    {"originationNumber": "+1", "messageBody": "STOP"},
    {"originationNumber": 12125550100, "messageBody": "STOP"},
    {"originationNumber": PHONE, "messageBody": ["STOP"]},
    "STOP", None, [],
])
def test_malformed_inbound_texts_are_400(event, client, runtime, texted_shopper, signer):
    message = sns_signed(signer, {"Type": "Notification", "Message": json.dumps(event)},
                         topic=TOPIC)
    response = post(client, message)
    assert response.status_code == 400 and response.json["error"]
    assert listed(runtime) == []


def test_message_that_is_not_json_is_400(client, signer):
    message = sns_signed(signer, {"Type": "Notification", "Message": "STOP"}, topic=TOPIC)
    assert post(client, message).status_code == 400


@pytest.mark.parametrize("raw", [b"", b"{", b"[" * 100_000, b"null"])
def test_garbage_bodies_are_4xx(raw, client):
    assert 400 <= post(client, raw).status_code < 500


def test_subscription_is_confirmed_as_for_ses_events(client, signer):
    url = ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
           f"{TOPIC}&Token=tok")
    message = sns_signed(signer, {"Type": "SubscriptionConfirmation", "Token": "tok",
                                  "Message": "You have chosen to subscribe.",
                                  "SubscribeURL": url}, topic=TOPIC)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, body="<ConfirmSubscriptionResponse/>")
        response = post(client, message)
    assert response.status_code == 200 and response.json["confirmed"] == TOPIC


@pytest.mark.parametrize("app_overrides", [{}])
def test_without_a_configured_topic_the_route_answers_404(client, signer):
    assert post(client, inbound(signer)).status_code == 404


# --- START / UNSTOP / HELP ---------------------------------------------------------------------

def add_entry(runtime, store_id, who, source):
    with runtime.db.transaction() as session:
        suppressions.add(session, store_id, who, source=source, now=T0)


@pytest.mark.parametrize("words", ["START", "unstop", "Start."])
def test_start_after_stop_lets_the_next_reminder_go(words, client, runtime, texted_shopper,
                                                    signer, outbox):
    post(client, inbound(signer, "STOP", message_id="m-1"))
    response = post(client, inbound(signer, words, message_id="m-2"))
    assert response.status_code == 200 and response.json["resubscribed"] is True
    assert listed(runtime) == []
    [second] = wake_due(runtime, T0 + timedelta(hours=31))
    assert (second.move, second.result) == ("second", "sent")
    assert len(outbox()) == 1


def test_start_removes_only_what_a_stop_added(client, runtime, texted_shopper, make_store,
                                              signer):
    other = make_store(name="Other", domain="other.example")
    post(client, inbound(signer, "STOP"))
    add_entry(runtime, other.id, PHONE, "merchant")  # the merchant's own decision
    add_entry(runtime, texted_shopper.id, "ada@example.com", "shopper_link")  # by email
    response = post(client, inbound(signer, "START", message_id="m-2"))
    assert response.json["resubscribed"] is True
    assert listed(runtime) == sorted([(other.id, PHONE, "merchant"),
                                      (texted_shopper.id, "ada@example.com", "shopper_link")])
    # Nothing of a STOP left to undo: a second START changes nothing.
    assert post(client, inbound(signer, "START", message_id="m-3")).json["resubscribed"] is False
    assert len(listed(runtime)) == 2


def test_help_is_left_to_aws_and_changes_nothing(client, runtime, texted_shopper, signer):
    post(client, inbound(signer, "STOP"))
    response = post(client, inbound(signer, "HELP", message_id="m-2"))
    assert response.status_code == 200 and response.json["ignored"] == "help"
    assert listed(runtime) == [(texted_shopper.id, PHONE, "sms_stop")]


# --- delivery events ---------------------------------------------------------------------------

def text_event(signer, event_type, message_id, *, sns_id="e-1", **extra):
    event = {"eventType": event_type, "eventVersion": "1.0", "eventTimestamp": 1686975103470,
             "isFinal": True, "originationPhoneNumber": "+18005550199",
             "destinationPhoneNumber": PHONE, "messageId": message_id,
             "messageEncoding": "GSM", "messageType": "PROMOTIONAL",
             "messageStatus": event_type.removeprefix("TEXT_"),
             "messageStatusDescription": "as the carrier said",
             "context": {"store_id": "1", "cart_id": "1", "move": "first"},
             "totalMessageParts": 1, "totalMessagePrice": 0.00581, "totalCarrierFee": 0.0,
             **extra}
    return sns_signed(signer, {"Type": "Notification", "Message": json.dumps(event)},
                      topic=TOPIC, message_id=sns_id)


def the_text(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Send).where(Send.channel == "sms")).one()


def sms_numbers(runtime, store):
    with runtime.db.new_session() as session:
        rows = performance.step_report(session, store.id, T0, T0 + timedelta(days=2),
                                       timedelta(days=5))
    [row] = [r for r in rows if (r.step, r.channel) == ("first", "sms")]
    return row.sent, row.delivered, row.bounced


@pytest.mark.parametrize("event_type", ["TEXT_CARRIER_UNREACHABLE", "TEXT_BLOCKED",
                                        "TEXT_INVALID", "TEXT_SPAM", "TEXT_TTL_EXPIRED"])
def test_an_undelivered_text_counts_as_bounced_in_the_step_numbers(
        event_type, client, runtime, texted_shopper, signer):
    assert sms_numbers(runtime, texted_shopper) == (1, 1, 0)
    message_id = the_text(runtime).message_id
    response = post(client, text_event(signer, event_type, message_id))
    assert response.status_code == 200 and response.json["bounced"] == 1
    assert the_text(runtime).bounced_at is not None
    assert sms_numbers(runtime, texted_shopper) == (1, 0, 1)
    # SNS redelivers: the second copy changes nothing.
    assert post(client, text_event(signer, event_type, message_id)).json["bounced"] == 0
    with runtime.db.new_session() as session:
        assert list(session.scalars(select(Activity.detail).where(
            Activity.kind == "bounced"))) == [{"move": "first"}]


@pytest.mark.parametrize("event_type", ["TEXT_DELIVERED", "TEXT_SUCCESSFUL", "TEXT_PENDING",
                                        "TEXT_UNKNOWN"])
def test_delivered_pending_or_unknown_texts_stay_delivered(event_type, client, runtime,
                                                           texted_shopper, signer):
    response = post(client, text_event(signer, event_type, the_text(runtime).message_id))
    assert response.status_code == 200 and response.json["ignored"] == event_type
    assert sms_numbers(runtime, texted_shopper) == (1, 1, 0)


def test_an_event_for_a_text_we_never_sent_marks_nothing(client, runtime, texted_shopper,
                                                        signer):
    response = post(client, text_event(signer, "TEXT_BLOCKED", "not-ours"))
    assert response.status_code == 200 and response.json["bounced"] == 0
    assert sms_numbers(runtime, texted_shopper) == (1, 1, 0)


@pytest.mark.parametrize("change", [{"messageId": None}, {"messageId": ""},
                                    {"messageId": 17}, {"messageId": "x" * 300}])
def test_malformed_delivery_events_are_400(change, client, runtime, texted_shopper, signer):
    response = post(client, text_event(signer, "TEXT_BLOCKED", "m", **change))
    assert response.status_code == 400 and "messageId" in response.json["error"]
    assert the_text(runtime).bounced_at is None
