"""Where a Shopify checkout's recovery link may lead, and the shop's own hosts.

A checkout's `abandoned_checkout_url` is on whatever host Shopify gives it:
the shop's `NAME.myshopify.com`, its primary or any connected domain (often
`www.` plus a `checkout.` sibling), or Shopify's shared checkout host
(`checkout.shopify.com/<shop id>/checkouts/<token>/recover?key=…` in older
and headless shops). A return link may lead to exactly those: the shop's
hosts are read from the Admin API at install and refreshed by the periodic
sync (`SHOP_HOSTS_QUERY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# Shopify's own checkout hosts, shared by every shop.
CHECKOUT_HOSTS = ("checkout.shopify.com",)

# `Shop.url` is the online store's primary URL; `primaryDomain.host` its
# domain. Both need no scope beyond the shop itself.
SHOP_HOSTS_QUERY = "query ShopHosts { shop { myshopifyDomain url primaryDomain { host } } }"


def shop_hosts(data: Mapping[str, Any]) -> list[str]:
    """The hosts a `SHOP_HOSTS_QUERY` answer names, lowercased, without repeats."""
    shop = data.get("shop") if isinstance(data.get("shop"), Mapping) else {}
    assert isinstance(shop, Mapping)
    found = [shop.get("myshopifyDomain"), urlsplit(str(shop.get("url") or "")).hostname]
    primary = shop.get("primaryDomain")
    if isinstance(primary, Mapping):
        found.append(primary.get("host"))
    hosts = [str(h).strip().lower() for h in found if isinstance(h, str) and h.strip()]
    return list(dict.fromkeys(hosts))
