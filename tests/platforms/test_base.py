"""The common model's helpers: JSON bodies are objects with Decimal numbers, or BadPayload."""

from __future__ import annotations

from decimal import Decimal

import pytest

from platforms.base import BadPayload, header, load_json_object


def test_load_json_object_reads_numbers_as_decimal():
    assert load_json_object(b'{"total": 0.30, "n": 2}') == {"total": Decimal("0.30"), "n": 2}


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b'"text"', b"null", b"\xff\xfe", b"1" * 5000,
    b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
])
def test_load_json_object_refuses_anything_else_as_bad_payload(raw):
    with pytest.raises(BadPayload) as err:
        load_json_object(raw)
    assert err.value.field == "body"


def test_header_lookup_ignores_case():
    assert header({"x-wc-webhook-topic": "order.updated"}, "X-WC-Webhook-Topic") == "order.updated"
    assert header({}, "X-WC-Webhook-Topic") is None
