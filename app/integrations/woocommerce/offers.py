"""A recovery offer's single-use coupon on WooCommerce (REST API, POST /wc/v3/coupons)."""

from __future__ import annotations

from datetime import datetime

from app.core.offers import Offer
from app.db.crypto import decrypt_json
from app.db.models import Cart, Store
from app.errors import OfferError
from app.runtime import Runtime
from platforms.woocommerce.api import WooApiError, WooClient


def make_offer(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer, code: str,
               now: datetime) -> str:
    """Create `code` for this cart's shopper's email; returns the coupon id."""
    if not cart.email:
        raise OfferError("no email to restrict the coupon to")
    try:
        keys = decrypt_json(runtime.fernet(), store.credentials)
        client = WooClient(store.domain, keys["consumer_key"], keys["consumer_secret"])
        coupon = client.create_coupon(code=code, kind=offer.kind, value=offer.value,
                                      email=cart.email.strip(), expires_at=offer.ends_at(now),
                                      minimum=offer.minimum)
    except (WooApiError, KeyError) as err:
        raise OfferError(str(err)) from err
    return str(coupon)
