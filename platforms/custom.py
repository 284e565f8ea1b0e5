"""The custom webhook lane: any storefront that can POST signed JSON.

Contract (documented in the README): header `X-Cartback-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body with the store's webhook secret; the body
is one event about one cart. Validation is strict and names the bad field,
because the people integrating this read our 400s while they build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
EMAIL_RE = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+\.[^@\s,;<>\"()]+$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
MAX_ITEMS = 250


def _str(body: Mapping[str, Any], key: str, *, required: bool = False,
         max_len: int = 1000) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadPayload(key, "is required")
        return None
    if not isinstance(value, str):
        raise BadPayload(key, "must be a string")
    value = value.strip()
    if required and not value:
        raise BadPayload(key, "must not be empty")
    if len(value) > max_len:
        raise BadPayload(key, f"is longer than {max_len} characters")
    return value or None


def _money(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise BadPayload(key, "must be a decimal number or a decimal string")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as err:
        raise BadPayload(key, "must be a decimal number") from err
    if not amount.is_finite():
        raise BadPayload(key, "must be a finite number")
    if amount < 0:
        raise BadPayload(key, "must not be negative")
    return amount


def _url(body: Mapping[str, Any], key: str) -> str | None:
    value = _str(body, key, max_len=2048)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadPayload(key, "must be an http(s) URL")
    return value


def _timestamp(body: Mapping[str, Any]) -> datetime:
    raw = _str(body, "occurred_at", required=True)
    assert raw is not None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise BadPayload("occurred_at", "must be an ISO 8601 timestamp") from err
    if parsed.tzinfo is None:
        raise BadPayload("occurred_at", "must include a UTC offset (e.g. +02:00 or Z)")
    return parsed


def _items(raw: Any) -> tuple[Item, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadPayload("items", "must be a list")
    if len(raw) > MAX_ITEMS:
        raise BadPayload("items", f"has more than {MAX_ITEMS} entries")
    items = []
    for index, entry in enumerate(raw):
        where = f"items[{index}]"
        if not isinstance(entry, dict):
            raise BadPayload(where, "must be an object")
        quantity = entry.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise BadPayload(f"{where}.quantity", "must be a whole number")
        if quantity < 0:
            raise BadPayload(f"{where}.quantity", "must not be negative")
        if "price" not in entry:
            raise BadPayload(f"{where}.price", "is required")
        try:
            title = _str(entry, "title", required=True, max_len=500)
            image_url = _url(entry, "image_url")
            product_url = _url(entry, "url")
            sku = _str(entry, "sku", max_len=255)
        except BadPayload as err:
            raise BadPayload(f"{where}.{err.field}", err.reason) from err
        items.append(Item(
            title=title or "",
            quantity=quantity,
            unit_price=_money(entry["price"], f"{where}.price"),
            sku=sku,
            image_url=image_url,
            product_url=product_url,
        ))
    return tuple(i for i in items if i.quantity > 0)


def _cart_id(body: Mapping[str, Any]) -> str:
    value = body.get("cart_id")
    if value is None:
        raise BadPayload("cart_id", "is required")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadPayload("cart_id", "must be a string")
    text = str(value).strip()
    if not text:
        raise BadPayload("cart_id", "must not be empty")
    if len(text) > 255:
        raise BadPayload("cart_id", "is longer than 255 characters")
    return text


def _optional_bool(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadPayload(key, "must be true or false")
    return value


class CustomAdapter:
    name = "custom"

    def verify(self, raw_body: bytes, headers: Mapping[str, str], secret: str) -> None:
        if not verify_base64([secret], raw_body, header(headers, SIGNATURE_HEADER)):
            raise BadSignature(f"missing or wrong {SIGNATURE_HEADER}")

    def parse(self, raw_body: bytes, headers: Mapping[str, str], store_id: int,
              received_at: datetime | None = None) -> list[CartEvent]:
        body = load_json_object(raw_body)
        kind_name = _str(body, "event", required=True)
        if kind_name not in KINDS:
            raise BadPayload("event", f"must be one of {', '.join(KINDS)}")
        timezone = _str(body, "timezone", max_len=64)
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise BadPayload("timezone", "is not a known IANA timezone") from err
        email = _str(body, "email", max_len=320)
        if email is not None and not EMAIL_RE.match(email):
            raise BadPayload("email", "must be one email address")
        currency = _str(body, "currency", max_len=3)
        if currency is not None and not CURRENCY_RE.match(currency):
            raise BadPayload("currency", "must be an ISO 4217 code such as EUR")
        locale = _str(body, "locale", max_len=35)
        if locale is not None and not LOCALE_RE.match(locale):
            raise BadPayload("locale", "must be a language tag such as en-GB")
        country = _str(body, "country", max_len=2)
        if country is not None and not COUNTRY_RE.match(country):
            raise BadPayload("country", "must be a two-letter country code")
        saved_link = _optional_bool(body, "saved_link")
        total = body.get("total")

        return [CartEvent(
            store_id=store_id,
            cart_key=_cart_id(body),
            kind=KINDS[kind_name],
            occurred_at=_timestamp(body),
            items=_items(body.get("items")),
            total=None if total is None else _money(total, "total"),
            currency=currency,
            email=email,
            first_name=_str(body, "first_name", max_len=200),
            timezone=timezone,
            locale=locale,
            country=country.upper() if country else None,
            return_url=_url(body, "return_url"),
            saved_link=bool(saved_link),
            marketing_consent=_optional_bool(body, "accepts_marketing"),
            delivery_id=_str(body, "event_id", max_len=255),
            order_ref=_str(body, "order_id", max_len=255),
        )]


adapter = CustomAdapter()
