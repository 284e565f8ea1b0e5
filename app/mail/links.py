"""Signed shopper links: return (/r/<token>), unsubscribe (/u/<token>) and the
cart restore token a WooCommerce store's plugin redeems; and the one rule for
where a return link may lead (`on_hosts`).

A token carries only the cart id, signed with the app secret and a salt per
purpose, so it names no address and cannot be forged or reused for the other
purpose. Tokens stay short so the List-Unsubscribe URL fits on one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from app.errors import BadToken

RETURN = "return"
UNSUBSCRIBE = "unsubscribe"
RESTORE = "restore"


def vouched_hosts(domain: str, state: Mapping[str, Any] | None,
                  shared: Iterable[str] = ()) -> list[str]:
    """A store's domain, the hosts its platform vouches for (read at install and
    refreshed by its sync, kept in `platform_state["shop_hosts"]`) and the
    hosts its platform serves every store's checkouts from (`shared`)."""
    return [domain, *((state or {}).get("shop_hosts") or []), *shared]


def host_of(url_or_host: str) -> str:
    """The lowercased host of a URL, or the value itself when it is a bare host."""
    text = url_or_host.strip()
    host = urlsplit(text).hostname if "://" in text else text.split("/", 1)[0]
    return (host or "").lower().rstrip(".")


def on_hosts(url: str, hosts: Iterable[str]) -> bool:
    """True when `url` is http(s) on one of `hosts` or a subdomain of one.

    Browsers read a backslash as a slash and skip control characters, so
    `https://evil.example\\@store.example` would leave the store: anything
    with a backslash, a control or space character, credentials or an escaped
    host is refused. A vouched `www.` host also vouches for its siblings
    (`checkout.store.example` beside `www.store.example`).
    """
    if any(c == "\\" or ord(c) < 33 or ord(c) == 127 for c in url):
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or "%" in parts.netloc:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    for allowed in hosts:
        base = host_of(allowed)
        if not base:
            continue
        bare = base.removeprefix("www.")
        if host in (base, bare) or host.endswith("." + bare):
            return True
    return False



@dataclass(frozen=True)
class Links:
    secret_key: str
    public_url: str

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=f"cartback.{purpose}")

    def token(self, purpose: str, cart_id: int) -> str:
        return str(self._serializer(purpose).dumps(cart_id))

    def cart_id(self, purpose: str, token: str) -> int:
        try:
            value = self._serializer(purpose).loads(token)
        except BadSignature as err:
            raise BadToken("tampered or unknown link") from err
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadToken("malformed link")
        return value

    def return_url(self, cart_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/r/{self.token(RETURN, cart_id)}"

    def restore_url(self, cart_id: int) -> str:
        """Where a store's plugin fetches the items to rebuild the cart."""
        return f"{self.public_url.rstrip('/')}/restore/{self.token(RESTORE, cart_id)}"

    def unsubscribe_url(self, cart_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/u/{self.token(UNSUBSCRIBE, cart_id)}"
