"""The merchant's cart list and one cart's timeline, always scoped to a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.addresses import normalize_email
from app.db.models import Activity, Cart, CartStatus, Send

STATUSES = tuple(s.value for s in CartStatus)
PAGE_SIZE = 25


@dataclass(frozen=True)
class Page:
    carts: list[Cart]
    total: int
    page: int
    pages: int


def list_carts(session: Session, store_id: int, *, status: str | None = None,
               email: str | None = None, page: int = 1) -> Page:
    query = select(Cart).where(Cart.store_id == store_id)
    if status in STATUSES:
        query = query.where(Cart.status == status)
    needle = normalize_email(email)
    if needle:
        query = query.where(func.lower(Cart.email).contains(needle, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    carts = session.scalars(query.order_by(Cart.last_activity_at.desc(), Cart.id.desc())
                            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return Page(list(carts), total, page, pages)


def get_cart(session: Session, store_id: int, cart_id: int) -> Cart | None:
    """The cart only if it belongs to this store (another store's id is 'not found')."""
    return session.scalars(select(Cart).where(Cart.id == cart_id,
                                              Cart.store_id == store_id)).first()


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str


EVENT_TITLES = {
    "updated": "Cart updated", "checkout_started": "Checkout started", "ordered": "Order placed",
    "deleted": "Cart deleted", "stale": "Late event ignored (older than what we had)",
    "ignored": "Event ignored", "click": "Clicked the return link", "stopped": "Stopped",
    "unsubscribed": "Unsubscribed", "bounced": "Reminder bounced (the mail provider said so)",
}


SEND_WORDS = {"held_out": "held back: holdout group, nothing sent"}


def _stop_title(why: str) -> str:
    if why in ("", "stopped by the merchant"):  # rows written before stops said why
        why = "by you" if why else ""
    return f"Stopped {why}".strip()


def timeline(session: Session, cart: Cart) -> list[Entry]:
    entries = []
    for activity in session.scalars(select(Activity).where(Activity.cart_id == cart.id)):
        detail: dict[str, Any] = activity.detail or {}
        note = ", ".join(f"{k}: {v}" for k, v in detail.items()
                         if k in ("status", "reason", "scope", "offer_code", "source"))
        title = EVENT_TITLES.get(activity.kind, activity.kind)
        if activity.kind == "stopped":
            # The stop's own words say who stopped it ("by you", "because ...").
            title, note = _stop_title(str(detail.get("reason") or "")), ""
        entries.append(Entry(activity.occurred_at, activity.kind, title, note))
    for send in session.scalars(select(Send).where(Send.cart_id == cart.id)):
        by = " by SMS" if send.channel == "sms" else ""
        title = (f"{send.move.capitalize()} reminder{by} "
                 f"{SEND_WORDS.get(send.result, send.result)}")
        bits = [send.reason or ""] if send.result != "held_out" else []
        if send.result == "sent" and send.channel == "sms":
            bits.append(f"texted to {send.address}" if send.address else "")
        elif send.result == "sent":
            bits.append("polished opening line" if send.polished else "plain opening line")
            if send.offer_code:
                bits.append(f"offer code {send.offer_code}" + (
                    " (deleted from the store once it expired unused)"
                    if send.offer_removed_at else ""))
        entries.append(Entry(send.created_at, f"send-{send.result}", title,
                             ", ".join(b for b in bits if b)))
    # At the same instant a reminder comes before what it caused (a click, an
    # unsubscribe, a stop); Python's sort is stable for the rest.
    return sorted(entries, key=lambda e: (e.at, not e.kind.startswith("send-")))
