"""Shopify test material: payloads written from the documented field lists
(shopify.dev webhooks reference, API 2026-07), signed deliveries, session tokens.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
import responses

from platforms.signing import sign_base64

SHOP = "cool-shop.myshopify.com"
API_KEY = "api-key-123"
# Shaped like real client secrets (PyJWT warns, and pytest fails, on HMAC keys < 32 bytes).
SECRET = "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"
PREVIOUS_SECRET = "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"
CART_TOKEN = "eeafa272cebfd4b22385bc4b645e762c"
CHECKOUT_TOKEN = "123123123"
CHECKOUT_ID = 981820079255243537
RECOVER_URL = ("https://checkout.local/548380009/checkouts/123123123/recover"
               "?key=example-secret-token")

OVERRIDES = {
    "SHOPIFY_API_KEY": API_KEY,
    "SHOPIFY_API_SECRET": SECRET,
    "SHOPIFY_PREVIOUS_API_SECRET": PREVIOUS_SECRET,
    "SHOPIFY_API_VERSION": "2026-07",
}
GRAPHQL_URL = f"https://{SHOP}/admin/api/2026-07/graphql.json"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cart_payload(token: str = CART_TOKEN, *, updated_at: datetime, quantity: int = 3,
                 lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    line = {
        "id": 704912205188288575, "key": "704912205188288575:33f11ed5ad9a2c4b4f5a5e2a8e6f5b3c",
        "quantity": quantity, "variant_id": 704912205188288575, "product_id": 788032119674292922,
        "title": "Example T-Shirt - Small", "sku": "example-shirt-s", "vendor": "Acme",
        "price": "19.99", "original_price": "19.99", "discounted_price": "19.99",
        "line_price": f"{19.99 * quantity:.2f}", "original_line_price": f"{19.99 * quantity:.2f}",
        "total_discount": "0.00", "discounts": [], "gift_card": False, "grams": 200,
        "taxable": True, "properties": {}, "parent_relationship": None,
        "price_set": {"shop_money": {"amount": "19.99", "currency_code": "USD"},
                      "presentment_money": {"amount": "18.50", "currency_code": "EUR"}},
    }
    return {
        "id": token, "token": token, "note": None,
        "created_at": iso(updated_at - timedelta(minutes=5)), "updated_at": iso(updated_at),
        "line_items": [line] if lines is None else lines,
    }


def checkout_payload(*, updated_at: datetime, token: str | None = CHECKOUT_TOKEN,
                     cart_token: str | None = CART_TOKEN, email: str | None = "example@email.com",
                     completed_at: datetime | None = None, total: str = "421.88",
                     **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token": token, "cart_token": cart_token, "email": email, "phone": None,
        "customer_locale": "en-GB", "name": "#981820079255243537",
        "buyer_accepts_marketing": True, "buyer_accepts_sms_marketing": False,
        "sms_marketing_phone": None,
        "created_at": iso(updated_at - timedelta(minutes=3)), "updated_at": iso(updated_at),
        "completed_at": iso(completed_at) if completed_at else None, "closed_at": None,
        "currency": "USD", "presentment_currency": "EUR", "total_price": total,
        "subtotal_price": "398.00", "total_tax": "23.88", "total_discounts": "0.00",
        "total_line_items_price": "398.00", "discount_codes": [],
        "abandoned_checkout_url": RECOVER_URL, "source_name": "web", "landing_site": None,
        "referring_site": None, "note": None, "note_attributes": [],
        "billing_address": {"first_name": "Bob", "last_name": "Norman", "country": "Canada",
                            "country_code": "CA", "city": "Ottawa"},
        "shipping_address": {"first_name": "Bob", "last_name": "Norman", "country": "Canada",
                             "country_code": "CA", "city": "Ottawa"},
        "customer": {"id": 603851970716743426, "email": "john@example.com",
                     "first_name": "John", "last_name": "Smith", "phone": None,
                     "state": "disabled", "verified_email": True, "currency": "USD"},
        "line_items": [{
            "key": "d4c7f0c7c7f0", "product_id": 632910392, "variant_id": 808950810,
            "title": "IPod Nano - 8GB", "presentment_title": "IPod Nano - 8GB",
            "variant_title": "Pink", "presentment_variant_title": "Pink", "quantity": 2,
            "price": "199.00", "line_price": "398.00", "variant_price": "199.00",
            "sku": "IPOD2008PINK", "vendor": "Apple", "compare_at_price": None,
            "properties": {}, "applied_discounts": [], "discount_allocations": [],
            "tax_lines": [],
        }],
    }
    body.update(extra)
    return body


def delete_payload(*, checkout_id: int = CHECKOUT_ID,
                   cart_token: str | None = CART_TOKEN) -> dict[str, Any]:
    return {"id": checkout_id, "cart_token": cart_token, "presentment_currency": "EUR",
            "total_price": "421.88", "subtotal_price": "398.00", "total_tax": "23.88",
            "total_discounts": "0.00", "total_duties": None, "buyer_accepts_sms_marketing": False,
            "sms_marketing_phone": None, "reservation_token": None}


def order_payload(*, created_at: datetime, checkout_token: str | None = CHECKOUT_TOKEN,
                  cart_token: str | None = None, email: str = "jon@example.com",
                  order_id: int = 820982911946154508, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "token": "123456abcd", "name": "#9999", "order_number": 1234, "number": 234,
        "cart_token": cart_token, "checkout_token": checkout_token, "checkout_id": None,
        "email": email, "contact_email": email, "phone": None, "buyer_accepts_marketing": True,
        "customer_locale": "en", "currency": "USD", "presentment_currency": "EUR",
        "total_price": "421.88", "current_total_price": "421.88", "subtotal_price": "398.00",
        "total_discounts": "0.00", "discount_codes": [], "discount_applications": [],
        "financial_status": "paid", "fulfillment_status": None, "test": False,
        "source_name": "web", "landing_site": None, "referring_site": None,
        "note_attributes": [], "order_status_url": f"https://{SHOP}/orders/123456abcd",
        "created_at": iso(created_at), "updated_at": iso(created_at),
        "processed_at": iso(created_at), "cancelled_at": None,
        "total_price_set": {"shop_money": {"amount": "456.00", "currency_code": "USD"},
                            "presentment_money": {"amount": "421.88", "currency_code": "EUR"}},
        "customer": {"id": 115310627314723954, "email": email, "first_name": "John"},
        "line_items": [{"id": 866550311766439020, "product_id": 632910392,
                        "variant_id": 808950810, "title": "IPod Nano - 8GB",
                        "name": "IPod Nano - 8GB - Pink", "sku": "IPOD2008PINK",
                        "quantity": 2, "current_quantity": 2, "price": "199.00",
                        "total_discount": "0.00", "properties": []}],
    }
    body.update(extra)
    return body


def signed_headers(topic: str, raw: bytes, *, secret: str = SECRET, shop: str = SHOP,
                   webhook_id: str | None = None, lowercase: bool = False,
                   signature: str | None = None) -> dict[str, str]:
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature if signature is not None else sign_base64(secret, raw),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-23T09:00:00.000000Z",
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if lowercase:
        headers = {k.lower(): v for k, v in headers.items()}
    return headers


def post_webhook(client: Any, topic: str, body: dict[str, Any] | bytes, **options: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhooks/shopify", data=raw, headers=signed_headers(topic, raw, **options))


def session_token(now: datetime, *, secret: str = SECRET, aud: str = API_KEY,
                  dest: str = f"https://{SHOP}", iss: str = f"https://{SHOP}/admin",
                  exp_in: int = 60, nbf_in: int = 0, algorithm: str = "HS256") -> str:
    """Claims as in ShopifyAPI's test fixture (test/session_token_test.py)."""
    stamp = int(now.timestamp())
    claims = {"iss": iss, "dest": dest, "aud": aud, "sub": "1", "exp": stamp + exp_in,
              "nbf": stamp + nbf_in, "iat": stamp, "jti": "4321", "sid": "abc123"}
    return jwt.encode(claims, secret, algorithm=algorithm)


class RecordingTimers:
    """A Timers fake that remembers what it was told."""

    def __init__(self) -> None:
        self.sets: list[tuple[int, datetime | None]] = []
        self.cancelled: list[int] = []

    def set(self, cart_id: int, when: datetime | None) -> None:
        self.sets.append((cart_id, when))

    def cancel_many(self, cart_ids: Any) -> None:
        self.cancelled.extend(cart_ids)


def fake_shopify(fake: Any, scope: str = "read_orders,write_discounts,read_products",
                 *, exchange: bool = True) -> None:
    """Shopify answering a code/token exchange, the shop query and subscriptions."""
    if exchange:
            fake.post(TOKEN_URL, json={"access_token": "shpat_secret_token", "scope": scope,
                                   "expires_in": 3600, "refresh_token": "shprt_secret",
                                   "refresh_token_expires_in": 7776000})

    def graphql(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        if "shop {" in body["query"]:
            return 200, {}, json.dumps({"data": {"shop": {
                "name": "Cool Shop", "ianaTimezone": "Europe/Paris",
                "contactEmail": "hi@cool.example", "myshopifyDomain": SHOP,
                "url": "https://www.cool-shop.example",
                "primaryDomain": {"host": "www.cool-shop.example"}}}})
        topic = body["variables"]["topic"]
        return 200, {}, json.dumps({"data": {"webhookSubscriptionCreate": {
            "webhookSubscription": {"id": f"gid://shopify/WebhookSubscription/{topic}",
                                    "topic": topic,
                                    "uri": "https://cartback.test/webhooks/shopify"},
            "userErrors": []}}})

    fake.add_callback(responses.POST, GRAPHQL_URL, callback=graphql)
