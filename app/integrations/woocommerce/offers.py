"""A recovery offer's single-use coupon on WooCommerce (REST API, /wc/v3/coupons):
made for a reminder, deleted by the periodic sync once it expired unused."""

from __future__ import annotations

from datetime import datetime

from app.core.offers import Offer
from app.db.crypto import decrypt_json
from app.db.models import Cart, Store
from app.errors import OfferError
from app.runtime import Runtime
from platforms.woocommerce.api import WooApiError, WooClient


def _client(runtime: Runtime, store: Store) -> WooClient:
    keys = decrypt_json(runtime.fernet(), store.credentials)
    return WooClient(store.domain, keys["consumer_key"], keys["consumer_secret"])


def make_offer(runtime: Runtime, store: Store, cart: Cart, move: str, offer: Offer, code: str,
               now: datetime) -> str:
    """Create `code` for this cart's shopper's email; returns the coupon id."""
    if not cart.email:
        raise OfferError("no email to restrict the coupon to")
    try:
        coupon = _client(runtime, store).create_coupon(
            code=code, kind=offer.kind, value=offer.value, email=cart.email.strip(),
            expires_at=offer.ends_at(now), minimum=offer.minimum)
    except (WooApiError, KeyError) as err:
        raise OfferError(str(err)) from err
    return str(coupon)


def remove_offer(runtime: Runtime, store: Store, ref: str, now: datetime) -> bool:
    """Delete coupon `ref` for good unless an order used it (kept for the merchant's
    reports). True when deleted or already gone."""
    try:
        client = _client(runtime, store)
        uses = client.coupon_uses(int(ref))
        if uses is None:
            return True
        if uses > 0:
            return False
        client.delete_coupon(int(ref))
    except (WooApiError, KeyError, ValueError) as err:
        raise OfferError(str(err)) from err
    return True
