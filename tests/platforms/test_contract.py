"""One contract, every registered adapter: recorded deliveries, signed for real.

For each name in `platforms.names()`, the deliveries recorded under
tests/platforms/payloads/<name>/ are signed here with the platform's own
scheme (written out below, independently of `platforms.signing`), then:
a valid signature parses into frozen CartEvents with Decimal money, an ISO
currency, aware times and the store id passed in; a forged or missing
signature raises BadSignature; a malformed body raises BadPayload and never
another exception; a redelivery carries the same dedupe id.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import platforms
from platforms.base import BadPayload, BadSignature, CartEvent

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "contract-secret-7f3a9c1e5b2d4f6a8c0e"
OTHER_SECRET = "another-stores-secret-0b1d3f5a7c9e"
STORE_ID = 4242
RECEIVED_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def _base64_hmac(header_name: str) -> Callable[[bytes, str], dict[str, str]]:
    def sign(raw: bytes, secret: str) -> dict[str, str]:
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
        return {header_name: base64.b64encode(digest).decode()}
    return sign


# Each platform's documented signing scheme: the headers a real sender adds.
SIGNERS: dict[str, Callable[[bytes, str], dict[str, str]]] = {
    "shopify": _base64_hmac("X-Shopify-Hmac-Sha256"),  # shopify.dev verify-deliveries
    "woocommerce": _base64_hmac("X-WC-Webhook-Signature"),  # WC_Webhook::generate_signature
    "custom": _base64_hmac("X-Cartback-Hmac-Sha256"),  # README, custom webhook lane
}


@dataclasses.dataclass(frozen=True)
class Delivery:
    platform: str
    name: str
    body: bytes
    headers: dict[str, str]
    events: list[dict[str, Any]]

    def signed(self, raw: bytes | None = None, secret: str = SECRET) -> dict[str, str]:
        raw = self.body if raw is None else raw
        return {**self.headers, **SIGNERS[self.platform](raw, secret)}


def recorded(name: str) -> list[Delivery]:
    folder = PAYLOADS / name
    entries = json.loads((folder / "deliveries.json").read_text())
    return [Delivery(name, e["body"].removesuffix(".json"), (folder / e["body"]).read_bytes(),
                     e["headers"], e["events"]) for e in entries]


DELIVERIES = [d for name in platforms.names() if (PAYLOADS / name).is_dir()
              for d in recorded(name)]
IDS = [f"{d.platform}-{d.name}" for d in DELIVERIES]


def parse(delivery: Delivery, raw: bytes | None = None) -> list[CartEvent]:
    adapter = platforms.get_adapter(delivery.platform)
    raw = delivery.body if raw is None else raw
    headers = delivery.signed(raw)
    adapter.verify(raw, headers, SECRET)
    return adapter.parse(raw, headers, STORE_ID, RECEIVED_AT)


# --- every platform is covered ---------------------------------------------------------

@pytest.mark.parametrize("name", platforms.names())
def test_contract_registered_adapter_has_its_name_a_signer_and_recordings(name):
    assert platforms.get_adapter(name).name == name
    assert name in SIGNERS, f"add {name}'s signing scheme to SIGNERS"
    assert recorded(name), f"record deliveries under tests/platforms/payloads/{name}/"


def test_contract_unknown_platform_is_a_key_error():
    with pytest.raises(KeyError):
        platforms.get_adapter("magento")


# --- a valid signature parses into clean events -------------------------------------------

@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_signed_delivery_parses_into_clean_events(delivery):
    events = parse(delivery)
    assert [(e.kind.value, e.cart_key) for e in events] == [
        (x["kind"], x["cart_key"]) for x in delivery.events]
    for event, expected in zip(events, delivery.events, strict=True):
        assert isinstance(event, CartEvent)
        assert event.store_id == STORE_ID
        assert event.occurred_at.tzinfo is not None
        assert event.occurred_at.utcoffset() is not None
        assert event.total == (None if expected["total"] is None else Decimal(expected["total"]))
        assert event.total is None or type(event.total) is Decimal
        assert event.currency == expected["currency"]
        assert event.currency is None or CURRENCY_RE.match(event.currency)
        assert event.delivery_id
        for item in event.items or ():
            assert type(item.unit_price) is Decimal and item.unit_price >= 0
            assert type(item.quantity) is int and item.quantity > 0
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.email = "someone@example.com"  # type: ignore[misc]
        for item in event.items or ():
            with pytest.raises(dataclasses.FrozenInstanceError):
                item.unit_price = Decimal("0")  # type: ignore[misc]


@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_redelivery_carries_the_same_dedupe_id(delivery):
    first = [e.delivery_id for e in parse(delivery)]
    again = [e.delivery_id for e in parse(delivery)]
    assert first == again
    assert all(first)


@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_secret_rotation_accepts_the_previous_secret(delivery):
    adapter = platforms.get_adapter(delivery.platform)
    adapter.verify(delivery.body, delivery.signed(secret=OTHER_SECRET), SECRET, OTHER_SECRET)


# --- a forged or missing signature ------------------------------------------------------

def _forgeries(delivery: Delivery) -> dict[str, dict[str, str]]:
    real = delivery.signed()
    (sig_header,) = set(real) - set(delivery.headers)
    hexdigest = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    return {
        "missing": dict(delivery.headers),
        "empty": {**real, sig_header: ""},
        "other store's secret": delivery.signed(secret=OTHER_SECRET),
        "over other bytes": delivery.signed(delivery.body + b" "),
        "hex, not base64": {**real, sig_header: hexdigest},
        "garbage": {**real, sig_header: "bm90LWEtc2lnbmF0dXJl"},
        "non-ascii": {**real, sig_header: "sïgnature"},
    }


@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_forged_or_missing_signature_is_bad_signature(delivery):
    adapter = platforms.get_adapter(delivery.platform)
    for label, headers in _forgeries(delivery).items():
        with pytest.raises(BadSignature):
            adapter.verify(delivery.body, headers, SECRET)
            pytest.fail(f"accepted a signature that is {label}")
    with pytest.raises(BadSignature):
        adapter.verify(delivery.body, delivery.signed(), "")


# --- a malformed body -----------------------------------------------------------------

NOT_AN_OBJECT = {
    "empty": b"",
    "not json": b"not json",
    "a list": b"[1, 2, 3]",
    "null": b"null",
    "a string": b'"cart"',
    "not utf-8": b"\xff\xfe{}",
    "a lone surrogate": b'{"email": "\\ud800"',
    "a huge integer": b'{"id": ' + b"9" * 5000 + b"}",
    "50,000 nested arrays": b"[" * 50_000 + b"]" * 50_000,
    "50,000 nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
}


@pytest.mark.parametrize("body", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_body_that_is_not_a_json_object_is_bad_payload(delivery, body):
    with pytest.raises(BadPayload):
        parse(delivery, body)


JUNK: list[Any] = [
    None, True, -1, 0, "", "x", "9" * 400, "1e400", "NaN", "-Infinity", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "http://[::1", "../../etc/passwd", "\u0000", [], {}, [[[]]],
    {"a": {"b": {}}}, 1.5, 10**300,
]


def _mutations(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value two levels deep (and in the first entry of each list) as a place to
    put junk."""
    if len(path) > 3:
        return
    if isinstance(body, dict):
        for key, value in body.items():
            yield (*path, key), value
            yield from _mutations(value, (*path, key))
    elif isinstance(body, list) and body:
        yield (*path, 0), body[0]
        yield from _mutations(body[0], (*path, 0))


def _replaced(body: Any, path: tuple[Any, ...], junk: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = junk
    return changed


@pytest.mark.parametrize("delivery", DELIVERIES, ids=IDS)
def test_contract_any_field_of_any_type_is_read_or_refused_never_crashes(delivery):
    """Each field replaced by each junk value: the adapter either reads it (and the
    events still keep the contract) or raises BadPayload, never anything else."""
    body = json.loads(delivery.body)
    for path, _ in _mutations(body):
        for junk in JUNK:
            raw = json.dumps(_replaced(body, path, junk)).encode()
            try:
                events = parse(delivery, raw)
            except BadPayload:
                continue
            except Exception as err:  # noqa: BLE001 - the point is to name the escapee
                pytest.fail(f"{delivery.platform}: {path}={junk!r:.40} raised {err!r:.200}")
            for event in events:
                assert event.store_id == STORE_ID
                assert event.occurred_at.utcoffset() is not None
                assert event.total is None or (event.total.is_finite() and event.total >= 0)
                assert event.currency is None or CURRENCY_RE.match(event.currency)
                for item in event.items or ():
                    assert item.unit_price.is_finite() and type(item.quantity) is int
