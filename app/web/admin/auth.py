"""Who is signed in to the admin, without cookies.

Embedded admin pages live in the store admin's iframe, where third-party
cookies are blocked, so the session travels as a signed, short-lived token:
query parameter `s` on every link and a hidden field in every form. Each form
also carries a CSRF token derived from that session, checked on every POST.

Ways in: a one-time sign-in link (`cartback admin-link --store ID`, for
WooCommerce and custom stores) or, for Shopify, the App Bridge session token
verified by the Shopify module, which then hands over an admin session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import nonces
from app.errors import BadCsrf, NotSignedIn
from app.runtime import Runtime

SESSION_MAX_AGE = timedelta(hours=12)
LINK_MAX_AGE = timedelta(minutes=15)
LINK_PURPOSE = "admin"




def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"cartback.{purpose}")


def mint_session(store_id: int) -> str:
    return str(_serializer("admin").dumps({"store": store_id, "n": secrets.token_hex(8)}))


def store_id_from_session(token: str | None) -> int | None:
    if not token:
        return None
    try:
        data = _serializer("admin").loads(token, max_age=int(SESSION_MAX_AGE.total_seconds()))
    except (BadSignature, SignatureExpired):
        return None
    store = data.get("store") if isinstance(data, dict) else None
    return store if isinstance(store, int) else None


def current_session() -> str | None:
    return request.values.get("s") or request.headers.get("X-Cartback-Session")


def signed_in_store_id() -> int:
    store_id = store_id_from_session(current_session())
    if store_id is None:
        raise NotSignedIn("no valid admin session")
    return store_id


def csrf_token(session_token: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf() -> None:
    session_token = current_session() or ""
    given = request.form.get("csrf") or request.headers.get("X-Cartback-Csrf") or ""
    if not session_token or not hmac.compare_digest(csrf_token(session_token), given):
        raise BadCsrf("csrf token missing or wrong")


# --- one-time sign-in links ---------------------------------------------------------------

def mint_login_link(runtime: Runtime, store_id: int, now: datetime) -> str:
    with runtime.db.transaction() as session:
        jti = nonces.issue(session, LINK_PURPOSE, str(store_id), now, LINK_MAX_AGE)
    token = _serializer("admin-link").dumps({"store": store_id, "jti": jti})
    return f"{runtime.config['PUBLIC_URL'].rstrip('/')}/admin/login/{token}"


def redeem_login_link(runtime: Runtime, token: str, now: datetime) -> int | None:
    """The store id, once per link and within its lifetime; None otherwise."""
    try:
        data = _serializer("admin-link").loads(token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("store"), int):
        return None
    with runtime.db.transaction() as session:
        used = nonces.consume(session, LINK_PURPOSE, str(data.get("jti")), now,
                              subject=str(data["store"]))
    return int(data["store"]) if used is not None else None
