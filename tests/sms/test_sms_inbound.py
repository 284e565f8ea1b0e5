"""POST /webhooks/sms: a shopper's STOP, delivered by SNS and signature-checked as SES
events are, puts the number on the unsubscribe list; forged 401, malformed 400."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Suppression
from app.web.mail_events import SnsClient
from tests.factories import T0, cart_body, sns_signed, sns_signer

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


def post(client, message):
    raw = message if isinstance(message, bytes) else json.dumps(message).encode()
    return client.post("/webhooks/sms", data=raw, headers={"Content-Type": "text/plain"})


def listed(runtime):
    with runtime.db.new_session() as session:
        return sorted((s.store_id, s.email, s.source) for s in session.scalars(select(Suppression)))


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
