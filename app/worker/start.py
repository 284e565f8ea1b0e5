"""Binds the per-cart timers to the app: fire → wake, rebuild from rows on start."""

from __future__ import annotations

import atexit
import logging
import random
import threading
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from app.carts.wake import wake
from app.db.models import LIVE_STATUSES, Cart
from app.metrics import LATENESS, WAKE_FAILURES
from app.runtime import Runtime
from scheduler.timers import CartTimers

log = logging.getLogger(__name__)


RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)


class WakeRunner:
    """What a cart's timer calls: wake the cart; if that raises, re-arm it.

    The row still says the cart is due, but its timer has fired: without a
    new one the wake would wait for the next restart. Retries back off
    (5 s doubling to 5 min) with up to 50 % jitter, so carts that failed
    together in an outage do not all retry at the same instant.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._failures: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, cart_id: int) -> None:
        now = self.runtime.clock()
        try:
            result = wake(self.runtime, cart_id, now)
        except Exception:  # noqa: BLE001 - any failure is retried, never dropped
            self.retry_later(cart_id, now)
            return
        with self._lock:
            self._failures.pop(cart_id, None)
        if result.late_s is not None:
            LATENESS.observe(max(result.late_s, 0.0))


    def retry_later(self, cart_id: int, now: datetime) -> None:
        """Re-arm a cart whose wake just raised (call from its except block)."""
        with self._lock:
            attempt = self._failures[cart_id] = self._failures.get(cart_id, 0) + 1
        delay = min(RETRY_FIRST * 2 ** (attempt - 1), RETRY_MAX)
        delay *= 1 + random.uniform(0, 0.5)  # noqa: S311 - jitter, not a secret
        WAKE_FAILURES.inc()
        log.exception("wake failed, will retry", extra={
            "cart_id": cart_id, "attempt": attempt, "retry_in_s": delay.total_seconds()})
        self.runtime.timers.set(cart_id, now + delay)


def start_timers(app: Flask, runtime: Runtime) -> CartTimers:
    # Read the rows first: if the database is down nothing is left half-started.
    with runtime.db.new_session() as session:
        pending = session.execute(
            select(Cart.id, Cart.wake_at)
            .where(Cart.wake_at.is_not(None), Cart.status.in_(LIVE_STATUSES))
        ).all()
    timers = CartTimers(WakeRunner(runtime))
    runtime.timers = timers
    if app.config.get("RUN_NIGHTLY", True):
        from app.worker.periodic import register

        register(timers, runtime)
    timers.start((cart_id, wake_at) for cart_id, wake_at in pending if wake_at is not None)
    log.info("timers started", extra={"pending": len(pending)})
    app.extensions["cartback_timers"] = timers
    atexit.register(timers.shutdown, False)
    return timers
