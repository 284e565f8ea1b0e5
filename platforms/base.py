"""The adapter protocol and the common cart model every adapter produces.

Adapters translate a platform's wire format into `CartEvent`s; they never
decide anything (rules such as "orders are sticky" live in `app.carts.intake`), and
they import neither Flask nor the database.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


class EventKind(str, enum.Enum):
    UPDATED = "updated"
    CHECKOUT_STARTED = "checkout_started"
    ORDERED = "ordered"
    DELETED = "deleted"


@dataclass(frozen=True)
class Item:
    title: str
    quantity: int
    unit_price: Decimal
    sku: str | None = None
    image_url: str | None = None
    product_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "quantity": self.quantity,
            "unit_price": str(self.unit_price),
            "sku": self.sku,
            "image_url": self.image_url,
            "product_url": self.product_url,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        return cls(
            title=data["title"],
            quantity=int(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            sku=data.get("sku"),
            image_url=data.get("image_url"),
            product_url=data.get("product_url"),
        )


@dataclass(frozen=True)
class CartEvent:
    """One thing that happened to one cart, in platform-neutral terms.

    `None` means "the platform did not say" and never erases what the cart row
    already knows (a cart update without an email keeps the email we had).
    """

    store_id: int
    cart_key: str
    kind: EventKind
    occurred_at: datetime
    items: tuple[Item, ...] | None = None
    total: Decimal | None = None
    currency: str | None = None
    email: str | None = None
    first_name: str | None = None
    timezone: str | None = None
    locale: str | None = None
    country: str | None = None
    return_url: str | None = None
    saved_link: bool = False
    marketing_consent: bool | None = None
    # The number the shopper agreed to receive marketing texts at (E.164) and
    # that explicit SMS consent; never a phone given for other purposes.
    phone: str | None = None
    sms_consent: bool | None = None
    # The platform's delivery/event id, for dedupe. An adapter that turns one
    # delivery into several events gives each its own id.
    delivery_id: str | None = None
    # The platform's id of the event itself when it has one beside the
    # delivery's (Shopify's X-Shopify-Event-Id: two subscriptions deliver one
    # event under two webhook ids); seen before, the event is a duplicate too.
    event_id: str | None = None
    # Platform references used to link a checkout or an order to its cart.
    checkout_key: str | None = None
    order_ref: str | None = None
    # Extra keys the cart may be known by (e.g. a Shopify checkout token).
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # Orders only: the discount codes the shopper used, as the platform sent them
    # (matched case-insensitively to a reminder's recovery code by intake).
    discount_codes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("CartEvent.occurred_at must be timezone-aware")
        if not self.cart_key:
            raise ValueError("CartEvent.cart_key must not be empty")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP/2 lowercases names)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def load_json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object; every number a Decimal so money never passes
    through float. Raises BadPayload naming `body`, whatever the bytes."""
    try:
        body = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise BadPayload("body", "is not valid JSON") from err
    except RecursionError as err:  # [[[[… deeper than the parser's recursion limit
        raise BadPayload("body", "is nested too deeply") from err
    if not isinstance(body, dict):
        raise BadPayload("body", "must be a JSON object")
    # No platform sends NUL in a field, and PostgreSQL refuses it in any text:
    # refused here, once, for every field. The byte scan keeps the walk off
    # the hot path (JSON can only spell NUL as \u0000).
    try:
        nul = b"\\u0000" in raw_body and _holds_nul(body)
    except RecursionError as err:
        raise BadPayload("body", "is nested too deeply") from err
    if nul:
        raise BadPayload("body", "must not contain NUL characters (\\u0000)")
    return body


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class AdapterError(Exception):
    """Base for what an adapter reports about a delivery it cannot accept."""


class BadSignature(AdapterError):
    """The delivery is not signed by who it claims (answer 401)."""


class BadPayload(AdapterError):
    """The body is malformed; `field` names the offending field (answer 400)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


class Adapter(Protocol):
    """What every platform module offers as its `adapter`, for one delivery:
    the raw body bytes and the request headers (any case). Install and
    subscribe are per platform.

    Every adapter keeps one contract (tests/platforms/test_contract.py): a
    forged or missing signature raises BadSignature; any body it cannot read
    raises BadPayload, never another exception; events are frozen, with
    Decimal money, an ISO currency, aware times and the store id passed in;
    a redelivery carries the same `delivery_id`.
    """

    name: str  # the registry name: "shopify", "woocommerce", "custom"

    def verify(self, raw_body: bytes, headers: Mapping[str, str], *secrets: str) -> None:
        """Raise BadSignature unless the exact raw body is signed with one of
        `secrets` (more than one while a secret is being rotated)."""

    def parse(self, raw_body: bytes, headers: Mapping[str, str], store_id: int,
              received_at: datetime) -> list[CartEvent]:
        """Translate a verified delivery into zero or more CartEvents.

        `received_at` (the caller's clock) dates events whose payload carries
        no time of its own; adapters never read the clock themselves.
        """
