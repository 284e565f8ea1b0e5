"""The unsubscribe list: add (idempotently), remove, look up; addresses normalized."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.addresses import normalize_email
from app.db.models import Suppression

SOURCES = ("shopper_link", "one_click", "merchant", "import", "bounce", "complaint",
           "sms_stop")


def add(session: Session, store_id: int, email: str, *, scope: str = "all",
        cart_id: int | None = None, source: str, now: datetime) -> Suppression:
    """Add an entry unless the same one exists; returns the entry in force."""
    address = normalize_email(email)
    if not address:
        raise ValueError("an unsubscribe entry needs an email address")
    if scope not in ("all", "cart") or (scope == "cart" and cart_id is None):
        raise ValueError("scope is 'all', or 'cart' with a cart id")
    query = select(Suppression).where(Suppression.store_id == store_id,
                                      Suppression.email == address)
    existing = session.scalars(query).all()
    for entry in existing:
        if entry.scope == "all" or (scope == "cart" and entry.cart_id == cart_id):
            return entry
    entry = Suppression(store_id=store_id, email=address, scope=scope,
                        cart_id=cart_id if scope == "cart" else None, source=source,
                        created_at=now)
    session.add(entry)
    session.flush()
    return entry
