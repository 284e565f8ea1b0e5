"""Shopify Admin API over HTTP: token grants, GraphQL, webhook subscriptions, reconciliation reads.

Every call goes through `ShopifyClient._post` (a timeout, a User-Agent, an
injectable `requests.Session`, errors mapped to `ShopifyApiError`), so tests
fake Shopify with `responses`. ShopifyAPI's own HTTP layer is urllib-based
and keeps the active shop in class-level state; we do not use it.

Tokens (shared/reference/platforms.md S1-S2): the code and session-token
grants ask for expiring offline tokens (`expiring=1`: ~60 min access token
plus a refresh token that rotates on every refresh).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

USER_AGENT = "Cartback/0.1 (+abandoned-cart recovery)"
TIMEOUT = (3.05, 10)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a URN)
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105
PAGE_SIZE = 50
MAX_PAGES = 40


class ShopifyApiError(Exception):
    """Shopify answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient


@dataclass(frozen=True)
class Grant:
    """What a token endpoint returned; expiry fields are None for non-expiring tokens."""

    access_token: str
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None

    @classmethod
    def from_response(cls, data: dict[str, Any], now: datetime) -> Grant:
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ShopifyApiError("token response has no access_token")

        def later(seconds: Any) -> datetime | None:
            return now + timedelta(seconds=int(seconds)) if seconds else None

        return cls(
            access_token=token,
            scope=str(data.get("scope") or ""),
            expires_at=later(data.get("expires_in")),
            refresh_token=data.get("refresh_token") or None,
            refresh_expires_at=later(data.get("refresh_token_expires_in")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "scope": self.scope,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": (self.refresh_expires_at.isoformat()
                                   if self.refresh_expires_at else None),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grant:
        def when(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(access_token=data["access_token"], scope=data.get("scope") or "",
                   expires_at=when(data.get("expires_at")),
                   refresh_token=data.get("refresh_token"),
                   refresh_expires_at=when(data.get("refresh_expires_at")))


WEBHOOK_CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

# The shop's hosts (myshopifyDomain, url, primaryDomain) say where its checkout
# links may lead (platforms/shopify/hosts.py).
SHOP_QUERY = ("query { shop { name ianaTimezone contactEmail myshopifyDomain url "
              "primaryDomain { host } } }")

ABANDONED_CHECKOUTS = """
query Checkouts($query: String!, $after: String) {
  abandonedCheckouts(first: PAGE_SIZE, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id abandonedCheckoutUrl createdAt updatedAt completedAt
      customer { email firstName locale }
      billingAddress { countryCodeV2 firstName }
      shippingAddress { countryCodeV2 firstName }
      totalPriceSet { presentmentMoney { amount currencyCode } }
      lineItems(first: 100) {
        nodes { title variantTitle quantity sku
                originalUnitPriceSet { presentmentMoney { amount currencyCode } } }
      }
    }
  }
}
""".replace("PAGE_SIZE", str(PAGE_SIZE))

ORDERS = """
query Orders($query: String!, $after: String) {
  orders(first: PAGE_SIZE, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt processedAt updatedAt cartToken checkoutToken customerLocale
      totalPriceSet { presentmentMoney { amount currencyCode } }
    }
  }
}
""".replace("PAGE_SIZE", str(PAGE_SIZE))

# Recovery links look like https://{host}/{shop id}/checkouts/{token}/recover?key=...
# (newer ones may add a two-letter segment such as /checkouts/ac/{token}/).
CHECKOUT_URL_TOKEN = re.compile(r"/checkouts/(?:[a-z]{2}/)?([A-Za-z0-9_-]+)/recover")


class ShopifyClient:
    """One shop's Admin API. Holds no token: every call names the one it uses."""

    def __init__(self, shop: str, *, api_version: str, http: requests.Session | None = None,
                 timeout: tuple[float, float] = TIMEOUT) -> None:
        self.shop = shop
        self.api_version = api_version
        self.http = http or requests.Session()
        self.timeout = timeout

    def _post(self, path: str, payload: dict[str, Any],
              token: str | None = None) -> dict[str, Any]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["X-Shopify-Access-Token"] = token
        url = f"https://{self.shop}{path}"
        try:
            response = self.http.post(url, json=payload, headers=headers, timeout=self.timeout)
        except requests.RequestException as err:
            raise ShopifyApiError(f"{self.shop} unreachable: {type(err).__name__}",
                                  transient=True) from err
        if response.status_code >= 400:
            raise ShopifyApiError(
                f"{self.shop} answered {response.status_code} on {path}",
                status=response.status_code,
                transient=response.status_code == 429 or response.status_code >= 500,
            )
        try:
            data = response.json()
        except ValueError as err:
            raise ShopifyApiError(f"{self.shop} answered non-JSON on {path}") from err
        if not isinstance(data, dict):
            raise ShopifyApiError(f"{self.shop} answered an unexpected shape on {path}")
        return data

    # --- tokens -----------------------------------------------------------

    def exchange_code(self, code: str, api_key: str, secret: str, now: datetime) -> Grant:
        data = self._post("/admin/oauth/access_token", {
            "client_id": api_key, "client_secret": secret, "code": code, "expiring": "1"})
        return Grant.from_response(data, now)

    def exchange_session_token(self, session_token: str, api_key: str, secret: str,
                               now: datetime) -> Grant:
        data = self._post("/admin/oauth/access_token", {
            "client_id": api_key, "client_secret": secret, "grant_type": TOKEN_EXCHANGE,
            "subject_token": session_token, "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE, "expiring": "1"})
        return Grant.from_response(data, now)

    def refresh(self, refresh_token: str, api_key: str, secret: str, now: datetime) -> Grant:
        data = self._post("/admin/oauth/access_token", {
            "client_id": api_key, "client_secret": secret, "grant_type": "refresh_token",
            "refresh_token": refresh_token})
        return Grant.from_response(data, now)

    # --- GraphQL ----------------------------------------------------------

    def graphql(self, token: str, query: str,
                variables: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._post(f"/admin/api/{self.api_version}/graphql.json",
                          {"query": query, "variables": variables or {}}, token)
        if data.get("errors"):
            throttled = any((e.get("extensions") or {}).get("code") == "THROTTLED"
                            for e in data["errors"] if isinstance(e, dict))
            raise ShopifyApiError(f"{self.shop} GraphQL errors", transient=throttled)
        result = data.get("data")
        if not isinstance(result, dict):
            raise ShopifyApiError(f"{self.shop} GraphQL answered no data")
        return result

    # --- discount codes (recovery offers) ------------------------------------------

    def create_discount_code(self, token: str, *, code: str, title: str, kind: str,
                             value: Decimal, starts_at: datetime, ends_at: datetime,
                             minimum: Decimal | None = None) -> str:
        """One single-use code for one shopper; returns its DiscountCodeNode id.

        `kind` is percent (value 10 = 10 %), fixed (an amount off the order) or
        free_shipping. Shopify answers refusals with HTTP 200 and `userErrors`
        (shared/reference/flow-offers-sms-holdout.md A1-A3); those are errors here.
        """
        fields: dict[str, Any] = {
            "title": title, "code": code, "startsAt": _iso(starts_at), "endsAt": _iso(ends_at),
            # API 2025-10 and later: `context` replaces the deprecated `customerSelection`.
            "context": {"all": "ALL"}, "appliesOncePerCustomer": True, "usageLimit": 1,
        }
        if minimum is not None:
            fields["minimumRequirement"] = {
                "subtotal": {"greaterThanOrEqualToSubtotal": f"{minimum:.2f}"}}
        if kind == "free_shipping":
            mutation, payload = "discountCodeFreeShippingCreate", "freeShippingCodeDiscount"
            input_type = "DiscountCodeFreeShippingInput"
            fields["destination"] = {"all": True}
        else:
            mutation, payload = "discountCodeBasicCreate", "basicCodeDiscount"
            input_type = "DiscountCodeBasicInput"
            amount = ({"percentage": float(value / 100)} if kind == "percent" else
                      {"discountAmount": {"amount": f"{value:.2f}", "appliesOnEachItem": False}})
            fields["customerGets"] = {"value": amount, "items": {"all": True}}
        query = (f"mutation CartbackOffer($input: {input_type}!) {{ {mutation}({payload}: $input)"
                 " { codeDiscountNode { id } userErrors { field code message } } }")
        result = (self.graphql(token, query, {"input": fields}).get(mutation) or {})
        errors = result.get("userErrors") or []
        node = result.get("codeDiscountNode") or {}
        if errors or not node.get("id"):
            codes = ", ".join(str(e.get("code") or e.get("message")) for e in errors
                              if isinstance(e, dict)) or "no discount returned"
            raise ShopifyApiError(f"{self.shop} refused the discount code ({codes})")
        return str(node["id"])

    def discount_code_uses(self, token: str, node_id: str) -> int | None:
        """How often a code we made was used; None when the shop has no such
        discount any more (deleted by the merchant). `asyncUsageCount` lags the
        orders a little (Shopify updates it asynchronously)."""
        query = ("query CartbackOfferUses($id: ID!) { codeDiscountNode(id: $id) { id codeDiscount {"
                 " ... on DiscountCodeBasic { asyncUsageCount }"
                 " ... on DiscountCodeFreeShipping { asyncUsageCount } } } }")
        node = self.graphql(token, query, {"id": node_id}).get("codeDiscountNode")
        if not isinstance(node, dict):
            return None
        uses = (node.get("codeDiscount") or {}).get("asyncUsageCount")
        return int(uses) if isinstance(uses, int) else 0

    def delete_discount_code(self, token: str, node_id: str) -> None:
        """`discountCodeDelete`: permanent (shared/reference/flow-offers-sms-holdout.md A4)."""
        query = ("mutation CartbackOfferDelete($id: ID!) { discountCodeDelete(id: $id)"
                 " { deletedCodeDiscountId userErrors { field code message } } }")
        result = self.graphql(token, query, {"id": node_id}).get("discountCodeDelete") or {}
        errors = result.get("userErrors") or []
        if errors or not result.get("deletedCodeDiscountId"):
            codes = ", ".join(str(e.get("code") or e.get("message")) for e in errors
                              if isinstance(e, dict)) or "nothing deleted"
            raise ShopifyApiError(f"{self.shop} refused to delete the discount code ({codes})")

    def shop_info(self, token: str) -> dict[str, Any]:
        shop = self.graphql(token, SHOP_QUERY).get("shop")
        return shop if isinstance(shop, dict) else {}

    def subscribe(self, token: str, uri: str, topics: Sequence[str]) -> list[str]:
        """Create one shop-specific subscription per topic; return their ids.

        "already been taken" means the subscription exists, which is what we want.
        """
        ids = []
        for topic in topics:
            data = self.graphql(token, WEBHOOK_CREATE, {
                "topic": topic, "sub": {"uri": uri, "format": "JSON"}})
            result = data.get("webhookSubscriptionCreate") or {}
            errors = [e.get("message", "") for e in result.get("userErrors") or []]
            if errors and not all("taken" in m for m in errors):
                raise ShopifyApiError(f"{self.shop} refused {topic}: {'; '.join(errors)}")
            sub = result.get("webhookSubscription") or {}
            if sub.get("id"):
                ids.append(str(sub["id"]))
        return ids

    def _pages(self, token: str, query: str, field: str, search: str) -> Iterator[dict[str, Any]]:
        after = None
        for _ in range(MAX_PAGES):
            data = self.graphql(token, query, {"query": search, "after": after})
            connection = data.get(field) or {}
            yield from (n for n in connection.get("nodes") or [] if isinstance(n, dict))
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    def checkouts_since(self, token: str, since: datetime) -> Iterator[dict[str, Any]]:
        """Abandoned checkouts updated after `since`, in the webhook payload's shape."""
        search = f"updated_at:>'{since.isoformat()}'"
        for node in self._pages(token, ABANDONED_CHECKOUTS, "abandonedCheckouts", search):
            yield checkout_node_to_payload(node)

    def orders_since(self, token: str, since: datetime) -> Iterator[dict[str, Any]]:
        search = f"updated_at:>'{since.isoformat()}'"
        for node in self._pages(token, ORDERS, "orders", search):
            yield order_node_to_payload(node)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money_set(value: Any) -> dict[str, Any] | None:
    money = (value or {}).get("presentmentMoney") if isinstance(value, dict) else None
    if not isinstance(money, dict):
        return None
    return {"presentment_money": {"amount": money.get("amount"),
                                  "currency_code": money.get("currencyCode")}}


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"country_code": value.get("countryCodeV2"), "first_name": value.get("firstName")}


def checkout_node_to_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL AbandonedCheckout in the checkouts/update webhook's field names.

    GraphQL has no checkout `token`, `cart_token` or checkout-level `email`:
    the token is read from the recovery URL, and the customer's email stands
    in for the checkout's (the caller keeps a known cart's email instead).
    """
    url = node.get("abandonedCheckoutUrl")
    match = CHECKOUT_URL_TOKEN.search(url or "")
    customer = node.get("customer") if isinstance(node.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    total = _money_set(node.get("totalPriceSet")) or {}
    money = total.get("presentment_money") or {}
    lines = ((node.get("lineItems") or {}).get("nodes")) or []
    return {
        "id": node.get("id"),
        "token": match.group(1) if match else None,
        "cart_token": None,
        "email": customer.get("email"),
        "customer": {"first_name": customer.get("firstName")},
        "customer_locale": customer.get("locale"),
        "billing_address": _address(node.get("billingAddress")),
        "shipping_address": _address(node.get("shippingAddress")),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "completed_at": node.get("completedAt"),
        "abandoned_checkout_url": url,
        "presentment_currency": money.get("currency_code"),
        "total_price": money.get("amount"),
        "line_items": [{
            "title": line.get("title"), "variant_title": line.get("variantTitle"),
            "quantity": line.get("quantity"), "sku": line.get("sku"),
            "price_set": _money_set(line.get("originalUnitPriceSet")),
        } for line in lines if isinstance(line, dict)],
    }


def order_node_to_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Order (2026-07 has cartToken/checkoutToken) in orders/create's names."""
    return {
        "id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cart_token": node.get("cartToken"),
        "checkout_token": node.get("checkoutToken"),
        "customer_locale": node.get("customerLocale"),
        "total_price_set": _money_set(node.get("totalPriceSet")),
    }
