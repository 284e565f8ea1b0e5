"""Shopify sign-in checks against ShopifyAPI's own test vectors and refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from platforms.shopify.auth import (
    AuthError,
    clean_shop,
    frame_ancestors,
    permission_url,
    query_message,
    scopes_cover,
    verify_query,
    verify_session_token,
)
from platforms.signing import sign_hex
from tests.shopify_payloads import API_KEY, PREVIOUS_SECRET, SECRET, SHOP, session_token

# ShopifyAPI test/session_test.py vectors (shared/reference/platforms.md S1).
VECTOR = {"code": "a94a110d86d2452eb3e2af4cfb8a3828", "shop": "some-shop.myshopify.com",
          "timestamp": "1337178173",
          "hmac": "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2"}
VECTOR_NOW = datetime.fromtimestamp(1337178173, UTC) + timedelta(minutes=1)


def test_query_hmac_reference_vector_validates():
    verify_query(VECTOR, ["hush"], VECTOR_NOW)


def test_query_hmac_with_array_params_reference_vector():
    params = {"shop": "some-shop.myshopify.com", "ids[]": ["2", "1"],
              "hmac": "b93b9f82996f6f8bf9f1b7bbddec284c8fabacdc4e12dc80550b4705f3003b1e"}
    assert query_message(params) == b'ids=["2", "1"]&shop=some-shop.myshopify.com'
    assert sign_hex("hush", query_message(params)) == params["hmac"]


def test_query_message_escapes_delimiters():
    assert query_message({"a": "1&b=2", "c=3&d": "4"}) == b"a=1%26b=2&c%3D3%26d=4"


def test_query_hmac_previous_secret_accepted_during_rotation():
    verify_query(VECTOR, ["new-secret", "hush"], VECTOR_NOW)


@pytest.mark.parametrize(("change", "reason"), [
    ({"bar": "world"}, "invalid hmac"),
    ({"shop": "evil.myshopify.com"}, "invalid hmac"),
    ({"hmac": VECTOR["hmac"].upper()[:-1] + "0"}, "invalid hmac"),
    ({"hmac": ""}, "invalid hmac"),
])
def test_query_hmac_refused_when_anything_changes(change, reason):
    with pytest.raises(AuthError, match=reason):
        verify_query({**VECTOR, **change}, ["hush"], VECTOR_NOW)


def test_query_without_hmac_refused():
    params = {k: v for k, v in VECTOR.items() if k != "hmac"}
    with pytest.raises(AuthError):
        verify_query(params, ["hush"], VECTOR_NOW)


@pytest.mark.parametrize("age", [timedelta(days=2), timedelta(hours=24, seconds=1),
                                 -timedelta(hours=1)])
def test_query_hmac_with_stale_or_future_timestamp_refused(age):
    with pytest.raises(AuthError, match="timestamp"):
        verify_query(VECTOR, ["hush"], datetime.fromtimestamp(1337178173, UTC) + age)


@pytest.mark.parametrize(("given", "expected"), [
    ("my-shop", "my-shop.myshopify.com"),
    ("my-shop.myshopify.com", "my-shop.myshopify.com"),
    ("https://My-Shop.myshopify.com", "my-shop.myshopify.com"),
    ("evil.com", None),
    ("x.myshopify.com.evil.com", None),
    ("store.myshopify.com.evil.com", None),
    ("myshopify.com", None),
    ("two words", None),
    ("/foo.myshopify.io.evil.ru", None),
    ("foo.bar.myshopify.com", None),
    ("http://user:pass@testshop.notshopify.net/path", None),
    ("", None),
    (None, None),
])
def test_clean_shop(given, expected):
    assert clean_shop(given) == expected


def test_permission_url_asks_for_offline_access_with_our_scopes():
    url = permission_url(SHOP, API_KEY, ["read_orders", "write_discounts"],
                         "https://cartback.test/shopify/callback", "st4te")
    assert url.startswith(f"https://{SHOP}/admin/oauth/authorize?")
    assert "scope=read_orders%2Cwrite_discounts" in url
    assert "state=st4te" in url and "grant_options" not in url


def test_scopes_cover_understands_write_implies_read():
    assert scopes_cover("write_orders,write_discounts", ["read_orders"])
    assert not scopes_cover("read_products", ["read_orders"])
    assert not scopes_cover("", ["read_orders"])


def now() -> datetime:
    # PyJWT checks exp/nbf against the real clock.
    return datetime.now(UTC)


def test_session_token_gives_the_shop_from_dest():
    assert verify_session_token(f"Bearer {session_token(now())}", API_KEY, [SECRET]) == SHOP


def test_session_token_with_future_nbf_inside_leeway_passes():
    token = session_token(now(), nbf_in=10)
    assert verify_session_token(f"Bearer {token}", API_KEY, [SECRET]) == SHOP


def test_session_token_signed_with_previous_secret_passes():
    token = session_token(now(), secret=PREVIOUS_SECRET)
    assert verify_session_token(f"Bearer {token}", API_KEY, [SECRET, PREVIOUS_SECRET]) == SHOP


def _alg_none_token() -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    stamp = int(now().timestamp())
    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY,
              "sub": "1", "exp": stamp + 60, "nbf": stamp, "iat": stamp, "jti": "1", "sid": "s"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("make", [
    pytest.param(lambda: session_token(now(), secret="shpss_" + "f" * 32), id="wrong-secret"),
    pytest.param(_alg_none_token, id="alg-none"),
    pytest.param(lambda: session_token(now(), aud="someone-else"), id="wrong-audience"),
    pytest.param(lambda: session_token(now(), exp_in=-11), id="expired"),
    pytest.param(lambda: session_token(now(), nbf_in=60), id="not-yet-valid"),
    pytest.param(lambda: session_token(now(), dest="https://other-shop.myshopify.com"),
                 id="dest-differs-from-iss"),
    pytest.param(lambda: session_token(now(), iss="https://bad_shop_hostname/admin",
                                       dest="https://bad_shop_hostname"), id="bad-issuer"),
    pytest.param(lambda: session_token(now(), iss="https://evil.com/admin",
                                       dest="https://evil.com"), id="not-myshopify"),
])
def test_session_token_refused(make):
    with pytest.raises(AuthError):
        verify_session_token(f"Bearer {make()}", API_KEY, [SECRET])


def test_session_token_needs_bearer_prefix():
    with pytest.raises(AuthError):
        verify_session_token(session_token(now()), API_KEY, [SECRET])
    with pytest.raises(AuthError):
        verify_session_token("", API_KEY, [SECRET])


def test_frame_ancestors_names_only_this_shop_and_the_admin():
    assert frame_ancestors(SHOP) == f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
