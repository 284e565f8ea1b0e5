"""One timer per cart on an APScheduler 3 BackgroundScheduler.

The scheduler knows cart ids and times, nothing else. `fire(cart_id)` is
called in a worker thread when a cart's timer falls due (never twice at once
for one cart); periodic and nightly jobs share the same scheduler.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.store import CartJobStore, job_id

log = logging.getLogger(__name__)

CARTS = "carts"
PERIODIC = "periodic"

_instances: dict[int, CartTimers] = {}
_keys = itertools.count(1)


def _fire(instance_key: int, cart_id: int) -> None:
    """The one function every cart job calls (jobs carry only ids)."""
    timers = _instances.get(instance_key)
    if timers is None:
        return
    try:
        timers.fire(cart_id)
    except Exception:  # a failed wake must not kill the worker; the row keeps its wake_at
        log.exception("wake failed", extra={"cart_id": cart_id})


class CartTimers:
    def __init__(self, fire: Callable[[int], None], *, max_workers: int = 4) -> None:
        self.fire = fire
        self._key = next(_keys)
        _instances[self._key] = self
        self._store = CartJobStore(func_ref=f"{__name__}:_fire", instance_key=self._key)
        self._lock = threading.RLock()
        self._scheduler = BackgroundScheduler(
            jobstores={CARTS: self._store, PERIODIC: MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- lifecycle ---------------------------------------------------------------

    def start(self, pending: Iterable[tuple[int, datetime]] = ()) -> None:
        """Rebuild from rows (cart id, wake_at), then start; past wakes run at once."""
        self._store.load((cart_id, when.timestamp()) for cart_id, when in pending)
        self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            # Pause, then wait for a processing round in flight to finish:
            # APScheduler's shutdown flips the state to STOPPED at once, and a
            # round still removing a fired job would then raise in its thread.
            self._scheduler.pause()
            with self._scheduler._jobstores_lock:
                pass
            self._scheduler.shutdown(wait=wait)
        _instances.pop(self._key, None)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    # -- per-cart timers -----------------------------------------------------------

    def set(self, cart_id: int, when: datetime | None) -> None:
        """(Re)arm the cart's one timer; None cancels it."""
        if when is None:
            self.cancel_many([cart_id])
            return
        with self._lock:
            if self._store.when_of(cart_id) == when.timestamp():
                return  # already armed for that moment
            if not self._scheduler.running:
                # Before start: straight into the store (no pending Job objects).
                self._store.load([(cart_id, when.timestamp())])
                return
            self._scheduler.add_job(
                _fire, DateTrigger(run_date=when, timezone=UTC), args=(self._key, cart_id),
                id=job_id(cart_id), name="wake", jobstore=CARTS, replace_existing=True,
            )

    def cancel_many(self, cart_ids: Iterable[int]) -> None:
        with self._lock:
            for cart_id in cart_ids:
                if not self._scheduler.running:
                    self._store.discard(cart_id)
                    continue
                try:
                    self._scheduler.remove_job(job_id(cart_id), jobstore=CARTS)
                except JobLookupError:
                    pass

    def pending(self) -> int:
        return len(self._store)

    def next_due(self) -> datetime | None:
        return self._store.get_next_run_time()

    def when(self, cart_id: int) -> datetime | None:
        job = self._store.lookup_job(job_id(cart_id))
        return None if job is None else job.next_run_time

    # -- periodic work ---------------------------------------------------------------

    def add_nightly(self, job_id_text: str, func: Callable[[], Any], *, hour: int,
                    minute: int = 0, timezone: str = "UTC") -> None:
        self._scheduler.add_job(
            func, CronTrigger(hour=hour, minute=minute, timezone=timezone), id=job_id_text,
            jobstore=PERIODIC, replace_existing=True, misfire_grace_time=3600,
        )

    def add_interval(self, job_id_text: str, func: Callable[[], Any], *, seconds: float) -> None:
        self._scheduler.add_job(
            func, IntervalTrigger(seconds=seconds, timezone=UTC), id=job_id_text,
            jobstore=PERIODIC, replace_existing=True, misfire_grace_time=max(seconds, 1),
        )
