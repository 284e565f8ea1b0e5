"""Retention: carts stop holding personal data once they no longer need it.

After RETENTION_DAYS (default 30) since a cart's last event, its email, name,
phone number, items, return link, locale/timezone/country and consents are
erased, the addresses (and numbers) on its sends and the details of its
timeline too. Status, totals,
order totals, reminder times and send results stay, so the dashboard's
numbers do not move. The unsubscribe list is kept: it must be, to honour the
opt-out. Flask-free.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import LIVE_STATUSES, Activity, Cart, Send

DEFAULT_DAYS = 30


def purge(session: Session, now: datetime, days: int = DEFAULT_DAYS) -> int:
    """Erase personal data of carts idle for `days`; returns how many carts."""
    cutoff = now - timedelta(days=days)
    ids = list(session.scalars(select(Cart.id).where(
        Cart.last_event_at < cutoff,
        Cart.status.not_in(LIVE_STATUSES),  # a cart still waiting keeps what it needs
        Cart.erased_at.is_(None))))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(update(Cart).where(Cart.id.in_(chunk)).values(
            email=None, first_name=None, items=[], return_url=None, locale=None,
            timezone=None, country=None, marketing_consent=None, phone=None, sms_consent=None,
            erased_at=now))
        session.execute(update(Send).where(Send.cart_id.in_(chunk)).values(address=None))
        session.execute(update(Activity).where(Activity.cart_id.in_(chunk)).values(detail={}))
    return len(ids)
