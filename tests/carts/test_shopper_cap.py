"""The cross-cart cap is atomic: two wakes for two carts of one shopper, in
two threads at the same moment, send at most one reminder (SQLite and
PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from app.carts.wake import wake, wake_due
from app.db.models import Cart, Send, Store
from tests.factories import T0, cart_body, held_at_first


def test_two_wakes_for_one_shopper_at_once_send_one_reminder(post_custom, runtime, outbox):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="ADA@example.com"))
    with runtime.db.new_session() as session:
        ids = list(session.scalars(select(Cart.id).order_by(Cart.id)))

    # Hold each wake at its first write of a Send row until both got there (or
    # one waits on the other): without an atomic cap both have passed gate 3
    # by then and both claim.
    results, errors = [], []

    def run(cart_id):
        try:
            results.append(wake(runtime, cart_id, T0 + timedelta(hours=4)))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(cart_id,)) for cart_id in ids]
    with held_at_first(runtime.db.engine, "INSERT INTO SENDS"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    assert errors == []
    assert sorted((r.result, r.reason) for r in results) == [
        ("sent", None), ("skipped", "recently_reminded")]
    assert len(outbox()) == 1
    with runtime.db.new_session() as session:
        assert sorted(s.result for s in session.scalars(select(Send))) == ["sent", "skipped"]


def _set_settings(runtime, store, **values):
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**(row.settings or {}), **values}


def test_frequency_cap_across_three_carts(post_custom, runtime, store, outbox, clock):
    # At most two reminders per shopper per week: the third cart is skipped.
    _set_settings(runtime, store, cap_reminders=2, dnd_hours=7 * 24)
    for n, key in enumerate("abc"):
        clock.set(T0 + timedelta(hours=n))
        post_custom(cart_body(cart_id=key, occurred_at=T0 + timedelta(hours=n)))

    got = [(r.move, r.result, r.reason)
           for n in range(3) for r in wake_due(runtime, T0 + timedelta(hours=4 + n))]

    assert got == [("first", "sent", None), ("first", "sent", None),
                   ("first", "skipped", "recently_reminded")]
    assert len(outbox()) == 2
    # Cart a's own second reminder: one reminder about another cart (b) this week.
    got = [(r.move, r.result) for r in wake_due(runtime, T0 + timedelta(hours=28))]
    assert ("second", "sent") in got

