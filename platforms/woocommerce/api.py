"""The store's REST API, through the `woocommerce` package (requests underneath).

One small client per store: register our order webhooks with our own secret,
re-activate webhooks WooCommerce disabled after failed deliveries, and list
orders modified since the last sync. Errors become `WooApiError` with the
store's own message, which the merchant sees.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests
from woocommerce import API

from platforms.woocommerce.adapter import WEBHOOK_TOPICS

USER_AGENT = "Cartback/0.1 (+https://github.com/cartback)"
TIMEOUT_S = 10


class WooApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WooClient:
    def __init__(self, store_url: str, consumer_key: str, consumer_secret: str) -> None:
        self.api = API(url=store_url.rstrip("/"), consumer_key=consumer_key,
                       consumer_secret=consumer_secret, version="wc/v3", timeout=TIMEOUT_S,
                       user_agent=USER_AGENT)

    def _call(self, method: str, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        try:
            if data is None:
                response = getattr(self.api, method)(endpoint, **kwargs)
            else:
                response = getattr(self.api, method)(endpoint, data, **kwargs)
        except requests.RequestException as err:
            raise WooApiError(f"could not reach the store: {type(err).__name__}") from err
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = f"{body.get('code', '')}: {body.get('message', '')}".strip(": ")
            except ValueError:
                detail = response.text[:200]
            raise WooApiError(f"store answered {response.status_code} ({detail})",
                              status=response.status_code)
        return response.json()

    def register_webhooks(self, delivery_url: str, secret: str) -> dict[str, int]:
        """Create our order webhooks; returns {topic: webhook id}."""
        ids = {}
        for topic in WEBHOOK_TOPICS:
            created = self._call("post", "webhooks", {
                "name": f"Cartback {topic}", "topic": topic, "delivery_url": delivery_url,
                "secret": secret, "status": "active",
            })
            ids[topic] = int(created["id"])
        return ids

    def reactivate_disabled(self, webhook_ids: dict[str, int]) -> list[int]:
        """Put every disabled webhook of ours back to active; returns the ids fixed."""
        fixed = []
        for webhook_id in webhook_ids.values():
            hook = self._call("get", f"webhooks/{webhook_id}")
            if hook.get("status") == "disabled":
                self._call("put", f"webhooks/{webhook_id}", {"status": "active"})
                fixed.append(webhook_id)
        return fixed

    def create_coupon(self, *, code: str, kind: str, value: Decimal, email: str,
                      expires_at: datetime, minimum: Decimal | None = None) -> int:
        """One single-use coupon for one shopper's email; returns its id.

        POST /wc/v3/coupons (shared/reference/flow-offers-sms-holdout.md B1):
        amounts are strings; the email restriction and the per-user limit are
        checked at checkout against the billing email; free shipping needs a
        shipping method set to "requires a coupon" in the store.
        """
        data: dict[str, Any] = {
            "code": code,
            "discount_type": "percent" if kind == "percent" else "fixed_cart",
            "amount": "0" if kind == "free_shipping" else f"{value.normalize():f}",
            "free_shipping": kind == "free_shipping",
            "individual_use": True, "usage_limit": 1, "usage_limit_per_user": 1,
            "email_restrictions": [email],
            "date_expires_gmt": expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "description": "Cartback recovery offer",
        }
        if minimum is not None:
            data["minimum_amount"] = f"{minimum:.2f}"
        created = self._call("post", "coupons", data)
        if not isinstance(created, dict) or "id" not in created:
            raise WooApiError("store answered no coupon id")
        return int(created["id"])

    def coupon_uses(self, coupon_id: int) -> int | None:
        """How often a coupon was used; None when the store has no such coupon
        (deleted, or emptied from the trash)."""
        try:
            coupon = self._call("get", f"coupons/{coupon_id}")
        except WooApiError as err:
            if err.status == 404:
                return None
            raise
        return int(coupon.get("usage_count") or 0) if isinstance(coupon, dict) else 0

    def delete_coupon(self, coupon_id: int) -> None:
        """DELETE /wc/v3/coupons/<id>?force=true: for good, not to the trash
        (shared/reference/flow-offers-sms-holdout.md B2). Already gone is done."""
        try:
            self._call("delete", f"coupons/{coupon_id}", params={"force": "true"})
        except WooApiError as err:
            if err.status != 404:
                raise

    def orders_modified_since(self, since: datetime, *, per_page: int = 100,
                              max_pages: int = 20) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            batch = self._call("get", "orders", params={
                "modified_after": since.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true",
                "orderby": "modified", "order": "asc", "per_page": per_page, "page": page,
                "status": "any",
            })
            orders.extend(batch)
            if len(batch) < per_page:
                break
        return orders
