"""From wp-admin into Cartback: the plugin's "Open Cartback" link signs the merchant
in once, within a minute, to their own store only; anything else gets a page
that says what to do, never a session and never a 500."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from app import nonces
from app.integrations.woocommerce import handover
from app.web.admin.auth import COOKIE
from platforms.woocommerce.handover import sign
from tests.factories import T0, held_at_first

BASE = "https://cartback.test"
NONCE = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"


@pytest.fixture
def woo(make_store):
    return make_store(platform="woocommerce", name="Maple Woo", domain="https://maple.example")


def open_link(client, query: dict[str, str]):
    return client.get(f"/woocommerce/admin?{urlencode(query)}", base_url=BASE)


def session_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{COOKIE}="):
            return header
    return None


def test_open_cartback_signs_the_merchant_in_and_lands_on_the_dashboard(app, woo):
    client = app.test_client()
    response = open_link(client, sign(woo.webhook_secret, woo.id, T0, NONCE))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "HttpOnly" in session_cookie(response) and NONCE not in response.headers["Location"]
    page = client.get("/admin/", base_url=BASE)
    assert page.status_code == 200 and "Maple Woo" in page.get_data(as_text=True)


def test_a_link_signed_with_another_secret_is_refused_with_a_friendly_401(app, woo):
    response = open_link(app.test_client(), sign("not-the-webhook-secret", woo.id, T0, NONCE))
    text = response.get_data(as_text=True)
    assert response.status_code == 401 and session_cookie(response) is None
    assert "not from your store" in text and "WooCommerce → Cartback" in text


def test_another_stores_link_opens_that_store_and_cannot_be_pointed_at_this_one(
        app, make_store, woo):
    other = make_store(platform="woocommerce", name="Other Woo", domain="https://other.example")
    theirs = sign(other.webhook_secret, other.id, T0, NONCE)
    client = app.test_client()
    assert open_link(client, {**theirs, "store": str(woo.id)}).status_code == 401
    assert open_link(client, theirs).status_code == 302
    page = client.get("/admin/", base_url=BASE).get_data(as_text=True)
    assert "Other Woo" in page and "Maple Woo" not in page


def test_a_link_older_than_a_minute_asks_to_click_open_cartback_again(app, clock, woo):
    query = sign(woo.webhook_secret, woo.id, T0, NONCE)
    clock.advance(seconds=61)
    response = open_link(app.test_client(), query)
    assert response.status_code == 403 and session_cookie(response) is None
    assert "click <strong>Open Cartback</strong> again" in response.get_data(as_text=True)


def test_a_link_from_a_store_clock_far_ahead_is_refused_but_a_little_skew_is_fine(
        app, woo):
    ahead = sign(woo.webhook_secret, woo.id, T0 + timedelta(minutes=5), NONCE)
    assert open_link(app.test_client(), ahead).status_code == 403
    slightly = sign(woo.webhook_secret, woo.id, T0 + timedelta(seconds=20), NONCE[::-1])
    assert open_link(app.test_client(), slightly).status_code == 302


def test_a_link_works_once(app, clock, woo):
    query = sign(woo.webhook_secret, woo.id, T0, NONCE)
    assert open_link(app.test_client(), query).status_code == 302
    clock.advance(seconds=5)
    replay = open_link(app.test_client(), query)
    assert replay.status_code == 403 and session_cookie(replay) is None
    assert "expired" in replay.get_data(as_text=True)


def test_a_disconnected_store_gets_no_session(app, runtime, woo):
    from app.db.models import Store

    with runtime.db.transaction() as session:
        session.get(Store, woo.id).installed = False
    response = open_link(app.test_client(), sign(woo.webhook_secret, woo.id, T0, NONCE))
    assert response.status_code == 401 and "connect it again" in response.get_data(as_text=True)


def test_a_custom_store_cannot_be_opened_this_way(app, store):
    response = open_link(app.test_client(), sign(store.webhook_secret, store.id, T0, NONCE))
    assert response.status_code == 401


@pytest.mark.parametrize("change, field", [
    ({"store": ""}, "store"), ({"store": "99999999999"}, "store"), ({"ts": "-5"}, "ts"),
    ({"nonce": "short"}, "nonce"), ({"nonce": "a b" * 8}, "nonce"), ({"sig": "zz"}, "sig"),
])
def test_a_damaged_link_says_which_part(app, woo, change, field):
    query = {**sign(woo.webhook_secret, woo.id, T0, NONCE), **change}
    response = open_link(app.test_client(), query)
    assert response.status_code == 400 and f"({field}:" in response.get_data(as_text=True)


def test_two_claims_of_one_nonce_succeed_once(runtime):
    with runtime.db.transaction() as session:
        first = nonces.claim(session, "woocommerce-admin", NONCE, "1", T0, timedelta(minutes=2))
    with runtime.db.transaction() as session:
        second = nonces.claim(session, "woocommerce-admin", NONCE, "1", T0, timedelta(minutes=2))
    assert (first, second) == (True, False)


def test_the_plugin_learns_its_store_and_beacon_key_from_a_signed_status_call(app, woo):
    client = app.test_client()
    good = client.get(f"/woocommerce/plugin/status?"
                      f"{urlencode(sign(woo.webhook_secret, woo.id, T0, NONCE))}")
    assert good.status_code == 200
    assert good.json["name"] == "Maple Woo" and good.json["public_key"] == woo.public_key
    assert good.json["beacon_endpoint"] == f"{BASE}/collect/{woo.public_key}"
    forged = client.get(f"/woocommerce/plugin/status?"
                        f"{urlencode(sign('guess', woo.id, T0, NONCE))}")
    assert forged.status_code == 401 and "public_key" not in forged.get_data(as_text=True)


def test_the_connected_page_says_what_to_do_next_in_wp_admin(client):
    page = client.get("/woocommerce/connected?success=1").get_data(as_text=True)
    assert "README" not in page
    for step in ("Upload Plugin", "Activate", "WooCommerce → Cartback", "Open Cartback",
                 'href="/woocommerce/plugin.zip"'):
        assert step in page


def test_the_plugin_download_is_a_zip_wordpress_can_upload(client):
    response = client.get("/woocommerce/plugin.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["cartback-woocommerce/cartback-woocommerce.php"]
        plugin = archive.read("cartback-woocommerce/cartback-woocommerce.php").decode()
    assert "Requires Plugins:  woocommerce" in plugin and "function cartback_open_url" in plugin


def test_one_link_clicked_twice_at_once_signs_in_once(runtime, woo):
    # Hold both redemptions at their nonce insert until both got there (or one
    # waits on the other's lock): a check-then-insert would let both through.
    query = sign(woo.webhook_secret, woo.id, T0, NONCE)
    results, errors = [], []

    def redeem():
        try:
            results.append(handover.redeem(runtime, query, T0))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    with held_at_first(runtime.db.engine, "INSERT INTO OAUTH_STATES"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == [] and sorted(results, key=str) == [woo.id, None]  # "1" < "None"
