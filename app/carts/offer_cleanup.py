"""Expired, unused recovery codes come off the platform (run by each platform's periodic sync).

Only codes Cartback made (a send's `offer_ref`, the id the platform gave at
creation) of the platform's own stores; only once expired, with a grace hour
so an order placed at the last minute can arrive first (webhook or the sync's
own reconciliation); only when no order used the code: not by our records
(`offer_used_at`, set by intake) and not by the platform's own count, asked
just before the delete. Deleting is idempotent: a code already gone counts as
deleted. An error is logged and the code is tried again at the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import integrations
from app.db.models import Send, Store
from app.errors import OfferError
from app.runtime import Runtime

log = logging.getLogger(__name__)

GRACE = timedelta(hours=1)
LIMIT = 200  # codes per store and sync: a backlog shrinks over a few runs
# Consecutive errors after which a store's run stops (its API is down or the
# token is gone): the rest wait for the next sync rather than hammer it.
MAX_ERRORS = 3

Remover = Callable[[Runtime, Store, str, datetime], bool]


@dataclass
class Swept:
    deleted: int = 0
    kept_used: int = 0
    failed: int = 0


def due(session: Session, store_id: int, now: datetime) -> list[tuple[int, str]]:
    """(send id, platform id) of this store's codes to delete now, oldest first."""
    return [(send_id, ref) for send_id, ref in session.execute(
        select(Send.id, Send.offer_ref)
        .where(Send.store_id == store_id, Send.offer_ref.is_not(None),
               Send.offer_expires_at <= now - GRACE, Send.offer_used_at.is_(None),
               Send.offer_removed_at.is_(None))
        .order_by(Send.offer_expires_at, Send.id).limit(LIMIT))]


def sweep(runtime: Runtime, store_id: int, now: datetime, remove: Remover) -> Swept:
    swept = Swept()
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        codes = due(session, store_id, now) if store is not None else []
    errors_in_a_row = 0
    for send_id, ref in codes:
        assert store is not None  # codes are read only for a store that exists
        try:
            gone = remove(runtime, store, ref, now)
        except OfferError as err:
            swept.failed += 1
            errors_in_a_row += 1
            log.warning("expired offer code not deleted; tried again at the next sync",
                        extra={"store_id": store_id, "send_id": send_id,
                               "error": str(err)[:200]})
            if errors_in_a_row >= MAX_ERRORS:
                break
            continue
        errors_in_a_row = 0
        with runtime.db.transaction() as session:
            send = session.get(Send, send_id)
            if send is None:
                continue
            if gone:
                send.offer_removed_at = now
                swept.deleted += 1
            else:
                # Used by an order we never heard of: kept, and never asked again.
                send.offer_used_at = now
                swept.kept_used += 1
    if codes:
        log.info("expired offer codes swept", extra={
            "store_id": store_id, "deleted": swept.deleted, "kept_used": swept.kept_used,
            "failed": swept.failed})
    return swept


def sweep_platform(runtime: Runtime, platform: str, now: datetime) -> dict[int, Swept]:
    """Every installed store of the platform; one store's failure stops no other."""
    remove = integrations.get(platform).remove_offer
    if remove is None:
        return {}
    with runtime.db.new_session() as session:
        ids = list(session.scalars(select(Store.id).where(
            Store.platform == platform, Store.installed.is_(True)).order_by(Store.id)))
    return {store_id: sweep(runtime, store_id, now, remove) for store_id in ids}
