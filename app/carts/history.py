"""The database answers to the gates' `History` questions, for one store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.core.addresses import normalize_email
from app.db.models import Send, SendResult, ShopperLock, Store, Suppression
from app.db.session import dialect_insert
from app.privacy import tombstones

# Results that count as a message to the shopper (claimed: in flight; unknown:
# maybe delivered, never resent).
REACHED_SHOPPER = (SendResult.SENT.value, SendResult.CLAIMED.value, SendResult.UNKNOWN.value)


def lock_shoppers(session: Session, shoppers: Sequence[tuple[Store, str | None]],
                  now: datetime) -> None:
    """Hold each shopper's lock row until the caller's transaction ends, for a
    whole batch in one statement.

    An upsert, so it both creates the row and takes the lock: PostgreSQL
    row-locks it (a second claimer waits, then reads what the first wrote),
    SQLite's write lock does the same for the whole database. Locked in one
    order (store, digest) by every batch, so two processes claiming
    overlapping batches wait on each other instead of deadlocking.
    """
    rows = sorted({(store.id, tombstones.digest(store, "shopper", address))
                   for store, email in shoppers if (address := normalize_email(email))})
    if not rows:
        return
    stmt = dialect_insert(session)(ShopperLock)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["store_id", "shopper"],
                                   set_={"claimed_at": stmt.excluded.claimed_at}),
        [{"store_id": sid, "shopper": digest, "claimed_at": now} for sid, digest in rows])


class StoreHistory:
    def __init__(self, session: Session, store_id: int) -> None:
        self.session = session
        self.store_id = store_id

    def is_suppressed(self, email: str, cart_id: int) -> bool:
        address = normalize_email(email)
        query = select(
            exists().where(
                Suppression.store_id == self.store_id,
                Suppression.email == address,
                or_(Suppression.scope == "all", Suppression.cart_id == cart_id),
            )
        )
        return bool(self.session.scalar(query))

    def reminders_about_other_carts_since(self, email: str, cart_id: int,
                                          since: datetime) -> int:
        """Reminders sent (or in flight, or maybe sent) to this shopper about
        their other carts since `since`: what the frequency cap counts."""
        address = normalize_email(email)
        query = select(func.count()).select_from(Send).where(
            Send.store_id == self.store_id,
            func.lower(Send.address) == address,
            Send.cart_id != cart_id,
            Send.result.in_(REACHED_SHOPPER),
            Send.created_at >= since,
        )
        return int(self.session.scalar(query) or 0)
