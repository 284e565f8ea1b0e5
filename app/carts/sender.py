"""The sender: one reminder attempt through the gates, claimed, composed, delivered.

Three steps, each in its own transaction so no lock is held while a model or
a mail server is slow:

1. `gate_and_claim` (inside the waiter's transaction): run the gates; a skip
   or a deferral is written as a Send row; a pass writes a `claimed` Send row,
   which the partial unique index allows once per (cart, move), and leases the
   cart's timer so no other wake touches it meanwhile.
2. `compose_and_deliver`: render, polish, build and hand to the backend.
3. `record_delivery`: mark the claim `sent` (or `failed`) and advance the cart.

A crash between 1 and 3 leaves a `claimed` row: the next wake sees it and
moves on without sending (one missing email, logged), never a second email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.carts.history import StoreHistory
from app.core import addresses, gates
from app.core.rules import Rules, effective
from app.db.models import Cart, CartStatus, Send, SendResult, Store
from app.errors import DeliveryError
from app.mail import compose
from app.mail.backends import Mailer
from app.mail.backoff import retry_delay
from app.mail.links import Links
from app.mail.message import Envelope, build
from app.runtime import Polisher
from app.stores import from_address

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)
MAX_TRANSIENT_ATTEMPTS = 5
MOVE_STAGE = {"first": 1, "second": 2}


@dataclass(frozen=True)
class Attempt:
    """What happened to one reminder move; `send_id` set when a claim was made."""

    result: str
    reason: str | None = None
    send_id: int | None = None
    until: datetime | None = None


def _advance(cart: Cart, move: str, now: datetime) -> None:
    cart.stage = max(cart.stage, MOVE_STAGE[move])
    cart.stage_at = now
    cart.attempts = 0


def gate_and_claim(session: Session, cart: Cart, store: Store, move: str, now: datetime,
                   rules: Rules, *, mail_paused_until: datetime | None = None) -> Attempt:
    ctx = gates.GateContext(
        cart_id=cart.id, move=move, email=cart.email, timezone=cart.timezone,
        locale=cart.locale, country=cart.country, marketing_consent=cart.marketing_consent,
        now=now, rules=rules, history=StoreHistory(session, store.id),
        mail_paused_until=mail_paused_until,
    )
    verdict = gates.run(ctx)
    if isinstance(verdict, gates.Skip):
        session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=cart.email,
                         result=SendResult.SKIPPED.value, reason=verdict.reason, created_at=now))
        _advance(cart, move, now)
        log.info("reminder skipped", extra={"store_id": store.id, "cart_id": cart.id,
                                            "move": move, "reason": verdict.reason})
        return Attempt(SendResult.SKIPPED.value, verdict.reason)
    if isinstance(verdict, gates.Defer):
        session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=cart.email,
                         result=SendResult.DEFERRED.value, reason=verdict.reason, created_at=now))
        cart.wake_at = verdict.until
        return Attempt(SendResult.DEFERRED.value, verdict.reason, until=verdict.until)

    claim = Send(store_id=store.id, cart_id=cart.id, move=move, address=cart.email,
                 result=SendResult.CLAIMED.value, created_at=now)
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        return _already_claimed(session, cart, move, now)
    cart.wake_at = now + CLAIM_LEASE
    return Attempt(SendResult.CLAIMED.value, send_id=claim.id)


def _already_claimed(session: Session, cart: Cart, move: str, now: datetime) -> Attempt:
    existing = session.scalars(
        select(Send).where(Send.cart_id == cart.id, Send.move == move,
                           Send.result.in_((SendResult.CLAIMED.value, SendResult.SENT.value)))
    ).first()
    if existing is not None and existing.result == SendResult.CLAIMED.value:
        # A send was claimed and never confirmed (the process died mid-send).
        # It may or may not have gone out; sending again could be a duplicate.
        log.warning("unconfirmed send found; not sending again",
                    extra={"store_id": cart.store_id, "cart_id": cart.id, "move": move,
                           "send_id": existing.id})
        existing.reason = "unconfirmed: process stopped during send"
        cart.reminders_sent += 1
        cart.last_reminded_at = existing.created_at
        cart.status = CartStatus.REMINDED.value
    _advance(cart, move, now)
    return Attempt("duplicate", "already claimed")


def mail_context(cart: Cart, store: Store, links: Links) -> compose.MailContext:
    settings = effective(store.settings)
    return compose.MailContext(
        store_name=store.name,
        postal_address=settings["postal_address"],
        first_name=cart.first_name,
        items=cart.items,
        total=cart.total,
        currency=cart.currency,
        locale=cart.locale,
        return_url=links.return_url(cart.id),
        unsubscribe_url=links.unsubscribe_url(cart.id),
        saved_link=cart.saved_link,
    )


@dataclass(frozen=True)
class Delivered:
    message_id: str
    polished: bool
    template: str


def compose_and_deliver(cart: Cart, store: Store, move: str, now: datetime, *,
                        links: Links, mailer: Mailer, polisher: Polisher | None,
                        overrides: dict[str, str] | None = None,
                        unsubscribe_mailto: str | None = None,
                        default_from: str | None = None) -> Delivered:
    """Render and send; raises DeliveryError. Touches no database."""
    settings = effective(store.settings)
    ctx = mail_context(cart, store, links)
    name = compose.template_for(move, cart.saved_link)
    plain = compose.render_plain_opening(name, ctx, overrides)
    line = None
    if polisher is not None and settings["polish"]:
        line = polisher.polish(plain, voice=settings["voice"],
                               items=[str(i.get("title", "")) for i in cart.items],
                               saved_link=cart.saved_link, store_name=store.name)
    composed = compose.render(name, ctx, opening_line=line, overrides=overrides)
    assert cart.email is not None  # gate 1 passed
    envelope = Envelope(
        from_name=settings["sender_name"] or store.name,
        from_email=store.from_email or default_from or from_address(None, {}),
        to_email=addresses.deliverable(cart.email) or cart.email,
        reply_to=settings["reply_to"] or None,
        unsubscribe_url=ctx.unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto,
    )
    message = build(composed, envelope, now)
    message_id = mailer.send(message, sender=envelope.from_email, recipient=envelope.to_email)
    return Delivered(message_id, polished=line is not None and line == composed.opening_line,
                     template=name)


def record_delivery(session: Session, cart: Cart, send: Send, now: datetime,
                    delivered: Delivered | None, error: DeliveryError | None) -> Attempt:
    if delivered is not None:
        send.result = SendResult.SENT.value
        send.message_id = delivered.message_id
        send.polished = delivered.polished
        send.template = delivered.template
        cart.reminders_sent += 1
        cart.last_reminded_at = now
        cart.status = CartStatus.REMINDED.value
        _advance(cart, send.move, now)
        log.info("reminder sent", extra={"store_id": cart.store_id, "cart_id": cart.id,
                                         "move": send.move})
        return Attempt(SendResult.SENT.value, send_id=send.id)

    assert error is not None
    send.result = SendResult.FAILED.value
    cart.attempts += 1
    if error.transient and cart.attempts < MAX_TRANSIENT_ATTEMPTS:
        # Retry the same move later; the failed row frees the claim slot.
        backoff = retry_delay(cart.attempts, base=timedelta(minutes=1))
        send.reason = f"transient: {error.reason}"[:200]
        cart.wake_at = now + backoff
        log.warning("reminder delivery failed, will retry",
                    extra={"store_id": cart.store_id, "cart_id": cart.id, "move": send.move,
                           "attempt": cart.attempts})
        return Attempt(SendResult.FAILED.value, send.reason, send.id, until=cart.wake_at)
    send.reason = (f"permanent: {error.reason}" if not error.transient
                   else f"gave up after {cart.attempts} attempts: {error.reason}")[:200]
    _advance(cart, send.move, now)
    log.error("reminder delivery failed", extra={"store_id": cart.store_id, "cart_id": cart.id,
                                                 "move": send.move})
    return Attempt(SendResult.FAILED.value, send.reason, send.id)
