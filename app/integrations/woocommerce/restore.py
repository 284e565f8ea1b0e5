"""Restore links: a reminder for a storefront (beacon) cart rebuilds the cart on
whatever device the shopper opens it.

The return link leads to the store's `/?cartback_restore=<token>`; the
companion plugin (static/cartback-woocommerce.php) asks `GET /restore/<token>`
server to server for the items and puts them in the shopper's session. The
token is signed for this purpose only and names one cart; it is the only
credential, as for the return link itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from app.db.models import Cart
from app.mail.links import RESTORE, Links

# Storefront carts the beacon reports are keyed by its token under this prefix.
BEACON_PREFIX = "wc-cart:"


def restore_link(cart: Cart, links: Links) -> str | None:
    """The store page that rebuilds a beacon cart; None for order carts (their
    own payment_url serves)."""
    if not cart.cart_key.startswith(BEACON_PREFIX):
        return None
    query = urlencode({"cartback_restore": links.token(RESTORE, cart.id)})
    return f"{cart.store.domain.rstrip('/')}/?{query}"


def restore_payload(cart: Cart, coupon: str | None = None) -> dict[str, Any] | None:
    """What the plugin needs: the beacon's token (so the new device keeps
    reporting as the same cart), each item's title, quantity, SKU and link,
    and the reminder's live recovery coupon, which the plugin (1.2 and later)
    applies to the rebuilt cart. WooCommerce core has no apply-coupon URL
    (shared/reference/flow-offers-sms-holdout.md B3), so this is the one way a
    link can carry the coupon to a storefront cart."""
    if not cart.cart_key.startswith(BEACON_PREFIX) or not cart.items:
        return None
    return {
        "coupon": coupon,
        "cart_token": cart.cart_key.removeprefix(BEACON_PREFIX),
        "items": [{"title": i.get("title"), "quantity": i.get("quantity"),
                   "sku": i.get("sku"), "product_url": i.get("product_url")}
                  for i in cart.items],
    }
