"""Amazon SNS message verification: signature, signing certificate and topic.

SNS signs each message with a key whose certificate it serves over HTTPS
from `sns.<region>.amazonaws.com`. We rebuild the canonical string (the
documented keys in order, "Key\\nValue\\n" each), fetch the certificate only
from such a URL (cached; the fetcher is injectable for tests), and check the
RSA PKCS#1 v1.5 signature: SHA1 for SignatureVersion 1, SHA256 for 2.
Nothing is parsed further until the signature and the topic check out.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.errors import SnsRefused

SNS_HOST_RE = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                     "Type")
TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}  # noqa: S303 - SNS v1 is SHA1 by definition

CertFetcher = Callable[[str], bytes]


def is_sns_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(SNS_HOST_RE.match(parts.hostname or "")) and (
        parts.port in (None, 443))


def canonical(message: Mapping[str, Any]) -> bytes:
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    lines = []
    for key in keys:
        if key in message:
            lines += [key, str(message[key])]
    return ("\n".join(lines) + "\n").encode()


def requests_fetcher(session: Any, timeout: float = 5.0) -> CertFetcher:
    @lru_cache(maxsize=16)
    def fetch(url: str) -> bytes:
        response = session.get(url, timeout=timeout, allow_redirects=False)
        response.raise_for_status()
        return bytes(response.content)

    return fetch


def verify(message: Any, *, topics: Iterable[str], fetch_cert: CertFetcher) -> dict[str, Any]:
    """The message if genuine and for one of `topics`; raises SnsRefused otherwise."""
    if not isinstance(message, dict):
        raise SnsRefused("not an SNS message")
    for key in ("Type", "MessageId", "TopicArn", "Timestamp", "Signature", "SigningCertURL",
                "SignatureVersion", "Message"):
        if not isinstance(message.get(key), str):
            raise SnsRefused(f"{key} is missing")
    if message["Type"] not in TYPES:
        raise SnsRefused("unknown message type")
    if message["TopicArn"] not in set(topics):
        raise SnsRefused("topic not configured", 403)
    algorithm = HASHES.get(message["SignatureVersion"])
    if algorithm is None:
        raise SnsRefused("unknown signature version")
    url = message["SigningCertURL"]
    if not is_sns_url(url):
        raise SnsRefused("signing certificate not on an https sns.<region>.amazonaws.com URL")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
        cert = x509.load_pem_x509_certificate(fetch_cert(url))
    except (binascii.Error, ValueError) as err:
        raise SnsRefused("signature or certificate unreadable") from err
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRefused("signing certificate is not RSA")
    try:
        key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as err:
        raise SnsRefused("bad signature", 401) from err
    return message
