"""Addresses: one normal form for comparisons, one shape check for typed addresses."""

from __future__ import annotations

import pytest

from app.core.addresses import looks_like_address, normalize_email


@pytest.mark.parametrize(("raw", "normal"), [
    ("  Ada@Example.COM ", "ada@example.com"),
    ("STRASSE@example.de", "strasse@example.de"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_addresses_normalize_email(raw, normal):
    assert normalize_email(raw) == normal


@pytest.mark.parametrize("text", ["ada@example.com", "a.b+tag@shop.example.co.uk"])
def test_addresses_accepts_a_plain_address(text):
    assert looks_like_address(text)


@pytest.mark.parametrize("text", [
    "", None, "ada", "ada@example", "ada@@example.com", "a b@example.com",
    "ada@example.com, eve@evil.test", "Ada <ada@example.com>", "ada@example.com;x@y.z",
])
def test_addresses_refuses_what_is_not_one_plain_address(text):
    assert not looks_like_address(text)
