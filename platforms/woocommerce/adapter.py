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
- REST v3 money is decimal strings. Quantities may be decimal (weight-based
  plugins); names are HTML-escaped (`Ship Your Idea &ndash; Color: Black`),
  decoded once here so the mail escapes them exactly once.
- Statuses: anything but `pending`, `failed`, `checkout-draft`, `cancelled`
  (and `trash`) means paid or handled, including statuses plugins add
  (`ready-for-pickup`…), so it stops the cart.
- `created_via` says who made the order: `checkout`/`store-api` is a shopper;
  `admin` (wp-admin) and `rest-api` are the merchant, whose pending orders
  are invoices, not abandoned checkouts.
- Webhooks set to API v1 carry no `*_gmt` dates and legacy (v3 of the old
  `wc-api`) ones wrap the order in `{"order": …}`: both are refused with a
  message saying to pick API version 3.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
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

# Every other status (processing, on-hold, completed, refunded and whatever a
# plugin adds) means the order was paid or is being handled.
PAYMENT_ABANDONED = {"pending", "failed"}
DRAFT = "checkout-draft"
GONE = {"cancelled", "trash"}
MERCHANT_MADE = {"admin", "rest-api"}
PICK_V3 = ("looks like an API v1 or legacy webhook: edit it in WooCommerce > Settings > "
           "Advanced > Webhooks and set API version to WP REST API Integration v3")
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lowercased; '' when it has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_site(source: str, connected: str) -> bool:
    """`X-WC-Webhook-Source` (home_url with a trailing slash) against the URL the
    store was connected with, read the way a merchant reads them: the scheme
    (WordPress may say http behind an https proxy), `www.` and a trailing
    slash do not count; the path counts only when the connected URL has one
    (a WordPress in a subfolder)."""
    given, ours = urlsplit(source.strip()), urlsplit(connected.strip())
    if not given.netloc or not ours.netloc:
        return False
    if given.netloc.lower().removeprefix("www.") != ours.netloc.lower().removeprefix("www."):
        return False
    path = ours.path.rstrip("/")
    return not path or given.path.rstrip("/") == path


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


def decoded(value: Any) -> Any:
    """A WooCommerce string with its HTML entities decoded (once)."""
    return html.unescape(value) if isinstance(value, str) else value


def quantity_and_price(quantity: Any, price: Decimal, where: str, *,
                       high: int = fields.MAX_QUANTITY) -> tuple[int, Decimal, str]:
    """A whole quantity as is; a decimal one (1.5 kg) as one line at the line's
    price, its amount kept in the title, so every total stays right."""
    if isinstance(quantity, (int, Decimal, str)) and not isinstance(quantity, bool):
        try:
            amount = Decimal(str(quantity).strip())
        except ArithmeticError:
            amount = None
        if amount is not None and amount.is_finite() and 0 <= amount <= high:
            if amount == amount.to_integral_value():
                return int(amount), price, ""
            return 1, (price * amount).quantize(Decimal("0.01")), f" (× {amount.normalize()})"
    raise BadPayload(where, f"must be a number between 0 and {high}")


def _order_items(order: Mapping[str, Any]) -> tuple[Item, ...] | None:
    if "line_items" not in order:
        return None  # said nothing about the items: the row keeps what it has
    items = []
    for where, line in fields.objects(order.get("line_items"), "line_items", clip=True):
        image = line.get("image") if isinstance(line.get("image"), dict) else {}
        quantity, price, amount = quantity_and_price(
            line.get("quantity", 1), fields.money(line.get("price", "0"), f"{where}.price"),
            f"{where}.quantity")
        title = fields.or_none(fields.text, decoded(line.get("name")), max_len=480, clip=True)
        items.append(Item(
            title=f"{title or 'Item'}{amount}",
            quantity=quantity,
            unit_price=price,
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
        if isinstance(body.get("order"), dict) or (
                "status" in body and "date_modified_gmt" not in body
                and "date_created_gmt" not in body):
            raise BadPayload("body", PICK_V3)
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
        if not isinstance(status, str) or "\x00" in status:
            # It becomes part of the delivery id, and PostgreSQL refuses NUL in text.
            raise BadPayload("status", "must be a string without NUL characters")
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
            first_name=fields.or_none(fields.text, decoded(billing.get("first_name")),
                                      max_len=200, clip=True),
            country=fields.or_none(fields.country, billing.get("country")),
            delivery_id=f"wc:{order['id']}:{modified.isoformat()}:{status}",
            order_ref=str(order.get("number") or order["id"]),
        )
        if status in GONE:
            return [CartEvent(kind=EventKind.DELETED, **common)]
        if status not in PAYMENT_ABANDONED and status != DRAFT:
            used = fields.discount_codes(order.get("coupon_lines"))
            return [CartEvent(kind=EventKind.ORDERED, discount_codes=used, **common)]  # paid
        if isinstance(order.get("created_via"), str) and order["created_via"] in MERCHANT_MADE:
            return []  # an invoice the merchant made, not a shopper's abandoned checkout
        if status == DRAFT or order.get("needs_payment", True):
            return_url = (fields.or_none(fields.http_url, order.get("payment_url"))
                          if status in PAYMENT_ABANDONED else None)
            return [CartEvent(kind=EventKind.CHECKOUT_STARTED, items=_order_items(order),
                              return_url=return_url, **common)]
        return []  # pending but needing no payment: nothing to remind about


adapter = WooCommerceAdapter()

