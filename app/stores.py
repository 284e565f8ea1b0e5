"""Creating stores and describing them (CLI output, install callbacks)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app.core.addresses import looks_like_address
from app.core.rules import check_timezone
from app.db.models import Store
from app.errors import StoreInputError


def create_store(session: Session, *, platform: str, name: str, domain: str,
                 timezone: str = "UTC", from_email: str | None = None,
                 credentials: str | None = None,
                 platform_state: dict[str, Any] | None = None) -> Store:
    try:
        check_timezone(timezone)
    except ValueError as err:
        raise StoreInputError(str(err)) from err
    if from_email and not looks_like_address(from_email):
        raise StoreInputError(f"{from_email!r} is not an email address")
    if not domain.strip():
        raise StoreInputError("a store needs a domain")
    store = Store(
        platform=platform,
        name=name.strip() or domain,
        domain=domain.strip(),
        timezone=timezone,
        from_email=from_email,
        webhook_secret=secrets.token_urlsafe(32),
        public_key="pk_" + secrets.token_urlsafe(18),
        credentials=credentials,
        settings={},
        platform_state=platform_state or {},
        installed=True,
    )
    session.add(store)
    session.flush()
    return store


def from_address(store_from: str | None, config: Mapping[str, Any]) -> str:
    """The address a store's reminders come from: its own, else the settings
    default (CARTBACK_DEFAULT_FROM_EMAIL, or no-reply@ the host of PUBLIC_URL).

    Never built from the store's domain: a WooCommerce store's domain is a URL
    (`no-reply@https://shop…` is no address), and a shop's own domain is not
    one the mail service may send from.
    """
    if store_from:
        return store_from
    default = config.get("DEFAULT_FROM_EMAIL")
    if default:
        return str(default)
    host = urlsplit(str(config.get("PUBLIC_URL") or "")).hostname or "localhost"
    return f"no-reply@{host}"


def store_json(store: Store, public_url: str) -> dict[str, Any]:
    base = public_url.rstrip("/")
    return {
        "id": store.id,
        "platform": store.platform,
        "name": store.name,
        "domain": store.domain,
        "timezone": store.timezone,
        "from_email": store.from_email,
        "webhook_secret": store.webhook_secret,
        "public_key": store.public_key,
        "webhook_url": f"{base}/webhooks/{store.platform}/{store.id}",
    }
