"""HMAC helpers shared by every adapter: sign and verify, constant-time.

Two encodings exist on the wire and must never be mixed: webhook bodies are
signed as base64 (Shopify, WooCommerce, our custom lane); Shopify's OAuth
query string is signed as lowercase hex.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sign_base64(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def verify_base64(secrets: Iterable[str | bytes], body: bytes, signature: str | None) -> bool:
    """True when `signature` is the base64 HMAC-SHA256 of `body` under any secret.

    Several secrets are accepted so an app secret can be rotated without
    refusing deliveries signed with the previous one.
    """
    if not signature:
        return False
    given = signature.strip().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        # Check every secret (no early exit) so timing says nothing about which matched.
        matched |= hmac.compare_digest(sign_base64(secret, body).encode("ascii"), given)
    return matched


def sign_hex(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify_hex(secrets: Iterable[str | bytes], message: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    given = signature.strip().lower().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        matched |= hmac.compare_digest(sign_hex(secret, message).encode("ascii"), given)
    return matched
