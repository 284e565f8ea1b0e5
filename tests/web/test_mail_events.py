"""POST /webhooks/ses: SNS signatures checked for real (a key pair and certificate
made here), topics checked, subscriptions confirmed, bounces and complaints suppressed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Send, Store
from app.web.mail_events import SnsClient
from tests.factories import (
    SNS_CERT_URL,
    T0,
    cart_body,
    post_sns,
    sns_signed,
    sns_signer,
    suppression_rows,
)

TOPIC = "arn:aws:sns:eu-west-1:123456789012:cartback-ses-events"
CERT_URL = SNS_CERT_URL


@pytest.fixture
def app_overrides():
    return {"SES_SNS_TOPIC_ARNS": TOPIC, "RATE_MIN_SENDS": 3, "RATE_WINDOW_SENDS": 10}


@pytest.fixture(scope="module")
def signer():
    return sns_signer()


@pytest.fixture
def fetched(app, signer):
    urls = []

    def fetch(url):
        urls.append(url)
        return signer[1]

    app.extensions["cartback_sns"] = SnsClient(requests.Session(), fetch)
    return urls


def signed(signer, message, version="2"):
    return sns_signed(signer, message, topic=TOPIC, version=version)


def notification(signer, event, version="2", **extra):
    return signed(signer, {"Type": "Notification", "Message": json.dumps(event), **extra},
                  version)


def bounce(address, message_id="ses-id-1", bounce_type="Permanent"):
    return {"eventType": "Bounce", "mail": {"messageId": message_id},
            "bounce": {"bounceType": bounce_type,
                       "bouncedRecipients": [{"emailAddress": address}]}}


def complaint(address, message_id="ses-id-1"):
    return {"notificationType": "Complaint", "mail": {"messageId": message_id},
            "complaint": {"complainedRecipients": [{"emailAddress": address}]}}


def post(client, body):
    return post_sns(client, "/webhooks/ses", body)


suppressed = suppression_rows


def sent_to(runtime, store, address, message_id):
    with runtime.db.transaction() as session:
        from app.db.models import Cart

        cart = Cart(store_id=store.id, cart_key=f"k-{message_id}", email=address,
                    last_activity_at=T0, last_event_at=T0)
        session.add(cart)
        session.flush()
        session.add(Send(store_id=store.id, cart_id=cart.id, move="first", address=address,
                         result="sent", message_id=message_id, created_at=T0))


@pytest.mark.parametrize("version", ["1", "2"])
def test_hard_bounce_suppresses_the_address_and_stops_reminders(
        version, client, runtime, store, post_custom, fetched, signer, outbox):
    post_custom(cart_body())
    sent_to(runtime, store, "ada@example.com", "ses-id-1")
    response = post(client, notification(signer, bounce("Ada@Example.com"), version))
    assert response.status_code == 200, response.json
    assert suppressed(runtime) == [(store.id, "ada@example.com", "bounce")]
    assert fetched == [CERT_URL]
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.result, result.reason) == ("skipped", "unsubscribed")
    assert outbox() == []


def test_complaint_suppresses_for_every_store_that_emailed_the_address(
        client, runtime, store, make_store, fetched, signer):
    other = make_store(name="Other", domain="other.example")
    quiet = make_store(name="Never wrote", domain="quiet.example")
    sent_to(runtime, store, "bob@example.com", "x-1")
    sent_to(runtime, other, "bob@example.com", "x-2")
    assert post(client, notification(signer, complaint("bob@example.com",
                                                       "unknown-id"))).status_code == 200
    assert suppressed(runtime) == [(store.id, "bob@example.com", "complaint"),
                                   (other.id, "bob@example.com", "complaint")]
    assert quiet.id not in {s for s, _, _ in suppressed(runtime)}


def test_soft_bounce_changes_nothing(client, runtime, store, fetched, signer):
    sent_to(runtime, store, "ada@example.com", "ses-id-1")
    response = post(client, notification(signer, bounce("ada@example.com",
                                                        bounce_type="Transient")))
    assert response.status_code == 200 and suppressed(runtime) == []


@pytest.mark.parametrize("tamper, status", [
    (lambda m: {**m, "Message": m["Message"].replace("ada@", "eve@")}, 401),  # body changed
    (lambda m: {**m, "Signature": base64.b64encode(b"x" * 256).decode()}, 401),
    (lambda m: {**m, "SigningCertURL": "https://evil.example/sns.pem"}, 400),
    (lambda m: {**m, "SigningCertURL": CERT_URL.replace("https", "http")}, 400),
    (lambda m: {**m, "SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.example/c.pem"},
     400),
    (lambda m: {**m, "TopicArn": TOPIC + "-other"}, 403),
    (lambda m: {k: v for k, v in m.items() if k != "Signature"}, 400),
    (lambda m: {**m, "SignatureVersion": "3"}, 400),
    (lambda m: {**m, "Signature": "not base64!"}, 400),
    (lambda m: [m], 400),
])
def test_forged_or_malformed_messages_are_refused_with_a_4xx(
        tamper, status, client, runtime, store, fetched, signer):
    sent_to(runtime, store, "ada@example.com", "ses-id-1")
    response = post(client, tamper(notification(signer, bounce("ada@example.com"))))
    assert response.status_code == status
    assert suppressed(runtime) == []


@pytest.mark.parametrize("raw", [b"", b"{", b"[" * 100_000, b"null", b'"text"'])
def test_garbage_bodies_are_4xx(raw, client, fetched):
    assert 400 <= post(client, raw).status_code < 500


def test_subscription_is_confirmed_by_visiting_the_subscribe_url(client, fetched, signer):
    url = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
           f"{TOPIC}&Token=tok")
    message = signed(signer, {"Type": "SubscriptionConfirmation", "Token": "tok",
                              "Message": "You have chosen to subscribe.", "SubscribeURL": url})
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, body="<ConfirmSubscriptionResponse/>")
        response = post(client, message)
    assert response.status_code == 200 and response.json["confirmed"] == TOPIC


def test_subscription_url_off_sns_is_not_visited(client, fetched, signer):
    message = signed(signer, {"Type": "SubscriptionConfirmation", "Token": "tok",
                              "Message": "x", "SubscribeURL": "https://evil.example/confirm"})
    with responses.RequestsMock():  # any request would fail the test
        assert post(client, message).status_code == 400


def test_store_over_the_bounce_limit_is_paused_and_told(client, runtime, store, fetched,
                                                       signer, app):
    for n in range(10):
        sent_to(runtime, store, f"s{n}@example.com", f"id-{n}")
    # One hard bounce in the last 10 sends is 10%, over the 5% limit.
    post(client, notification(signer, bounce("s0@example.com", "id-0")))
    with runtime.db.new_session() as session:
        fresh = session.get(Store, store.id)
        assert (fresh.settings or {}).get("paused") is True
        assert fresh.platform_state["auto_paused"]["kind"] == "bounce"
    from app.web.admin.auth import mint_session

    with app.test_request_context():
        token = mint_session(store.id)
    page = client.get("/admin/", headers={"Authorization": f"Bearer {token}"}).get_data(
        as_text=True)
    assert "We paused your reminders" in page and "10.0% of your last 10 reminders bounced" in page


def test_store_under_the_minimum_sends_is_not_judged(client, runtime, store, fetched, signer):
    sent_to(runtime, store, "s0@example.com", "id-0")  # 1 send < RATE_MIN_SENDS=3
    post(client, notification(signer, bounce("s0@example.com", "id-0")))
    with runtime.db.new_session() as session:
        assert not (session.get(Store, store.id).settings or {}).get("paused")


def test_endpoint_is_off_without_configured_topics(client, app, signer):
    app.config["SES_SNS_TOPIC_ARNS"] = None
    assert post(client, notification(signer, bounce("a@example.com"))).status_code == 404


def test_any_bounce_marks_its_reminder_bounced_once_for_the_per_step_numbers(
        admin, client, runtime, store, fetched, signer, clock):
    from app import performance

    sent_to(runtime, store, "ada@example.com", "ses-soft")
    sent_to(runtime, store, "bo@example.com", "ses-fine")
    soft = notification(signer, bounce("ada@example.com", "ses-soft", "Transient"))
    assert post(client, soft).status_code == 200
    assert post(client, soft).status_code == 200  # SNS redelivers: still one bounce
    assert suppressed(runtime) == []  # a soft bounce never unsubscribes
    with runtime.db.new_session() as session:
        [first, _] = performance.step_report(session, store.id, T0, T0 + timedelta(days=1),
                                             timedelta(days=7))
        timeline = [a.kind for a in session.scalars(select(Activity))]
    assert (first.sent, first.delivered, first.bounced) == (2, 1, 1)
    assert timeline == ["bounced"]
    clock.set(T0 + timedelta(hours=1))
    page = admin(store).get("/admin/", days=7).get_data(as_text=True)
    row = page.split('<tr class="step-first">')[1].split("</tr>")[0]
    assert [cell.split("<")[0].strip() for cell in row.split('<td class="num">')[1:4]] == [
        "2", "1", "1"]  # sent, delivered (50.0%), bounced
