"""What the Emails page shows and test-sends: a store's own recent cart, or a
realistic sample when it has none, always with the store's real name, footer
and brand.

The links lead nowhere real: a merchant clicking "Unsubscribe" in a preview
or a test email must not unsubscribe the shopper whose cart it shows, nor
count as that shopper's click.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.carts.sender import mail_context
from app.core.rules import effective
from app.db.models import Cart, Store
from app.mail.brand import brand_for
from app.mail.compose import MailContext
from app.mail.editor import SAMPLE
from app.mail.links import Links

RECENT_CARTS_LOOKED_AT = 20


class PreviewLinks(Links):
    """Return and unsubscribe links that name no cart (the shopper page says the link is bad)."""

    def return_url(self, cart_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/r/preview"

    def unsubscribe_url(self, cart_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/u/preview"


def preview_links(public_url: str) -> PreviewLinks:
    return PreviewLinks("preview-links-carry-no-token", public_url)


def recent_cart(session: Session, store_id: int) -> Cart | None:
    """The newest of the store's carts with something in it (erased carts have nothing)."""
    carts = session.scalars(select(Cart).where(Cart.store_id == store_id)
                            .order_by(Cart.last_activity_at.desc(), Cart.id.desc())
                            .limit(RECENT_CARTS_LOOKED_AT))
    return next((cart for cart in carts if cart.items and cart.erased_at is None), None)


def preview_context(session: Session, store: Store, public_url: str,
                    draft: Mapping[str, Any] | None = None) -> MailContext:
    """The context to render with; `draft` brand and copy settings (unsaved) win over the
    store's saved ones."""
    links = preview_links(public_url)
    look = brand_for({**(store.settings or {}), **(draft or {})})
    cart = recent_cart(session, store.id)
    if cart is not None:
        return replace(mail_context(cart, store, links), brand=look)
    return replace(SAMPLE, store_name=store.name,
                   postal_address=effective(store.settings)["postal_address"],
                   return_url=links.return_url(0), unsubscribe_url=links.unsubscribe_url(0),
                   timezone=store.timezone, brand=look)


def describe(session: Session, store_id: int) -> str:
    """Which cart the preview shows, in the merchant's words."""
    cart = recent_cart(session, store_id)
    if cart is None:
        return "a sample cart (your store has no carts yet)"
    whose = f"{cart.first_name}'s" if cart.first_name else "a shopper's"
    count = sum(int(item.get("quantity", 1)) for item in cart.items)
    return f"{whose} recent cart ({count} item{'s' if count != 1 else ''})"
