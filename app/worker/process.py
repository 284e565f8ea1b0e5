"""`cartback scheduler`: the process that runs the timers, with hot standbys.

Web processes run no timers; they write wake times onto the cart rows. The
leader rebuilds its timers from the rows when it takes over, then follows the
rows web processes change (an indexed `updated_at` feed, polled every couple
of seconds, re-reading a short overlap so clock skew between machines loses
nothing). A standby retries the leader lock every few seconds, so it takes
over well within 30 s of the leader's death. Whatever two processes do, the
database still allows one sent reminder per cart and move.

A database outage does not end the process: the leader stops its timers,
lets go of leadership and keeps trying to reconnect; once it leads again it
rebuilds its timers from the rows, so no wake that fell due meanwhile is lost.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.db.models import LIVE_STATUSES, Cart
from app.runtime import Runtime
from app.worker import leader
from app.worker.start import start_timers
from scheduler.timers import CartTimers

log = logging.getLogger(__name__)

FEED_OVERLAP = timedelta(seconds=30)


def follow_changes(runtime: Runtime, timers: CartTimers, since: datetime) -> datetime:
    """Re-arm the timers of carts changed since `since`; returns the new watermark."""
    newest = since
    with runtime.db.new_session() as session:
        rows = session.execute(
            select(Cart.id, Cart.wake_at, Cart.status, Cart.updated_at)
            .where(Cart.updated_at >= since - FEED_OVERLAP)
            .order_by(Cart.updated_at)
        ).all()
    for cart_id, wake_at, status, updated_at in rows:
        timers.set(cart_id, wake_at if status in LIVE_STATUSES else None)
        newest = max(newest, updated_at)
    return newest


def run(app: Flask, stop: threading.Event, *, poll_s: float = 2.0, retry_s: float = 5.0,
        heartbeat_s: float = 5.0) -> None:
    runtime: Runtime = app.extensions["cartback"]
    engine = app.extensions["db"].engine
    me = leader.holder_name()
    leadership = leader.Leadership(engine)
    try:
        while not stop.is_set():
            try:
                if not leadership.try_acquire():
                    log.info("standing by: another scheduler leads", extra={"holder": me})
                    stop.wait(retry_s)
                    continue
                log.info("leading: timers start", extra={"holder": me})
                _lead(app, runtime, engine, me, leadership, stop, poll_s, heartbeat_s)
            except DBAPIError:
                log.exception("database unavailable: timers stopped, reconnecting",
                              extra={"holder": me})
                leadership.abandon()
                stop.wait(retry_s)
    finally:
        leadership.release()


def _lead(app: Flask, runtime: Runtime, engine: object, me: str, leadership: leader.Leadership,
          stop: threading.Event, poll_s: float, heartbeat_s: float) -> None:
    watermark = runtime.clock()
    timers = start_timers(app, runtime)
    last_beat = None
    try:
        while not stop.is_set():
            now = runtime.clock()
            if last_beat is None or (now - last_beat).total_seconds() >= heartbeat_s:
                leader.beat(engine, me, now)  # type: ignore[arg-type]
                last_beat = now
            watermark = follow_changes(runtime, timers, watermark)
            if not leadership.still_held():
                log.error("leadership lost: stopping timers", extra={"holder": me})
                return
            stop.wait(poll_s)
    finally:
        timers.shutdown(wait=True)
