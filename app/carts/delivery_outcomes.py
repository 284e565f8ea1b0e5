"""Delivery outcomes that are neither sent nor failed (issue 13).

- The provider paused all sending (`MailPaused`): the breaker opens, this
  reminder is `deferred` with reason `mail_paused` and its cart's timer moves
  to the breaker's retry time. Not a failure: no attempt is used up.
- The answer never came after the whole request went out (`ambiguous`): the
  mail may be in the shopper's inbox, so the Send is `unknown` and the move
  counts as done (once per move); the cart's timeline says so.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from app.carts.sender import Attempt, _advance
from app.db.models import LIVE_STATUSES, Cart, CartStatus, Send, SendResult
from app.errors import DeliveryError, MailPaused
from app.mail import breaker

log = logging.getLogger(__name__)

MAIL_PAUSED = "mail_paused"
UNKNOWN_REASON = ("unknown: the connection dropped after the message was handed over; "
                  "it may have been delivered, so it counts as sent and is not resent")


def still_live(cart: Cart) -> bool:
    return cart.status in LIVE_STATUSES and cart.store.installed


def defer_for_pause(session: Session, cart: Cart, send: Send, error: MailPaused, now: datetime,
                    *, backend: str, timing: breaker.Timing) -> Attempt:
    pause = breaker.trip(session, error, backend, cart.store_id, now, timing)
    send.result = SendResult.DEFERRED.value
    send.reason = MAIL_PAUSED
    if not still_live(cart):
        # Whatever ended the cart during the attempt wins; it keeps no timer.
        return Attempt(SendResult.DEFERRED.value, MAIL_PAUSED, send.id)
    cart.wake_at = pause.retry_at
    log.info("reminder deferred: mail paused", extra={
        "store_id": cart.store_id, "cart_id": cart.id, "move": send.move, "kind": error.kind})
    return Attempt(SendResult.DEFERRED.value, MAIL_PAUSED, send.id, until=pause.retry_at)


def record_unknown(session: Session, cart: Cart, send: Send, error: DeliveryError,
                   now: datetime) -> Attempt:
    send.result = SendResult.UNKNOWN.value
    send.reason = UNKNOWN_REASON[:200]
    if not still_live(cart):
        # An order, stop or uninstall during the attempt keeps the cart as it is.
        return Attempt(SendResult.UNKNOWN.value, send.reason, send.id)
    cart.reminders_sent += 1
    cart.last_reminded_at = now
    cart.status = CartStatus.REMINDED.value
    _advance(cart, send.move, now)
    log.warning("reminder outcome unknown; not resending", extra={
        "store_id": cart.store_id, "cart_id": cart.id, "move": send.move,
        "error": error.reason})
    return Attempt(SendResult.UNKNOWN.value, send.reason, send.id)
