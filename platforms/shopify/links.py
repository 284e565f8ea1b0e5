"""A Shopify storefront link that applies a discount code on the way to a page.

`https://{shop}/discount/{CODE}?redirect={/path}` keeps the code in a cookie
and applies it at checkout; it works only for active discounts, and the
redirect must be a relative path on the same shop
(help.shopify.com/en/manual/discounts/managing-discount-codes; see
shared/reference/flow-offers-sms-holdout.md A5).

Shopify's shared checkout host serves no storefront routes. For a recovery
link there, Shopify's own partner example appends `discount=CODE` to the
abandoned checkout URL (gist shopifypartners/4f2f8a5f…; the REST resource
does not document it: unverified on a live shop).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from platforms.shopify.hosts import CHECKOUT_HOSTS


def discount_link(target: str, code: str) -> str:
    """`target` (an absolute URL on the shop or Shopify's checkout host) with `code` applied."""
    parts = urlsplit(target)
    if (parts.hostname or "").lower() in CHECKOUT_HOSTS:
        query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("discount", code)])
        return urlunsplit(parts._replace(query=query))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return urlunsplit((parts.scheme, parts.netloc, f"/discount/{quote(code, safe='')}",
                       urlencode({"redirect": path}), ""))
