"""WooCommerce order webhooks → CartEvents (the storefront beacon is `beacon`).

Wire facts (shared/reference/platforms.md, WooCommerce sections):
- Webhooks are signed `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the
  exact body with the per-webhook secret we chose; `X-WC-Webhook-Source` is
  the store's home URL with a trailing slash.
- Creating a webhook sends an unsigned ping: form body `webhook_id=<digits>`.
- `X-WC-Webhook-Delivery-ID` changes per attempt, so deliveries are deduped on
  order id + `date_modified_gmt` + status instead.
- Block checkout creates `checkout-draft` orders: checkout started with an
  email, never a placed order.
- REST v3 money is decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

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

SIGNATURE = "X-WC-Webhook-Signature"
SOURCE = "X-WC-Webhook-Source"
TOPIC = "X-WC-Webhook-Topic"
PING_RE = re.compile(rb"^webhook_id=\d+$")

PLACED = {"processing", "on-hold", "completed"}
PAYMENT_ABANDONED = {"pending", "failed"}
GONE = {"cancelled", "trash"}
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lowercased; '' when it has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_ping(raw_body: bytes, headers: Mapping[str, str]) -> bool:
    return header(headers, SIGNATURE) is None and bool(PING_RE.match(raw_body.strip()))


def authorize_url(store_url: str, *, app_name: str, state: str, callback_url: str,
                  return_url: str) -> str:
    """The merchant's key-granting page; WooCommerce refuses non-https callbacks."""
    if not callback_url.startswith("https://"):
        raise ValueError("WooCommerce only calls back over https: set CARTBACK_PUBLIC_URL "
                         "to an https address")
    query = urlencode({"app_name": app_name, "scope": "read_write", "user_id": state,
                       "return_url": return_url, "callback_url": callback_url})
    return f"{origin_of(store_url)}/wc-auth/v1/authorize?{query}"


def _order_items(order: Mapping[str, Any]) -> tuple[Item, ...]:
    items = []
    for where, line in fields.objects(order.get("line_items"), "line_items", clip=True):
        image = line.get("image") if isinstance(line.get("image"), dict) else {}
        items.append(Item(
            title=fields.or_none(fields.text, line.get("name"), max_len=500, clip=True) or "Item",
            quantity=fields.whole(line.get("quantity", 1), f"{where}.quantity"),
            unit_price=fields.money(line.get("price", "0"), f"{where}.price"),
            sku=fields.or_none(fields.ident, line.get("sku")),
            image_url=fields.or_none(fields.http_url, image.get("src")),
        ))
    return tuple(i for i in items if i.quantity > 0)


def order_key(order_id: Any) -> str:
    return f"wc-order:{order_id}"


class WooCommerceAdapter:
    name = "woocommerce"

    def verify(self, raw_body: bytes, headers: Mapping[str, str], *secrets: str) -> None:
        if not verify_base64(secrets, raw_body, header(headers, SIGNATURE)):
            raise BadSignature(f"missing or wrong {SIGNATURE}")

    def parse(self, raw_body: bytes, headers: Mapping[str, str], store_id: int,
              received_at: datetime) -> list[CartEvent]:
        body = load_json_object(raw_body)
        topic = (header(headers, TOPIC) or "").strip()
        if topic.startswith("action.") or "action" in body:
            return []  # e.g. action.woocommerce_add_to_cart: carries no cart, nothing to do
        if "id" not in body or isinstance(body["id"], bool) or not isinstance(body["id"], int):
            raise BadPayload("id", "must be the order id")
        if topic == "order.deleted" or set(body) == {"id"}:
            return [CartEvent(store_id=store_id, cart_key=order_key(body["id"]),
                              checkout_key=order_key(body["id"]), kind=EventKind.DELETED,
                              # {"id": N} carries no time: dated when received.
                              occurred_at=received_at,
                              delivery_id=f"wc:{body['id']}:deleted")]
        return self._order(body, store_id)

    def _order(self, order: Mapping[str, Any], store_id: int) -> list[CartEvent]:
        status = order.get("status")
        if not isinstance(status, str):
            raise BadPayload("status", "must be a string")
        # *_gmt values carry no offset: they are UTC.
        modified = fields.aware_time(order.get("date_modified_gmt")
                                     or order.get("date_created_gmt"), "date_modified_gmt",
                                     naive_is_utc=True)
        billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
        common: dict[str, Any] = dict(
            store_id=store_id,
            cart_key=order_key(order["id"]),
            checkout_key=order_key(order["id"]),
            aliases=tuple(a for a in (order.get("cart_hash"),) if isinstance(a, str) and a),
            occurred_at=modified,
            total=fields.money(order.get("total", "0"), "total"),
            currency=fields.or_none(fields.currency, order.get("currency")),
            email=fields.or_none(fields.email, billing.get("email")),
            first_name=fields.or_none(fields.text, billing.get("first_name"), max_len=200,
                                      clip=True),
            country=fields.or_none(fields.country, billing.get("country")),
            delivery_id=f"wc:{order['id']}:{modified.isoformat()}:{status}",
            order_ref=str(order.get("number") or order["id"]),
        )
        if status in PLACED:
            return [CartEvent(kind=EventKind.ORDERED, **common)]
        if status in GONE:
            return [CartEvent(kind=EventKind.DELETED, **common)]
        if status == "checkout-draft" or (status in PAYMENT_ABANDONED
                                          and order.get("needs_payment", True)):
            return_url = (fields.or_none(fields.http_url, order.get("payment_url"))
                          if status in PAYMENT_ABANDONED else None)
            return [CartEvent(kind=EventKind.CHECKOUT_STARTED, items=_order_items(order),
                              return_url=return_url, **common)]
        return []  # refunded and other after-sale states change nothing for reminders


adapter = WooCommerceAdapter()

