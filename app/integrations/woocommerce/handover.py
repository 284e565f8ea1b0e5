"""Check the plugin's signed links against the store they name. Flask-free.

`redeem`: "Open Cartback" in wp-admin, good once and for a minute, then the
view signs the merchant in. `status`: the plugin's settings page asking who
it is connected to (read-only, so a fresh signature is enough).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app import nonces
from app.db.models import Store
from app.runtime import Runtime
from platforms.base import BadSignature
from platforms.woocommerce import handover

PURPOSE = "woocommerce-admin"
MAX_AGE = timedelta(seconds=60)
# The store's server clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(seconds=30)


def _checked(runtime: Runtime, params: Mapping[str, str], now: datetime
             ) -> tuple[handover.SignedLink, Store] | None:
    """The verified link and its store; None when it is too old or from the future.

    Raises BadPayload (malformed) and BadSignature (forged, or no such
    connected store: without its secret nothing can be verified).
    """
    link = handover.parse(params)
    with runtime.db.new_session() as session:
        store = session.get(Store, link.store_id)
        if store is None or store.platform != "woocommerce" or not store.installed:
            raise BadSignature(f"no connected WooCommerce store {link.store_id}")
        session.expunge(store)
    handover.verify(link, store.webhook_secret)
    if not now - MAX_AGE <= link.issued_at <= now + CLOCK_SKEW:
        return None
    return link, store


def redeem(runtime: Runtime, params: Mapping[str, str], now: datetime) -> int | None:
    """The store to sign in, once per link and within its minute; None when stale or used."""
    checked = _checked(runtime, params, now)
    if checked is None:
        return None
    link, store = checked
    with runtime.db.transaction() as session:
        first = nonces.claim(session, PURPOSE, link.nonce, str(store.id), now,
                             MAX_AGE + CLOCK_SKEW)
    return store.id if first else None


def status(runtime: Runtime, params: Mapping[str, str], now: datetime) -> dict[str, Any] | None:
    """What the plugin's settings page shows and needs (the beacon's key); None when stale."""
    checked = _checked(runtime, params, now)
    if checked is None:
        return None
    store = checked[1]
    base = runtime.config["PUBLIC_URL"].rstrip("/")
    return {"store_id": store.id, "name": store.name, "domain": store.domain,
            "public_key": store.public_key, "beacon_endpoint": f"{base}/collect/{store.public_key}",
            "checked_at": now.isoformat()}
