"""Asking a custom storefront for a recovery code: one signed POST, one JSON answer.

The request is signed like the storefront's own webhooks to Cartback
(`X-Cartback-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body under the
store's webhook secret), so the storefront checks it with code it already
has. The answer must be 200 with `{"code": "..."}`: one token of at most 64
characters. Redirects are not followed: the address is the one the merchant
configured, nowhere else.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from platforms.custom import SIGNATURE_HEADER
from platforms.signing import sign_base64

USER_AGENT = "Cartback/0.1 (+abandoned-cart recovery)"
TIMEOUT = (3.05, 5)
MAX_CODE_LENGTH = 64


class OfferRefused(Exception):
    """The storefront gave no usable code (unreachable, an error, a bad answer)."""


def request_code(url: str, secret: str, payload: dict[str, Any], *,
                 http: requests.Session | None = None,
                 timeout: tuple[float, float] = TIMEOUT) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               SIGNATURE_HEADER: sign_base64(secret, raw)}
    try:
        response = (http or requests.Session()).post(url, data=raw, headers=headers,
                                                     timeout=timeout, allow_redirects=False)
    except requests.RequestException as err:
        raise OfferRefused(f"unreachable: {type(err).__name__}") from err
    if response.status_code != 200:
        raise OfferRefused(f"answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as err:
        raise OfferRefused("answered non-JSON") from err
    code = body.get("code") if isinstance(body, dict) else None
    code = code.strip() if isinstance(code, str) else ""
    if not code or len(code) > MAX_CODE_LENGTH or any(c.isspace() for c in code):
        raise OfferRefused("answered no usable code")
    return code
