"""The give-up age holds on every path, and events dated in the future are clamped.

A shopper idle longer than the give-up age (7 days by default) never gets a
reminder, whether their cart reached us late, in a backfill, through a
reconcile, or woke up after an outage. An event dated more than five minutes
ahead of our clock is treated as happening now, so it cannot make every later
real event look stale.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Cart
from tests.factories import T0, cart_body


def the_cart(runtime, key="c-1"):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).where(Cart.cart_key == key)).one()


def test_cart_idle_twelve_days_delivered_late_gets_no_reminder(post_custom, runtime, clock,
                                                                 outbox):
    clock.set(T0 + timedelta(days=12))
    response = post_custom(cart_body(occurred_at=T0))
    assert response.status_code == 200
    wake_due(runtime, clock.now + timedelta(hours=5))
    assert outbox() == []
    cart = the_cart(runtime)
    assert cart.status == "expired" and cart.ended_reason == "gave_up"
    assert cart.wake_at is None


def test_backfill_of_an_eighteen_month_old_cart_gets_no_reminder(post_custom, runtime, clock,
                                                                  outbox):
    clock.set(T0 + timedelta(days=548))
    post_custom(cart_body(occurred_at=T0, cart_id="old-1"))
    wake_due(runtime, clock.now + timedelta(days=1))
    assert outbox() == []
    assert the_cart(runtime, "old-1").status == "expired"


def test_cart_a_day_inside_the_give_up_age_still_gets_its_reminder(post_custom, runtime, clock,
                                                                    outbox):
    clock.set(T0 + timedelta(days=6))
    post_custom(cart_body(occurred_at=T0))
    wake_due(runtime, clock.now)
    [message] = outbox()
    assert message["To"] == "ada@example.com"


def test_restart_after_an_outage_longer_than_the_give_up_age_sends_nothing(post_custom,
                                                                           runtime, outbox):
    # Accepted on time, then the timers were down for eight days.
    post_custom(cart_body())
    results = wake_due(runtime, T0 + timedelta(days=8))
    assert [(r.move, r.result) for r in results] == [("give_up", "expired")]
    assert outbox() == []


def test_outage_between_reminders_ends_without_a_late_second(post_custom, runtime, outbox):
    post_custom(cart_body())
    wake_due(runtime, T0 + timedelta(hours=4))
    assert len(outbox()) == 1
    # Down from before the second was due until past the give-up age.
    results = wake_due(runtime, T0 + timedelta(days=7, hours=1))
    assert [(r.move, r.result) for r in results] == [("give_up", "expired")]
    assert len(outbox()) == 1


def test_event_dated_years_ahead_is_clamped_and_later_events_still_apply(post_custom, runtime,
                                                                          clock):
    response = post_custom(cart_body(occurred_at=T0 + timedelta(days=3 * 365)))
    assert response.status_code == 200
    cart = the_cart(runtime)
    assert cart.last_event_at == T0 and cart.last_activity_at == T0
    # The shopper's next real change, an hour later, is not thrown away as stale.
    clock.advance(hours=1)
    response = post_custom(cart_body("cart.updated", occurred_at=clock.now,
                                     email="grace@example.com"))
    assert response.get_json()["results"][0]["outcome"] == "changed"
    assert the_cart(runtime).email == "grace@example.com"


def test_small_clock_skew_is_kept_as_sent(post_custom, runtime):
    ahead = T0 + timedelta(minutes=4)
    post_custom(cart_body(occurred_at=ahead))
    assert the_cart(runtime).last_activity_at == ahead


def test_clamped_event_is_dated_now_on_the_timeline(post_custom, runtime):
    post_custom(cart_body(occurred_at=T0 + timedelta(days=400)))
    with runtime.db.new_session() as session:
        [row] = session.scalars(select(Activity)).all()
    assert row.occurred_at == T0
