"""WooCommerce end to end: connect, webhooks, the beacon, reminders and stops."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import func, select

from app import nonces
from app.carts.wake import wake_due
from app.db.crypto import decrypt_json
from app.db.models import Cart, OAuthState, Store
from app.integrations.woocommerce import connect as woocommerce_store
from app.integrations.woocommerce import sync as woocommerce_sync
from tests.factories import T0, fresh_beacon_limits
from tests.woocommerce_payloads import SHOP, order, signed

CK, CS = "ck_" + "1" * 40, "cs_" + "2" * 40


def register_mocks(rsps, status=201):
    for n, topic in enumerate(("order.created", "order.updated", "order.deleted"), start=1):
        body = ({"id": n, "topic": topic, "status": "active"} if status == 201 else
                {"code": "woocommerce_rest_shop_webhook_invalid_topic",
                 "message": "Webhook topic must be valid.", "data": {"status": 400}})
        rsps.add(responses.POST, f"{SHOP}/wp-json/wc/v3/webhooks", json=body, status=status)
        if status != 201:
            break


def carts(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).order_by(Cart.id)).all()


# -- connecting ------------------------------------------------------------------------------

def test_connect_registers_webhooks_with_our_secret(woo_store, runtime):
    assert woo_store.platform == "woocommerce" and woo_store.domain == SHOP
    assert woo_store.platform_state["webhook_ids"] == {
        "order.created": 1, "order.updated": 2, "order.deleted": 3}
    keys = decrypt_json(runtime.fernet(), woo_store.credentials)
    assert keys["consumer_key"] == CK
    assert CK not in (woo_store.credentials or "")  # encrypted at rest


def test_connect_sends_basic_auth_and_our_secret(runtime):
    with responses.RequestsMock() as rsps:
        register_mocks(rsps)
        store_id = woocommerce_store.connect_by_keys(runtime, SHOP, CK, CS)
        sent = [json.loads(call.request.body) for call in rsps.calls]
        auth = rsps.calls[0].request.headers["Authorization"]
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
    assert auth.startswith("Basic ")
    assert {s["topic"] for s in sent} == {"order.created", "order.updated", "order.deleted"}
    assert all(s["secret"] == store.webhook_secret for s in sent)
    assert all(s["delivery_url"] == f"https://cartback.test/webhooks/woocommerce/{store_id}"
               for s in sent)


def test_cli_connect_invalid_topic_is_an_error_the_merchant_sees(runner, runtime):
    with responses.RequestsMock() as rsps:
        register_mocks(rsps, status=400)
        result = runner.invoke(["stores", "add", "--platform", "woocommerce", "--domain", SHOP,
                                "--consumer-key", CK, "--consumer-secret", CS])
    assert result.exit_code != 0
    assert "woocommerce_rest_shop_webhook_invalid_topic" in result.output
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_cli_connect_prints_secret_and_public_key(runner):
    with responses.RequestsMock() as rsps:
        register_mocks(rsps)
        result = runner.invoke(["stores", "add", "--platform", "woocommerce", "--domain", SHOP,
                                "--consumer-key", CK, "--consumer-secret", CS])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["webhook_secret"] and data["public_key"].startswith("pk_")


def test_wc_auth_handshake_stores_keys_once(client, runtime, clock):
    response = client.get("/woocommerce/connect?store=https://shop.example")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://shop.example/wc-auth/v1/authorize?")
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(location).query)
    assert query["callback_url"] == ["https://cartback.test/woocommerce/callback"]
    state = query["user_id"][0]
    payload = {"key_id": 5, "user_id": state, "consumer_key": CK, "consumer_secret": CS,
               "key_permissions": "read_write"}
    with responses.RequestsMock() as rsps:
        register_mocks(rsps)
        answer = client.post("/woocommerce/callback", json=payload)
        assert answer.status_code == 200
        answer.close()  # our webhooks are created once the answer has gone out
    with runtime.db.new_session() as session:
        [store] = session.scalars(select(Store)).all()
    assert store.domain == SHOP and store.platform_state["webhook_ids"]
    # Replaying the same state stores nothing more.
    again = client.post("/woocommerce/callback", json=payload)
    assert again.status_code == 403


@pytest.mark.parametrize("user_id", ["forged-state", 12345, ""])
def test_wc_auth_callback_with_an_unknown_state_stores_nothing(client, runtime, user_id):
    response = client.post("/woocommerce/callback", json={
        "key_id": 5, "user_id": user_id, "consumer_key": CK, "consumer_secret": CS})
    assert response.status_code == 403
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_wc_auth_connect_refuses_a_non_https_public_url(client, app):
    app.extensions["cartback"].config["PUBLIC_URL"] = "http://cartback.test"
    try:
        response = client.get("/woocommerce/connect?store=https://shop.example")
    finally:
        app.extensions["cartback"].config["PUBLIC_URL"] = "https://cartback.test"
    assert response.status_code == 400
    assert "https" in response.get_data(as_text=True)


# -- webhooks --------------------------------------------------------------------------------

def test_ping_gets_200_and_changes_nothing(client, woo_store, runtime):
    response = client.post(f"/webhooks/woocommerce/{woo_store.id}", data="webhook_id=12",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert carts(runtime) == []


def test_bad_signature_or_foreign_source_is_401(client, woo_store, runtime):
    assert signed(client, woo_store, order(), secret="wrong").status_code == 401
    assert signed(client, woo_store, order(), source="https://evil.example/").status_code == 401
    assert carts(runtime) == []


def test_draft_then_processing_on_the_same_id_stops_the_timer(client, woo_store, runtime):
    assert signed(client, woo_store, order()).status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "active" and cart.wake_at == T0 + timedelta(hours=4)
    assert cart.email == "ada@example.com"
    signed(client, woo_store, order("processing", "2026-11-23T09:10:00"))
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.wake_at is None
    assert wake_due(runtime, T0 + timedelta(days=2)) == []


def test_stale_and_duplicate_deliveries_change_nothing(client, woo_store, runtime):
    signed(client, woo_store, order("processing", "2026-11-23T09:10:00"))
    again = signed(client, woo_store, order("processing", "2026-11-23T09:10:00"))
    assert again.json["results"][0]["outcome"] == "duplicate"
    stale = signed(client, woo_store, order("pending", "2026-11-23T09:05:00"))
    assert stale.json["results"][0]["outcome"] in ("ignored", "stale")
    [cart] = carts(runtime)
    assert cart.status == "bought"


def test_pending_payment_reminder_links_to_the_pay_page_with_rest_money(client, woo_store,
                                                                        runtime, outbox):
    signed(client, woo_store, order("pending"))
    results = wake_due(runtime, T0 + timedelta(hours=4))
    assert [(r.move, r.result) for r in results] == [("first", "sent")]
    [message] = outbox()
    text = message.get_body(("plain",)).get_content()
    assert "€18.00" in text and "€1,800" not in text
    [cart] = carts(runtime)
    assert cart.return_url.startswith("https://shop.example/checkout/order-pay/727/")


def test_deleted_order_with_only_an_id_stops_the_cart(client, woo_store, runtime):
    signed(client, woo_store, order())
    response = signed(client, woo_store, b'{"id": 727}', topic="order.deleted")
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "expired" and cart.wake_at is None


# -- the beacon -------------------------------------------------------------------------------

def snapshot(**fields):
    body = {"cart_token": "cb.token1234", "cart_hash": "feedface1234",
            "cart": {"items": [{"name": "Mug", "quantity": 1,
                                "prices": {"price": "1800", "currency_code": "EUR",
                                           "currency_minor_unit": 2}}],
                     "totals": {"total_price": "1800", "currency_code": "EUR",
                                "currency_minor_unit": 2}},
            "email": "ada@example.com", "cart_url": "https://shop.example/cart/"}
    body.update(fields)
    return body


def beacon(client, store, body, *, origin=SHOP, ua="Mozilla/5.0 Chrome/130", ip="203.0.113.9",
           forwarded_for=None):
    """POST a beacon from socket address `ip`, optionally claiming `forwarded_for`."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Origin": origin, "User-Agent": ua, "Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post(f"/collect/{store.public_key}", data=raw, headers=headers,
                       environ_base={"REMOTE_ADDR": ip})


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch):
    fresh_beacon_limits(monkeypatch)


def test_beacon_cart_with_an_email_gets_a_reminder_and_the_order_stops_it(
        client, woo_store, runtime, outbox, clock):
    response = beacon(client, woo_store, snapshot())
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.get_data() == b""  # nothing is ever read back
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.move, result.result) == ("first", "sent")
    [message] = outbox()
    assert "€18.00" in message.get_body(("plain",)).get_content()
    # The order names the beacon's cart hash: the same cart is stopped.
    clock.set(T0 + timedelta(hours=5))
    signed(client, woo_store, order("processing", "2026-11-23T14:00:00",
                                    cart_hash="feedface1234"))
    [cart] = carts(runtime)
    assert cart.status == "recovered" and cart.wake_at is None


def test_beacon_order_linked_by_email_when_no_hash(client, woo_store, runtime):
    beacon(client, woo_store, snapshot(cart_hash=None))
    signed(client, woo_store, order("processing", "2026-11-23T10:00:00"))
    assert [c.status for c in carts(runtime)] == ["bought"]


def test_beacon_preflight_only_for_the_store_origin(client, woo_store):
    ok = client.options(f"/collect/{woo_store.public_key}", headers={"Origin": SHOP})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == SHOP
    bad = client.options(f"/collect/{woo_store.public_key}",
                         headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403


def test_beacon_refuses_a_foreign_origin(client, woo_store, runtime):
    assert beacon(client, woo_store, snapshot(), origin="https://evil.example").status_code == 403
    assert carts(runtime) == []


def test_beacon_refuses_an_oversize_body(client, woo_store, runtime):
    big = snapshot(padding="x" * 20_000)
    assert beacon(client, woo_store, big).status_code == 413
    assert carts(runtime) == []


@pytest.mark.parametrize("raw", [b"not json", b"[" * 8000 + b"]" * 8000])
def test_beacon_body_that_is_not_a_json_object_is_400(client, woo_store, runtime, raw):
    response = beacon(client, woo_store, raw)
    assert response.status_code == 400 and response.json["error"].startswith("body:")
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert carts(runtime) == []


def test_beacon_refuses_a_flood_from_one_ip(client, woo_store):
    codes = [beacon(client, woo_store, snapshot()).status_code for _ in range(35)]
    assert codes[:30] == [204] * 30
    assert set(codes[30:]) == {429}
    # Another shopper's address is not affected.
    assert beacon(client, woo_store, snapshot(), ip="198.51.100.7").status_code == 204


def test_beacon_flood_cannot_escape_the_limit_by_inventing_x_forwarded_for(client, woo_store):
    # CARTBACK_TRUSTED_PROXIES is 0: the header is the caller's own words, ignored.
    codes = [beacon(client, woo_store, snapshot(), forwarded_for=f"10.0.{n}.1").status_code
             for n in range(35)]
    assert codes[:30] == [204] * 30
    assert set(codes[30:]) == {429}


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_beacon_behind_one_trusted_proxy_limits_the_address_the_proxy_saw(client, woo_store):
    proxy = "10.0.0.2"  # every request arrives from the load balancer
    codes = [beacon(client, woo_store, snapshot(), ip=proxy,
                    forwarded_for=f"192.0.2.{n}, 203.0.113.9").status_code for n in range(35)]
    # The proxy appended the real client; what the client wrote before it does not count.
    assert codes[:30] == [204] * 30 and set(codes[30:]) == {429}
    assert beacon(client, woo_store, snapshot(), ip=proxy,
                  forwarded_for="198.51.100.7").status_code == 204


def test_beacon_refuses_a_list_of_addresses(client, woo_store, runtime):
    response = beacon(client, woo_store, snapshot(email="a@example.com, b@example.com"))
    assert response.status_code == 400 and response.json["error"].startswith("email:")
    assert carts(runtime) == []


def test_beacon_drops_obvious_bots_quietly(client, woo_store, runtime):
    response = beacon(client, woo_store, snapshot(), ua="Googlebot/2.1")
    assert response.status_code == 204
    assert carts(runtime) == []


def test_beacon_unknown_key_is_404(client):
    assert client.post("/collect/pk_doesnotexist123", data=b"{}",
                       headers={"Origin": SHOP}).status_code == 404


# -- health and reconciliation ---------------------------------------------------------------

def test_periodic_job_reactivates_disabled_webhooks_and_reconciles(woo_store, runtime, clock):
    with responses.RequestsMock() as rsps:
        for n in (1, 2, 3):
            rsps.add(responses.GET, f"{SHOP}/wp-json/wc/v3/webhooks/{n}",
                     json={"id": n, "status": "disabled" if n == 2 else "active"})
        rsps.add(responses.PUT, f"{SHOP}/wp-json/wc/v3/webhooks/2",
                 json={"id": 2, "status": "active"})
        rsps.add(responses.GET, f"{SHOP}/wp-json/wc/v3/orders", json=[order("pending")])
        outcome = woocommerce_sync.run_periodic(runtime, clock.now)
        put = [c for c in rsps.calls if c.request.method == "PUT"]
    assert json.loads(put[0].request.body) == {"status": "active"}
    assert outcome == {woo_store.id: "ok: 1 events"}
    [cart] = carts(runtime)
    assert cart.email == "ada@example.com"
    with runtime.db.new_session() as session:
        assert session.get(Store, woo_store.id).platform_state["last_sync"] == clock.now.isoformat()


def test_oauth_states_are_single_use_rows(runtime, clock):
    woocommerce_store.start_connect(runtime, SHOP, clock.now)
    with runtime.db.new_session() as session:
        [row] = session.scalars(select(OAuthState)).all()
        assert nonces.consume(session, "woocommerce", row.state, clock.now) == SHOP
        assert nonces.consume(session, "woocommerce", row.state, clock.now) is None


def test_wc_auth_callback_with_keys_the_store_refuses_changes_nothing(client, woo_store,
                                                                     runtime, clock):
    # Anyone can start a connect for a known store's address and post junk keys.
    location = client.get("/woocommerce/connect?store=https://shop.example").headers["Location"]
    from urllib.parse import parse_qs, urlsplit

    state = parse_qs(urlsplit(location).query)["user_id"][0]
    with runtime.db.new_session() as session:
        before = session.get(Store, woo_store.id).credentials
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{SHOP}/wp-json/wc/v3/webhooks", status=401,
                 json={"code": "woocommerce_rest_cannot_create", "message": "Sorry"})
        answer = client.post("/woocommerce/callback", json={
            "key_id": 9, "user_id": state, "consumer_key": "ck_" + "9" * 40,
            "consumer_secret": "cs_" + "9" * 40})
        assert answer.status_code == 200
        answer.close()
    with runtime.db.new_session() as session:
        store = session.get(Store, woo_store.id)
        assert store.credentials == before
        assert store.installed is True
        assert "pending_credentials" not in store.platform_state


def test_wc_auth_new_store_stays_off_until_its_keys_work(client, runtime):
    location = client.get("/woocommerce/connect?store=https://new.example").headers["Location"]
    from urllib.parse import parse_qs, urlsplit

    state = parse_qs(urlsplit(location).query)["user_id"][0]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://new.example/wp-json/wc/v3/webhooks", status=401,
                 json={"code": "woocommerce_rest_cannot_create", "message": "Sorry"})
        answer = client.post("/woocommerce/callback", json={
            "key_id": 9, "user_id": state, "consumer_key": CK, "consumer_secret": CS})
        answer.close()
    with runtime.db.new_session() as session:
        [store] = session.scalars(select(Store)).all()
    assert store.installed is False and store.credentials is None
