"""Encryption at rest for platform credentials (access tokens, consumer keys).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`: a well-reviewed
construction, not ours. The key comes from CARTBACK_ENCRYPTION_KEY when set,
else it is derived from the secret key, so rotating one does not silently
change the other once set apart.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from app.errors import ConfigError


def fernet_for(secret_key: str, encryption_key: str | None = None) -> Fernet:
    if encryption_key:
        try:
            return Fernet(encryption_key.encode())
        except ValueError as err:
            raise ConfigError(
                "CARTBACK_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes)."
            ) from err
    digest = hashlib.sha256(b"cartback-credentials:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(fernet: Fernet, data: dict[str, Any]) -> str:
    return fernet.encrypt(json.dumps(data).encode()).decode("ascii")


def decrypt_json(fernet: Fernet, token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(fernet.decrypt(token.encode()))  # type: ignore[no-any-return]
    except InvalidToken as err:
        raise ConfigError(
            "Stored credentials cannot be decrypted: the secret or encryption key changed."
        ) from err
