"""Timers that fire together are woken together: a queue and one batch waker.

In a scheduler process a cart's timer only queues its cart id; one thread
takes whatever is queued (up to a batch) and wakes it through
`app.carts.batch.wake_batch`, so a backlog (after an outage, at the end of
quiet hours) costs a few transactions per batch instead of four per cart,
while a lone timer is still woken the moment it fires. A cart the batch
leaves to the per-cart path, or a batch that fails as a whole, is woken by
`WakeRunner`, which retries with backoff: a failed wake is never dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

from app.carts.batch import BATCH, wake_batch
from app.carts.wake import WakeResult, wake
from app.metrics import LATENESS, WAKE_FAILURES
from app.runtime import Runtime
from app.worker.start import WakeRunner

log = logging.getLogger(__name__)


class BatchedWakes:
    def __init__(self, runtime: Runtime, *, batch: int = BATCH) -> None:
        self.runtime = runtime
        self.batch = batch
        self.single = WakeRunner(runtime)
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batched-wakes", daemon=True)
        self._thread.start()

    def __call__(self, cart_id: int) -> None:
        """What a cart's timer calls: queue it (the row stays due until woken)."""
        self._queue.put(cart_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand; what is still queued stays due in its row."""
        self._stop.set()
        self._thread.join(timeout)

    def _take(self) -> list[int]:
        try:
            ids = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(ids) < self.batch:
            try:
                ids.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return list(dict.fromkeys(ids))

    def _run(self) -> None:
        while not self._stop.is_set():
            ids = self._take()
            if ids:
                self._wake(ids)

    def _wake(self, ids: list[int]) -> None:
        now = self.runtime.clock()
        try:
            results = wake_batch(self.runtime, ids, now, self._one)
        except Exception:  # noqa: BLE001 - retried one by one, never dropped
            WAKE_FAILURES.inc()
            log.exception("batch wake failed: retrying its carts one by one",
                          extra={"carts": len(ids)})
            for cart_id in ids:
                self.single(cart_id)
            return
        for result in results:
            if result.late_s is not None:
                LATENESS.observe(max(result.late_s, 0.0))

    def _one(self, runtime: Runtime, cart_id: int, now: datetime) -> WakeResult:
        """The per-cart wake with WakeRunner's retry on failure."""
        try:
            return wake(runtime, cart_id, now)
        except Exception as err:  # noqa: BLE001 - re-armed with backoff by WakeRunner
            self.single.retry_later(cart_id, now)
            return WakeResult(cart_id, None, "error", type(err).__name__)
