"""Make a reminder's single-use recovery code on the store's platform.

Called by the wake after every gate passed and the send was claimed, so no
code is ever made for a skipped, deferred or held-back reminder. The platform
part is the integration's `make_offer` (app/integrations/<name>/offers.py);
a platform without one (the custom lane) gets no offer. Any platform error
means the reminder goes without an offer (logged), never no reminder.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app import integrations
from app.core.offers import Offer, code_from
from app.db.models import Cart, Store
from app.errors import OfferError
from app.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Minted:
    offer: Offer
    code: str
    ref: str
    expires_at: datetime


def mint(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer, now: datetime, *,
         new_code: Callable[[], str] = lambda: code_from(secrets.token_bytes(10))) -> Minted | None:
    integration = integrations.find(store.platform)
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
