"""Intake: apply one CartEvent to the one row of its cart.

Idempotent (a delivery id seen before is a no-op) and order-safe (an event
older than what the row already reflects never overwrites it; an order is
sticky). Returns the cart's new wake time so the caller can tell the
scheduler after the transaction commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from app.carts.lookup import find_by_keys, find_row_by_keys
from app.core.addresses import normalize_email
from app.core.rules import Rules
from app.core.waiter import MoveKind, decide
from app.db.models import (
    FINAL_STATUSES,
    Activity,
    Cart,
    CartStatus,
    Delivery,
    Send,
    Store,
)
from app.db.session import insert_for_dialect
from app.mail.headers import printable
from app.privacy import tombstones
from platforms.base import CartEvent, EventKind

log = logging.getLogger(__name__)

# An event dated further ahead of our clock than this is treated as happening
# now (clamped, never refused: a platform retries or disables a webhook that
# keeps failing). Without it, one event dated years ahead would make every
# later real event look stale.
FUTURE_TOLERANCE = timedelta(minutes=5)

# Fields copied from an event onto the row when the event carries them.
DATA_FIELDS = (
    "email", "first_name", "timezone", "locale", "country", "currency", "total",
    "return_url", "marketing_consent", "phone", "sms_consent",
)


@dataclass(frozen=True)
class Applied:
    cart_id: int | None
    outcome: str  # created | changed | unchanged | stale | ignored | duplicate | ordered | deleted
    # | erased
    wake_at: datetime | None = None
    status: str | None = None


@lru_cache(maxsize=4)
def _claim_statement(dialect: str) -> Any:
    """Built once per dialect, on the table: the hot path pays for neither
    statement construction nor the ORM's bulk-insert bookkeeping."""
    insert_ = insert_for_dialect(dialect)
    table = Delivery.__table__
    return (insert_(table)
            .values(store_id=bindparam("store_id"), delivery_id=bindparam("delivery_id"),
                    received_at=bindparam("received_at"))
            .on_conflict_do_nothing(index_elements=["store_id", "delivery_id"])
            .returning(table.c.id))


def claim_delivery(session: Session, store_id: int, delivery_id: str) -> bool:
    """Record a delivery id; False when it was seen before (across processes too)."""
    connection = session.connection()
    # RETURNING yields a row only when the insert happened (rowcount is not
    # reliable across drivers for ON CONFLICT DO NOTHING).
    return connection.execute(
        _claim_statement(connection.dialect.name),
        {"store_id": store_id, "delivery_id": delivery_id[:255],
         "received_at": datetime.now(UTC)},
    ).first() is not None


def _find_ordered_cart(session: Session, event: CartEvent) -> Cart | None:
    """An order's cart by its own key, else by any second key it carries (locked).

    Only an order looks a cart up by the cart's `checkout_key`: a WooCommerce
    storefront cart keeps its `cart_hash` there, a hash of the cart's
    contents that two shoppers with identical carts share, so a cart update
    must never find another shopper's row by it (`_cart_row` does not). When
    an order's keys name more than one cart (identical carts again), the one
    with the order's email is the one bought.
    """
    keys = [event.cart_key, event.checkout_key, *event.aliases]
    cart = find_by_keys(session, event.store_id, keys, lock=True)
    email = normalize_email(event.email)
    if cart is not None and email and cart.email and normalize_email(cart.email) != email:
        same_shopper = session.scalars(
            select(Cart).where(Cart.store_id == event.store_id,
                               Cart.checkout_key.in_([k for k in keys if k]),
                               func.lower(Cart.email) == email)
            .limit(1).with_for_update()).first()
        cart = same_shopper or cart
    return cart


def _find_by_order(session: Session, event: CartEvent) -> Cart | None:
    """The cart an earlier delivery of this same order already ended (an
    `orders/paid` after `orders/create`, a second subscription): linked by
    email, it is known by its order reference, not by any key the order names."""
    if not event.order_ref:
        return None
    return session.scalars(
        select(Cart).where(Cart.store_id == event.store_id,
                           Cart.status.in_((CartStatus.BOUGHT.value,
                                            CartStatus.RECOVERED.value)),
                           Cart.order_ref == event.order_ref)
        .limit(1).with_for_update()).first()


def _find_by_email(session: Session, event: CartEvent, rules: Rules) -> Cart | None:
    """Link an order that names no known cart to the shopper's recent live cart."""
    email = normalize_email(event.email)
    if not email:
        return None
    since = event.occurred_at - rules.attribution_window
    return session.scalars(
        select(Cart)
        .where(Cart.store_id == event.store_id)
        .where(func.lower(Cart.email) == email)
        .where(Cart.status.not_in(FINAL_STATUSES))
        .where(Cart.last_activity_at >= since)
        .order_by(Cart.last_activity_at.desc())
        .limit(1)
        .with_for_update()
    ).first()


_CARTS = Cart.__table__


class CartRow:
    """A cart read as a plain row, for the hot path of a cart change: read like
    a `Cart`; what is set to a new value is remembered and written back by
    `write` in one UPDATE (the ORM's identity map and flush were a third of an
    event's cost). A value set back to what was read is no change, as in the ORM.
    """

    __slots__ = ("_read", "_values")

    def __init__(self, row: Row[Any]) -> None:
        read = dict(zip(row._fields, row, strict=True))
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "_values", read.copy())

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(name)
        self._values[name] = value

    def write(self, connection: Connection) -> None:
        changes = {name: value for name, value in self._values.items()
                   if value != self._read[name]}
        if changes:
            connection.execute(_update_statement(tuple(sorted(changes))),
                               {"row_id": self._read["id"],
                                **{f"new_{name}": value for name, value in changes.items()}})
            self._read.update(changes)


@lru_cache(maxsize=256)
def _update_statement(names: tuple[str, ...]) -> Any:
    """Built once per set of changed columns (a handful occur): building and
    compiling an UPDATE for every event cost more than running it.
    `updated_at` is the column's own onupdate, as with the ORM."""
    return (update(_CARTS).where(_CARTS.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}", type_=_CARTS.c[name].type)
                     for name in names}))


@lru_cache(maxsize=4)
def _create_statement(dialect: str) -> Any:
    """Built once per dialect, on the table (as `_claim_statement`); returns
    the whole new row, so a new cart needs no read after its insert."""
    table = _CARTS
    return (insert_for_dialect(dialect)(table)
            .values(store_id=bindparam("store_id"), cart_key=bindparam("cart_key"),
                    status=CartStatus.ACTIVE.value, items=[],
                    last_activity_at=bindparam("occurred_at"),
                    last_event_at=bindparam("occurred_at"), stage=0, reminders_sent=0,
                    attempts=0, saved_link=False, created_at=bindparam("occurred_at"),
                    updated_at=bindparam("now"))
            .on_conflict_do_nothing(index_elements=["store_id", "cart_key"])
            .returning(*table.c))


_CREATED = (select(Cart).where(Cart.store_id == bindparam("store_id"),
                               Cart.cart_key == bindparam("cart_key"))
            .with_for_update().execution_options(populate_existing=True))


def _insert(connection: Connection, event: CartEvent, now: datetime) -> Row[Any] | None:
    """The new row, or None when a concurrent delivery just inserted it."""
    return connection.execute(
        _create_statement(connection.dialect.name),
        # updated_at is when we wrote it (the scheduler follows changes by
        # this), not when the shopper acted.
        {"store_id": event.store_id, "cart_key": event.cart_key,
         "occurred_at": event.occurred_at, "now": now}).first()


def _create(session: Session, event: CartEvent, now: datetime) -> tuple[Cart, bool]:
    """Insert the row unless a concurrent delivery just did; lock it either way."""
    created = _insert(session.connection(), event, now) is not None
    return session.scalars(_CREATED, {"store_id": event.store_id,
                                      "cart_key": event.cart_key}).one(), created


def _cart_row(connection: Connection, event: CartEvent, now: datetime) -> tuple[CartRow, bool]:
    """A cart change's row (locked), inserted when no key names one yet: by its
    own key, else by any second key it carries (never by the event's
    `checkout_key`, see `_find_ordered_cart`)."""
    keys = [event.cart_key, *event.aliases]
    row = find_row_by_keys(connection, event.store_id, keys)
    if row is not None:
        return CartRow(row), False
    row = _insert(connection, event, now)
    if row is not None:
        return CartRow(row), True
    # A concurrent delivery inserted it first; its insert committed before ours
    # could conflict, so the row is there to lock now.
    row = find_row_by_keys(connection, event.store_id, keys)
    assert row is not None
    return CartRow(row), False


def _merge(cart: Cart | CartRow, event: CartEvent) -> bool:
    """Copy what the event says onto the row; True when anything changed."""
    changed = False
    for name in DATA_FIELDS:
        value = getattr(event, name)
        if value is None:
            continue
        if name == "email":
            value = value.strip()
        if name == "first_name":
            # Stored as printable text (no control characters, no encoded-word
            # syntax): it ends up in a Subject header. See app.mail.headers.
            value = printable(value, 200) or None
        if getattr(cart, name) != value:
            setattr(cart, name, value)
            changed = True
    if event.items is not None:
        items = [item.to_json() for item in event.items]
        if cart.items != items:
            cart.items = items
            changed = True
    if event.saved_link and not cart.saved_link:
        cart.saved_link = True
        changed = True
    if event.checkout_key and cart.checkout_key != event.checkout_key:
        cart.checkout_key = event.checkout_key
    return changed


def _reset_clock(cart: Cart | CartRow, event: CartEvent) -> None:
    cart.last_activity_at = event.occurred_at
    cart.attempts = 0
    # A move that was only skipped (no email yet, quiet hours...) gets a new
    # chance after the shopper changes the cart; a sent reminder stays sent.
    if cart.stage > cart.reminders_sent:
        cart.stage = cart.reminders_sent
        cart.stage_at = cart.last_reminded_at
    if cart.status == CartStatus.EXPIRED.value and cart.items:
        cart.status = (CartStatus.REMINDED if cart.reminders_sent else CartStatus.ACTIVE).value
        cart.ended_reason = None


# A plain INSERT on the table: the timeline row is never read back in this
# transaction, so it needs none of the ORM's unit-of-work bookkeeping.
_TIMELINE = insert(Activity.__table__)


def _record(session: Session, cart: Cart | CartRow, kind: str, event: CartEvent,
            **detail: Any) -> None:
    payload: dict[str, Any] = {"source_kind": event.kind.value}
    if event.delivery_id:
        payload["delivery_id"] = event.delivery_id
    payload.update(detail)
    session.connection().execute(_TIMELINE, {
        "cart_id": cart.id, "kind": kind, "occurred_at": event.occurred_at,
        "recorded_at": datetime.now(UTC), "detail": payload})


def next_wake(cart: Cart | CartRow, now: datetime, rules: Rules) -> datetime | None:
    move = decide(cart, now, rules)
    if move is None:
        return None
    if move.kind is MoveKind.WAIT:
        return move.until
    return now  # due already (e.g. the event happened long before it reached us)


def apply(session: Session, store: Store, event: CartEvent, now: datetime,
          rules: Rules | None = None) -> Applied:
    """Apply `event` inside the caller's transaction."""
    rules = rules or Rules.for_store(store.settings, store.timezone)
    if event.delivery_id and not claim_delivery(session, store.id, event.delivery_id):
        return Applied(None, "duplicate")
    if event.event_id and not claim_delivery(session, store.id, event.event_id):
        return Applied(None, "duplicate")
    event = _clamp_future(event, now)
    if tombstones.is_erased(session, store, normalize_email(event.email),
                            [event.cart_key, event.checkout_key, *event.aliases],
                            phone=event.phone):
        # An erased shopper stays erased: a late or retried delivery recreates nothing.
        log.info("event for an erased shopper ignored",
                 extra={"store_id": store.id, "kind": event.kind.value})
        return Applied(None, "erased")

    if event.kind is EventKind.ORDERED:
        return _apply_order_event(session, event, now, rules)
    connection = session.connection()
    # An order earlier in the same delivery went through the ORM: its changes
    # must reach the table before the row is read, and its objects must not
    # outlive the row's write (a later order reads its cart afresh).
    orm_used = bool(session.identity_map)
    if orm_used:
        session.flush()
    cart, created = _cart_row(connection, event, now)
    applied = _apply_change(session, cart, created, event, now, rules)
    cart.write(connection)
    if orm_used:
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, Cart):
                session.expire(loaded)
    return applied


def _apply_change(session: Session, cart: CartRow, created: bool, event: CartEvent,
                  now: datetime, rules: Rules) -> Applied:
    """A cart update, checkout or deletion on its row; the caller writes the row."""
    if cart.erased_at is not None:
        # Retention erased it: a late event must not bring the personal data back.
        _record(session, cart, "ignored", event, reason="cart data erased")
        return Applied(cart.id, "ignored", cart.wake_at, cart.status)
    if cart.status in FINAL_STATUSES:
        # Sticky: a cart update after the order never revives a bought cart.
        _record(session, cart, "ignored", event, reason=f"cart is {cart.status}")
        return Applied(cart.id, "ignored", cart.wake_at, cart.status)
    if not created and event.occurred_at < cart.last_event_at:
        _record(session, cart, "stale", event, newer=cart.last_event_at.isoformat())
        return Applied(cart.id, "stale", cart.wake_at, cart.status)
    cart.last_event_at = event.occurred_at

    if event.kind is EventKind.DELETED:
        cart.status = CartStatus.EXPIRED.value
        cart.ended_reason = "deleted"
        cart.wake_at = None
        _record(session, cart, event.kind.value, event)
        return Applied(cart.id, "deleted", None, cart.status)

    changed = _merge(cart, event) or created or event.kind is EventKind.CHECKOUT_STARTED
    if changed:
        _reset_clock(cart, event)
    if not cart.items and cart.status in (CartStatus.ACTIVE.value, CartStatus.REMINDED.value):
        cart.status = CartStatus.EXPIRED.value
        cart.ended_reason = "emptied"
    cart.wake_at = next_wake(cart, now, rules)
    _record(session, cart, event.kind.value, event, changed=changed)
    outcome = "created" if created else ("changed" if changed else "unchanged")
    return Applied(cart.id, outcome, cart.wake_at, cart.status)


def _apply_order_event(session: Session, event: CartEvent, now: datetime,
                       rules: Rules) -> Applied:
    """An order, through the ORM (a few in a hundred events): it may link a
    cart by order reference or by email and marks the offer it used."""
    cart = (_find_ordered_cart(session, event) or _find_by_order(session, event)
            or _find_by_email(session, event, rules))
    if cart is None:
        cart, _created = _create(session, event, now)
    if cart.erased_at is not None:
        _record(session, cart, "ignored", event, reason="cart data erased")
        return Applied(cart.id, "ignored", cart.wake_at, cart.status)
    return _apply_order(session, cart, event, rules)


def _clamp_future(event: CartEvent, now: datetime) -> CartEvent:
    if event.occurred_at <= now + FUTURE_TOLERANCE:
        return event
    log.warning("event dated in the future: treated as now",
                extra={"store_id": event.store_id, "ahead_s":
                       int((event.occurred_at - now).total_seconds())})
    return replace(event, occurred_at=now)


def _apply_order(session: Session, cart: Cart, event: CartEvent, rules: Rules) -> Applied:
    if cart.status in (CartStatus.BOUGHT.value, CartStatus.RECOVERED.value):
        _record(session, cart, "ignored", event, reason="order already recorded")
        return Applied(cart.id, "ignored", None, cart.status)
    reminded = cart.last_reminded_at
    recovered = (
        reminded is not None
        and reminded <= event.occurred_at
        and event.occurred_at - reminded <= rules.attribution_window
    )
    cart.status = (CartStatus.RECOVERED if recovered else CartStatus.BOUGHT).value
    cart.ended_reason = "ordered"
    cart.ordered_at = event.occurred_at
    cart.order_ref = event.order_ref or cart.order_ref
    cart.order_total = event.total if event.total is not None else cart.total
    if event.currency and not cart.currency:
        cart.currency = event.currency
    if event.email and not cart.email:
        cart.email = event.email.strip()
    cart.last_event_at = max(cart.last_event_at, event.occurred_at)
    cart.wake_at = None
    offer = _offer_used(session, cart, event.discount_codes, event.occurred_at)
    if offer:
        _record(session, cart, "ordered", event, status=cart.status, offer_code=offer)
    else:
        _record(session, cart, "ordered", event, status=cart.status)
    return Applied(cart.id, "ordered", None, cart.status)


def _offer_used(session: Session, cart: Cart, codes: tuple[str, ...],
                when: datetime) -> str | None:
    """The recovery code of this cart's reminders the order used, if any (codes compared
    case-insensitively: WooCommerce lowercases them). Its send is marked used, so the
    periodic sync never deletes a code an order carries."""
    wanted = {code.casefold() for code in codes}
    if not wanted:
        return None
    sends = session.scalars(select(Send).where(Send.cart_id == cart.id,
                                               Send.offer_code.is_not(None)))
    used = next((send for send in sends if send.offer_code
                 and send.offer_code.casefold() in wanted), None)
    if used is None:
        return None
    used.offer_used_at = used.offer_used_at or when
    return used.offer_code
