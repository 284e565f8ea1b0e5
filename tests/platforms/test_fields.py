"""The shared wire readers: what each accepts, and every bad input refused by name."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from platforms import fields
from platforms.base import BadPayload


def refused(read, value, **options) -> str:
    with pytest.raises(BadPayload) as err:
        read(value, "where", **options)
    assert err.value.field == "where"
    return err.value.reason


@pytest.mark.parametrize(("value", "expected"), [
    ("19.99", Decimal("19.99")),
    (" 5 ", Decimal("5")),
    (".5", Decimal("0.5")),
    (0, Decimal("0")),
    (Decimal("0.1"), Decimal("0.1")),  # what parse_float=Decimal hands over
    (Decimal("1E+3"), Decimal("1000")),
    ("99999999999.9999", Decimal("99999999999.9999")),
])
def test_fields_money_reads_decimals_exactly(value, expected):
    amount = fields.money(value, "price")
    assert isinstance(amount, Decimal)
    assert amount == expected


@pytest.mark.parametrize("value", [
    None, True, 1.5, [], {}, "", "free", "1,50", "1_000", "1e3", "0x10", "NaN", "Infinity",
    "-1", "-0.01", Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-1"),
    Decimal("1E+400"), Decimal("1E-400"), "100000000000", 10**11, "9" * 41,
])
def test_fields_money_refuses(value):
    refused(fields.money, value)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-23T09:00:00Z", datetime(2026, 11, 23, 9, tzinfo=UTC)),
    ("2026-11-23T09:00:00.000000Z", datetime(2026, 11, 23, 9, tzinfo=UTC)),
    ("2026-11-23T11:00:00+02:00", datetime(2026, 11, 23, 9, tzinfo=UTC)),
    ("2026-11-23T04:00:00-05:00", datetime(2026, 11, 23, 9, tzinfo=UTC)),
])
def test_fields_aware_time_is_utc(value, expected):
    parsed = fields.aware_time(value, "at")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", [
    None, "", 1732352400, "yesterday", "2026-11-23T09:00:00", "2026-11-23", "2026-13-01T00:00Z",
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z",
    "9001-01-01T00:00:00Z", "2026-11-23T09:00:00Z" + " " * 60 + "x",
])
def test_fields_aware_time_refuses(value):
    refused(fields.aware_time, value)


def test_fields_aware_time_naive_is_utc_only_when_the_platform_says_so():
    assert fields.aware_time("2026-11-23T10:05:00", "gmt", naive_is_utc=True) == datetime(
        2026, 11, 23, 10, 5, tzinfo=UTC)
    assert refused(fields.aware_time, "2026-11-23T10:05:00").startswith("must include")


@pytest.mark.parametrize(("value", "expected"), [
    ("ada@example.com", "ada@example.com"),
    ("  ada@example.com ", "ada@example.com"),
    ("", None),
    (None, None),
])
def test_fields_email_reads_one_address(value, expected):
    assert fields.email(value, "email") == expected


@pytest.mark.parametrize("value", [
    "a@example.com, b@example.com", "a@example.com;b@example.com", "Ada <ada@example.com>",
    "ada@localhost", "ada", "@example.com", "a b@example.com", 5, ["ada@example.com"],
    "a" * 310 + "@example.com",
])
def test_fields_email_refuses(value):
    refused(fields.email, value)


@pytest.mark.parametrize(("value", "expected"), [
    ("Europe/Berlin", "Europe/Berlin"),
    (" America/Argentina/Buenos_Aires ", "America/Argentina/Buenos_Aires"),
    ("UTC", "UTC"),
    ("Etc/GMT+5", "Etc/GMT+5"),
    ("Mars/Olympus_Mons", None),
    ("Europe", None),
    ("../../etc/passwd", None),
    ("/etc/localtime", None),
    ("Europe/Berlin\x00", None),
    ("A" * 300, None),
    ("", None),
    (None, None),
    (3600, None),
])
def test_fields_zone_unknown_is_none_never_refused(value, expected):
    assert fields.zone(value) == expected


@pytest.mark.parametrize("value", [
    "https://shop.example/cart", "http://shop.example:8080/p?x=1", "HTTPS://shop.example/",
])
def test_fields_http_url_accepts(value):
    assert fields.http_url(value, "url") == value


@pytest.mark.parametrize("value", [
    "javascript:alert(1)", "ftp://shop.example/", "//shop.example/cart", "https://", "shop.example",
    "http://[::1/cart", "https://shop.example/a b", "https:\\\\evil.example", "https://x\n.example",
    "https://shop.example/" + "a" * 2048, 5,
])
def test_fields_http_url_refuses(value):
    refused(fields.http_url, value)


@pytest.mark.parametrize(("read", "value", "options"), [
    (fields.text, 5, {"max_len": 10}),
    (fields.text, "x" * 11, {"max_len": 10}),
    (fields.text, None, {"max_len": 10, "required": True}),
    (fields.text, "  ", {"max_len": 10, "required": True}),
    (fields.ident, True, {}),
    (fields.ident, 1.5, {}),
    (fields.ident, "x" * 256, {}),
    (fields.whole, "2", {}),
    (fields.whole, True, {}),
    (fields.whole, Decimal("2.0"), {}),
    (fields.whole, -1, {}),
    (fields.whole, fields.MAX_QUANTITY + 1, {}),
    (fields.whole, 1000, {"high": 999}),
    (fields.flag, "yes", {}),
    (fields.flag, 1, {}),
    (fields.currency, "euro", {}),
    (fields.currency, "E1R", {}),
    (fields.locale, "english please", {}),
    (fields.country, "DEU", {}),
    (fields.country, "D1", {}),
])
def test_fields_bounded_readers_refuse(read, value, options):
    refused(read, value, **options)


def test_fields_bounded_readers_read():
    assert fields.text("  Ada ", "n", max_len=10) == "Ada"
    assert fields.text("x" * 20, "n", max_len=10, clip=True) == "x" * 10
    assert fields.text(" ", "n", max_len=10) is None
    assert fields.ident(981820079255243537, "id") == "981820079255243537"
    assert fields.whole(3, "q") == 3
    assert fields.flag(False, "f") is False
    assert fields.currency("eur", "c") == "EUR"
    assert fields.locale("pt_BR", "l") == "pt_BR"
    assert fields.country("de", "c") == "DE"


def test_fields_or_none_turns_a_refusal_into_none():
    assert fields.or_none(fields.email, "a@example.com, b@example.com") is None
    assert fields.or_none(fields.email, "ada@example.com") == "ada@example.com"
    assert fields.or_none(fields.text, "x" * 20, max_len=10) is None


def test_fields_objects_names_each_entry():
    assert fields.objects(None, "items") == []
    assert fields.objects([{"a": 1}], "items") == [("items[0]", {"a": 1})]
    assert len(fields.objects([{}] * 300, "items", clip=True)) == fields.MAX_ITEMS


@pytest.mark.parametrize(("value", "field"), [
    ("shirt", "items"),
    ({"title": "shirt"}, "items"),
    ([{}] * 251, "items"),
    ([{}, "shirt"], "items[1]"),
])
def test_fields_objects_refuses(value, field):
    with pytest.raises(BadPayload) as err:
        fields.objects(value, "items")
    assert err.value.field == field
