"""A compact APScheduler job store for one date-triggered job per cart.

APScheduler's MemoryJobStore keeps a full Job object per job in a sorted list:
inserting or moving one job shifts the list (O(n)) and each Job costs well
over a kilobyte, so a million pending carts would need gigabytes and a reset
would take milliseconds. Every cart timer is the same job (call `fire` with
the cart id at one moment), so this store keeps only `cart id -> run time` in
a dict plus a heap with lazy deletion, and builds real Job objects only when
APScheduler asks for them (due jobs, lookups).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.triggers.date import DateTrigger

ID_PREFIX = "cart:"


def job_id(cart_id: int) -> str:
    return f"{ID_PREFIX}{cart_id}"


def cart_id_of(job_id_text: str) -> int:
    if not job_id_text.startswith(ID_PREFIX):
        raise JobLookupError(job_id_text)
    return int(job_id_text[len(ID_PREFIX):])


class CartJobStore(BaseJobStore):  # type: ignore[misc]
    def __init__(self, func_ref: str, instance_key: int, executor: str = "default") -> None:
        super().__init__()
        self._func_ref = func_ref
        self._instance_key = instance_key
        self._executor = executor
        self._when: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []

    # -- compact interface used by CartTimers directly ------------------------

    def load(self, pending: Iterable[tuple[int, float]]) -> None:
        """Bulk-load (cart id, timestamp) pairs before the scheduler starts."""
        self._when.update(pending)
        self._rebuild_heap()

    def when_of(self, cart_id: int) -> float | None:
        return self._when.get(cart_id)

    def discard(self, cart_id: int) -> None:
        self._when.pop(cart_id, None)

    def __len__(self) -> int:
        return len(self._when)

    # -- BaseJobStore contract -------------------------------------------------

    def lookup_job(self, job_id_text: str) -> Job | None:
        try:
            cart_id = cart_id_of(job_id_text)
        except (JobLookupError, ValueError):
            return None
        when = self._when.get(cart_id)
        return None if when is None else self._job(cart_id, when)

    def get_due_jobs(self, now: datetime) -> list[Job]:
        limit = now.timestamp()
        due: list[tuple[float, int]] = []
        while self._heap and self._heap[0][0] <= limit:
            when, cart_id = heapq.heappop(self._heap)
            if self._when.get(cart_id) == when:
                due.append((when, cart_id))
        # The scheduler removes or updates each due job next; until then they
        # must still be findable, so put the live entries back.
        for entry in due:
            heapq.heappush(self._heap, entry)
        return [self._job(cart_id, when) for when, cart_id in due]

    def get_next_run_time(self) -> datetime | None:
        self._drop_stale_top()
        if not self._heap:
            return None
        return datetime.fromtimestamp(self._heap[0][0], UTC)

    def get_all_jobs(self) -> list[Job]:
        return [self._job(cart_id, when)
                for cart_id, when in sorted(self._when.items(), key=lambda kv: kv[1])]

    def add_job(self, job: Job) -> None:
        cart_id = cart_id_of(job.id)
        if cart_id in self._when:
            raise ConflictingIdError(job.id)
        self._put(cart_id, job.next_run_time)

    def update_job(self, job: Job) -> None:
        cart_id = cart_id_of(job.id)
        if cart_id not in self._when:
            raise JobLookupError(job.id)
        self._put(cart_id, job.next_run_time)

    def remove_job(self, job_id_text: str) -> None:
        cart_id = cart_id_of(job_id_text)
        if self._when.pop(cart_id, None) is None:
            raise JobLookupError(job_id_text)

    def remove_all_jobs(self) -> None:
        self._when.clear()
        self._heap.clear()

    # -- internals --------------------------------------------------------------

    def _put(self, cart_id: int, run_time: datetime | None) -> None:
        if run_time is None:  # a paused job: nothing of ours is ever paused
            self._when.pop(cart_id, None)
            return
        when = run_time.timestamp()
        self._when[cart_id] = when
        heapq.heappush(self._heap, (when, cart_id))
        # Resets leave stale heap entries behind; compact once they dominate.
        if len(self._heap) > 2 * len(self._when) + 1024:
            self._rebuild_heap()

    def _rebuild_heap(self) -> None:
        self._heap = [(when, cart_id) for cart_id, when in self._when.items()]
        heapq.heapify(self._heap)

    def _drop_stale_top(self) -> None:
        while self._heap and self._when.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def _job(self, cart_id: int, when: float) -> Job:
        run_at = datetime.fromtimestamp(when, UTC)
        state: dict[str, Any] = {
            "version": 1,
            "id": job_id(cart_id),
            "func": self._func_ref,
            "trigger": DateTrigger(run_date=run_at, timezone=UTC),
            "executor": self._executor,
            "args": (self._instance_key, cart_id),
            "kwargs": {},
            "name": "wake",
            "misfire_grace_time": None,
            "coalesce": True,
            "max_instances": 1,
            "next_run_time": run_at,
        }
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job
