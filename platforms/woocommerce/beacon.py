"""The WooCommerce storefront beacon: a cart snapshot from the store's own pages.

Our script on the storefront posts the WooCommerce Store API cart (`/wp-json/
wc/store/v1/cart` shape) plus a token we mint per browser. It is unsigned
(it runs in the shopper's browser); the web layer checks the store's public
key and the caller's origin before this parses anything.

Wire facts (shared/reference/platforms.md, WooCommerce sections): Store API
money is integer minor units with `currency_minor_unit` ("1800" with 2 is
18.00); the snapshot carries no time of its own, so it is dated when received.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from platforms import fields
from platforms.base import BadPayload, CartEvent, EventKind, Item, load_json_object
from platforms.woocommerce.adapter import decoded, quantity_and_price

TOKEN_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
MAX_ITEMS = 100


def minor_units(value: Any, minor_unit: Any, field_name: str) -> Decimal:
    """A Store API amount: integer minor units (\"1800\" with 2 → 18.00)."""
    if isinstance(minor_unit, bool) or not isinstance(minor_unit, int) or not 0 <= minor_unit <= 4:
        raise BadPayload(field_name, "currency_minor_unit must be 0-4")
    if isinstance(value, bool) or not re.fullmatch(r"\d{1,15}", str(value)):
        raise BadPayload(field_name, "must be a whole number of minor units")
    return fields.money(Decimal(int(str(value))).scaleb(-minor_unit), field_name)


def parse_beacon(raw_body: bytes, store_id: int, received_at: datetime) -> CartEvent:
    """A storefront snapshot (Store API cart shape, minor units) as a CartEvent.

    Raises BadPayload naming the field, for a body that is not JSON too.
    """
    body = load_json_object(raw_body)
    token = body.get("cart_token")
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise BadPayload("cart_token", "must be 8-128 letters, digits or ._:-")
    cart = body.get("cart")
    if not isinstance(cart, dict):
        raise BadPayload("cart", "must be an object")
    totals = cart.get("totals") if isinstance(cart.get("totals"), dict) else {}
    minor = totals.get("currency_minor_unit", 2)
    items = []
    for where, raw in fields.objects(cart.get("items"), "cart.items", max_items=MAX_ITEMS):
        prices = raw.get("prices") if isinstance(raw.get("prices"), dict) else {}
        images = raw.get("images") if isinstance(raw.get("images"), list) else []
        image = images[0] if images and isinstance(images[0], dict) else {}
        quantity, price, amount = quantity_and_price(
            raw.get("quantity"), minor_units(prices.get("price", "0"),
                                             prices.get("currency_minor_unit", minor),
                                             f"{where}.price"), f"{where}.quantity", high=999)
        title = fields.or_none(fields.text, decoded(raw.get("name")), max_len=280, clip=True)
        items.append(Item(
            title=f"{title or 'Item'}{amount}",
            quantity=quantity,
            unit_price=price,
            sku=fields.or_none(fields.ident, raw.get("sku"), max_len=100),
            image_url=fields.or_none(fields.http_url, image.get("thumbnail") or image.get("src")),
            product_url=fields.or_none(fields.http_url, raw.get("permalink")),
        ))
    email = fields.email(body.get("email"), "email")
    cart_hash = body.get("cart_hash")
    return CartEvent(
        store_id=store_id,
        cart_key=f"wc-cart:{token}",
        checkout_key=cart_hash if isinstance(cart_hash, str) and re.fullmatch(
            r"[A-Za-z0-9]{6,64}", cart_hash) else None,
        kind=EventKind.CHECKOUT_STARTED if email else EventKind.UPDATED,
        occurred_at=received_at,
        items=tuple(i for i in items if i.quantity > 0),
        total=minor_units(totals.get("total_price", "0"), minor, "cart.totals.total_price"),
        currency=fields.or_none(fields.currency, totals.get("currency_code")),
        email=email,
        timezone=fields.zone(body.get("timezone")),
        locale=fields.or_none(fields.locale, body.get("locale")),
        return_url=fields.or_none(fields.http_url, body.get("cart_url")),
        saved_link=body.get("saved_link") is True,
        # Only where the store's checkout asks for SMS consent (the plugin's
        # opt-in field): the number and the tick box, read loosely (a hint
        # the browser sends, never worth refusing the cart over).
        phone=fields.or_none(fields.phone, body.get("phone"),
                             region=fields.or_none(fields.country, body.get("country"))),
        sms_consent=body.get("sms_consent") if isinstance(body.get("sms_consent"), bool)
        else None,
    )

