"""Shopify stores in our database: install, tokens, uninstall, redaction.

Flask-free: the web views, the CLI and the reconciliation job call these
with a `Runtime` and `now`. Tokens are stored Fernet-encrypted in
`Store.credentials`; bookkeeping (granted scopes, webhook ids, sync marks)
lives in `Store.platform_state`. Outbound HTTP is never made while a web
request holds a lock it does not need; the one exception is a token
refresh, which holds the store row so two refreshers cannot both spend the
same rotating refresh token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import nonces
from app.carts.intake import claim_delivery
from app.carts.lookup import find_by_keys
from app.carts.stops import stop_store
from app.core.addresses import normalize_email
from app.core.rules import check_timezone
from app.db.crypto import decrypt_json, encrypt_json
from app.db.models import Cart, Store
from app.db.session import WEBHOOK_LOCK_S
from app.errors import InstallError
from app.integrations.shopify.config import REQUIRED_SCOPES, ShopifyConfig
from app.logs import mask_email
from app.privacy import erasure_log
from app.privacy import requests as privacy
from app.runtime import Runtime
from app.stores import create_store
from platforms.base import CartEvent, EventKind
from platforms.shopify.adapter import SUBSCRIBED_TOPICS
from platforms.shopify.api import Grant, ShopifyApiError, ShopifyClient
from platforms.shopify.auth import clean_shop, scopes_cover
from platforms.shopify.hosts import shop_hosts

log = logging.getLogger(__name__)

PLATFORM = "shopify"
STATE_TTL = timedelta(minutes=10)
# Refresh a little before expiry so a call never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)


def config(runtime: Runtime) -> ShopifyConfig:
    return ShopifyConfig.from_config(runtime.config)


def client_for(runtime: Runtime, shop: str, http: requests.Session | None = None) -> ShopifyClient:
    return ShopifyClient(shop, api_version=config(runtime).api_version, http=http)


# --- OAuth state: single use, server side (app.nonces) --------------------

def issue_state(runtime: Runtime, shop: str, now: datetime) -> str:
    with runtime.db.transaction() as session:
        return nonces.issue(session, PLATFORM, shop, now, STATE_TTL)


def consume_state(runtime: Runtime, state: str | None, shop: str, now: datetime) -> bool:
    """True exactly once for a state issued for this shop and not yet expired."""
    with runtime.db.transaction() as session:
        return nonces.consume(session, PLATFORM, state, now, subject=shop) is not None


# --- stores --------------------------------------------------------------

@dataclass(frozen=True)
class ShopRef:
    store_id: int
    installed: bool


def find_store(session: Session, shop: str) -> Store | None:
    return session.scalars(
        select(Store).where(Store.platform == PLATFORM, Store.domain == shop)
    ).first()


def store_for_shop(runtime: Runtime, shop: str) -> ShopRef | None:
    with runtime.db.new_session() as session:
        store = find_store(session, shop)
        return ShopRef(store.id, store.installed) if store else None


def _timezone(value: Any) -> str | None:
    try:
        return check_timezone(str(value)) if value else None
    except ValueError:
        return None


def save_install(runtime: Runtime, shop: str, grant: Grant, now: datetime, *, via: str,
                 info: dict[str, Any] | None = None, timezone: str | None = None,
                 from_email: str | None = None, name: str | None = None) -> int:
    """Create or revive the shop's store with a fresh token; return its id."""
    info = info or {}
    credentials = encrypt_json(runtime.fernet(), grant.to_json())
    with runtime.db.transaction() as session:
        store = find_store(session, shop)
        if store is None:
            store = create_store(
                session, platform=PLATFORM, name=name or str(info.get("name") or shop),
                domain=shop, timezone=timezone or _timezone(info.get("ianaTimezone")) or "UTC",
                from_email=from_email, credentials=credentials)
        else:
            store.credentials = credentials
            store.installed = True
            store.uninstalled_at = None
            if timezone:
                store.timezone = timezone
            if from_email:
                store.from_email = from_email
        state = dict(store.platform_state or {})
        state.update(installed_via=via, installed_at=now.isoformat(), scopes=grant.scope)
        hosts = shop_hosts(info)
        if hosts:  # where its checkout links may lead (the sync refreshes them)
            state.update(shop_hosts=hosts, shop_hosts_at=now.isoformat())
        state.pop("uninstalled_at", None)
        store.platform_state = state
        store_id = store.id
    log.info("shopify store installed", extra={"store_id": store_id, "via": via})
    return store_id


def register_webhooks(runtime: Runtime, store_id: int, now: datetime,
                      http: requests.Session | None = None) -> list[str]:
    """Subscribe the shop to our topics via GraphQL and remember the subscription ids."""
    cfg = config(runtime)
    shop, token = access_token(runtime, store_id, now, http=http)
    ids = client_for(runtime, shop, http).subscribe(token, cfg.webhook_uri, SUBSCRIBED_TOPICS)
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        assert store is not None
        store.platform_state = {**(store.platform_state or {}), "webhook_ids": ids,
                                "webhooks_at": now.isoformat()}
    return ids


def access_token(runtime: Runtime, store_id: int, now: datetime,
                 http: requests.Session | None = None) -> tuple[str, str]:
    """(shop, access token) for an Admin API call, refreshing an expiring token first."""
    fernet = runtime.fernet()
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id, with_for_update=True)
        if store is None or not store.installed or not store.credentials:
            raise ShopifyApiError(f"store {store_id} has no Shopify token (installed?)")
        grant = Grant.from_json(decrypt_json(fernet, store.credentials))
        if grant.expires_at is None or grant.expires_at - REFRESH_MARGIN > now:
            return store.domain, grant.access_token
        spent = grant.refresh_expires_at is not None and grant.refresh_expires_at <= now
        if not grant.refresh_token or spent:
            raise ShopifyApiError(f"store {store_id}: refresh token expired; reinstall the app")
        cfg = config(runtime)
        fresh = client_for(runtime, store.domain, http).refresh(
            grant.refresh_token, cfg.api_key, cfg.secret, now)
        if fresh.refresh_token is None:
            fresh = replace(fresh, refresh_token=grant.refresh_token,
                            refresh_expires_at=grant.refresh_expires_at)
        # The refresh token rotates: keep the new pair before anything else can fail.
        store.credentials = encrypt_json(fernet, fresh.to_json())
        log.info("shopify token refreshed", extra={"store_id": store_id})
        return store.domain, fresh.access_token


# --- lifecycle -----------------------------------------------------------

def uninstall(runtime: Runtime, store_id: int, now: datetime,
              delivery_id: str | None = None) -> list[int]:
    """app/uninstalled: forget the token, stop every live cart, cancel their timers."""
    with runtime.db.transaction(lock_wait_s=WEBHOOK_LOCK_S) as session:
        if delivery_id and not claim_delivery(session, store_id, delivery_id):
            return []
        store = session.get(Store, store_id, with_for_update=True)
        if store is None:
            return []
        store.installed = False
        store.uninstalled_at = now
        store.credentials = None
        store.platform_state = {**(store.platform_state or {}),
                                "uninstalled_at": now.isoformat()}
        stopped = stop_store(session, store_id, reason="uninstalled",
                             why="because the store uninstalled Cartback", now=now)
    runtime.timers.cancel_many(stopped)
    log.info("shopify store uninstalled", extra={"store_id": store_id, "stopped": len(stopped)})
    return stopped


def redact_customer(runtime: Runtime, store_id: int, email: str | None,
                    order_ids: Sequence[str], delivery_id: str | None = None,
                    phone: str | None = None, customer_id: str | None = None) -> int:
    """customers/redact: erase that shopper, by address, phone number and orders
    (app.privacy.requests), note it for the privacy page (app.privacy.erasure_log);
    return how many carts."""
    with runtime.db.transaction(lock_wait_s=WEBHOOK_LOCK_S) as session:
        if delivery_id and not claim_delivery(session, store_id, delivery_id):
            return 0
        ids = privacy.erase_shopper(session, store_id, email, order_ids, phone=phone)
        if session.get(Store, store_id) is not None:
            erasure_log.record(session, store_id, "customers/redact", runtime.clock(),
                               {"carts": len(ids)}, customer_ref=customer_id)
    runtime.timers.cancel_many(ids)
    log.info("shopify customer redacted", extra={"store_id": store_id, "carts": len(ids),
                                                 "email": mask_email(email)})
    return len(ids)


def redact_shop(runtime: Runtime, store_id: int, delivery_id: str | None = None) -> bool:
    """shop/redact (48 h after uninstall): erase the store and everything under it.

    A shop that reinstalled meanwhile keeps its data: the request is stale, and
    its privacy page says so. Either way the request is noted (app.privacy.erasure_log).
    """
    with runtime.db.transaction(lock_wait_s=WEBHOOK_LOCK_S) as session:
        store = session.get(Store, store_id, with_for_update=True)
        if store is None or (delivery_id and not claim_delivery(session, store_id, delivery_id)):
            return False
        if store.installed:
            erasure_log.record(session, store_id, "shop/redact", runtime.clock(), {}, kept=True)
            return False
        ids = privacy.erase_store(session, store_id)
        erasure_log.record(session, store_id, "shop/redact", runtime.clock(),
                           {"carts": len(ids), "stores": 1})
    runtime.timers.cancel_many(ids)
    log.info("shopify shop redacted", extra={"store_id": store_id, "carts": len(ids)})
    return True


def record_data_request(runtime: Runtime, store_id: int, request_id: str | None,
                        customer_id: str | None, email: str | None, now: datetime) -> int:
    """customers/data_request: note it for the merchant's export; return the carts we hold."""
    address = normalize_email(email)
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id, with_for_update=True)
        if store is None:
            return 0
        held = 0
        if address:
            held = session.scalar(select(func.count()).select_from(Cart).where(
                Cart.store_id == store_id, func.lower(Cart.email) == address)) or 0
        state = dict(store.platform_state or {})
        requests_seen = list(state.get("data_requests", []))
        if not any(r.get("id") == request_id for r in requests_seen if request_id):
            requests_seen.append({"id": request_id, "customer_id": customer_id,
                                  "received_at": now.isoformat(), "carts": held})
        state["data_requests"] = requests_seen[-100:]
        store.platform_state = state
    return held


def drop_unmatched_deletes(runtime: Runtime, store_id: int,
                           events: Sequence[CartEvent]) -> list[CartEvent]:
    """A delete for a checkout we never saw would only create an empty row: skip it."""
    deletes = [e for e in events if e.kind is EventKind.DELETED]
    if not deletes:
        return list(events)
    with runtime.db.new_session() as session:
        known = set()
        for event in deletes:
            if find_by_keys(session, store_id, [event.cart_key, *event.aliases]) is not None:
                known.add(id(event))
    return [e for e in events if e.kind is not EventKind.DELETED or id(e) in known]


# --- the three ways a shop gets connected --------------------------------


def _connect(runtime: Runtime, shop: str, grant: Grant, now: datetime, *, via: str,
             http: requests.Session | None, **fields: Any) -> int:
    cfg = config(runtime)
    if via != "custom_app" and not scopes_cover(grant.scope, REQUIRED_SCOPES):
        raise InstallError(f"Shopify granted {grant.scope or 'no scopes'}; "
                           f"Cartback needs {', '.join(REQUIRED_SCOPES)}.")
    try:
        info = client_for(runtime, shop, http).shop_info(grant.access_token)
    except ShopifyApiError as err:
        if via == "custom_app":
            raise InstallError(f"Shopify refused the access token for {shop}: {err}") from err
        info = {}
    store_id = save_install(runtime, shop, grant, now, via=via, info=info, **fields)
    if cfg.register_webhooks or via == "custom_app":
        try:
            register_webhooks(runtime, store_id, now, http=http)
        except ShopifyApiError as err:
            log.warning("shopify webhook registration failed",
                        extra={"store_id": store_id, "error": str(err)})
            if via == "custom_app":
                raise InstallError(f"Could not subscribe {shop} to webhooks: {err}") from err
    return store_id


def complete_oauth(runtime: Runtime, shop: str, code: str, now: datetime,
                   http: requests.Session | None = None) -> int:
    """Authorization-code grant: exchange the code for an expiring offline token."""
    cfg = config(runtime)
    grant = client_for(runtime, shop, http).exchange_code(code, cfg.api_key, cfg.secret, now)
    return _connect(runtime, shop, grant, now, via="oauth", http=http)


def complete_token_exchange(runtime: Runtime, shop: str, session_token: str, now: datetime,
                            http: requests.Session | None = None) -> int:
    """Shopify-managed install: trade the admin's session token for an offline token."""
    cfg = config(runtime)
    grant = client_for(runtime, shop, http).exchange_session_token(
        session_token, cfg.api_key, cfg.secret, now)
    return _connect(runtime, shop, grant, now, via="token_exchange", http=http)


def add_custom_app_store(runtime: Runtime, domain: str, access_token: str, now: datetime, *,
                         timezone: str | None = None, from_email: str | None = None,
                         name: str | None = None, http: requests.Session | None = None) -> int:
    """A merchant-made custom app: its admin-issued token (non-expiring), no OAuth."""
    shop = clean_shop(domain)
    if shop is None:
        raise InstallError(f"{domain!r} is not a NAME.myshopify.com domain")
    if not access_token.strip():
        raise InstallError("the access token is empty")
    grant = Grant(access_token=access_token.strip(), scope="")
    return _connect(runtime, shop, grant, now, via="custom_app", http=http,
                    timezone=timezone, from_email=from_email, name=name)
