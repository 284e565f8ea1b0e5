"""Shopify webhooks: verify the signature, then map each topic onto CartEvents.

Wire facts (shopify.dev/docs/api/webhooks, API 2026-07; see
shared/reference/platforms.md "S3"): `X-Shopify-Hmac-Sha256` is the base64
HMAC-SHA256 of the raw body under the app's client secret (the previous
secret too during a rotation); `X-Shopify-Webhook-Id` names one delivery;
`X-Shopify-Topic` says what the body is. Order is not guaranteed, so every
event carries the payload's own `updated_at` and intake drops older ones.

Keys: a Shopify cart is known by its `token`; a checkout by its `token`, its
numeric `id` and the `cart_token` of the cart it came from; an order names
`checkout_token` and `cart_token`. Each event's `cart_key` is the cart token
when known (so cart, checkout and order land on one row), else the checkout
id, else the checkout token; every other key rides along in `aliases` so a
row created under any of them is found. `checkouts/delete` carries only `id`
and `cart_token`, which is why the checkout id is used as the key when there
is no cart token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
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

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
# The cart attribute a theme sets when a shopper opens a saved-cart link
# (docs/shopify.md); Shopify hides attributes starting with "_" at checkout
# and hands them on as the checkout's `note_attributes`.
SAVED_ATTRIBUTE = "_cartback_saved"

CART_TOPICS = ("carts/create", "carts/update")
CHECKOUT_TOPICS = ("checkouts/create", "checkouts/update")
CHECKOUT_DELETE = "checkouts/delete"
ORDER_TOPICS = ("orders/create", "orders/paid")
UNINSTALLED = "app/uninstalled"
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
# What we subscribe each shop to (GraphQL WebhookSubscriptionTopic values).
SUBSCRIBED_TOPICS = (
    "CARTS_CREATE", "CARTS_UPDATE", "CHECKOUTS_CREATE", "CHECKOUTS_UPDATE",
    "CHECKOUTS_DELETE", "ORDERS_CREATE", "APP_UNINSTALLED",
)


@dataclass(frozen=True)
class Redact:
    """A compliance request (customers/redact, customers/data_request, shop/redact)."""

    topic: str
    shop_domain: str | None
    customer_id: str | None = None
    email: str | None = None
    order_ids: tuple[str, ...] = ()
    request_id: str | None = None
    phone: str | None = None  # E.164; a number we cannot read is None


# --- Shopify's loose fields --------------------------------------------------
# Shopify fills optional fields loosely (null, "", a number where text is
# documented); one odd optional value yields None rather than costing the event.

def _str(value: Any, max_len: int = 1000) -> str | None:
    """Text or a number as text; anything else (objects, lists, booleans) is None."""
    return fields.or_none(fields.ident, value, max_len=max_len)


def _money(value: Any, where: str) -> Decimal | None:
    return None if value is None or value == "" else fields.money(value, where)


def _occurred_at(body: Mapping[str, Any]) -> datetime:
    """`updated_at` orders a resource's versions; `created_at` when it is absent."""
    return fields.aware_time(body.get("updated_at") or body.get("created_at"), "updated_at")


def normalize_token(value: Any) -> str | None:
    """Cart tokens may carry a `?key=` suffix; compare without it."""
    text = _str(value)
    if text is None:
        return None
    return fields.or_none(fields.ident, text.split("?", 1)[0])


def _email(value: Any) -> str | None:
    # A null or odd email means protected data not approved: never guess one.
    return fields.or_none(fields.email, value)


def _currency(*values: Any) -> str | None:
    for value in values:
        code = fields.or_none(fields.currency, value)
        if code:
            return code
    return None


def _country(body: Mapping[str, Any]) -> str | None:
    for key in ("billing_address", "shipping_address"):
        address = body.get(key)
        if isinstance(address, dict):
            code = fields.or_none(fields.country, address.get("country_code"))
            if code:
                return code
    return None


def shopify_header(headers: Mapping[str, str], name: str) -> str | None:
    """A Shopify header under either spelling: `X-Shopify-Topic` or the newer
    `Shopify-Topic` (events deliveries drop the X- prefix); any case."""
    bare = name.removeprefix("X-")
    return header(headers, f"X-{bare}") or header(headers, bare)


def _sms(body: Mapping[str, Any], country: str | None) -> tuple[str | None, bool | None]:
    """The number a checkout may text and whether the shopper agreed to it.

    Only `sms_marketing_phone` with `buyer_accepts_sms_marketing` (the consent
    is for that number; a checkout's `phone` or shipping phone is not one to
    text). A customer's `sms_marketing_consent` (dropped from webhooks in API
    2025-01, read when present) counts only when `subscribed` (never pending
    or unknown), for the customer's own phone.
    See shared/reference/flow-offers-sms-holdout.md section D.
    """
    def number(value: Any) -> str | None:
        return fields.or_none(fields.phone, value, region=country)

    accepts = fields.or_none(fields.flag, body.get("buyer_accepts_sms_marketing"))
    phone = number(body.get("sms_marketing_phone"))
    if accepts and phone:
        return phone, True
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    consent = customer.get("sms_marketing_consent") if isinstance(customer, dict) else None
    state = consent.get("state") if isinstance(consent, dict) else None
    if state == "subscribed" and (own := number(customer.get("phone"))):
        return own, True
    if accepts is False or state in ("unsubscribed", "redacted", "not_subscribed"):
        return None, False
    return phone, None


def _first_name(body: Mapping[str, Any]) -> str | None:
    """The name typed at checkout (billing, then shipping address) greets the
    shopper; the customer account's name (often someone else's, or stale)
    only when the checkout has none."""
    for key in ("billing_address", "shipping_address", "customer"):
        part = body.get(key)
        if isinstance(part, dict):
            name = fields.or_none(fields.text, part.get("first_name"), max_len=200, clip=True)
            if name:
                return name
    return None


def _presentment(money_set: Any) -> tuple[Decimal | None, str | None]:
    """`{shop_money, presentment_money}{amount, currency_code}` → what the shopper saw."""
    if not isinstance(money_set, dict):
        return None, None
    money = money_set.get("presentment_money") or money_set.get("shop_money")
    if not isinstance(money, dict):
        return None, None
    return _money(money.get("amount"), "price_set.amount"), _currency(money.get("currency_code"))


def _items(raw: Any) -> tuple[Item, ...]:
    items = []
    for where, line in fields.objects(raw, "line_items", clip=True):
        quantity = fields.whole(line.get("quantity", 1), f"{where}.quantity")
        if quantity == 0:
            continue
        title = _str(line.get("presentment_title")) or _str(line.get("title")) or "Item"
        variant = _str(line.get("presentment_variant_title")) or _str(line.get("variant_title"))
        if variant and variant not in title:
            title = f"{title} ({variant})"
        price, _ = _presentment(line.get("price_set"))
        if price is None:
            price = _money(line.get("price"), f"{where}.price")
        if price is None:
            raise BadPayload(f"{where}.price", "is required")
        items.append(Item(title=title[:500], quantity=quantity, unit_price=price,
                          sku=_str(line.get("sku"), max_len=255)))
    return tuple(items)


def _line_currency(raw: Any) -> str | None:
    for line in raw if isinstance(raw, list) else ():
        if isinstance(line, dict):
            _, currency = _presentment(line.get("price_set"))
            if currency:
                return currency
    return None


def _id(value: Any) -> str | None:
    """Numeric REST id or GraphQL gid (gid://shopify/AbandonedCheckout/123) → '123'."""
    text = _str(value)
    if text is None:
        return None
    return fields.or_none(fields.ident, text.rsplit("/", 1)[-1])


def _keys(primary: Iterable[str | None],
          extra: Iterable[str | None]) -> tuple[str, tuple[str, ...]]:
    ordered = [k for k in primary if k]
    if not ordered:
        raise BadPayload("token", "no cart token, checkout token or id to key the cart by")
    key = ordered[0]
    aliases = tuple(dict.fromkeys(k for k in (*ordered[1:], *extra) if k and k != key))
    return key, aliases


# --- topic mappings ----------------------------------------------------------

def cart_events(body: Mapping[str, Any], store_id: int, delivery_id: str | None) -> list[CartEvent]:
    """carts/create|update: items and total only; a Shopify cart has no email."""
    token = normalize_token(body.get("token")) or normalize_token(body.get("id"))
    if token is None:
        raise BadPayload("token", "is required")
    items = _items(body.get("line_items"))
    total = fields.money(sum((i.unit_price * i.quantity for i in items), Decimal("0")), "total")
    return [CartEvent(
        store_id=store_id, cart_key=token, kind=EventKind.UPDATED,
        occurred_at=_occurred_at(body), items=items, total=total,
        currency=_line_currency(body.get("line_items")), delivery_id=delivery_id,
    )]


def checkout_events(body: Mapping[str, Any], store_id: int,
                    delivery_id: str | None) -> list[CartEvent]:
    """checkouts/create|update: the checkout's own `email` (what the shopper typed,
    not `customer.email`), consent, locale, items and the recovery link; a set
    `completed_at` means the checkout became an order."""
    cart_token = normalize_token(body.get("cart_token"))
    token = normalize_token(body.get("token"))
    checkout_id = _id(body.get("id"))
    cart_key, aliases = _keys((cart_token, checkout_id, token), (token, checkout_id))
    occurred_at = _occurred_at(body)
    currency = _currency(body.get("presentment_currency"), body.get("currency"))
    total = _money(body.get("total_price"), "total_price")
    email = _email(body.get("email"))
    if body.get("completed_at"):
        return [CartEvent(
            store_id=store_id, cart_key=cart_key, kind=EventKind.ORDERED,
            occurred_at=fields.aware_time(body["completed_at"], "completed_at"), total=total,
            currency=currency, email=email, delivery_id=delivery_id, checkout_key=token,
            order_ref=_id(body.get("order_id")), aliases=aliases,
        )]
    return_url = fields.or_none(fields.http_url, body.get("abandoned_checkout_url"))
    country = _country(body)
    phone, sms_consent = _sms(body, country)
    attributes = body.get("note_attributes")
    saved_link = isinstance(attributes, list) and any(
        isinstance(a, dict) and a.get("name") == SAVED_ATTRIBUTE
        and str(a.get("value")).strip().lower() in ("1", "true", "yes") for a in attributes)
    return [CartEvent(
        store_id=store_id, cart_key=cart_key, kind=EventKind.CHECKOUT_STARTED,
        occurred_at=occurred_at, items=_items(body.get("line_items")), total=total,
        currency=currency, email=email, first_name=_first_name(body),
        locale=fields.or_none(fields.locale, body.get("customer_locale")),
        country=country, return_url=return_url,
        marketing_consent=fields.or_none(fields.flag, body.get("buyer_accepts_marketing")),
        phone=phone, sms_consent=sms_consent,
        delivery_id=delivery_id, checkout_key=token, aliases=aliases, saved_link=saved_link,
    )]


def checkout_delete_events(body: Mapping[str, Any], store_id: int, delivery_id: str | None,
                           occurred_at: datetime) -> list[CartEvent]:
    """checkouts/delete carries only `id` and `cart_token` (no token, no times)."""
    cart_token = normalize_token(body.get("cart_token"))
    checkout_id = _id(body.get("id"))
    cart_key, aliases = _keys((cart_token, checkout_id), (checkout_id,))
    return [CartEvent(store_id=store_id, cart_key=cart_key, kind=EventKind.DELETED,
                      occurred_at=occurred_at, delivery_id=delivery_id, aliases=aliases)]


def order_events(body: Mapping[str, Any], store_id: int,
                 delivery_id: str | None) -> list[CartEvent]:
    """orders/create|paid: linked by checkout token, cart token, checkout id; intake
    falls back to the shopper's email within the attribution window."""
    order_id = _id(body.get("id"))
    cart_token = normalize_token(body.get("cart_token"))
    checkout_token = normalize_token(body.get("checkout_token"))
    checkout_id = _id(body.get("checkout_id"))
    cart_key, aliases = _keys(
        (cart_token, checkout_id, checkout_token, f"order:{order_id}" if order_id else None),
        (checkout_token, checkout_id),
    )
    total, currency = _presentment(body.get("total_price_set"))
    if total is None:
        total = _money(body.get("total_price"), "total_price")
    when = body.get("processed_at") or body.get("created_at")
    occurred_at = fields.aware_time(when, "created_at") if when else _occurred_at(body)
    return [CartEvent(
        store_id=store_id, cart_key=cart_key, kind=EventKind.ORDERED, occurred_at=occurred_at,
        total=total,
        currency=currency or _currency(body.get("presentment_currency"), body.get("currency")),
        email=_email(body.get("email")) or _email(body.get("contact_email")),
        locale=fields.or_none(fields.locale, body.get("customer_locale")),
        delivery_id=delivery_id,
        checkout_key=checkout_token, order_ref=order_id or _str(body.get("name")),
        aliases=aliases, discount_codes=fields.discount_codes(body.get("discount_codes")),
    )]



def parse_redact(topic: str, body: Mapping[str, Any]) -> Redact:
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    orders = body.get("orders_to_redact") or body.get("orders_requested") or []
    if not isinstance(orders, list):
        raise BadPayload("orders_to_redact", "must be a list of order ids")
    data_request = body.get("data_request") if isinstance(body.get("data_request"), dict) else {}
    assert isinstance(data_request, dict)
    return Redact(
        topic=topic,
        shop_domain=_str(body.get("shop_domain")),
        customer_id=_id(customer.get("id")),
        email=_str(customer.get("email"), max_len=fields.MAX_EMAIL),
        phone=fields.or_none(fields.phone, customer.get("phone")),
        order_ids=tuple(i for i in (_id(o) for o in orders if not isinstance(o, dict)) if i),
        request_id=_id(data_request.get("id")),
    )


load_json = load_json_object


Mapper = Callable[[Mapping[str, Any], int, str | None], list[CartEvent]]
MAPPERS: dict[str, Mapper] = {
    **{t: cart_events for t in CART_TOPICS},
    **{t: checkout_events for t in CHECKOUT_TOPICS},
    **{t: order_events for t in ORDER_TOPICS},
}


def topic_of(headers: Mapping[str, str]) -> str:
    return (shopify_header(headers, TOPIC_HEADER) or "").strip().lower()


def shop_of(headers: Mapping[str, str]) -> str | None:
    return shopify_header(headers, SHOP_HEADER)


def hmac_of(headers: Mapping[str, str]) -> str | None:
    return shopify_header(headers, HMAC_HEADER)


def delivery_id_of(headers: Mapping[str, str]) -> str | None:
    value = (shopify_header(headers, WEBHOOK_ID_HEADER) or "").strip()
    return f"shopify:{value}"[:255] if value else None


def event_id_of(headers: Mapping[str, str]) -> str | None:
    """One id per merchant action and topic, shared by the deliveries of every
    subscription to it (two subscriptions, two webhook ids, one event)."""
    value = (shopify_header(headers, EVENT_ID_HEADER) or "").strip()
    topic = topic_of(headers)
    return f"shopify-event:{topic}:{value}"[:255] if value else None


class ShopifyAdapter:
    name = "shopify"

    def verify(self, raw_body: bytes, headers: Mapping[str, str], *secrets: str) -> None:
        """Signed with the app's client secret, or the previous one during a rotation."""
        if not verify_base64(secrets, raw_body, hmac_of(headers)):
            raise BadSignature(f"missing or wrong {HMAC_HEADER}")

    def parse(self, raw_body: bytes, headers: Mapping[str, str], store_id: int,
              received_at: datetime) -> list[CartEvent]:
        """Cart, checkout and order topics → events; any other topic → none.

        `received_at` dates a checkouts/delete, whose payload has no timestamp
        (the delivery's X-Shopify-Triggered-At is used when present).
        """
        topic = topic_of(headers)
        delivery_id = delivery_id_of(headers)
        if topic == CHECKOUT_DELETE:
            body = load_json(raw_body)
            triggered = shopify_header(headers, TRIGGERED_AT_HEADER)
            when = (fields.aware_time(triggered, TRIGGERED_AT_HEADER) if triggered
                    else received_at)
            events = checkout_delete_events(body, store_id, delivery_id, when)
        else:
            mapper = MAPPERS.get(topic)
            if mapper is None:
                return []
            events = mapper(load_json(raw_body), store_id, delivery_id)
        return with_event_id(events, event_id_of(headers))


def with_event_id(events: list[CartEvent], event_id: str | None) -> list[CartEvent]:
    return [replace(e, event_id=event_id) for e in events] if event_id else events


adapter = ShopifyAdapter()
