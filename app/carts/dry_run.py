"""The dry run: what Cartback would send in the next hours, and why not, without doing it.

The same waiter (`decide`) and the same gate pipeline (`gates.run`) the wake
uses, on the rows as they stand, replayed in time order the way the timers
would fire (earliest first, then by cart id, as `wake_due` does). Nothing is
sent, claimed, locked or written: the session is only read, and the
reminders the run plans are remembered in memory so the frequency cap sees
them, as it would see the real ones. What it cannot know: events still to
come (an order, a cart change, an unsubscribe) and mail failures.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.carts.history import StoreHistory
from app.carts.sender import gate_context
from app.core import gates
from app.core.addresses import normalize_email
from app.core.rules import Rules
from app.core.waiter import MoveKind, decide
from app.db.models import LIVE_STATUSES, Cart, CartStatus, Store
from app.mail import breaker

# A cart moves at most this many times in one run (defer, first, second, give up...).
MAX_STEPS_PER_CART = 8


@dataclass(frozen=True)
class Planned:
    """One move a timer would make: `outcome` is send, skipped, deferred, held_out
    or give_up; `reason` says why not; `until` where a deferral moves the timer."""

    at: datetime
    store_id: int
    cart_id: int
    step: str
    channel: str
    outcome: str
    reason: str | None = None
    until: datetime | None = None
    email: str | None = None


@dataclass
class _State:
    """The waiter's view of one cart, advanced in memory as the run goes."""

    status: str
    last_activity_at: datetime
    stage: int
    stage_at: datetime | None


class _PlannedHistory:
    """The store's real history plus the reminders this run has planned so far."""

    def __init__(self, real: StoreHistory) -> None:
        self.real = real
        self.planned: list[tuple[str, int, datetime]] = []

    def is_suppressed(self, email: str, cart_id: int) -> bool:
        return self.real.is_suppressed(email, cart_id)

    def reminders_about_other_carts_since(self, email: str, cart_id: int,
                                          since: datetime) -> int:
        address = normalize_email(email)
        extra = sum(1 for e, c, at in self.planned if e == address and c != cart_id and at >= since)
        return self.real.reminders_about_other_carts_since(email, cart_id, since) + extra


def plan(session: Session, now: datetime, *, hours: float = 24, store_id: int | None = None,
         mail_backend: str = "outbox") -> list[Planned]:
    horizon = now + timedelta(hours=hours)
    query = select(Cart).where(Cart.wake_at.is_not(None), Cart.wake_at <= horizon,
                               Cart.status.in_(LIVE_STATUSES))
    if store_id is not None:
        query = query.where(Cart.store_id == store_id)
    carts = {cart.id: cart for cart in session.scalars(query.order_by(Cart.id))}
    stores: dict[int, tuple[Store, Rules, _PlannedHistory, datetime | None]] = {}
    states = {cid: _State(c.status, c.last_activity_at, c.stage, c.stage_at)
              for cid, c in carts.items()}
    queue = [(max(c.wake_at, now), cid) for cid, c in carts.items() if c.wake_at is not None]
    heapq.heapify(queue)
    steps = dict.fromkeys(carts, 0)
    planned: list[Planned] = []
    while queue:
        at, cart_id = heapq.heappop(queue)
        cart = carts[cart_id]
        if cart.store_id not in stores:
            store = cart.store
            pauses = breaker.open_pauses(session, mail_backend, store.id)
            stores[store.id] = (store, Rules.for_store(store.settings, store.timezone),
                                _PlannedHistory(StoreHistory(session, store.id)),
                                max((p.retry_at for p in pauses), default=None))
        store, rules, history, paused_until = stores[cart.store_id]
        entry, next_at = _step(cart, states[cart_id], store, rules, history, paused_until, at)
        if entry is not None:
            planned.append(entry)
        steps[cart_id] += 1
        if next_at is not None and next_at <= horizon and steps[cart_id] < MAX_STEPS_PER_CART:
            heapq.heappush(queue, (max(next_at, at), cart_id))
    return planned


def _step(cart: Cart, state: _State, store: Store, rules: Rules, history: _PlannedHistory,
          paused_until: datetime | None, at: datetime) -> tuple[Planned | None, datetime | None]:
    """One timer firing at `at`: what it would record, and when the timer fires next."""
    move = decide(state, at, rules)
    if move is None:
        return None, None
    if move.kind is MoveKind.WAIT:
        return None, move.until

    if move.kind is MoveKind.GIVE_UP:
        state.status = CartStatus.EXPIRED.value
        return Planned(at, store.id, cart.id, move.kind.value, gates.EMAIL, "give_up",
                       email=cart.email), None
    ctx = gate_context(cart, store, move.kind.value, at, rules, history, paused_until)
    address = cart.phone if ctx.channel == gates.SMS else cart.email

    def entry(outcome: str, reason: str | None = None, until: datetime | None = None) -> Planned:
        return Planned(at, store.id, cart.id, move.kind.value, ctx.channel, outcome, reason,
                       until, address)

    verdict = gates.run(ctx)
    if isinstance(verdict, gates.Defer):
        return entry("deferred", verdict.reason, verdict.until), verdict.until
    state.stage = 1 if move.kind is MoveKind.FIRST else 2
    state.stage_at = at
    if isinstance(verdict, gates.Skip):
        planned = entry("skipped", verdict.reason)
    elif isinstance(verdict, gates.HoldOut):
        planned = entry("held_out", "holdout")
    else:
        state.status = CartStatus.REMINDED.value
        history.planned.append((normalize_email(address) or "", cart.id, at))
        planned = entry("send")
    after = decide(state, at, rules)
    next_at = None if after is None else (after.until if after.kind is MoveKind.WAIT else at)
    return planned, next_at


REASON_WORDS = {
    "quiet_hours": "quiet hours", "mail_paused": "the mail provider paused sending",
    "recently_reminded": "frequency cap", "no_consent": "no marketing consent",
    "no_email": "no email address", "invalid_address": "undeliverable address",
    "unsubscribed": "unsubscribed", "paused": "reminders paused", "holdout": "holdout group",
    "no_phone": "no phone number for SMS", "no_sms_consent": "no SMS consent",
}


def describe(entry: Planned) -> str:
    """The outcome in words: "send", or why not."""
    if entry.outcome == "send":
        return "send"
    if entry.outcome == "give_up":
        return "give up (past the give-up age)"
    why = REASON_WORDS.get(entry.reason or "", entry.reason or "")
    if entry.outcome == "deferred" and entry.until is not None:
        return f"wait: {why}, until {entry.until:%Y-%m-%d %H:%M} UTC"
    if entry.outcome == "held_out":
        return "not sent: holdout group"
    return f"not sent: {why}"
