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
from dataclasses import dataclass


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


# How much of a body too large to keep is kept anyway: the fields that identify
# an order's cart come first in every platform's payload.
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class StreamedBody:
    """A body read in chunks and checked against its base64 HMAC on the way."""

    raw: bytes | None  # the whole body, or None when it was larger than `keep`
    head: bytes  # its first HEAD_BYTES
    size: int
    signed: bool


def read_signed_base64(chunks: Iterable[bytes], secrets: Iterable[str | bytes],
                       signature: str | None, *, keep: int) -> StreamedBody:
    """Read a body of any size, verifying it as `verify_base64` would, keeping at
    most `keep` bytes in memory (and always the head)."""
    macs = [hmac.new(s.encode() if isinstance(s, str) else s, digestmod=hashlib.sha256)
            for s in secrets if s]
    kept: list[bytes] | None = []
    head = b""
    size = 0
    for chunk in chunks:
        for mac in macs:
            mac.update(chunk)
        size += len(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[:HEAD_BYTES - len(head)]
        if kept is not None:
            kept.append(chunk)
            if size > keep:
                kept = None
    signed = False
    if signature and macs:
        given = signature.strip().encode("ascii", "replace")
        for mac in macs:
            signed |= hmac.compare_digest(base64.b64encode(mac.digest()), given)
    return StreamedBody(raw=b"".join(kept) if kept is not None else None, head=head,
                        size=size, signed=signed)
