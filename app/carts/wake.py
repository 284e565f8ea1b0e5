"""What happens when a cart's timer fires: ask the waiter, act on its move.

`wake(runtime, cart_id, now)` is what the scheduler calls and what
`cartback wake-due` runs for every due cart. The row is the truth: a timer
that fires for a cart whose `wake_at` moved later does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from sqlalchemy import select

from app.carts import delivery_outcomes, offers, sender
from app.carts.intake import next_wake
from app.core.rules import Rules
from app.core.waiter import MoveKind, decide
from app.db.models import LIVE_STATUSES, Cart, CartStatus, Send, Store
from app.errors import DeliveryError, MailPaused, Overtaken
from app.logs import add_context, log_context
from app.mail import breaker
from app.mail.templates import overrides_for
from app.metrics import WAKE_FAILURES
from app.runtime import Runtime
from app.stores import from_address

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WakeResult:
    cart_id: int
    move: str | None
    result: str
    reason: str | None = None
    wake_at: datetime | None = None
    late_s: float | None = None  # how long after its due time this wake ran

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["wake_at"] = self.wake_at.isoformat() if self.wake_at else None
        data.pop("late_s")
        return data


def wake(runtime: Runtime, cart_id: int, now: datetime) -> WakeResult:
    with log_context(cart_id=cart_id):
        result, due = _wake(runtime, cart_id, now)
    runtime.timers.set(cart_id, result.wake_at)
    if due is not None:
        result = replace(result, late_s=(now - due).total_seconds())
    return result


def _wake(runtime: Runtime, cart_id: int,
          now: datetime) -> tuple[WakeResult, datetime | None]:
    with runtime.db.transaction() as session:
        cart = session.get(Cart, cart_id, with_for_update=True)
        if cart is None:
            return WakeResult(cart_id, None, "gone"), None
        if cart.wake_at is None or cart.wake_at > now:
            return WakeResult(cart_id, None, "not_due", wake_at=cart.wake_at), None
        due = cart.wake_at
        store = cart.store
        add_context(store_id=store.id)  # known only once the row is read
        rules = Rules.for_store(store.settings, store.timezone)
        move = decide(cart, now, rules)
        if move is None:
            cart.wake_at = None
            return WakeResult(cart_id, None, "no_move"), due
        if move.kind is MoveKind.WAIT:
            cart.wake_at = move.until
            return WakeResult(cart_id, "wait", "rescheduled", wake_at=move.until), due
        if move.kind is MoveKind.GIVE_UP:
            cart.status = CartStatus.EXPIRED.value
            cart.ended_reason = "gave_up"
            cart.wake_at = None
            return WakeResult(cart_id, "give_up", "expired"), due

        paused_until = breaker.wait_until(session, runtime.mailer.name, store.id, now)
        attempt = sender.gate_and_claim(session, cart, store, move.kind.value, now, rules,
                                        mail_paused_until=paused_until)
        if attempt.result != "claimed":
            if attempt.result != "deferred":
                cart.wake_at = next_wake(cart, now, rules)
            return WakeResult(cart_id, move.kind.value, attempt.result, attempt.reason,
                              cart.wake_at), due
        send_id, channel = attempt.send_id, attempt.channel
        claimed = sender.fingerprint(cart)
        overrides = overrides_for(session, store.id)

    def still_current() -> str | None:
        with runtime.db.new_session() as check:
            return sender.why_not_send(check, cart_id, send_id, claimed)

    # Outside any transaction: rendering, the model call and the mail server
    # may each take a while, and the claim already protects against a twin.
    # The message is built from the row as claimed; `still_current` re-reads
    # it just before the hand-over, so an update meanwhile means no send.
    # Issue 16: a step's offer code is made only now, once every gate passed
    # and the send is claimed; a platform error means no offer, not no reminder.
    offer = rules.offer_for(move.kind.value)
    minted = offers.mint(runtime, store, cart, move.kind.value, offer, now) if offer else None
    delivered: sender.Delivered | None = None
    error: DeliveryError | None = None
    overtaken: str | None = None
    try:
        delivered = sender.compose_and_deliver(
            cart, store, move.kind.value, now, links=runtime.links, mailer=runtime.mailer,
            polisher=runtime.polisher, overrides=overrides,
            unsubscribe_mailto=runtime.config.get("UNSUBSCRIBE_MAILTO"),
            default_from=_from_default(store, runtime),
            still_current=still_current, offer=minted, channel=channel, texter=runtime.texter,
        )
    except DeliveryError as err:
        error = err
    except Overtaken as err:
        overtaken = err.reason

    with runtime.db.transaction() as session:
        cart = session.get(Cart, cart_id, with_for_update=True, populate_existing=True)
        send = session.get(Send, send_id, populate_existing=True)
        if overtaken is not None:
            outcome = sender.release_claim(session, cart, send, now, overtaken)
        elif cart is not None and send is not None and isinstance(error, MailPaused):
            # The provider refuses everything: defer, never burn the reminder.
            outcome = delivery_outcomes.defer_for_pause(
                session, cart, send, error, now, backend=runtime.mailer.name,
                timing=breaker.Timing.from_config(runtime.config))
        elif cart is not None and send is not None and error is not None and error.ambiguous:
            # Maybe delivered: never resend.
            outcome = delivery_outcomes.record_unknown(session, cart, send, error, now)
        else:
            outcome = sender.record_delivery(session, cart, send, now, delivered, error)
            if delivered is not None and delivered.channel == "email":
                breaker.close(session, runtime.mailer.name, store.id, now)
        offers.remember(session, send, minted)
        if cart is None:
            return WakeResult(cart_id, move.kind.value, outcome.result, outcome.reason), due
        if outcome.until is None and cart.status in LIVE_STATUSES and cart.store.installed:
            cart.wake_at = next_wake(cart, now, rules)
        return (WakeResult(cart_id, move.kind.value, outcome.result, outcome.reason,
                           cart.wake_at), due)


def _from_default(store: Store, runtime: Runtime) -> str:
    """The settings default for a store without its own From address, said aloud
    until the merchant sets one (admin settings, "From address")."""
    if not store.from_email:
        log.warning("store has no From address: sending from the default",
                    extra={"store_id": store.id})
    return from_address(store.from_email, runtime.config)


def due_cart_ids(runtime: Runtime, now: datetime, batch: int = 500) -> Iterator[int]:
    """Ids of live carts whose wake_at is at or before `now`, oldest first."""
    last_id = 0
    while True:
        with runtime.db.new_session() as session:
            ids = list(session.scalars(
                select(Cart.id)
                .where(Cart.wake_at <= now, Cart.status.in_(LIVE_STATUSES), Cart.id > last_id)
                .order_by(Cart.id)
                .limit(batch)
            ))
        if not ids:
            return
        yield from ids
        last_id = ids[-1]


def _wake_or_report(runtime: Runtime, cart_id: int, now: datetime) -> WakeResult:
    """One cart's failure is reported and counted, and never stops the rest of a run.

    The row keeps its wake_at, so the next run (or the cart's timer) retries it.
    """
    try:
        return wake(runtime, cart_id, now)
    except Exception as err:  # noqa: BLE001 - reported as the cart's result
        WAKE_FAILURES.inc()
        log.exception("wake failed", extra={"cart_id": cart_id})
        return WakeResult(cart_id, None, "error", type(err).__name__)


def _chunks(ids: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for cart_id in ids:
        chunk.append(cart_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def wake_due(runtime: Runtime, now: datetime) -> list[WakeResult]:
    """Run every wake due at `now`, as if it were that moment (see `iter_wake_due`)."""
    return list(iter_wake_due(runtime, now))


def iter_wake_due(runtime: Runtime, now: datetime) -> Iterator[WakeResult]:
    """Run every wake due at `now`, yielding each result as its batch is done.

    A wake that reschedules to a time still at or before `now` (a deferral
    that ends before `now`, say) runs again, so moving through time with this
    command behaves like timers firing one after another. Carts go in
    batches (app.carts.batch), a few transactions per batch, not per cart,
    and nothing is kept per cart but the ids that failed: a backlog of any
    size runs in flat memory.
    """
    from app.carts.batch import BATCH, wake_batch

    failed: set[int] = set()
    for _ in range(4):  # first, second, give-up: a bounded number of rounds
        again = False
        for ids in _chunks((i for i in due_cart_ids(runtime, now, BATCH) if i not in failed),
                           BATCH):
            for result in wake_batch(runtime, ids, now, _wake_or_report):
                if result.result == "error":
                    failed.add(result.cart_id)
                again = again or (result.wake_at is not None and result.wake_at <= now)
                yield result
        if not again:
            break
