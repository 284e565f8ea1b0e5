"""Shopify sign-in checks: shop domains, the OAuth query HMAC, session tokens.

Pure functions over ShopifyAPI's stateless helpers (`sanitize_shop_domain`,
`session_token.decode_from_header`, `ApiAccess`); nothing here touches
ShopifyAPI's process-global `Session` class attributes, so two stores can
never leak into each other. References: shared/reference/platforms.md S1-S2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from shopify import session_token
from shopify.api_access import ApiAccess, ApiAccessError
from shopify.utils.shop_url import sanitize_shop_domain

from platforms.signing import verify_hex

# Shopify's own library refuses callbacks older than a day; a callback from
# the future beyond a small clock skew is no more believable.
MAX_CALLBACK_AGE = timedelta(hours=24)
MAX_CLOCK_SKEW = timedelta(minutes=5)
ADMIN_ORIGIN = "https://admin.shopify.com"


class AuthError(Exception):
    """A sign-in or install request we refuse; the message is safe to show."""


def clean_shop(value: str | None) -> str | None:
    """`name.myshopify.com`, or None for anything else (evil.com, x.myshopify.com.evil.com)."""
    if not value or len(value) > 255:
        return None
    try:
        shop: str | None = sanitize_shop_domain(value)
    except ValueError:  # urlparse refuses some input outright: `[`, `x]`, bad IPv6 literals
        return None
    return shop


def query_message(params: Mapping[str, str | Sequence[str]]) -> bytes:
    """The message Shopify signs in an OAuth/app-load query string.

    Same rules as ShopifyAPI's `Session.__encoded_params_for_signature`:
    drop `hmac`; a `key[]` list becomes `key=["a", "b"]` (JSON, space after
    the comma); escape `%`, `=` in keys and `%` in values, then `&`; sort.
    """
    pairs = []
    for key, value in params.items():
        if key == "hmac":
            continue
        if key.endswith("[]"):
            values = [value] if isinstance(value, str) else list(value)
            key = key[:-2]
            text = json.dumps([str(v) for v in values])
        else:
            text = value if isinstance(value, str) else (value[0] if value else "")
        pair = "{}={}".format(key.replace("%", "%25").replace("=", "%3D"),
                              text.replace("%", "%25"))
        pairs.append(pair.replace("&", "%26"))
    return "&".join(sorted(pairs)).encode()


def verify_query(params: Mapping[str, str | Sequence[str]], secrets: Sequence[str],
                 now: datetime) -> None:
    """Raise AuthError unless the query is signed by the app and recent."""
    signature = params.get("hmac")
    if not isinstance(signature, str) or not verify_hex(secrets, query_message(params), signature):
        raise AuthError("invalid hmac")
    timestamp = params.get("timestamp")
    try:
        moment = datetime.fromtimestamp(int(str(timestamp)), tz=now.tzinfo)
    except (TypeError, ValueError, OverflowError) as err:
        raise AuthError("invalid timestamp") from err
    if moment < now - MAX_CALLBACK_AGE or moment > now + MAX_CLOCK_SKEW:
        raise AuthError("stale timestamp")


def permission_url(shop: str, api_key: str, scopes: Sequence[str], redirect_uri: str,
                   state: str) -> str:
    """The grant screen; offline access (no `grant_options[]=per-user`)."""
    query = {"client_id": api_key, "scope": ",".join(scopes), "redirect_uri": redirect_uri,
             "state": state}
    return f"https://{shop}/admin/oauth/authorize?{urlencode(query)}"


def scopes_cover(granted: str | Sequence[str], required: Sequence[str]) -> bool:
    """True when the granted scopes include (or imply: write_x ⊃ read_x) every required one."""
    try:
        return bool(ApiAccess(granted).covers(ApiAccess(list(required))))
    except ApiAccessError:
        return False


def verify_session_token(authorization: str, api_key: str, secrets: Sequence[str]) -> str:
    """The shop (`name.myshopify.com`) a valid App Bridge session token speaks for.

    HS256 with the app secret, `aud` = API key, exp/nbf with ShopifyAPI's 10 s
    leeway, `iss` host = `dest` host; the shop comes from `dest`, never from a
    query string. Raises AuthError otherwise.
    """
    last_error: Exception | None = None
    for secret in secrets:
        if not secret:
            continue
        try:
            claims: dict[str, Any] = session_token.decode_from_header(
                authorization, api_key, secret)
        except session_token.SessionTokenError as err:
            last_error = err
            continue
        shop = clean_shop(str(claims.get("dest", "")))
        if shop is None:
            raise AuthError("session token names no shop")
        return shop
    raise AuthError(f"invalid session token ({last_error})")


def frame_ancestors(shop: str) -> str:
    """The CSP an embedded page must send: only this shop's admin may frame it."""
    return f"frame-ancestors https://{shop} {ADMIN_ORIGIN};"
