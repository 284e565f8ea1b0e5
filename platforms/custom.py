"""The custom webhook lane: any storefront that can POST signed JSON.

Contract (documented in the README): header `X-Cartback-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body with the store's webhook secret; the body
is one event about one cart. Validation is strict and names the bad field,
because the people integrating this read our 400s while they build.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from platforms import fields
from platforms.base import (
    BadPayload,
    BadSignature,
    CartEvent,
    EventKind,
    Item,
    header,
    load_json_object,
)
from platforms.signing import verify_base64

SIGNATURE_HEADER = "X-Cartback-Hmac-Sha256"

KINDS = {
    "cart.updated": EventKind.UPDATED,
    "checkout.started": EventKind.CHECKOUT_STARTED,
    "order.placed": EventKind.ORDERED,
    "cart.deleted": EventKind.DELETED,
}


def _items(raw: Any) -> tuple[Item, ...] | None:
    if raw is None:
        return None
    items = []
    for where, entry in fields.objects(raw, "items"):
        if "price" not in entry:
            raise BadPayload(f"{where}.price", "is required")
        items.append(Item(
            title=fields.text(entry.get("title"), f"{where}.title", required=True,
                              max_len=500) or "",
            quantity=fields.whole(entry.get("quantity", 1), f"{where}.quantity"),
            unit_price=fields.money(entry["price"], f"{where}.price"),
            sku=fields.text(entry.get("sku"), f"{where}.sku", max_len=255),
            image_url=fields.http_url(entry.get("image_url"), f"{where}.image_url"),
            product_url=fields.http_url(entry.get("url"), f"{where}.url"),
        ))
    return tuple(i for i in items if i.quantity > 0)


class CustomAdapter:
    name = "custom"

    def verify(self, raw_body: bytes, headers: Mapping[str, str], *secrets: str) -> None:
        if not verify_base64(secrets, raw_body, header(headers, SIGNATURE_HEADER)):
            raise BadSignature(f"missing or wrong {SIGNATURE_HEADER}")

    def parse(self, raw_body: bytes, headers: Mapping[str, str], store_id: int,
              received_at: datetime) -> list[CartEvent]:
        body = load_json_object(raw_body)
        kind_name = fields.text(body.get("event"), "event", required=True, max_len=64)
        if kind_name not in KINDS:
            raise BadPayload("event", f"must be one of {', '.join(KINDS)}")
        total = body.get("total")
        return [CartEvent(
            store_id=store_id,
            cart_key=fields.ident(body.get("cart_id"), "cart_id", required=True) or "",
            kind=KINDS[kind_name],
            occurred_at=fields.aware_time(body.get("occurred_at"), "occurred_at"),
            items=_items(body.get("items")),
            total=None if total is None else fields.money(total, "total"),
            currency=fields.currency(body.get("currency"), "currency"),
            email=fields.email(body.get("email"), "email"),
            first_name=fields.text(body.get("first_name"), "first_name", max_len=200),
            # An unknown zone is not the integrator's error to fix: intake
            # falls back to the store's zone.
            # Nor is a zone of the wrong type or length: it is a hint, never worth a cart.
            timezone=fields.zone(body.get("timezone")),
            locale=fields.locale(body.get("locale"), "locale"),
            country=fields.country(body.get("country"), "country"),
            return_url=fields.http_url(body.get("return_url"), "return_url"),
            saved_link=bool(fields.flag(body.get("saved_link"), "saved_link")),
            marketing_consent=fields.flag(body.get("accepts_marketing"), "accepts_marketing"),
            phone=fields.phone(body.get("phone"), "phone",
                               region=fields.or_none(fields.country, body.get("country"))),
            sms_consent=fields.flag(body.get("accepts_sms_marketing"), "accepts_sms_marketing"),
            delivery_id=fields.ident(body.get("event_id"), "event_id"),
            order_ref=fields.ident(body.get("order_id"), "order_id"),
            discount_codes=_codes(body.get("discount_codes")),
        )]


def _codes(raw: Any) -> tuple[str, ...]:
    """`discount_codes`: the codes an order used, as a list of strings (a pool
    code in it attributes the recovery to the offer)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise BadPayload("discount_codes", "must be a list of strings")
    return tuple(code.strip()[:64] for code in raw if code.strip())


adapter = CustomAdapter()
