"""The companion plugin's signed links: "Open Cartback" from wp-admin, and its status call.

The plugin (static/cartback-woocommerce.php) signs, server-side in PHP, the
query `store=ID&ts=UNIX_SECONDS&nonce=HEX&sig=HEX` where

    key = HMAC-SHA256(webhook_secret, "cartback-admin-handover")
    sig = hex HMAC-SHA256(key, "ID.TS.NONCE")

The webhook secret is the one Cartback gave WooCommerce when it created the
store's order webhooks, so the plugin finds it (and Cartback's address and
the store id, from the delivery URL) on its own store with no setup. The key
is derived rather than the secret used as is, so a webhook signature can
never be replayed as a sign-in and the other way round.

This module checks shape and signature only; how old a link may be and that
it is used once is the caller's business (it has the clock and the database).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from platforms.base import BadPayload, BadSignature
from platforms.signing import sign_hex, verify_hex

KEY_LABEL = b"cartback-admin-handover"
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
DIGITS_RE = re.compile(r"[0-9]{1,10}")
# Store ids are 32-bit in the database; a larger one is malformed, not unknown.
MAX_STORE_ID = 2**31 - 1


@dataclass(frozen=True)
class SignedLink:
    store_id: int
    issued_at: datetime
    nonce: str
    signature: str

    def message(self) -> bytes:
        return f"{self.store_id}.{int(self.issued_at.timestamp())}.{self.nonce}".encode()


def handover_key(webhook_secret: str) -> bytes:
    return bytes.fromhex(sign_hex(webhook_secret, KEY_LABEL))


def sign(webhook_secret: str, store_id: int, issued_at: datetime, nonce: str) -> dict[str, str]:
    """The query the plugin sends (Python's twin of the PHP, for tests and tools)."""
    link = SignedLink(store_id, issued_at, nonce, "")
    return {"store": str(store_id), "ts": str(int(issued_at.timestamp())), "nonce": nonce,
            "sig": sign_hex(handover_key(webhook_secret), link.message())}


def _digits(params: Mapping[str, str], name: str, high: int) -> int:
    value = params.get(name) or ""
    if not DIGITS_RE.fullmatch(value) or int(value) > high:
        raise BadPayload(name, f"must be a whole number up to {high}")
    return int(value)


def parse(params: Mapping[str, str]) -> SignedLink:
    """The link's parts, or BadPayload naming the first missing or malformed one."""
    store_id = _digits(params, "store", MAX_STORE_ID)
    issued_at = datetime.fromtimestamp(_digits(params, "ts", 9_999_999_999), UTC)
    nonce = params.get("nonce") or ""
    if not NONCE_RE.fullmatch(nonce):
        raise BadPayload("nonce", "must be 16 to 64 letters, digits, '-' or '_'")
    signature = params.get("sig") or ""
    if not re.fullmatch(r"[0-9a-fA-F]{64}", signature):
        raise BadPayload("sig", "must be 64 hex digits")
    return SignedLink(store_id, issued_at, nonce, signature)


def verify(link: SignedLink, webhook_secret: str) -> None:
    """BadSignature unless the store's own webhook secret signed this link."""
    if not verify_hex([handover_key(webhook_secret)], link.message(), link.signature):
        raise BadSignature("the link is not signed by this store's Cartback plugin")
