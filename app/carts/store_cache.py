"""A store's row for the webhook hot path, read from the database at most every
STORE_TTL_S per process.

Every delivery needs its store before anything else (the secret to verify it,
the rules to apply it); reading the row each time was a sixth of an event's
cost. The copy handed out is detached from any session and read only.

How stale it can be: a change committed by this process (settings saved, an
uninstall, a rotated secret, a store deleted) clears the cache at once, through
the session events below; a change committed by another process reaches this
one's webhooks within STORE_TTL_S. For those seconds an uninstalled store's
deliveries may still be applied (as they would have been a moment earlier),
and a delivery signed with a just-rotated secret answers 401, which the
platform retries.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.core.rules import Rules
from app.db.models import Store
from app.db.session import Database

STORE_TTL_S = 2.0

_lock = threading.Lock()
# Bumped by every write to a Store row in this process: older copies are stale.
_generation = 0
_copies: weakref.WeakKeyDictionary[Database, dict[int, tuple[float, int, Store | None]]] = (
    weakref.WeakKeyDictionary())
# The rules of a copy handed out by `get`, read from its settings once.
_rules: weakref.WeakKeyDictionary[Store, Rules] = weakref.WeakKeyDictionary()


def get(db: Database, store_id: int, *, ttl_s: float = STORE_TTL_S,
        clock: Callable[[], float] = time.monotonic) -> Store | None:
    """The store (a detached copy), or None when there is no such store."""
    now = clock()
    with _lock:
        generation = _generation
        cached = _copies.get(db, {}).get(store_id)
    if cached is not None and cached[1] == generation and now - cached[0] < ttl_s:
        return cached[2]
    with db.new_session() as session:
        store = session.get(Store, store_id)
        if store is not None:
            session.expunge(store)
    if store is not None and not store.privacy_key:
        # tombstones would set the missing key on the row: leave that to a session.
        return store
    with _lock:
        if _generation == generation:
            _copies.setdefault(db, {})[store_id] = (now, generation, store)
    return store


def rules(store: Store) -> Rules:
    """The rules of a store copy from `get` (the copy is read only, so they hold
    as long as it does)."""
    with _lock:
        found = _rules.get(store)
    if found is None:
        found = Rules.for_store(store.settings, store.timezone)
        with _lock:
            _rules[store] = found
    return found


def _forget_all() -> None:
    global _generation
    with _lock:
        _generation += 1


# A write bumps the generation when it is made and again when it commits, so a
# copy read between the two (by another thread) is not kept either.
_WRITTEN = "cartback_store_written"


def _written(session: Session) -> None:
    session.info[_WRITTEN] = True
    _forget_all()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if any(isinstance(row, Store) for row in (*session.new, *session.dirty, *session.deleted)):
        _written(session)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements on the stores table skip the flush.
    if not state.is_select and state.bind_mapper is not None \
            and state.bind_mapper.class_ is Store:
        _written(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        _forget_all()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
