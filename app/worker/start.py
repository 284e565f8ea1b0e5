"""Binds the per-cart timers to the app: fire → wake, rebuild from rows on start."""

from __future__ import annotations

import atexit
import logging

from flask import Flask
from sqlalchemy import select

from app.carts.wake import wake
from app.db.models import LIVE_STATUSES, Cart
from app.metrics import LATENESS
from app.runtime import Runtime
from scheduler.timers import CartTimers

log = logging.getLogger(__name__)


def start_timers(app: Flask, runtime: Runtime) -> CartTimers:
    def fire(cart_id: int) -> None:
        result = wake(runtime, cart_id, runtime.clock())
        if result.late_s is not None:
            LATENESS.observe(max(result.late_s, 0.0))

    timers = CartTimers(fire)
    runtime.timers = timers
    with runtime.db.new_session() as session:
        pending = session.execute(
            select(Cart.id, Cart.wake_at)
            .where(Cart.wake_at.is_not(None), Cart.status.in_(LIVE_STATUSES))
        ).all()
    if app.config.get("RUN_NIGHTLY", True):
        from app.worker.periodic import register

        register(timers, runtime)
    timers.start((cart_id, wake_at) for cart_id, wake_at in pending if wake_at is not None)
    log.info("timers started", extra={"pending": len(pending)})
    app.extensions["cartback_timers"] = timers
    atexit.register(timers.shutdown, False)
    return timers
