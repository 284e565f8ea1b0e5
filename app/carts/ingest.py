"""Apply a delivery's events in one transaction, then tell the timers.

The timers hear about a new wake time only after the commit, so a timer can
never fire for a change that was rolled back. Waiting on a lock is bounded
(WEBHOOK_LOCK_S): past it the whole delivery rolls back and Busy (503) asks
the platform to retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.carts import intake, store_cache
from app.carts.intake import Applied
from app.db.models import Store
from app.db.session import WEBHOOK_LOCK_S
from app.errors import NotFound
from app.logs import log_context
from app.mail.links import host_of, on_hosts, vouched_hosts
from app.runtime import Runtime
from platforms.base import Adapter, BadPayload, CartEvent


def ingest(runtime: Runtime, store_id: int, events: Sequence[CartEvent]) -> list[Applied]:
    now = runtime.clock()
    with log_context(store_id=store_id), \
            runtime.db.transaction(lock_wait_s=WEBHOOK_LOCK_S) as session:
        results = _apply_all(session, _store(session, store_id), events, now)
    _notify(runtime, results)
    return results


def ingest_delivery(runtime: Runtime, store_id: int, adapter: Adapter, raw_body: bytes,
                    headers: Mapping[str, str]) -> list[Applied]:
    """Verify, parse and apply one signed delivery for a store of `adapter`'s platform.

    Verification and parsing come first, before the transaction that applies
    the events: BadSignature and BadPayload write nothing and never wait for
    the database. The store is the process's recent copy (app.carts.store_cache).
    """
    now = runtime.clock()
    with log_context(store_id=store_id):
        store = store_cache.get(runtime.db, store_id)
        if store is None or store.platform != adapter.name or not store.installed:
            raise NotFound(f"no {adapter.name} store {store_id}")
        adapter.verify(raw_body, headers, store.webhook_secret)
        events = adapter.parse(raw_body, headers, store.id, now)
        if adapter.name == "custom":
            _require_store_links(store, events)
        rules = store_cache.rules(store)
        with runtime.db.transaction(lock_wait_s=WEBHOOK_LOCK_S) as session:
            results = [intake.apply(session, store, event, now, rules) for event in events]
    _notify(runtime, results)
    return results


def _require_store_links(store: Store, events: Sequence[CartEvent]) -> None:
    """The custom lane's `return_url` must be on the store's own domain (or a
    subdomain): refused with a 400 naming the field, so the integrator learns
    it at once rather than from shoppers landing on the home page."""
    hosts = vouched_hosts(store.domain, store.platform_state)
    for event in events:
        if event.return_url and not on_hosts(event.return_url, hosts):
            raise BadPayload("return_url", f"must be on the store's domain "
                             f"{host_of(store.domain)} (or a subdomain of it)")


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"store {store_id}")
    return store


def _apply_all(session: Session, store: Store, events: Sequence[CartEvent],
               now: datetime) -> list[Applied]:
    return [intake.apply(session, store, event, now) for event in events]


def _notify(runtime: Runtime, results: Sequence[Applied]) -> None:
    for result in results:
        if result.cart_id is not None and result.outcome not in ("duplicate", "stale"):
            runtime.timers.set(result.cart_id, result.wake_at)
