"""The sender inside the waiter: deferrals move the timer, skips are recorded,
one reminder per cart and move whatever happens."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.carts.wake import wake, wake_due
from app.db.models import Cart, Send
from app.errors import DeliveryError
from platforms.signing import sign_base64
from tests.factories import T0, cart_body


def sends(runtime):
    with runtime.db.new_session() as session:
        rows = session.scalars(select(Send).order_by(Send.id))
        return [(s.move, s.result, s.reason) for s in rows]


def the_cart(runtime, key="c-1"):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).where(Cart.cart_key == key)).one()


def test_reminder_due_in_quiet_hours_is_deferred_to_the_morning(post_custom, runtime, outbox):
    evening = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)  # due at 22:30 UTC
    post_custom(cart_body(occurred_at=evening, timezone="Europe/London"))
    [result] = wake_due(runtime, evening + timedelta(hours=4))
    assert (result.result, result.reason) == ("deferred", "quiet_hours")
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert the_cart(runtime).wake_at == morning
    assert outbox() == []
    assert wake_due(runtime, morning - timedelta(minutes=1)) == []
    [result] = wake_due(runtime, morning)
    assert (result.move, result.result) == ("first", "sent")
    assert sends(runtime) == [("first", "deferred", "quiet_hours"), ("first", "sent", None)]


def test_second_cart_of_a_recently_reminded_shopper_is_skipped(post_custom, runtime, outbox):
    post_custom(cart_body(cart_id="a"))
    wake_due(runtime, T0 + timedelta(hours=4))
    post_custom(cart_body(cart_id="b", occurred_at=T0 + timedelta(hours=5),
                          email="ADA@example.com"))
    results = wake_due(runtime, T0 + timedelta(hours=9))
    assert [(r.move, r.result, r.reason) for r in results] == [
        ("first", "skipped", "recently_reminded")]
    # Cart a's own second reminder still goes out a day after its first.
    results = wake_due(runtime, T0 + timedelta(hours=28))
    assert ("second", "sent", None) in [(r.move, r.result, r.reason) for r in results]


def test_paused_store_skips_what_falls_due(make_store, client, runtime, outbox):
    store = make_store(domain="paused.example", settings={"paused": True})
    raw = json.dumps(cart_body(return_url="https://paused.example/cart")).encode()
    client.post(f"/webhooks/custom/{store.id}", data=raw,
                headers={"X-Cartback-Hmac-Sha256": sign_base64(store.webhook_secret, raw)})
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.result, result.reason) == ("skipped", "paused")
    assert outbox() == []


class FlakyMailer:
    def __init__(self, inner, failures):
        self.inner, self.failures, self.name, self.calls = inner, list(failures), "flaky", 0

    def send(self, message, *, sender, recipient):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.send(message, sender=sender, recipient=recipient)


def test_transient_failure_retries_later_with_backoff(post_custom, runtime, outbox):
    runtime.mailer = FlakyMailer(runtime.mailer, [DeliveryError("throttled", transient=True)])
    post_custom(cart_body())
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "failed"
    # Exponential step of 2 minutes, jittered into its upper half.
    assert T0 + timedelta(hours=4, minutes=1) <= result.wake_at <= T0 + timedelta(hours=4,
                                                                                 minutes=2)
    [result] = wake_due(runtime, T0 + timedelta(hours=4, minutes=2))
    assert result.result == "sent"
    assert sends(runtime) == [("first", "failed", "transient: throttled"), ("first", "sent", None)]
    assert len(outbox()) == 1


def test_permanent_failure_is_not_retried(post_custom, runtime, outbox):
    runtime.mailer = FlakyMailer(runtime.mailer, [DeliveryError("address rejected",
                                                                transient=False)])
    post_custom(cart_body())
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.result, result.reason) == ("failed", "permanent: address rejected")
    assert the_cart(runtime).stage == 1
    assert runtime.mailer.calls == 1


def test_crash_between_claim_and_send_never_sends_twice(post_custom, runtime, outbox, caplog):
    class Crash(Exception):
        pass

    runtime.mailer = FlakyMailer(runtime.mailer, [Crash("process killed mid-send")])
    post_custom(cart_body())
    with pytest.raises(Crash):
        wake(runtime, the_cart(runtime).id, T0 + timedelta(hours=4))
    assert sends(runtime) == [("first", "claimed", None)]
    # The claim leases the timer; after the lease the next wake moves on.
    assert wake_due(runtime, T0 + timedelta(hours=4, minutes=5)) == []
    [result] = wake_due(runtime, T0 + timedelta(hours=4, minutes=10))
    assert (result.move, result.result) == ("first", "duplicate")
    assert outbox() == []
    assert any("unconfirmed send" in r.getMessage() for r in caplog.records)
    assert sends(runtime) == [("first", "claimed", "unconfirmed: process stopped during send")]
    # The sequence carries on with the second reminder a day later, once.
    results = wake_due(runtime, T0 + timedelta(hours=28, minutes=10))
    assert [(r.move, r.result) for r in results] == [("second", "sent")]


def test_two_racing_wakes_send_exactly_one(post_custom, runtime, outbox, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("needs concurrent writers: runs on PostgreSQL")
    post_custom(cart_body())
    cart_id = the_cart(runtime).id
    barrier = threading.Barrier(4)
    results = []

    def racer():
        barrier.wait()
        results.append(wake(runtime, cart_id, T0 + timedelta(hours=4)))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.result for r in results).count("sent") == 1
    assert len(outbox()) == 1
    assert [s for s in sends(runtime) if s[1] == "sent"] == [("first", "sent", None)]


@pytest.mark.parametrize("email", ["a..b@example.com", "jösé@example.com"])
def test_invalid_address_is_skipped_and_nothing_is_sent(email, post_custom, runtime, outbox):
    post_custom(cart_body(email=email))
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.result, result.reason) == ("skipped", "invalid_address")
    assert outbox() == []
    assert sends(runtime) == [("first", "skipped", "invalid_address")]


def test_internationalised_domain_is_sent_in_ascii_form(post_custom, runtime, outbox):
    post_custom(cart_body(email="ada@exämple.com"))
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert message["To"].addresses[0].addr_spec == "ada@xn--exmple-cua.com"
