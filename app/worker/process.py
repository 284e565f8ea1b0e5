"""`cartback scheduler`: the process that runs the timers, with hot standbys.

Web processes run no timers; they write wake times onto the cart rows. A
scheduler rebuilds its timers from the rows when it takes work over, then
follows the rows web processes change (an indexed `updated_at` feed, polled
every couple of seconds, re-reading a short overlap so clock skew between
machines loses nothing). Whatever two processes do, the database still
allows one sent reminder per cart and move.

PostgreSQL: the timers are split into shards by store (app.worker.shards);
every scheduler process runs a fair share of them and stands by for the
others, taking a dead process's shards over at its next rebalance (every
`retry_s`, well within 30 s). The periodic and nightly jobs run in the one
process holding the old leader lock. SQLite is one machine: one leader runs
every timer and a second process waits as a standby (app.worker.leader).

A database outage does not end the process: the leader stops its timers,
lets go of leadership and keeps trying to reconnect; once it leads again it
rebuilds its timers from the rows, so no wake that fell due meanwhile is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from app.db.models import LIVE_STATUSES, Cart
from app.runtime import Runtime
from app.worker import leader
from app.worker.batching import BatchedWakes
from app.worker.shards import ShardLocks
from app.worker.start import start_timers
from scheduler.timers import CartTimers

log = logging.getLogger(__name__)

FEED_OVERLAP = timedelta(seconds=30)


def follow_changes(runtime: Runtime, timers: CartTimers, since: datetime,
                   holds: Callable[[int], bool] | None = None) -> datetime:
    """Re-arm the timers of carts changed since `since` (of the stores `holds`
    says this process runs, when given); returns the new watermark."""
    newest = since
    with runtime.db.new_session() as session:
        rows = session.execute(
            select(Cart.id, Cart.wake_at, Cart.status, Cart.updated_at, Cart.store_id)
            .where(Cart.updated_at >= since - FEED_OVERLAP)
            .order_by(Cart.updated_at)
        ).all()
    for cart_id, wake_at, status, updated_at, store_id in rows:
        newest = max(newest, updated_at)
        if holds is not None and not holds(store_id):
            continue
        timers.set(cart_id, wake_at if status in LIVE_STATUSES else None)
    return newest


def run(app: Flask, stop: threading.Event, *, poll_s: float = 2.0, retry_s: float = 5.0,
        heartbeat_s: float = 5.0) -> None:
    runtime: Runtime = app.extensions["cartback"]
    engine = app.extensions["db"].engine
    if engine.dialect.name == "postgresql":
        _run_sharded(app, stop, poll_s, retry_s, heartbeat_s)
        return
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


def _run_sharded(app: Flask, stop: threading.Event, poll_s: float, retry_s: float,
                 heartbeat_s: float) -> None:
    runtime: Runtime = app.extensions["cartback"]
    engine = app.extensions["db"].engine
    me = leader.holder_name()
    shards = ShardLocks(engine, int(app.config["SCHEDULER_SHARDS"]))
    nightly = leader.Leadership(engine)  # its holder runs the periodic jobs
    try:
        while not stop.is_set():
            try:
                _share(app, runtime, engine, me, shards, nightly, stop, poll_s, retry_s,
                       heartbeat_s)
            except DBAPIError:
                log.exception("database unavailable: timers stopped, reconnecting",
                              extra={"holder": me})
                shards.abandon()
                nightly.abandon()
                stop.wait(retry_s)
    finally:
        shards.release()
        nightly.release()


def _share(app: Flask, runtime: Runtime, engine: Engine, me: str, shards: ShardLocks,
           nightly: leader.Leadership, stop: threading.Event, poll_s: float, retry_s: float,
           heartbeat_s: float) -> None:
    watermark = runtime.clock()
    gained, _ = shards.rebalance()
    wakes = BatchedWakes(runtime)
    timers = CartTimers(wakes)
    runtime.timers = timers
    app.extensions["cartback_timers"] = timers
    timers.start(_pending(runtime, shards.shards, gained))
    log.info("timers started", extra={"holder": me, "shards": sorted(shards.held)})
    periodic = False
    last_beat = None
    last_balance = time.monotonic()
    try:
        while not stop.is_set():
            now = runtime.clock()
            if time.monotonic() - last_balance >= retry_s:
                gained, lost = shards.rebalance()
                last_balance = time.monotonic()
                if lost:
                    timers.cancel_many(c for c, _ in _pending(runtime, shards.shards, lost))
                for cart_id, wake_at in _pending(runtime, shards.shards, gained):
                    timers.set(cart_id, wake_at)
                if gained or lost:
                    log.info("shards rebalanced", extra={
                        "holder": me, "gained": gained, "lost": lost,
                        "shards": sorted(shards.held)})
            if not periodic and app.config.get("RUN_NIGHTLY", True) and nightly.try_acquire():
                from app.worker.periodic import register

                register(timers, runtime)
                periodic = True
            if periodic and not nightly.still_held():
                log.error("periodic jobs' lock lost: restarting timers", extra={"holder": me})
                return
            if last_beat is None or (now - last_beat).total_seconds() >= heartbeat_s:
                leader.beat(engine, me, now)
                last_beat = now
            watermark = follow_changes(runtime, timers, watermark, shards.holds)
            stop.wait(poll_s)
    finally:
        timers.shutdown(wait=True)
        wakes.stop()


def _pending(runtime: Runtime, shards: int, wanted: list[int]) -> list[tuple[int, datetime]]:
    """(cart id, wake_at) of the live carts with a timer in these shards."""
    if not wanted:
        return []
    with runtime.db.new_session() as session:
        rows = session.execute(
            select(Cart.id, Cart.wake_at)
            .where(Cart.wake_at.is_not(None), Cart.status.in_(LIVE_STATUSES),
                   (Cart.store_id % shards).in_(wanted))
        ).all()
    return [(cart_id, wake_at) for cart_id, wake_at in rows if wake_at is not None]
