"""WooCommerce sync: what its webhooks lost, caught by the periodic job.

WooCommerce never retries a failed delivery and disables a webhook after
repeated failures, so every connected store is checked on a timer: disabled
webhooks are re-activated and orders modified since the last sync are fed
through the same mapping as a webhook.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from app.carts.ingest import ingest
from app.db.crypto import decrypt_json
from app.db.models import Store
from app.integrations.woocommerce.connect import PLATFORM, ClientFactory
from app.runtime import Runtime
from platforms.woocommerce.adapter import adapter
from platforms.woocommerce.api import WooApiError, WooClient

log = logging.getLogger(__name__)

FIRST_SYNC_LOOKBACK = timedelta(days=2)


def _client(runtime: Runtime, store: Store, client_factory: ClientFactory) -> WooClient:
    keys = decrypt_json(runtime.fernet(), store.credentials)
    return client_factory(store.domain, keys["consumer_key"], keys["consumer_secret"])


def check_health(runtime: Runtime, store_id: int,
                 client_factory: ClientFactory = WooClient) -> list[int]:
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None or not store.installed or not store.credentials:
            return []
        ids = dict((store.platform_state or {}).get("webhook_ids", {}))
        client = _client(runtime, store, client_factory)
    fixed = client.reactivate_disabled(ids)
    if fixed:
        log.warning("re-activated disabled webhooks", extra={"store_id": store_id,
                                                               "webhooks": len(fixed)})
    return fixed


def reconcile(runtime: Runtime, store_id: int, now: datetime,
              client_factory: ClientFactory = WooClient) -> int:
    """Feed orders modified since the last sync through the webhook mapping."""
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None or not store.installed or not store.credentials:
            return 0
        state = dict(store.platform_state or {})
        client = _client(runtime, store, client_factory)
    since_text = state.get("last_sync")
    since = datetime.fromisoformat(since_text) if since_text else now - FIRST_SYNC_LOOKBACK
    events = []
    for order in client.orders_modified_since(since):
        raw = json.dumps(order).encode()
        events.extend(adapter.parse(raw, {"X-WC-Webhook-Topic": "order.updated"}, store_id,
                                    received_at=now))
    if events:
        ingest(runtime, store_id, events)
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        assert store is not None
        store.platform_state = {**(store.platform_state or {}), "last_sync": now.isoformat()}
    return len(events)


def run_periodic(runtime: Runtime, now: datetime,
                 client_factory: ClientFactory = WooClient) -> dict[int, str]:
    """Health check and reconcile every connected store; one failure stops no other."""
    with runtime.db.new_session() as session:
        ids = list(session.scalars(select(Store.id).where(Store.platform == PLATFORM,
                                                          Store.installed.is_(True))))
    outcome = {}
    for store_id in ids:
        try:
            check_health(runtime, store_id, client_factory)
            outcome[store_id] = f"ok: {reconcile(runtime, store_id, now, client_factory)} events"
        except WooApiError as err:
            log.warning("woocommerce sync failed", extra={"store_id": store_id,
                                                          "error": str(err)})
            outcome[store_id] = f"error: {err}"
    return outcome
