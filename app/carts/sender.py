"""The sender: one reminder attempt through the gates, claimed, composed, delivered.

Three steps, each in its own transaction so no lock is held while a model or
a mail server is slow:

1. `gate_and_claim` (inside the waiter's transaction): run the gates; a skip
   or a deferral is written as a Send row; a pass writes a `claimed` Send row,
   which the partial unique index allows once per (cart, move), and leases the
   cart's timer so no other wake touches it meanwhile.
2. `compose_and_deliver`: render, polish, build and hand to the backend.
   Just before the message goes to the backend, the row is read again: if
   anything happened since the claim (an order, a deletion, an update, an
   uninstall, an erasure, an opt-out) the claim is released and nothing is
   sent (an update reset the cart's clock, so the move is not due anyway).
3. `record_delivery`: mark the claim `sent` (or `failed`) and advance the cart,
   only if it is still in the state that was claimed: whatever happened while
   the message was in the backend's hands wins and is kept.

A crash between 1 and 3 leaves a `claimed` row: the next wake sees it and
moves on without sending (one missing email, logged), never a second email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.carts.history import StoreHistory, lock_shoppers
from app.carts.offers import Minted
from app.core import addresses, gates, holdout
from app.core.addresses import identities, normalize_email
from app.core.rules import Rules, effective
from app.db.models import LIVE_STATUSES, Activity, Cart, CartStatus, Send, SendResult, Store
from app.db.session import dialect_insert
from app.errors import DeliveryError, Overtaken, SmsOptedOut
from app.mail import compose
from app.mail.backends import Mailer
from app.mail.backoff import retry_delay
from app.mail.brand import brand_for
from app.mail.links import Links
from app.mail.message import Envelope, build
from app.privacy import suppressions, tombstones
from app.runtime import Polisher
from app.sms import texting
from app.sms.backends import Texter
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
    channel: str = gates.EMAIL
    address: str | None = None  # where the claimed reminder goes: email or E.164 number


@dataclass(frozen=True)
class Cleared:
    """A move every gate let through: the channel it goes by and to where."""

    channel: str
    address: str | None


def fingerprint(cart: Cart) -> tuple[Any, ...]:
    """Everything a reminder is built from or decided on, as read at the claim."""
    return (cart.status, cart.email, cart.first_name, cart.items, cart.total, cart.currency,
            cart.locale, cart.saved_link, cart.return_url, cart.last_activity_at,
            cart.phone, cart.sms_consent)


def why_not_send(session: Session, cart_id: int, send_id: int,
                 claimed: tuple[Any, ...]) -> str | None:
    """None when the claimed reminder may still go out; else what happened meanwhile."""
    cart = session.get(Cart, cart_id, populate_existing=True)
    send = session.get(Send, send_id, populate_existing=True)
    if cart is None or send is None:
        return "erased"
    if send.result != SendResult.CLAIMED.value:
        return "claim released"
    if not cart.store.installed:
        return "uninstalled"
    if cart.status not in LIVE_STATUSES:
        return cart.ended_reason or cart.status
    history = StoreHistory(session, cart.store_id)
    if any(history.is_suppressed(who, cart.id) for who in identities(cart.email, cart.phone)):
        return "unsubscribed"
    if tombstones.is_erased(session, cart.store, normalize_email(cart.email), phone=cart.phone):
        return "erased"
    if fingerprint(cart) != claimed:
        return "cart changed"
    return None


def _advance(cart: Cart, move: str, now: datetime) -> None:
    cart.stage = max(cart.stage, MOVE_STAGE[move])
    cart.stage_at = now
    cart.attempts = 0


def gate_and_claim(session: Session, cart: Cart, store: Store, move: str, now: datetime,
                   rules: Rules, *, mail_paused_until: datetime | None = None,
                   history: gates.History | None = None) -> Attempt:
    """Gates, then the claim. With `history` (app.carts.batch), the caller has
    already locked this cart's shopper and read their history under that lock."""
    verdict = gate(session, cart, store, move, now, rules, mail_paused_until=mail_paused_until,
                   history=history)
    if isinstance(verdict, Attempt):
        return verdict
    return claim_many(session, [(cart, move, verdict)], now)[0]


def gate(session: Session, cart: Cart, store: Store, move: str, now: datetime,
         rules: Rules, *, mail_paused_until: datetime | None = None,
         history: gates.History | None = None) -> Attempt | Cleared:
    """The gates: what stopped the move (written as its Send row), or where the
    reminder may go (`Cleared`), to be claimed by `claim_many`."""
    if history is None:
        # Gate 3 and the claim are one atomic step per shopper (across their carts),
        # known by email and by number (app.carts.batch locks the same way).
        lock_shoppers(session, [(store, who) for who in identities(cart.email, cart.phone)],
                      now)
        history = StoreHistory(session, store.id)
    ctx = gate_context(cart, store, move, now, rules, history, mail_paused_until)
    channel = ctx.channel
    address = cart.phone if channel == gates.SMS else cart.email
    verdict = gates.run(ctx)
    if isinstance(verdict, gates.HoldOut):
        return _hold_out(session, cart, store, move, now, channel, address)
    if isinstance(verdict, gates.Skip):
        session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=address,
                         channel=channel, result=SendResult.SKIPPED.value,
                         reason=verdict.reason, created_at=now))
        _advance(cart, move, now)
        log.info("reminder skipped", extra={"store_id": store.id, "cart_id": cart.id,
                                            "move": move, "reason": verdict.reason})
        return Attempt(SendResult.SKIPPED.value, verdict.reason)
    if isinstance(verdict, gates.Defer):
        session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=address,
                         channel=channel, result=SendResult.DEFERRED.value,
                         reason=verdict.reason, created_at=now))
        cart.wake_at = verdict.until
        return Attempt(SendResult.DEFERRED.value, verdict.reason, until=verdict.until)
    return Cleared(channel, address)


def gate_context(cart: Cart, store: Store, move: str, now: datetime, rules: Rules,
                 history: gates.History,
                 mail_paused_until: datetime | None = None) -> gates.GateContext:
    """What the gates see of this cart, with the step's channel chosen (the wake
    and the dry run ask the same questions)."""
    ctx = gates.GateContext(
        cart_id=cart.id, move=move, email=cart.email, timezone=cart.timezone,
        locale=cart.locale, country=cart.country, marketing_consent=cart.marketing_consent,
        now=now, rules=rules, history=history,
        mail_paused_until=mail_paused_until, holdout_bucket=holdout_bucket(store, cart),
        phone=cart.phone, sms_consent=cart.sms_consent,
    )
    return replace(ctx, channel=gates.channel_for(ctx))


def claim_many(session: Session, moves: Sequence[tuple[Cart, str, Cleared]],
               now: datetime) -> list[Attempt]:
    """Claim these (cart, move)s that passed the gates, in one statement.

    The partial unique index lets one claimed-or-sent row per cart and move
    in; a row it turns away (ON CONFLICT DO NOTHING) means the move was
    already claimed. One attempt per move, in order.
    """
    if not moves:
        return []
    rows = session.execute(
        dialect_insert(session)(Send).values([
            dict(store_id=cart.store_id, cart_id=cart.id, move=move, address=cleared.address,
                 channel=cleared.channel, result=SendResult.CLAIMED.value, created_at=now)
            for cart, move, cleared in moves])
        .on_conflict_do_nothing().returning(Send.cart_id, Send.move, Send.id)).all()
    claimed = {(cart_id, move): send_id for cart_id, move, send_id in rows}
    attempts = []
    for cart, move, cleared in moves:
        send_id = claimed.get((cart.id, move))
        if send_id is None:
            attempts.append(_already_claimed(session, cart, move, now))
            continue
        cart.wake_at = now + CLAIM_LEASE
        attempts.append(Attempt(SendResult.CLAIMED.value, send_id=send_id,
                                channel=cleared.channel, address=cleared.address))
    return attempts


def holdout_bucket(store: Store, cart: Cart) -> int:
    """The shopper's stable place for the holdout: keyed by the store's secret,
    by normalized email, or by the cart key when there is no email."""
    email = normalize_email(cart.email)
    key = f"email:{email}" if email else f"cart:{cart.cart_key}"
    return holdout.bucket(tombstones.digest(store, "holdout", key))


def _hold_out(session: Session, cart: Cart, store: Store, move: str, now: datetime,
              channel: str, address: str | None) -> Attempt:
    session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=address,
                     channel=channel, result=SendResult.HELD_OUT.value, reason="holdout",
                     created_at=now))
    _advance(cart, move, now)
    log.info("reminder held back (holdout group)",
             extra={"store_id": store.id, "cart_id": cart.id, "move": move})
    return Attempt(SendResult.HELD_OUT.value, "holdout")


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


def mail_context(cart: Cart, store: Store, links: Links,
                 offer: Minted | None = None) -> compose.MailContext:
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
        offer_kind=offer.offer.kind if offer else None,
        offer_value=offer.offer.value if offer else None,
        offer_code=offer.code if offer else None,
        offer_expires_at=offer.expires_at if offer else None,
        timezone=cart.timezone or store.timezone,
        brand=brand_for(store.settings),
    )


@dataclass(frozen=True)
class Delivered:
    message_id: str
    polished: bool
    template: str
    # Why the merchant's edited template failed on this cart (the default was sent).
    fallback: str | None = None
    channel: str = gates.EMAIL


def compose_and_deliver(cart: Cart, store: Store, move: str, now: datetime, *,
                        links: Links, mailer: Mailer, polisher: Polisher | None,
                        overrides: dict[str, str] | None = None,
                        unsubscribe_mailto: str | None = None,
                        default_from: str | None = None,
                        still_current: Callable[[], str | None] | None = None,
                        offer: Minted | None = None, channel: str = gates.EMAIL,
                        texter: Texter | None = None) -> Delivered:
    """Render and send; raises DeliveryError, or Overtaken when `still_current`
    (asked just before the hand-over) names something that happened meanwhile."""
    if channel == gates.SMS:
        message_id = texting.deliver(cart, store, move, now, links=links, texter=texter,
                                     still_current=still_current, offer=offer)
        return Delivered(message_id, polished=False, template=f"sms:{move}",
                         channel=gates.SMS)
    settings = effective(store.settings)
    ctx = mail_context(cart, store, links, offer)
    name = compose.template_for(move, cart.saved_link)
    fallback = None
    line = None
    # The plain opening is rendered apart only for the polisher to start from.
    if polisher is not None and settings["polish"]:
        try:
            plain = compose.render_plain_opening(name, ctx, overrides)
        except Exception as err:  # noqa: BLE001 - any failure of the merchant's template
            if not overrides:
                raise
            # A template that previewed fine can still fail on a real cart (items[1]
            # on a one-item cart): send the default rather than lose the reminder.
            fallback = f"{type(err).__name__}: {err}"[:300]
            overrides = None
            plain = compose.render_plain_opening(name, ctx)
        line = polisher.polish(plain, voice=settings["voice"],
                               items=[str(i.get("title", "")) for i in cart.items],
                               saved_link=cart.saved_link, store_name=store.name)
    try:
        composed = compose.render(name, ctx, opening_line=line, overrides=overrides)
    except Exception as err:  # noqa: BLE001 - as above
        if not overrides:
            raise
        fallback = f"{type(err).__name__}: {err}"[:300]
        composed = compose.render(name, ctx, opening_line=line)
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
    if still_current is not None and (reason := still_current()) is not None:
        raise Overtaken(reason)
    message_id = mailer.send(message, sender=envelope.from_email, recipient=envelope.to_email)
    return Delivered(message_id, polished=line is not None and line == composed.opening_line,
                     template=f"{name}:default" if fallback else name, fallback=fallback)


def _timeline(session: Session, cart: Cart, kind: str, now: datetime, **detail: Any) -> None:
    session.execute(insert(Activity).values(cart_id=cart.id, kind=kind, occurred_at=now,
                                            recorded_at=now, detail=detail))


def release_claim(session: Session, cart: Cart | None, send: Send | None, now: datetime,
                  reason: str) -> Attempt:
    """Nothing was sent: free the claim slot and leave the cart as it now is."""
    if send is not None:
        send.result = SendResult.SKIPPED.value
        send.reason = f"cancelled: {reason}"[:200]
    if cart is not None:
        _timeline(session, cart, "send_cancelled", now, move=send.move if send else None,
                  reason=reason)
    log.info("reminder cancelled: the cart changed after the claim",
             extra={"cart_id": cart.id if cart else None, "reason": reason})
    return Attempt(SendResult.SKIPPED.value, f"cancelled: {reason}",
                   send.id if send else None)


def record_delivery(session: Session, cart: Cart | None, send: Send | None, now: datetime,
                    delivered: Delivered | None, error: DeliveryError | None) -> Attempt:
    """Write the outcome; the cart advances only if it is still as it was claimed.

    `cart` and `send` are re-read under the row lock; either may be gone (an
    erasure during the send), and the cart may have been ordered, deleted,
    emptied, stopped or uninstalled meanwhile: then that state is kept.
    """
    if send is None or cart is None:
        log.info("reminder outcome not recorded: cart erased during the send",
                 extra={"cart_id": cart.id if cart else None})
        return Attempt(SendResult.SENT.value if delivered else SendResult.FAILED.value,
                       "erased during send")
    live = cart.status in LIVE_STATUSES and cart.store.installed
    if delivered is not None:
        send.result = SendResult.SENT.value
        send.message_id = delivered.message_id
        send.polished = delivered.polished
        send.template = delivered.template
        if delivered.fallback:
            _timeline(session, cart, "template_fallback", now, move=send.move,
                      error=delivered.fallback)
            log.warning("merchant template failed; the default was sent",
                        extra={"store_id": cart.store_id, "cart_id": cart.id,
                               "move": send.move})
        if not live:
            # The order (or stop, deletion, uninstall) that landed while the
            # message was in flight wins: the cart keeps its state and timer.
            _timeline(session, cart, "send_overtaken", now, move=send.move,
                      status=cart.status, reason=cart.ended_reason)
            log.info("reminder sent, but the cart ended during the send",
                     extra={"store_id": cart.store_id, "cart_id": cart.id, "move": send.move,
                            "status": cart.status})
            return Attempt(SendResult.SENT.value, f"cart {cart.status} during send", send.id)
        cart.reminders_sent += 1
        cart.last_reminded_at = now
        cart.status = CartStatus.REMINDED.value
        _advance(cart, send.move, now)
        log.info("reminder sent", extra={"store_id": cart.store_id, "cart_id": cart.id,
                                         "move": send.move})
        return Attempt(SendResult.SENT.value, send_id=send.id)

    assert error is not None
    send.result = SendResult.FAILED.value
    if isinstance(error, SmsOptedOut) and send.address:
        # The provider's opt-out list knew of a STOP we did not: keep both lists one.
        suppressions.add(session, cart.store_id, send.address, source="sms_stop", now=now)
    if not live:
        send.reason = f"failed: {error.reason}"[:200]
        return Attempt(SendResult.FAILED.value, send.reason, send.id)
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
