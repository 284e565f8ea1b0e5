"""One reminder as a text: compose it from the cart as claimed, hand it to the texter.

The SMS side of `app.carts.sender.compose_and_deliver`, which calls it for a
step whose channel is `sms`; the claim, the gates and the recording are the
sender's, shared with email. No polishing: a text's words are few and fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.core.rules import effective
from app.errors import DeliveryError, Overtaken
from app.mail.links import Links
from app.sms.backends import Texter, TextMessage
from app.sms.compose import compose

if TYPE_CHECKING:
    from app.carts.offers import Minted
    from app.db.models import Cart, Store


def deliver(cart: Cart, store: Store, move: str, now: datetime, *, links: Links,
            texter: Texter | None, still_current: Callable[[], str | None] | None = None,
            offer: Minted | None = None) -> str:
    """The provider's message id; raises DeliveryError, or Overtaken as the email path does."""
    if texter is None:
        raise DeliveryError("SMS is not configured in this process", transient=False)
    assert cart.phone is not None  # gate 1 passed
    settings = effective(store.settings)
    text = compose(store_name=settings["sender_name"] or store.name, move=move,
                   saved_link=cart.saved_link, link=links.return_url(cart.id),
                   opening=settings["sms_opening"], offer_code=offer.code if offer else None)
    message = TextMessage(to=cart.phone, body=text.body, created_at=now,
                          context={"store_id": str(store.id), "cart_id": str(cart.id),
                                   "move": move})
    if still_current is not None and (reason := still_current()) is not None:
        raise Overtaken(reason)
    return texter.send(message)
