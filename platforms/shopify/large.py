"""An order too large to keep still stops its cart.

A Shopify order with hundreds of lines can run to megabytes. When a body is
larger than Cartback keeps in memory, its signature is still checked over
every byte (`platforms.signing.read_signed_base64`), and its first bytes are
kept: the Order resource serialises its identity, linking and contact fields
(`id`, `cart_token`, `checkout_id`, `checkout_token`, `email`, `created_at`,
`processed_at`) before `line_items`, so an order event is built from those
alone. Only top-level scalar fields are read; nested objects (the customer,
its addresses) are stepped over whole.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from platforms.base import BadPayload, CartEvent
from platforms.shopify.adapter import order_events

FIELDS = ("id", "cart_token", "checkout_id", "checkout_token", "email", "contact_email",
          "created_at", "processed_at", "updated_at", "name", "currency",
          "presentment_currency", "total_price")


def order_head_fields(head: bytes) -> dict[str, Any]:
    """The top-level scalar FIELDS that the head of an Order body holds whole.

    Walks the top-level object value by value (nested objects such as
    `customer`, whose own `id` and `email` must not be mistaken for the
    order's, are decoded and skipped) and stops at the first value the head
    cuts off.
    """
    text = head.decode("utf-8", "ignore")
    decoder = json.JSONDecoder(parse_float=Decimal)
    found: dict[str, Any] = {}

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(0)
    if not text.startswith("{", i):
        return found
    i += 1
    try:
        while True:
            i = skip(i)
            key, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i] != ":":
                break
            value, i = decoder.raw_decode(text, skip(i + 1))
            if isinstance(key, str) and key in FIELDS and not isinstance(value, (dict, list)):
                found[key] = value
            i = skip(i)
            if text[i] != ",":
                break
            i += 1
    except (ValueError, IndexError):
        pass  # the head ends here
    return found


def order_stop_events(head: bytes, store_id: int, delivery_id: str | None) -> list[CartEvent]:
    """orders/create|paid from the head of a body too large to keep: no items,
    only what links the order to its cart and dates it."""
    fields = order_head_fields(head)
    if "id" not in fields:
        raise BadPayload("body", "is too large and names no order id in its first bytes")
    return order_events(fields, store_id, delivery_id)
