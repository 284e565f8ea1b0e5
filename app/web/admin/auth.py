"""Who is signed in to the admin: a signed session in an HttpOnly cookie, never a URL.

The session is a signed, short-lived token carried in the `cartback_admin`
cookie, scoped to /admin, HttpOnly, Secure (except over plain http on
localhost, for development) and SameSite=Lax; inside Shopify's admin iframe
it is SameSite=None and Partitioned (CHIPS), the one kind of cookie a
framed page still gets. Scripts and API clients may send the same token as
`Authorization: Bearer …` instead. It never travels in a query string or a
form field, so it cannot land in access logs, browser history or Referer
headers; a `?s=` left over from older links is ignored. Every POST also
carries a CSRF token derived from the session.

Ways in: a one-time sign-in link (`cartback admin-link --store ID`, for
WooCommerce and custom stores), whose single-use nonce the landing route
exchanges for the cookie before redirecting to a clean URL; for Shopify,
the App Bridge session token verified by the Shopify module; for
WooCommerce, the plugin's signed "Open Cartback" link verified by the
WooCommerce module. Both then hand over the cookie the same way.

Inside the platform's admin every request the page makes itself (form
posts, fetches) carries the platform's own short-lived session token as
`Authorization: Bearer …` (App Bridge's `shopify.idToken()`); the store's
integration verifies it (signature, audience, expiry, shop) and it signs
the request in on its own, cookie or not. A forged or expired one is
refused even when a cookie is present. A header no other site can make a
browser send needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import nonces
from app.errors import BadCsrf, NotSignedIn
from app.runtime import Runtime

SESSION_MAX_AGE = timedelta(hours=12)
LINK_MAX_AGE = timedelta(minutes=15)
LINK_PURPOSE = "admin"
COOKIE = "cartback_admin"
COOKIE_PATH = "/admin"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


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


def bearer_token() -> str | None:
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("Bearer "):
        return None
    return authorization.removeprefix("Bearer ").strip() or None


def current_session() -> str | None:
    """Our own session token: the cookie, else an `Authorization: Bearer` header; never
    the URL. (A platform's session token in the header is no session of ours.)"""
    if request.cookies.get(COOKIE):
        return request.cookies[COOKIE]
    bearer = bearer_token()
    return bearer if store_id_from_session(bearer) is not None else None


def set_session_cookie(response: Response, token: str, *, framed: bool = False) -> Response:
    """Hand the browser its session. `framed`: the page lives in another site's iframe."""
    host = (urlsplit(request.host_url).hostname or "").lower()
    secure = framed or request.scheme == "https" or host not in LOCAL_HOSTS
    response.set_cookie(COOKIE, token, max_age=int(SESSION_MAX_AGE.total_seconds()),
                        path=COOKIE_PATH, secure=secure, httponly=True,
                        samesite="None" if framed else "Lax", partitioned=framed)
    return response


# Given the bearer token, the store a platform's session token signs in (None: not one).
PlatformSignIn = Callable[[str], "int | None"]


def signed_in_store_id(platform_sign_ins: Iterable[PlatformSignIn] = ()) -> int:
    """The signed-in store; sets `g.platform_token` when a platform's token did it."""
    g.platform_token = False
    bearer = bearer_token()
    if bearer is not None and store_id_from_session(bearer) is None:
        for sign_in in platform_sign_ins:
            store_id = sign_in(bearer)
            if store_id is not None:
                g.platform_token = True
                return store_id
        raise NotSignedIn("session token refused")
    store_id = store_id_from_session(current_session())
    if store_id is None:
        raise NotSignedIn("no valid admin session")
    return store_id


def csrf_token(session_token: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf() -> None:
    if g.get("platform_token"):
        return  # the platform's token came in a header, which no other site can set
    session_token = current_session() or ""
    given = request.form.get("csrf") or request.headers.get("X-Cartback-Csrf") or ""
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    if not session_token or not hmac.compare_digest(csrf_token(session_token).encode(),
                                                    given.encode()):
        raise BadCsrf("csrf token missing or wrong")


# --- one-time sign-in links ---------------------------------------------------------------

def mint_login_link(runtime: Runtime, store_id: int, now: datetime) -> str:
    with runtime.db.transaction() as session:
        jti = nonces.issue(session, LINK_PURPOSE, str(store_id), now, LINK_MAX_AGE)
    token = _serializer("admin-link").dumps({"store": store_id, "jti": jti})
    # A single-use nonce, good for 15 minutes, redeemed before any page shows.
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
