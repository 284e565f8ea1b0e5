"""Install from the app listing: /shopify/install → grant screen → /shopify/callback."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from app.db.crypto import decrypt_json
from app.db.models import OAuthState, Store
from platforms.shopify.auth import query_message
from platforms.signing import sign_hex
from tests.shopify_payloads import API_KEY, SECRET, SHOP, TOKEN_URL, fake_shopify

SUBSCRIPTIONS = 7


def signed_query(params, secret=SECRET):
    """A query string as Shopify signs it (repeated `key[]` values kept)."""
    query = dict(params)
    query["hmac"] = sign_hex(secret, query_message(query))
    pairs = []
    for key, value in query.items():
        pairs.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return urlencode(pairs)


def start_install(client):
    response = client.get(f"/shopify/install?shop={SHOP}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def callback(client, clock, state, *, shop=SHOP, timestamp=None, secret=SECRET, **extra):
    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "host": "YWRtaW4uc2hvcGlmeS5jb20v",
              "shop": shop, "state": state,
              "timestamp": str(int((timestamp or clock()).timestamp())), **extra}
    return client.get(f"/shopify/callback?{signed_query(params, secret)}")


def stores(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Store)))


def test_install_redirects_to_the_grant_screen_with_a_stored_state(client, runtime):
    response = client.get(f"/shopify/install?shop={SHOP}")
    assert response.status_code == 302
    url = urlsplit(response.headers["Location"])
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == [API_KEY]
    assert query["scope"] == ["read_orders"]  # only what a feature uses
    assert query["redirect_uri"] == ["https://cartback.test/shopify/callback"]
    with runtime.db.new_session() as session:
        [state] = session.scalars(select(OAuthState)).all()
    assert query["state"] == [state.state] and state.shop == SHOP


@pytest.mark.parametrize("shop", ["evil.com", "x.myshopify.com.evil.com", "myshopify.com",
                                  "https://evil.com/admin", ""])
def test_install_refuses_a_hostile_shop_before_any_redirect(client, runtime, shop):
    response = client.get("/shopify/install", query_string={"shop": shop})
    assert response.status_code == 400
    assert "Location" not in response.headers
    with runtime.db.new_session() as session:
        assert session.scalars(select(OAuthState)).all() == []


def test_install_started_by_shopify_must_be_signed(client, clock):
    params = {"shop": SHOP, "timestamp": str(int(clock().timestamp()))}
    ok = client.get(f"/shopify/install?{signed_query(params)}")
    assert ok.status_code == 302
    forged = client.get(f"/shopify/install?{signed_query(params, 'shpss_' + 'e' * 32)}")
    assert forged.status_code == 401


def test_callback_installs_the_store_with_an_encrypted_token(client, runtime, clock, fake):
    fake_shopify(fake)
    state = start_install(client)
    response = callback(client, clock, state)
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    [store] = stores(runtime)
    assert (store.platform, store.domain, store.name) == ("shopify", SHOP, "Cool Shop")
    assert store.timezone == "Europe/Paris" and store.installed
    assert "shpat_secret_token" not in store.credentials
    creds = decrypt_json(runtime.fernet(), store.credentials)
    assert creds["access_token"] == "shpat_secret_token"
    assert creds["refresh_token"] == "shprt_secret"
    assert creds["expires_at"] == (clock() + timedelta(hours=1)).isoformat()
    assert len(store.platform_state["webhook_ids"]) == SUBSCRIPTIONS
    token_call = json.loads(fake.calls[0].request.body)
    assert token_call["expiring"] == "1"


def test_callback_with_array_params_validates(client, runtime, clock, fake):
    fake_shopify(fake)
    state = start_install(client)
    assert callback(client, clock, state, **{"ids[]": ["2", "1"]}).status_code == 302


def test_callback_with_a_bad_hmac_is_refused(client, runtime, clock):
    state = start_install(client)
    response = callback(client, clock, state, secret="shpss_" + "e" * 32)
    assert response.status_code == 401
    assert stores(runtime) == []


def test_callback_with_an_added_param_is_refused(client, runtime, clock):
    state = start_install(client)
    params = {"code": "c", "shop": SHOP, "state": state,
              "timestamp": str(int(clock().timestamp()))}
    response = client.get(f"/shopify/callback?{signed_query(params)}&bar=world")
    assert response.status_code == 401


def test_callback_state_is_single_use(client, runtime, clock, fake):
    fake_shopify(fake)
    state = start_install(client)
    assert callback(client, clock, state).status_code == 302
    replay = callback(client, clock, state)
    assert replay.status_code == 403  # no second code exchange (responses would fail on it)


@pytest.mark.parametrize("state", ["made-up-state", ""])
def test_callback_with_a_state_we_never_issued_is_refused(client, runtime, clock, state):
    start_install(client)
    assert callback(client, clock, state).status_code == 403
    assert stores(runtime) == []


def test_callback_state_issued_for_another_shop_is_refused(client, runtime, clock):
    state = start_install(client)
    response = callback(client, clock, state, shop="other-shop.myshopify.com")
    assert response.status_code == 403


def test_callback_state_expires(client, runtime, clock):
    state = start_install(client)
    clock.advance(minutes=11)
    assert callback(client, clock, state).status_code == 403


@pytest.mark.parametrize("shop", ["evil.com", "x.myshopify.com.evil.com"])
def test_callback_with_a_hostile_shop_is_refused_even_when_signed(client, runtime, clock, shop):
    state = start_install(client)
    response = callback(client, clock, state, shop=shop)
    assert response.status_code == 400
    assert stores(runtime) == []


def test_callback_with_a_stale_timestamp_is_refused(client, runtime, clock):
    state = start_install(client)
    response = callback(client, clock, state, timestamp=clock() - timedelta(days=2))
    assert response.status_code == 401
    assert stores(runtime) == []


def test_callback_without_read_orders_is_refused_and_nothing_stored(client, runtime, clock, fake):
    fake.post(TOKEN_URL, json={"access_token": "shpat_x", "scope": "read_products"})
    state = start_install(client)
    response = callback(client, clock, state)
    assert response.status_code == 403
    assert "read_orders" in response.json["error"]
    assert stores(runtime) == []


def test_callback_when_shopify_fails_is_502(client, runtime, clock, fake):
    fake.post(TOKEN_URL, status=400, json={"error": "invalid_request"})
    state = start_install(client)
    assert callback(client, clock, state).status_code == 502
    assert stores(runtime) == []


def test_reinstall_revives_the_same_store(client, runtime, clock, fake):
    fake_shopify(fake)
    assert callback(client, clock, start_install(client)).status_code == 302
    with runtime.db.transaction() as session:
        store = session.scalars(select(Store)).one()
        store.installed = False
        store.credentials = None
    assert callback(client, clock, start_install(client)).status_code == 302
    [store] = stores(runtime)
    assert store.installed and store.credentials
