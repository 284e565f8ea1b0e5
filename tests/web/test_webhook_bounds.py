"""Bounded webhook time: behind a held database lock a webhook answers 503
within 3 s with nothing written, and the platform's retry applies once."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import func, select, text

from app.db.models import Activity, Cart, Delivery
from app.db.session import make_engine
from tests.factories import T0, cart_body

RELEASE_AFTER_S = 6.0  # so the code as found (which waits) still finishes


class HeldLock:
    """A real lock from another connection: PostgreSQL row lock on the cart,
    or SQLite's write lock (BEGIN IMMEDIATE) on the file."""

    def __init__(self, database_url):
        self.database_url = database_url

    def __enter__(self):
        if self.database_url.startswith("sqlite"):
            self.conn = sqlite3.connect(self.database_url[len("sqlite:///"):],
                                        isolation_level=None, check_same_thread=False)
            self.conn.execute("BEGIN IMMEDIATE")
            self.release = self.conn.rollback
        else:
            self.engine = make_engine(self.database_url)
            self.conn = self.engine.connect()
            self.conn.execute(text("SELECT id FROM carts WHERE cart_key = 'c-1' FOR UPDATE"))
            self.release = self.conn.rollback
        self.timer = threading.Timer(RELEASE_AFTER_S, self.release)
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.release()
        self.conn.close()
        if hasattr(self, "engine"):
            self.engine.dispose()


def counts(runtime):
    with runtime.db.new_session() as session:
        return (session.scalar(select(func.count()).select_from(Activity)),
                session.scalar(select(func.count()).select_from(Delivery)),
                session.scalar(select(Cart.total)))


def test_webhook_behind_a_held_lock_answers_503_in_time_and_its_retry_applies_once(
        post_custom, runtime, database_url):
    post_custom(cart_body(event_id="evt-1"))
    before = counts(runtime)
    update = cart_body("cart.updated", occurred_at=T0.replace(minute=5), total="120.00",
                       event_id="evt-2")
    with HeldLock(database_url):
        started = time.monotonic()
        response = post_custom(update)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"webhook took {elapsed:.1f} s"
    assert response.status_code == 503
    assert counts(runtime) == before  # nothing half-written, delivery id not kept
    retry = post_custom(update)
    assert retry.status_code == 200
    assert [r["outcome"] for r in retry.json["results"]] == ["changed"]
    again = post_custom(update)
    assert [r["outcome"] for r in again.json["results"]] == ["duplicate"]
    activities, deliveries, total = counts(runtime)
    assert (activities, deliveries, str(total)) == (before[0] + 1, before[1] + 1, "120.0000")
