"""Signed shopper links: return (/r/<token>) and unsubscribe (/u/<token>).

A token carries only the cart id, signed with the app secret and a salt per
purpose, so it names no address and cannot be forged or reused for the other
purpose. Tokens stay short so the List-Unsubscribe URL fits on one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from app.errors import BadToken

RETURN = "return"
UNSUBSCRIBE = "unsubscribe"



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

    def unsubscribe_url(self, cart_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/u/{self.token(UNSUBSCRIBE, cart_id)}"
