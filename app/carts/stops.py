"""Stopping carts by hand or by lifecycle: one rule, always on the timeline.

A stopped cart holds no timer and gets no move. Whoever stops it (the
merchant on one cart, an uninstall for a whole store) goes through here, so
every stop is the same status change plus one timeline row saying why. The
caller cancels the timers after its transaction commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.core.statuses import LIVE_STATUSES, CartStatus
from app.db.models import Activity, Cart


def stop_carts(session: Session, cart_ids: list[int], *, reason: str, why: str,
               now: datetime) -> list[int]:
    """Stop those of `cart_ids` that are still live; return the ids that were."""
    if not cart_ids:
        return []
    stopped = list(session.scalars(
        update(Cart)
        .where(Cart.id.in_(cart_ids), Cart.status.in_(LIVE_STATUSES))
        .values(status=CartStatus.STOPPED.value, ended_reason=reason, wake_at=None)
        .returning(Cart.id)))
    if stopped:
        session.execute(insert(Activity), [
            {"cart_id": cart_id, "kind": "stopped", "occurred_at": now, "recorded_at": now,
             "detail": {"reason": why}} for cart_id in stopped])
    return stopped


def stop_cart(session: Session, cart_id: int, *, reason: str, why: str,
              now: datetime) -> bool:
    """Stop one cart if it is live; False when it had already ended."""
    return bool(stop_carts(session, [cart_id], reason=reason, why=why, now=now))


def stop_store(session: Session, store_id: int, *, reason: str, why: str,
               now: datetime) -> list[int]:
    """Stop every live cart of a store (uninstall, erasure of the store)."""
    ids = list(session.scalars(
        select(Cart.id).where(Cart.store_id == store_id, Cart.status.in_(LIVE_STATUSES))))
    return stop_carts(session, ids, reason=reason, why=why, now=now)
