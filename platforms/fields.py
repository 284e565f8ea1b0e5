"""Shared wire readers: one way to read money, time, email, zone, URL and text.

Every reader takes the raw JSON value and the name of the field it came
from, and either returns a clean value or raises `BadPayload` naming that
field. `None` in means "the platform did not say" and comes back as `None`
(except where a reader says otherwise). Adapters that must not refuse a
whole delivery over one odd optional field wrap a reader in `or_none`.

Money is `Decimal` all the way (bodies are parsed with `parse_float=Decimal`,
and nothing here goes through float). Times come back timezone-aware in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from platforms.base import BadPayload

T = TypeVar("T")

# One address, no display name, no list: "a@x.io, b@x.io" or "Ada <a@x.io>" is refused.
EMAIL_RE = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+\.[^@\s,;<>\"()]+$")
MAX_EMAIL = 320  # RFC 3696 errata: 64 local + @ + 255 domain
MAX_PHONE_TEXT = 40  # "+1 (212) 555-0100 ext. 12" and the like, with room to spare
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
ZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")
MAX_ZONE = 64
MAX_URL = 2048
MAX_TIME_TEXT = 64
# A decimal string as platforms write one: "19.99", "5", ".5" (no exponent, no "1_000").
DECIMAL_RE = re.compile(r"^-?(\d{1,40}(\.\d{0,40})?|\.\d{1,40})$")
# Far above any real cart (in any currency's major unit) and far below what
# the database's Numeric(18, 4) holds even after multiplying by a quantity.
MAX_AMOUNT = Decimal(10) ** 11
MAX_QUANTITY = 100_000
MAX_ITEMS = 250
# A cart is dated in living memory; adding the waits must stay inside datetime.
MIN_YEAR, MAX_YEAR = 1970, 9000


def or_none(read: Callable[..., T], value: Any, **options: Any) -> T | None:
    """`read(value)`, or None where it would refuse: for optional fields a
    platform fills loosely, where one odd value must not cost the event."""
    try:
        return read(value, "", **options)
    except BadPayload:
        return None


def objects(value: Any, where: str, *, max_items: int = MAX_ITEMS,
            clip: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """A list of JSON objects, each with its own name (`items[3]`) for errors.

    None is an empty list. More than `max_items` is refused, or cut with `clip`.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(where, "must be a list")
    if len(value) > max_items:
        if not clip:
            raise BadPayload(where, f"must be a list of at most {max_items} entries")
        value = value[:max_items]
    named = [(f"{where}[{index}]", entry) for index, entry in enumerate(value)]
    for name, entry in named:
        if not isinstance(entry, dict):
            raise BadPayload(name, "must be an object")
    return named


def text(value: Any, where: str, *, max_len: int, required: bool = False,
         clip: bool = False) -> str | None:
    """A trimmed string; empty is None. Too long is refused, or cut with `clip`."""
    if value is None:
        if required:
            raise BadPayload(where, "is required")
        return None
    if not isinstance(value, str):
        raise BadPayload(where, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise BadPayload(where, "must not be empty")
        return None
    if len(value) > max_len:
        if not clip:
            raise BadPayload(where, f"is longer than {max_len} characters")
        value = value[:max_len].rstrip()
    return value


def ident(value: Any, where: str, *, max_len: int = 255, required: bool = False) -> str | None:
    """A platform id or token: a string or a whole number, as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return text(value, where, max_len=max_len, required=required)


def whole(value: Any, where: str, *, low: int = 0, high: int = MAX_QUANTITY) -> int:
    """A whole number in [low, high] (a JSON 2.0 or "2" is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPayload(where, "must be a whole number")
    if not low <= value <= high:
        raise BadPayload(where, f"must be between {low} and {high}")
    return value


def flag(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise BadPayload(where, "must be true or false")


def money(value: Any, where: str) -> Decimal:
    """A non-negative amount from a decimal string or JSON number, as Decimal.

    Refuses NaN, infinities, and magnitudes no cart has (1e400 would overflow
    the database column; 1e-400 is not a price).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise BadPayload(where, "must be a decimal number or a decimal string")
    if isinstance(value, str):
        value = value.strip()
        if not DECIMAL_RE.match(value):
            raise BadPayload(where, "must be a decimal number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise BadPayload(where, "must be a finite number")
    if amount < 0:
        raise BadPayload(where, "must not be negative")
    if amount >= MAX_AMOUNT or (amount and amount.adjusted() < -12):
        raise BadPayload(where, "is not a plausible amount")
    return amount


def currency(value: Any, where: str) -> str | None:
    """An ISO 4217 code, upper-cased."""
    code = text(value, where, max_len=3)
    if code is None:
        return None
    code = code.upper()
    if not CURRENCY_RE.match(code):
        raise BadPayload(where, "must be an ISO 4217 code such as EUR")
    return code


def aware_time(value: Any, where: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 timestamp with an offset (or Z), in UTC. Required.

    A timestamp without an offset is refused, unless the platform documents
    it as UTC (`naive_is_utc`, e.g. WooCommerce's `*_gmt` fields).
    """
    raw = text(value, where, max_len=MAX_TIME_TEXT, required=True)
    assert raw is not None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as err:
        raise BadPayload(where, "must be an ISO 8601 timestamp") from err
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise BadPayload(where, "must include a UTC offset (e.g. +02:00 or Z)")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError as err:  # 0001-01-01T00:00+01:00 has no UTC instant
        raise BadPayload(where, f"must be between {MIN_YEAR} and {MAX_YEAR}") from err
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise BadPayload(where, f"must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def email(value: Any, where: str) -> str | None:
    """One email address, trimmed; "" is None."""
    address = text(value, where, max_len=MAX_EMAIL)
    if address is not None and not EMAIL_RE.match(address):
        raise BadPayload(where, "must be one email address")
    return address


def phone(value: Any, where: str, *, region: str | None = None) -> str | None:
    """A valid phone number in E.164 (+12125550100); "" is None.

    `region` (ISO 3166, the shopper's country) reads a national number such as
    "020 7946 0018"; without one only the international form (+44...) is read.
    """
    raw = text(value, where, max_len=MAX_PHONE_TEXT)
    if raw is None:
        return None
    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException as err:
        raise BadPayload(where, "must be a phone number in international form "
                                "(+44 20 7946 0018)") from err
    if not phonenumbers.is_valid_number(number):
        raise BadPayload(where, "is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def zone(value: Any) -> str | None:
    """An IANA timezone name this machine knows, else None.

    Never refuses: a shopper's zone we cannot read only means intake falls
    back to the store's zone.
    """
    if not isinstance(value, str):
        return None
    name = value.strip()
    # The pattern keeps file paths ("../", "/etc/…") away from ZoneInfo.
    if len(name) > MAX_ZONE or not ZONE_RE.match(name):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def http_url(value: Any, where: str) -> str | None:
    """An absolute http(s) URL with a host, free of whitespace and backslashes."""
    url = text(value, where, max_len=MAX_URL)
    if url is None:
        return None
    if any(c <= " " or c in "\\\x7f" for c in url):
        raise BadPayload(where, "must be an http(s) URL")
    try:
        parts = urlsplit(url)
    except ValueError as err:  # e.g. an unclosed IPv6 bracket
        raise BadPayload(where, "must be an http(s) URL") from err
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadPayload(where, "must be an http(s) URL")
    return url


def locale(value: Any, where: str) -> str | None:
    """A language tag such as en-GB or pt_BR."""
    tag = text(value, where, max_len=35)
    if tag is not None and not LOCALE_RE.match(tag):
        raise BadPayload(where, "must be a language tag such as en-GB")
    return tag


def country(value: Any, where: str) -> str | None:
    """An ISO 3166 two-letter code, upper-cased."""
    code = text(value, where, max_len=2)
    if code is not None and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise BadPayload(where, "must be a two-letter country code")
    return code.upper() if code else None


def discount_codes(lines: Any) -> tuple[str, ...]:
    """Codes an order used: Shopify's `discount_codes[].code`, WooCommerce's
    `coupon_lines[].code` (lowercased by WooCommerce); anything else is ignored."""
    if not isinstance(lines, list):
        return ()
    return tuple(line["code"][:64] for line in lines
                 if isinstance(line, dict) and isinstance(line.get("code"), str) and line["code"])
