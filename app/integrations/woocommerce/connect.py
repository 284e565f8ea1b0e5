"""WooCommerce stores: connect (by the wc-auth handshake or by hand), keep the
webhooks alive, reconcile orders the webhooks lost. Flask-free.

WooCommerce never retries a failed delivery and disables a webhook after a
few failures in a row, so two periodic jobs matter as much as the webhooks:
`check_health` re-activates disabled webhooks, `reconcile` pulls orders
modified since the last sync through the same mapping as a webhook.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app import nonces
from app.db.crypto import decrypt_json, encrypt_json
from app.db.models import Store
from app.errors import ConnectError, StoreInputError
from app.runtime import Runtime
from app.stores import create_store
from platforms.woocommerce.adapter import authorize_url, origin_of
from platforms.woocommerce.api import WooApiError, WooClient

log = logging.getLogger(__name__)

PLATFORM = "woocommerce"
STATE_TTL = timedelta(minutes=30)

ClientFactory = Callable[[str, str, str], WooClient]



def webhook_url(runtime: Runtime, store_id: int) -> str:
    return f"{runtime.config['PUBLIC_URL'].rstrip('/')}/webhooks/woocommerce/{store_id}"


def _store_origin(store_url: str) -> str:
    origin = origin_of(store_url if "://" in store_url else f"https://{store_url}")
    if not origin:
        raise StoreInputError(f"{store_url!r} is not a store address")
    return origin


def _register(runtime: Runtime, store: Store, consumer_key: str, consumer_secret: str,
              client_factory: ClientFactory) -> None:
    store.credentials = encrypt_json(runtime.fernet(), {"consumer_key": consumer_key,
                                                       "consumer_secret": consumer_secret})
    client = client_factory(store.domain, consumer_key, consumer_secret)
    try:
        ids = client.register_webhooks(webhook_url(runtime, store.id), store.webhook_secret)
    except WooApiError as err:
        raise ConnectError(f"the store refused to create Cartback's webhooks: {err}") from err
    store.platform_state = {**(store.platform_state or {}), "webhook_ids": ids}


def connect_by_keys(runtime: Runtime, store_url: str, consumer_key: str, consumer_secret: str,
                    *, name: str | None = None, timezone: str | None = None,
                    from_email: str | None = None,
                    client_factory: ClientFactory = WooClient) -> int:
    """Register a store with REST keys made by hand; all or nothing."""
    origin = _store_origin(store_url)
    with runtime.db.transaction() as session:
        store = session.scalars(select(Store).where(Store.platform == PLATFORM,
                                                    Store.domain == origin)).first()
        if store is None:
            store = create_store(session, platform=PLATFORM, name=name or origin.split("//")[1],
                                 domain=origin, timezone=timezone or "UTC",
                                 from_email=from_email)
            # WooCommerce HTML-decodes webhook secrets: keep ours alphanumeric.
            store.webhook_secret = secrets.token_hex(24)
        store.installed = True
        # Outbound HTTP inside the transaction on purpose: if the store refuses
        # the webhooks, the store row is rolled back with it.
        _register(runtime, store, consumer_key, consumer_secret, client_factory)
        return store.id


# --- the wc-auth handshake -------------------------------------------------------

def start_connect(runtime: Runtime, store_url: str, now: datetime) -> str:
    """The authorize URL to send the merchant to; the state is single use."""
    origin = _store_origin(store_url)
    with runtime.db.transaction() as session:
        state = nonces.issue(session, PLATFORM, origin, now, STATE_TTL)
    base = runtime.config["PUBLIC_URL"].rstrip("/")
    return authorize_url(origin, app_name="Cartback", state=state,
                         callback_url=f"{base}/woocommerce/callback",
                         return_url=f"{base}/woocommerce/connected")


def finish_connect(runtime: Runtime, payload: dict[str, Any], now: datetime) -> int | None:
    """Handle the wc-auth callback body; None when the state is bad or used.

    The callback is unsigned, and anyone can start a connect for any store
    address, so the keys it carries are only *pending*: they replace nothing
    and switch nothing on until the store itself accepts them
    (`register_after_connect`).
    """
    state = str(payload.get("user_id", ""))
    consumer_key = payload.get("consumer_key")
    consumer_secret = payload.get("consumer_secret")
    if not isinstance(consumer_key, str) or not isinstance(consumer_secret, str):
        return None
    with runtime.db.transaction() as session:
        origin = nonces.consume(session, PLATFORM, state, now)
        if origin is None:
            return None
        store = session.scalars(select(Store).where(Store.platform == PLATFORM,
                                                    Store.domain == origin)).first()
        if store is None:
            store = create_store(session, platform=PLATFORM, name=origin.split("//")[1],
                                 domain=origin)
            store.webhook_secret = secrets.token_hex(24)
            store.installed = False  # until the store accepts the keys
        pending = encrypt_json(runtime.fernet(), {
            "consumer_key": consumer_key, "consumer_secret": consumer_secret,
            "key_id": payload.get("key_id")})
        store.platform_state = {**(store.platform_state or {}), "pending_credentials": pending}
        return store.id


def register_after_connect(runtime: Runtime, store_id: int,
                           client_factory: ClientFactory = WooClient) -> None:
    """Try the pending keys by creating our webhooks; keep them only if that works.

    Raises ConnectError when the store refused them (the pending keys are
    dropped either way).
    """
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        assert store is not None
        state = dict(store.platform_state or {})
        pending = state.pop("pending_credentials", None)
        store.platform_state = state
        if pending is None:
            return
        keys = decrypt_json(runtime.fernet(), pending)
        previous = store.credentials
        try:
            _register(runtime, store, keys["consumer_key"], keys["consumer_secret"],
                      client_factory)
        except ConnectError as err:
            store.credentials = previous  # a refused key never replaces a working one
            refused: ConnectError | None = err
        else:
            refused = None
            store.installed = True
    if refused is not None:
        raise refused
