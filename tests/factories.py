"""Test factories: the fixed moment, a controllable clock, request bodies, the outbox.

Plain functions and classes that tests import (`from tests.factories import
T0, cart_body`); pytest fixtures that build on them live in conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POSTAL_ADDRESS = "Maple & Co, 1 Mill Lane, Leeds LS1 1AA, United Kingdom"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


def cart_body(event: str = "checkout.started", cart_id: str = "c-1", *,
              occurred_at: datetime | str = T0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event,
        "cart_id": cart_id,
        "occurred_at": (occurred_at.isoformat() if isinstance(occurred_at, datetime)
                        else occurred_at),
        "items": [{"title": "Linen shirt", "quantity": 2, "price": "49.00", "sku": "LS-1",
                   "image_url": "https://maple.example/img/ls.jpg",
                   "url": "https://maple.example/p/linen-shirt"}],
        "total": "98.00",
        "currency": "EUR",
        "email": "ada@example.com",
        "first_name": "Ada",
        "locale": "en-GB",
        "return_url": f"https://maple.example/cart/{cart_id}",
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def read_outbox(directory: str | Path) -> list[EmailMessage]:
    """Every .eml in the outbox, parsed back with the standard library."""
    folder = Path(directory)
    if not folder.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]  # type: ignore[misc]


def with_postal_address(runtime: Any, store_id: int, address: str = POSTAL_ADDRESS) -> None:
    """What a merchant does after installing: save the store's postal address (the
    compliance gate sends nothing without one). For stores made by an install flow."""
    from app.db.models import Store

    with runtime.db.transaction() as session:
        found = session.get(Store, store_id)
        found.settings = {**(found.settings or {}), "postal_address": address}


def cart_id(runtime: Any, key: str) -> int:
    """The row id of the store's cart with this cart key."""
    from sqlalchemy import select

    from app.db.models import Cart

    with runtime.db.new_session() as session:
        return session.scalars(select(Cart.id).where(Cart.cart_key == key)).one()


def connect_woo_store(runtime: Any, shop: str, *, from_email: str = "hello@example.com") -> Any:
    """A WooCommerce store connected by keys (its three webhooks registered on a
    faked REST API) whose merchant has saved a postal address; the Store row."""
    import responses

    from app.db.models import Store
    from app.integrations.woocommerce import connect

    with responses.RequestsMock() as fake:
        for n, topic in enumerate(("order.created", "order.updated", "order.deleted"), 1):
            fake.add(responses.POST, f"{shop}/wp-json/wc/v3/webhooks",
                     json={"id": n, "topic": topic, "status": "active"}, status=201)
        store_id = connect.connect_by_keys(runtime, shop, "ck_" + "1" * 40, "cs_" + "2" * 40,
                                           timezone="UTC", from_email=from_email)
    with_postal_address(runtime, store_id)
    with runtime.db.new_session() as session:
        return session.get(Store, store_id)


def due_cart_row(store_id: int, cart_key: str, email: str, now: datetime) -> dict[str, Any]:
    """A cart row, written straight to the table, whose first reminder fell due an
    hour before `now` (for tests of the timer processes, which run on real time)."""
    from decimal import Decimal

    return dict(store_id=store_id, cart_key=cart_key, status="active", email=email,
                first_name="Ada", items=[{"title": "Mug", "quantity": 1, "unit_price": "18.00"}],
                total=Decimal("18.00"), currency="EUR", saved_link=False,
                last_activity_at=now - timedelta(hours=5), last_event_at=now - timedelta(hours=5),
                stage=0, reminders_sent=0, attempts=0, wake_at=now - timedelta(hours=1),
                created_at=now - timedelta(hours=5), updated_at=now)


@contextmanager
def held_at_first(engine: Any, statement_start: str, parties: int = 2) -> Iterator[None]:
    """Hold each thread at its first statement starting with `statement_start`
    until all `parties` got there, or one waits on another's lock (the barrier
    then breaks after 2 s and they go on): a race made to happen, not hoped for."""
    import threading

    from sqlalchemy import event

    barrier = threading.Barrier(parties)
    seen = threading.local()

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_start) and not getattr(
                seen, "held", False):
            seen.held = True
            try:
                barrier.wait(timeout=2)
            except threading.BrokenBarrierError:
                pass  # another thread holds the lock this one needs: as it should

    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hold)


SNS_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"


def sns_signer() -> tuple[Any, bytes]:
    """An RSA key and its self-signed certificate (PEM), standing in for SNS's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def sns_signed(signer: tuple[Any, bytes], message: dict[str, Any], *, topic: str,
               version: str = "2", message_id: str = "m-1") -> dict[str, Any]:
    """`message` as SNS would deliver it from `topic`: envelope fields and a real signature."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from app.mail import sns

    message = {"TopicArn": topic, "MessageId": message_id,
               "Timestamp": "2026-11-23T13:00:00.000Z", "SignatureVersion": version,
               "SigningCertURL": SNS_CERT_URL, **message}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
    signature = signer[0].sign(sns.canonical(message), padding.PKCS1v15(), digest)
    return {**message, "Signature": base64.b64encode(signature).decode()}


def post_sns(client: Any, path: str, body: dict[str, Any] | bytes) -> Any:
    """POST `body` to an SNS endpoint as SNS does (JSON sent as text/plain)."""
    import json

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=raw, headers={"Content-Type": "text/plain"})


def suppression_rows(runtime: Any) -> list[tuple[int, str, str]]:
    """The unsubscribe list as (store id, address or number, source), sorted."""
    from sqlalchemy import select

    from app.db.models import Suppression

    with runtime.db.new_session() as session:
        return sorted((s.store_id, s.email, s.source) for s in session.scalars(select(Suppression)))


def fresh_beacon_limits(monkeypatch: Any) -> None:
    """Give the beacon's rate limits (per IP, per store key) an empty window, so
    one test's requests never count against the next's."""
    from app.integrations.woocommerce import views as routes
    from app.web.ratelimit import SlidingWindow

    monkeypatch.setattr(routes, "PER_IP", SlidingWindow(30, 60))
    monkeypatch.setattr(routes, "PER_KEY", SlidingWindow(1200, 60))
