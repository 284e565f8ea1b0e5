"""Where a Shopify checkout's recovery link may lead, and the shop's own hosts.

A checkout's `abandoned_checkout_url` is on whatever host Shopify gives it:
the shop's `NAME.myshopify.com`, its primary or any connected domain (often
`www.` plus a `checkout.` sibling), or Shopify's shared checkout host
(`checkout.shopify.com/<shop id>/checkouts/<token>/recover?key=…` in older
and headless shops). A return link may lead to exactly those: the shop's
hosts are read from the Admin API (`api.SHOP_QUERY`) at install and refreshed
by the periodic sync.

Unverified: whether `Shop.domains` (every connected domain) is still served
in API 2026-07 (the Domain object's reference lists only web presences as
its users); we read `primaryDomain` and `url`, and a `checkout.` or other
sibling of the primary `www.` host is vouched for by that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# Shopify's own checkout hosts, shared by every shop.
CHECKOUT_HOSTS = ("checkout.shopify.com",)


def shop_hosts(shop: Mapping[str, Any]) -> list[str]:
    """The hosts a GraphQL `shop` object names (`myshopifyDomain`, `url`,
    `primaryDomain.host`), lowercased, without repeats."""
    found = [shop.get("myshopifyDomain"), urlsplit(str(shop.get("url") or "")).hostname]
    primary = shop.get("primaryDomain")
    if isinstance(primary, Mapping):
        found.append(primary.get("host"))
    hosts = [str(h).strip().lower() for h in found if isinstance(h, str) and h.strip()]
    return list(dict.fromkeys(hosts))
