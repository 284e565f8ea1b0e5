"""Embedded admin sign-in: App Bridge session tokens and the per-shop CSP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from flask import jsonify
from sqlalchemy import select

from app.db.models import Store
from app.integrations.shopify.views import embedded, signed_in_store_id
from tests.shopify_payloads import API_KEY, OVERRIDES, SHOP, fake_shopify, session_token

CSP = f"frame-ancestors https://{SHOP} https://admin.shopify.com;"


def now():
    # PyJWT checks exp/nbf against the real clock.
    return datetime.now(UTC)


def bearer(**claims):
    return {"Authorization": f"Bearer {session_token(now(), **claims)}"}


def test_embedded_page_signs_in_from_the_bearer_token(client, shop_store):
    response = client.get("/shopify/app", headers=bearer())
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    assert SHOP in response.get_data(as_text=True)
    assert f'content="{API_KEY}"' in response.get_data(as_text=True)


def test_embedded_document_load_signs_in_from_id_token(client, shop_store):
    response = client.get("/shopify/app", query_string={"id_token": session_token(now()),
                                                        "shop": SHOP})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP


def test_the_shop_comes_from_the_token_never_from_the_query(client, shop_store):
    response = client.get("/shopify/app?shop=evil-shop.myshopify.com", headers=bearer())
    assert response.headers["Content-Security-Policy"] == CSP
    assert "evil-shop" not in response.get_data(as_text=True)


@pytest.mark.parametrize("claims", [
    {"secret": "shpss_" + "f" * 32},
    {"aud": "another-app"},
    {"exp_in": -11},
    {"dest": "https://other-shop.myshopify.com"},
], ids=["wrong-secret", "wrong-audience", "expired", "dest-mismatch"])
def test_refused_session_tokens_get_401_and_a_retry_hint(client, shop_store, claims):
    response = client.get("/shopify/app", headers=bearer(**claims))
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert "Content-Security-Policy" not in response.headers
    assert SHOP not in response.get_data(as_text=True)


def test_alg_none_token_is_refused(client, shop_store):
    import base64

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    stamp = int(now().timestamp())
    token = (f"{part({'alg': 'none', 'typ': 'JWT'})}."
             f"{part({'iss': f'https://{SHOP}/admin', 'dest': f'https://{SHOP}', 'aud': API_KEY, 'sub': '1', 'exp': stamp + 60, 'nbf': stamp, 'iat': stamp, 'jti': '1', 'sid': 's'})}.")  # noqa: E501
    response = client.get("/shopify/app", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_no_token_at_all_is_401(client, shop_store):
    assert client.get("/shopify/app").status_code == 401


def test_decorated_json_view_gets_the_store_id_and_no_csp(app, client, shop_store):
    @app.get("/api/shopify-probe")
    @embedded
    def probe():
        return jsonify({"store_id": signed_in_store_id()})

    response = client.get("/api/shopify-probe", headers=bearer())
    assert response.json == {"store_id": shop_store}
    assert "Content-Security-Policy" not in response.headers


def test_first_visit_of_a_managed_install_connects_by_token_exchange(client, runtime):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as fake:
        fake_shopify(fake)
        headers = bearer()
        response = client.get("/shopify/app", headers=headers)
        exchange = json.loads(fake.calls[0].request.body)
    assert response.status_code == 200
    assert exchange["subject_token"] == headers["Authorization"].removeprefix("Bearer ")
    assert exchange["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    with runtime.db.new_session() as session:
        [store] = session.scalars(select(Store)).all()
    assert store.domain == SHOP and store.platform_state["installed_via"] == "token_exchange"


def admin_page(app, store_id):
    from app.web.admin.auth import mint_session

    with app.test_request_context():
        session = mint_session(store_id)
    return app.test_client().get("/admin/", headers={"Authorization": f"Bearer {session}"})


def test_admin_pages_of_a_shopify_store_load_app_bridge_with_the_api_key(app, shop_store):
    page = admin_page(app, shop_store).get_data(as_text=True)
    assert f'<meta name="shopify-api-key" content="{API_KEY}">' in page
    assert "https://cdn.shopify.com/shopifycloud/app-bridge.js" in page


def test_admin_pages_of_other_stores_load_nothing_from_shopify(app, make_store):
    store = make_store(domain="https://plain.example")
    response = admin_page(app, store.id)
    assert response.status_code == 200
    assert "shopify" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("app_overrides", [{**OVERRIDES, "SHOPIFY_API_KEY": ""}])
def test_admin_pages_go_without_app_bridge_when_no_api_key_is_set(app, make_store):
    store = make_store(platform="shopify", domain=SHOP)
    page = admin_page(app, store.id).get_data(as_text=True)
    assert "app-bridge" not in page and "shopify-api-key" not in page


def test_embedded_entry_hands_the_session_over_in_a_partitioned_cookie_not_the_url(
        client, shop_store):
    response = client.get("/shopify/app", headers=bearer())
    [cookie] = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    token = cookie.split(";")[0].removeprefix("cartback_admin=")
    assert token
    for flag in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/admin"):
        assert flag in cookie
    page = response.get_data(as_text=True)
    assert token not in page and "?s=" not in page
    assert 'content="0;url=/admin/"' in page
    assert client.get("/admin/").status_code == 200  # the cookie signs the admin in


# --- admin requests signed in by the App Bridge session token (issue 17) -------------------

def test_admin_page_inside_shopify_uses_the_admins_nav_title_bar_and_polaris(client, shop_store):
    response = client.get("/admin/unsubscribes", headers=bearer())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "https://cdn.shopify.com/shopifycloud/polaris-1.js" in page
    assert '<s-app-nav><s-link href="/admin/" rel="home">Dashboard</s-link>' in page
    assert '<s-page heading="Unsubscribes">' in page
    assert 's-button slot="secondary-actions" href="/admin/unsubscribes.csv"' in page


def test_form_posted_with_a_session_token_needs_no_cookie_and_no_csrf(client, shop_store,
                                                                      runtime):
    from app.core.rules import FIELDS

    form = {f.key: f.default for f in FIELDS if f.kind != "bool"}
    response = client.post("/admin/settings", headers=bearer(),
                           data={**form, "timezone": "Europe/Berlin", "quiet_start": "22:00"})
    assert response.status_code == 200
    assert "Settings saved." in response.get_data(as_text=True)
    with runtime.db.new_session() as session:
        store = session.get(Store, shop_store)
    assert store.timezone == "Europe/Berlin" and store.settings["quiet_start"] == "22:00"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("claims", [
    {"secret": "shpss_" + "f" * 32},
    {"exp_in": -11},
    {"aud": "another-app"},
    {"dest": "https://other-shop.myshopify.com", "iss": "https://other-shop.myshopify.com/admin"},
], ids=["forged", "expired", "wrong-audience", "shop-not-installed"])
def test_a_refused_session_token_is_refused_even_with_a_cookie(app, client, shop_store, claims):
    from app.web.admin.auth import COOKIE, COOKIE_PATH, mint_session

    with app.test_request_context():
        client.set_cookie(COOKIE, mint_session(shop_store), path=COOKIE_PATH)
    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/", headers=bearer(**claims))
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    refused = client.post("/admin/settings", headers=bearer(**claims), data={"timezone": "UTC"})
    assert refused.status_code == 401
