"""A recovery offer's single-use code on Shopify (GraphQL Admin API, write_discounts):
made for a reminder, deleted by the periodic sync once it expired unused."""

from __future__ import annotations

from datetime import datetime

from app.core.offers import Offer
from app.db.models import Cart, Store
from app.errors import OfferError
from app.integrations.shopify.install import access_token, client_for
from app.runtime import Runtime
from platforms.shopify.api import ShopifyApiError


def make_offer(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer, code: str,
               now: datetime) -> str:
    """Create `code` for this cart's shopper; returns its DiscountCodeNode id."""
    try:
        shop, token = access_token(runtime, store.id, now)
        return client_for(runtime, shop).create_discount_code(
            token, code=code, title=f"Cartback recovery, cart {cart.id} ({move} reminder)",
            kind=offer.kind, value=offer.value, starts_at=now, ends_at=offer.ends_at(now),
            minimum=offer.minimum)
    except ShopifyApiError as err:
        raise OfferError(str(err)) from err


def remove_offer(runtime: Runtime, store: Store, ref: str, now: datetime) -> bool:
    """Delete the DiscountCodeNode `ref` unless an order used it (then keep it: the
    merchant's reports name it). True when deleted or already gone."""
    try:
        shop, token = access_token(runtime, store.id, now)
        client = client_for(runtime, shop)
        uses = client.discount_code_uses(token, ref)
        if uses is None:
            return True
        if uses > 0:
            return False
        client.delete_discount_code(token, ref)
    except ShopifyApiError as err:
        raise OfferError(str(err)) from err
    return True
