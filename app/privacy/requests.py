"""Privacy requests: report or erase everything about one shopper; erase a store.

    erase_shopper(session, store_id, email, order_refs=(), phone=None) -> list[int]
        Deletes the shopper's carts (found by address, phone number or order,
        with their sends and timeline) and every send addressed to them, by
        email or by text; keeps their unsubscribe entries, which must stay to
        honour the opt-out, and leaves tombstones (keyed hashes of the
        address, the numbers and the carts' keys) so no later delivery
        recreates them. A number on one of their carts is theirs: its other
        carts go too. Returns the deleted cart ids (cancel their timers after
        the commit).
    report_shopper(session, store_id, email, phone=None) -> dict
        Everything held about the address and number, as JSON-ready data.
    erase_store(session, store_id) -> list[int]
        The store and everything under it.
    data_requests(store, now) -> list[DataRequest]
        The platform's "what do you hold about this shopper" requests the
        store received (Shopify customers/data_request), newest first, each
        with its status: answered, open (due within 30 days) or overdue.
    mark_answered(session, store_id, request_id, now) -> bool
        The merchant sent the shopper their data.

Flask-free; used by the Shopify compliance webhooks, the CLI and the admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.core.addresses import normalize_email
from app.db.models import Activity, Cart, Send, Store, Suppression
from app.privacy import tombstones


def _delete_carts(session: Session, cart_ids: Sequence[int]) -> None:
    if not cart_ids:
        return
    session.execute(delete(Send).where(Send.cart_id.in_(cart_ids)))
    session.execute(delete(Activity).where(Activity.cart_id.in_(cart_ids)))
    session.execute(delete(Cart).where(Cart.id.in_(cart_ids)))


def _shoppers_carts(session: Session, store_id: int, address: str | None, phone: str | None,
                    order_refs: Sequence[str] = ()) -> tuple[list[Cart], list[str]]:
    """The shopper's carts (by address, number or order) and every identity they
    go by: the address, the number asked for and the numbers on those carts,
    whose carts are theirs too."""
    conditions = []
    if address:
        conditions.append(func.lower(Cart.email) == address)
    if phone:
        conditions.append(Cart.phone == phone)
    if order_refs:
        conditions.append(Cart.order_ref.in_(list(order_refs)))
    if not conditions:
        return [], []
    carts = list(session.scalars(select(Cart).where(Cart.store_id == store_id, or_(*conditions))
                                 .order_by(Cart.id)))
    phones = [p for p in dict.fromkeys([phone, *(c.phone for c in carts)]) if p]
    if set(phones) - {phone}:
        # A number first seen on a cart found by address: that number's other carts.
        known = {c.id for c in carts}
        carts += [c for c in session.scalars(select(Cart).where(
            Cart.store_id == store_id, Cart.phone.in_(phones)).order_by(Cart.id))
            if c.id not in known]
    return carts, [who for who in (address, *phones) if who]


def erase_shopper(session: Session, store_id: int, email: str | None,
                  order_refs: Sequence[str] = (), phone: str | None = None) -> list[int]:
    address = normalize_email(email)
    carts, who = _shoppers_carts(session, store_id, address, phone, order_refs)
    ids = [c.id for c in carts]
    store = session.get(Store, store_id)
    if store is not None:
        keys = [key for c in carts for key in (c.cart_key, c.checkout_key)]
        tombstones.bury(session, store, address, keys, datetime.now(UTC),
                        phones=[w for w in who if w != address])
    _delete_carts(session, ids)
    if who:
        session.execute(delete(Send).where(Send.store_id == store_id,
                                           func.lower(Send.address).in_(who)))
    return ids


def report_shopper(session: Session, store_id: int, email: str | None,
                   phone: str | None = None) -> dict[str, Any]:
    address = normalize_email(email) or ""
    carts, who = _shoppers_carts(session, store_id, address, phone)
    cart_ids = [c.id for c in carts]
    sends = session.scalars(select(Send).where(Send.store_id == store_id, or_(
        func.lower(Send.address).in_(who or [""]), Send.cart_id.in_(cart_ids or [-1])))
        .order_by(Send.created_at, Send.id)).all()
    clicks = session.scalars(select(Activity).where(Activity.cart_id.in_(cart_ids or [-1]),
                                                    Activity.kind == "click")).all()
    suppressions = session.scalars(select(Suppression).where(
        Suppression.store_id == store_id, Suppression.email.in_(who or [""]))).all()

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "email": address,
        "phones": [w for w in who if w != address],
        "carts": [{
            "cart_key": c.cart_key, "status": c.status, "first_name": c.first_name,
            "items": c.items, "total": str(c.total) if c.total is not None else None,
            "currency": c.currency, "locale": c.locale, "timezone": c.timezone,
            "country": c.country, "marketing_consent": c.marketing_consent,
            "phone": c.phone, "sms_consent": c.sms_consent,
            "return_url": c.return_url, "created_at": iso(c.created_at),
            "last_activity_at": iso(c.last_activity_at), "ordered_at": iso(c.ordered_at),
        } for c in carts],
        "reminders": [{"move": s.move, "channel": s.channel, "to": s.address,
                       "result": s.result,
                       "reason": s.reason, "at": iso(s.created_at)} for s in sends],
        "clicks": [iso(a.occurred_at) for a in clicks],
        "unsubscribed": [{"who": s.email, "scope": s.scope, "source": s.source,
                          "at": iso(s.created_at)}
                         for s in suppressions],
    }


def erase_store(session: Session, store_id: int) -> list[int]:
    ids = list(session.scalars(select(Cart.id).where(Cart.store_id == store_id)))
    _delete_carts(session, ids)
    session.execute(delete(Suppression).where(Suppression.store_id == store_id))
    session.execute(delete(Store).where(Store.id == store_id))
    return ids


def uninstalled_before(session: Session, now: datetime, days: int) -> list[int]:
    """Stores uninstalled more than `days` ago: their data is due for erasure."""
    cutoff = now - timedelta(days=days)
    return list(session.scalars(select(Store.id).where(
        Store.installed.is_(False), Store.uninstalled_at.is_not(None),
        Store.uninstalled_at < cutoff)))


# Shopify asks the merchant to answer a customer's data request within 30 days.
ANSWER_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class DataRequest:
    request_id: str
    customer_id: str
    received_at: datetime
    carts: int
    answered_at: datetime | None
    status: str  # answered | open | overdue

    @property
    def due_at(self) -> datetime:
        return self.received_at + ANSWER_WITHIN


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def data_requests(store: Store, now: datetime) -> list[DataRequest]:
    found = []
    for entry in (store.platform_state or {}).get("data_requests", []):
        received = _moment(entry.get("received_at"))
        if received is None:
            continue
        answered = _moment(entry.get("answered_at"))
        status = ("answered" if answered else
                  "overdue" if now > received + ANSWER_WITHIN else "open")
        found.append(DataRequest(str(entry.get("id") or ""), str(entry.get("customer_id") or ""),
                                 received, int(entry.get("carts") or 0), answered, status))
    return sorted(found, key=lambda r: r.received_at, reverse=True)


def mark_answered(session: Session, store_id: int, request_id: str, now: datetime) -> bool:
    store = session.get(Store, store_id, with_for_update=True)
    if store is None or not request_id:
        return False
    state = dict(store.platform_state or {})
    entries = [dict(e) for e in state.get("data_requests", [])]
    hit = [e for e in entries if str(e.get("id")) == request_id]
    for entry in hit:
        entry["answered_at"] = entry.get("answered_at") or now.isoformat()
    state["data_requests"] = entries
    store.platform_state = state
    return bool(hit)
