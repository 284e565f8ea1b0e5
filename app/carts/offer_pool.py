"""A custom storefront's own recovery codes: the merchant uploads them, each
reminder that offers something takes one.

Cartback cannot make codes on a store it does not control, so a custom
storefront's merchant makes a batch of single-use codes in their own shop
system and uploads them (admin settings, "Offer codes"). A code is taken by
exactly one reminder, even with several scheduler processes sending at once:
on PostgreSQL the next free row is locked with SKIP LOCKED (a second taker
moves on to the next row instead of waiting) and the update only wins while
the row is still free; on SQLite writes take turns anyway.

A code taken for a reminder that then never reached the shopper (it failed,
was cancelled because the cart changed, or was deferred) goes back
(`give_back`): the shopper never saw it, and the pool is the merchant's stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import OfferCode

# A send's offer_ref for a pool code: not a platform id, never deleted by a sync.
REF_PREFIX = "pool:"
TRIES = 5
CHUNK = 500  # codes per lookup: SQLite caps a statement's parameters


@dataclass(frozen=True)
class Taken:
    id: int
    code: str


def take(session: Session, store_id: int, cart_id: int, now: datetime) -> Taken | None:
    """The next free code, now taken for this cart; None when the pool is empty."""
    for _ in range(TRIES):
        row = session.execute(
            select(OfferCode.id, OfferCode.code)
            .where(OfferCode.store_id == store_id, OfferCode.taken_at.is_(None))
            .order_by(OfferCode.id).limit(1)
            .with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        won = session.execute(
            update(OfferCode)
            .where(OfferCode.id == row.id, OfferCode.taken_at.is_(None))
            .values(taken_at=now, cart_id=cart_id)
            .execution_options(synchronize_session=False)).rowcount
        if won:
            return Taken(row.id, row.code)
    return None


def give_back(session: Session, ref: str | None) -> bool:
    """Free the code a send's `offer_ref` names; False when it is no pool code."""
    if not ref or not ref.startswith(REF_PREFIX) or not ref[len(REF_PREFIX):].isdigit():
        return False
    return bool(session.execute(
        update(OfferCode).where(OfferCode.id == int(ref[len(REF_PREFIX):]))
        .values(taken_at=None, cart_id=None)
        .execution_options(synchronize_session=False)).rowcount)


def add(session: Session, store_id: int, codes: list[str], now: datetime) -> int:
    """Add the codes this store's pool does not hold yet; returns how many were new."""
    added = 0
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start:start + CHUNK]
        known = set(session.scalars(select(OfferCode.code).where(
            OfferCode.store_id == store_id, OfferCode.code.in_(chunk))))
        new = [code for code in chunk if code not in known]
        session.add_all(OfferCode(store_id=store_id, code=code, added_at=now) for code in new)
        added += len(new)
    return added


@dataclass(frozen=True)
class PoolSize:
    free: int
    taken: int


def size(session: Session, store_id: int) -> PoolSize:
    total, taken = session.execute(
        select(func.count(), func.count(OfferCode.taken_at))
        .where(OfferCode.store_id == store_id)).one()
    return PoolSize(free=total - taken, taken=taken)
