"""Timers bound to the app: rebuilt from rows on start; due wakes run at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.models import Cart
from app.runtime import real_now
from app.worker.start import start_timers
from tests.factories import cart_body


class SignallingMailer:
    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.sent = threading.Event()

    def send(self, message, *, sender, recipient):
        message_id = self.inner.send(message, sender=sender, recipient=recipient)
        self.sent.set()
        return message_id


def no_quiet_hours(runtime, store):
    # These tests run on the real clock, which may be inside the default quiet hours.
    from app.db.models import Store

    with runtime.db.transaction() as session:
        found = session.get(Store, store.id)
        found.settings = {**found.settings, "quiet_start": "00:00", "quiet_end": "00:00"}


def test_scheduling_wake_that_fell_due_while_down_runs_after_start(app, runtime, clock, store,
                                                                  post_custom, outbox):
    no_quiet_hours(runtime, store)
    # The cart was abandoned five hours ago, while no timer process ran.
    clock.set(datetime.now(UTC) - timedelta(hours=5))
    post_custom(cart_body(occurred_at=clock.now))
    runtime.clock = real_now
    runtime.mailer = SignallingMailer(runtime.mailer)

    start_timers(app, runtime)
    try:
        assert runtime.mailer.sent.wait(10)
    finally:
        app.extensions["cartback_timers"].shutdown(wait=True)
    assert len(outbox()) == 1
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
    assert cart.status == "reminded"
    # The next timer (the second reminder) was armed from the row.
    assert app.extensions["cartback_timers"].when(cart.id) == cart.wake_at


def test_scheduling_new_cart_arms_its_timer_through_intake(app, runtime, post_custom, clock):
    clock.set(datetime.now(UTC))
    start_timers(app, runtime)
    timers = app.extensions["cartback_timers"]
    try:
        post_custom(cart_body(occurred_at=datetime.now(UTC)))
        with runtime.db.new_session() as session:
            cart = session.scalars(select(Cart)).one()
        assert timers.when(cart.id) == cart.wake_at
    finally:
        timers.shutdown(wait=True)
