"""Reconciliation: ask each Shopify store what changed since the last sync.

Webhooks can be lost (Shopify retries 8 times over 4 h, then gives up), so a
periodic job reads abandoned checkouts and orders updated since the store's
`platform_state["synced_until"]` and feeds them through the same mapping and
the same intake as the webhooks. What intake already reflects is skipped
before it is applied, so a sync never resets a cart's clock.

The scheduler calls `reconcile_all(runtime, now)`; `cartback shopify
reconcile` runs it by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import requests
from sqlalchemy import select

from app.carts.ingest import ingest
from app.carts.lookup import find_by_keys
from app.db.models import FINAL_STATUSES, Store
from app.errors import CartbackError
from app.integrations.shopify.install import PLATFORM, access_token, client_for
from app.runtime import Runtime
from platforms.base import BadPayload, CartEvent, EventKind
from platforms.shopify.adapter import checkout_events, order_events
from platforms.shopify.api import ShopifyApiError, ShopifyClient
from platforms.shopify.hosts import shop_hosts

log = logging.getLogger(__name__)

# The first sync of a store looks back this far.
FIRST_LOOKBACK = timedelta(days=1)
# Shopify's search index lags writes a little: overlap each window.
OVERLAP = timedelta(minutes=10)
# How often the shop's hosts (where its checkout links may lead) are re-read.
HOSTS_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class SyncResult:
    store_id: int
    ok: bool
    checkouts: int = 0
    orders: int = 0
    applied: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"store_id": self.store_id, "ok": self.ok, "checkouts": self.checkouts,
                "orders": self.orders, "applied": self.applied, "error": self.error}


def _delivery_id(kind: str, payload: dict[str, object]) -> str:
    ident = str(payload.get("id") or "").rsplit("/", 1)[-1]
    return f"shopify-sync:{kind}:{ident}:{payload.get('updated_at')}"[:255]


def _map(store_id: int, payloads: Iterable[dict[str, object]], kind: str) -> list[CartEvent]:
    mapper = checkout_events if kind == "checkout" else order_events
    events: list[CartEvent] = []
    for payload in payloads:
        try:
            events.extend(mapper(payload, store_id, _delivery_id(kind, payload)))
        except BadPayload as err:
            log.warning("shopify sync skipped a record",
                        extra={"store_id": store_id, "kind": kind, "field": err.field})
    return events


def _news_only(runtime: Runtime, store_id: int, events: list[CartEvent]) -> list[CartEvent]:
    """Drop what the cart rows already reflect; never replace a known checkout email.

    GraphQL offers no checkout-level email, only the customer's: it fills a
    cart we never heard of, but the address the shopper typed wins.
    """
    kept = []
    with runtime.db.new_session() as session:
        for event in events:
            cart = find_by_keys(session, store_id, [event.cart_key, *event.aliases])
            if cart is None:
                if event.kind is EventKind.ORDERED and not event.email:
                    continue  # an order no cart stands behind: nothing to stop
                kept.append(event)
                continue
            if cart.status in FINAL_STATUSES:
                continue
            if event.kind is not EventKind.ORDERED and event.occurred_at <= cart.last_event_at:
                continue
            if cart.email and event.email:
                event = replace(event, email=None)
            kept.append(event)
    return kept


def _hosts_if_due(client: ShopifyClient, token: str, state: dict[str, object],
                  now: datetime) -> list[str]:
    """The shop's hosts, re-read once a day (a merchant may connect a new domain);
    [] when not due or when Shopify names none (the known ones are kept)."""
    last = state.get("shop_hosts_at")
    if isinstance(last, str) and now - datetime.fromisoformat(last) < HOSTS_EVERY:
        return []
    return shop_hosts(client.shop_info(token))


def reconcile(runtime: Runtime, store_id: int, now: datetime,
              http: requests.Session | None = None) -> SyncResult:
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None or store.platform != PLATFORM or not store.installed:
            return SyncResult(store_id, ok=False, error="not an installed Shopify store")
        state = dict(store.platform_state or {})
    since_text = state.get("synced_until")
    since = (datetime.fromisoformat(since_text) if since_text else now - FIRST_LOOKBACK) - OVERLAP
    try:
        shop, token = access_token(runtime, store_id, now, http=http)
        client = client_for(runtime, shop, http)
        checkouts = list(client.checkouts_since(token, since))
        orders = list(client.orders_since(token, since))
        hosts = _hosts_if_due(client, token, state, now)
    except (ShopifyApiError, CartbackError) as err:  # one store's failure stops no other
        log.warning("shopify sync failed", extra={"store_id": store_id, "error": str(err)})
        return SyncResult(store_id, ok=False, error=type(err).__name__)
    # Checkouts first, so an order in the same window finds its cart.
    events = _news_only(runtime, store_id, _map(store_id, checkouts, "checkout"))
    events += _news_only(runtime, store_id, _map(store_id, orders, "order"))
    results = ingest(runtime, store_id, events) if events else []
    applied = sum(1 for r in results if r.outcome not in ("duplicate", "stale", "ignored"))
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id, with_for_update=True)
        if store is not None:
            store.platform_state = {**(store.platform_state or {}),
                                    "synced_until": now.isoformat(),
                                    "last_sync": {"at": now.isoformat(), "applied": applied},
                                    **({"shop_hosts": hosts, "shop_hosts_at": now.isoformat()}
                                       if hosts else {})}
    log.info("shopify sync done", extra={"store_id": store_id, "checkouts": len(checkouts),
                                         "orders": len(orders), "applied": applied})
    return SyncResult(store_id, ok=True, checkouts=len(checkouts), orders=len(orders),
                      applied=applied)


def reconcile_all(runtime: Runtime, now: datetime,
                  http: requests.Session | None = None) -> list[SyncResult]:
    """Every installed Shopify store, one after another (the scheduler's periodic job)."""
    with runtime.db.new_session() as session:
        ids = list(session.scalars(select(Store.id).where(
            Store.platform == PLATFORM, Store.installed.is_(True)).order_by(Store.id)))
    return [reconcile(runtime, store_id, now, http=http) for store_id in ids]
