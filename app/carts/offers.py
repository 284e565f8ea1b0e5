"""Make a reminder's single-use recovery code, and keep track of it on the send.

`mint` is called by the wake after every gate passed and the send was
claimed, so no code is ever made for a skipped, deferred or held-back
reminder. The platform part is the integration's `make_offer`
(app/integrations/<name>/offers.py); a custom storefront's code comes from
its own endpoint when the merchant set one (a signed callback,
platforms.custom_offer), else from the merchant's uploaded pool
(app.carts.offer_pool). Any platform or storefront error, or an empty pool,
means the reminder goes without an offer (logged), never no reminder.

Whatever then happens to the message, `remember` writes the code on the send
row: a code made for a message that failed still exists on the platform,
and the periodic sync (app.carts.offer_cleanup) deletes it once it expired.
A pool code is the exception: one whose message did not go returns to the
pool (app.carts.offer_pool.give_back).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import integrations
from app.carts import offer_pool
from app.core.offers import Offer, code_from
from app.core.rules import effective
from app.db.models import Cart, Send, SendResult, Store
from app.errors import OfferError
from app.mail.links import host_of, on_hosts
from app.runtime import Runtime
from platforms import custom_offer

log = logging.getLogger(__name__)

# A send's offer_ref for a code the storefront's endpoint made: nothing for a sync to delete.
CALLBACK_REF = "callback"


@dataclass(frozen=True)
class Minted:
    offer: Offer
    code: str
    ref: str
    expires_at: datetime


def mint(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer, now: datetime, *,
         new_code: Callable[[], str] = lambda: code_from(secrets.token_bytes(10))) -> Minted | None:
    integration = integrations.find(store.platform)
    if integration is None and store.platform == integrations.CUSTOM:
        callback = effective(store.settings)["offer_callback_url"]
        if callback:
            return _from_callback(store, cart, move, offer, now, callback)
        return _from_pool(runtime, store, cart, move, offer, now)
    if integration is None or integration.make_offer is None:
        log.info("no offer: the store's platform cannot make codes",
                 extra={"store_id": store.id, "cart_id": cart.id, "platform": store.platform})
        return None
    code = new_code()
    try:
        ref = integration.make_offer(runtime, store, cart, move, offer, code, now)
    except OfferError as err:
        log.warning("offer code not made; the reminder goes without it",
                    extra={"store_id": store.id, "cart_id": cart.id, "move": move,
                           "error": str(err)[:200]})
        return None
    except Exception as err:  # noqa: BLE001 - the send is already claimed: a failure
        # here must cost the offer, never the reminder.
        log.exception("offer code failed unexpectedly; the reminder goes without it",
                      extra={"store_id": store.id, "cart_id": cart.id, "move": move,
                             "error": type(err).__name__})
        return None
    log.info("offer code made", extra={"store_id": store.id, "cart_id": cart.id, "move": move})
    return Minted(offer, code, ref, offer.ends_at(now))


def _from_pool(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer,
               now: datetime) -> Minted | None:
    try:
        with runtime.db.transaction() as session:
            taken = offer_pool.take(session, store.id, cart.id, now)
    except Exception as err:  # noqa: BLE001 - as for a platform: the offer, never the reminder
        log.exception("offer code pool failed; the reminder goes without an offer",
                      extra={"store_id": store.id, "cart_id": cart.id, "move": move,
                             "error": type(err).__name__})
        return None
    if taken is None:
        log.warning("offer code pool is empty; the reminder goes without an offer",
                    extra={"store_id": store.id, "cart_id": cart.id, "move": move})
        return None
    log.info("offer code taken from the pool",
             extra={"store_id": store.id, "cart_id": cart.id, "move": move})
    return Minted(offer, taken.code, f"{offer_pool.REF_PREFIX}{taken.id}", offer.ends_at(now))


def _from_callback(store: Store, cart: Cart, move: str, offer: Offer, now: datetime,
                   url: str) -> Minted | None:
    """Ask the storefront's own endpoint for a code (platforms.custom_offer). Only an
    https address on the store's own domain is ever called."""
    where = {"store_id": store.id, "cart_id": cart.id, "move": move}
    if not url.startswith("https://") or not on_hosts(url, [store.domain]):
        log.warning("offer code address is not https on the store's domain; no offer",
                    extra={**where, "host": host_of(url)[:255]})
        return None
    expires_at = offer.ends_at(now)
    payload = {
        "cart_id": cart.cart_key, "reminder": move, "email": cart.email,
        "currency": cart.currency, "total": None if cart.total is None else str(cart.total),
        "offer": {"kind": offer.kind, "hours": offer.hours,
                  "value": (None if offer.kind == "free_shipping"
                            else f"{offer.value.normalize():f}"),
                  "minimum": None if offer.minimum is None else str(offer.minimum),
                  "expires_at": expires_at.isoformat()},
        "sent_at": now.isoformat(),
    }
    try:
        code = custom_offer.request_code(url, store.webhook_secret, payload)
    except custom_offer.OfferRefused as err:
        log.warning("storefront gave no offer code; the reminder goes without it",
                    extra={**where, "error": str(err)[:200]})
        return None
    log.info("offer code from the storefront", extra=where)
    return Minted(offer, code, CALLBACK_REF, expires_at)


# What a send's code is kept for: the message reached, or maybe reached, the shopper.
REACHED = (SendResult.SENT.value, SendResult.UNKNOWN.value, SendResult.CLAIMED.value)


def remember(session: Session, send: Send | None, minted: Minted | None) -> None:
    """Write the code on its send once the outcome is recorded, whatever became of
    the message; except that a pool code of a message that never reached the
    shopper goes back to the pool instead."""
    if minted is None:
        return
    if (send is None or send.result not in REACHED) and offer_pool.give_back(session,
                                                                              minted.ref):
        log.info("offer code returned to the pool: the reminder did not go",
                 extra={"send_id": send.id if send else None})
        return
    if send is None:
        return
    send.offer_code, send.offer_ref = minted.code, minted.ref
    send.offer_expires_at = minted.expires_at


def live_code(session: Session, cart_id: int, now: datetime) -> str | None:
    """The code of the cart's latest reminder that reached the shopper and that
    still works: not expired, not used by an order, not deleted."""
    return session.scalars(
        select(Send.offer_code)
        .where(Send.cart_id == cart_id, Send.offer_code.is_not(None),
               Send.result.in_((SendResult.SENT.value, SendResult.UNKNOWN.value)),
               Send.offer_expires_at > now, Send.offer_used_at.is_(None),
               Send.offer_removed_at.is_(None))
        .order_by(Send.created_at.desc(), Send.id.desc())
        .limit(1)).first()
