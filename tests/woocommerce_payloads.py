"""WooCommerce order webhooks as a connected store sends them, for the tests of
every module that takes them (flow, offers, offer lifecycle)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from platforms.signing import sign_base64

SHOP = "https://shop.example"


def signed(client: Any, store: Any, body: dict[str, Any] | bytes, *, topic: str = "order.updated",
           source: str = SHOP + "/", secret: str | None = None) -> Any:
    """POST `body` to the store's webhook route signed as WooCommerce signs it."""
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return client.post(f"/webhooks/woocommerce/{store.id}", data=raw, headers={
        "X-WC-Webhook-Signature": sign_base64(secret or store.webhook_secret, raw),
        "X-WC-Webhook-Source": source, "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        "Content-Type": "application/json"})


def order(status: str = "checkout-draft", modified: str = "2026-11-23T09:00:00",
          **fields: Any) -> dict[str, Any]:
    """Order 727 as WooCommerce's REST API shapes it, in `status`, changed at `modified`."""
    body = {"id": 727, "status": status, "currency": "EUR", "total": "18.00",
            "date_created_gmt": "2026-11-23T09:00:00", "date_modified_gmt": modified,
            "cart_hash": "", "needs_payment": status in ("pending", "failed", "checkout-draft"),
            "payment_url": "https://shop.example/checkout/order-pay/727/?key=wc_order_x",
            "billing": {"first_name": "Ada", "email": "ada@example.com", "country": "US"},
            "line_items": [{"id": 1, "name": "Mug", "quantity": 1, "price": "18.00"}]}
    body.update(fields)
    return body
