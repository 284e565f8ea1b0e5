"""Apply a delivery's events in one transaction, then tell the timers.

The timers hear about a new wake time only after the commit, so a timer can
never fire for a change that was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from app import intake
from app.errors import NotFound
from app.intake import Applied
from app.models import Store
from app.runtime import Runtime
from platforms.base import CartEvent


def ingest(runtime: Runtime, store_id: int, events: Sequence[CartEvent]) -> list[Applied]:
    now = runtime.clock()
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        if store is None:
            raise NotFound(f"store {store_id}")
        results = [intake.apply(session, store, event, now) for event in events]
    for result in results:
        if result.cart_id is not None and result.outcome not in ("duplicate", "stale"):
            runtime.timers.set(result.cart_id, result.wake_at)
    return results
