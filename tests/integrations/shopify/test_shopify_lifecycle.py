"""app/uninstalled and the compliance topics, through the real endpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.db.models import Activity, Cart, PrivacyRequest, Send, Store
from tests.factories import T0
from tests.shopify_payloads import SHOP, checkout_payload, post_webhook


def checkout(client, token, email, minutes=0, cart_token=None):
    return post_webhook(client, "checkouts/create", checkout_payload(
        updated_at=T0 + timedelta(minutes=minutes), token=token,
        cart_token=cart_token or f"cart-{token}", email=email))


def shop_body():
    # The Shop resource; myshopify_domain is null in the 2026-07 sample.
    return {"id": 548380009, "name": "Super Toys", "email": "super@supertoys.com",
            "domain": None, "myshopify_domain": None, "plan_name": "basic"}


def load(runtime, model, *where):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(model).where(*where)))


def test_uninstall_stops_every_timer_and_forgets_the_token(client, runtime, shop_store, timers):
    for n in range(3):
        checkout(client, f"tok-{n}", f"shopper{n}@example.com", minutes=n)
    live = load(runtime, Cart)
    assert all(c.wake_at is not None for c in live)

    response = post_webhook(client, "app/uninstalled", shop_body())
    assert response.status_code == 200
    assert sorted(timers.cancelled) == sorted(c.id for c in live)
    for cart in load(runtime, Cart):
        assert cart.wake_at is None and cart.status == "stopped"
        assert cart.ended_reason == "uninstalled"
    stops = load(runtime, Activity, Activity.kind == "stopped")
    assert sorted(a.cart_id for a in stops) == sorted(c.id for c in live)
    assert {a.detail["reason"] for a in stops} == {"because the store uninstalled Cartback"}
    [store] = load(runtime, Store)
    assert store.installed is False and store.credentials is None
    assert store.uninstalled_at == T0


def test_after_uninstall_deliveries_are_dropped(client, runtime, shop_store, timers):
    post_webhook(client, "app/uninstalled", shop_body())
    response = checkout(client, "tok-late", "late@example.com")
    assert response.status_code == 200 and response.json["outcome"] == "uninstalled"
    assert load(runtime, Cart) == []


def test_customers_redact_deletes_that_shoppers_carts_and_sends(client, runtime, shop_store,
                                                                 timers):
    checkout(client, "tok-a", "Ada@Example.com")
    checkout(client, "tok-b", "bob@example.com")
    [ada] = load(runtime, Cart, Cart.email == "Ada@Example.com")
    with runtime.db.transaction() as session:
        session.add(Send(store_id=shop_store, cart_id=ada.id, move="first",
                         address="Ada@Example.com", result="skipped", reason="quiet_hours",
                         created_at=T0))
    body = {"shop_id": 548380009, "shop_domain": SHOP,
            "customer": {"id": 207119551, "email": "ada@example.com", "phone": None},
            "orders_to_redact": []}
    response = post_webhook(client, "customers/redact", body)
    assert response.status_code == 200 and response.json["carts"] == 1
    assert [c.email for c in load(runtime, Cart)] == ["bob@example.com"]
    assert load(runtime, Send) == []
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Activity).where(
            Activity.cart_id == ada.id)) == 0
    assert ada.id in timers.cancelled
    # Noted for the privacy page: what was asked and how much went, not who it was.
    [noted] = load(runtime, PrivacyRequest)
    assert (noted.store_id, noted.kind, noted.customer_ref, noted.status, noted.counts) == (
        shop_store, "customers/redact", "207119551", "erased", {"carts": 1})
    assert "ada" not in repr(vars(noted)).lower()


def test_a_redelivered_customers_redact_is_noted_once(client, runtime, shop_store):
    body = {"shop_id": 548380009, "shop_domain": SHOP,
            "customer": {"id": 207119551, "email": "ada@example.com"}, "orders_to_redact": []}
    for _ in range(2):
        assert post_webhook(client, "customers/redact", body,
                            webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").status_code == 200
    [noted] = load(runtime, PrivacyRequest)
    assert noted.counts == {"carts": 0} and noted.status == "erased"



def test_customers_redact_erases_by_the_customers_phone_too(client, runtime, shop_store):
    """A texted shopper may have carts without their address: the phone in
    customers/redact finds them, and their texts go with them."""
    checkout(client, "tok-a", "ada@example.com")
    checkout(client, "tok-b", "bob@example.com")
    with runtime.db.transaction() as session:
        session.add(Cart(store_id=shop_store, cart_key="sms-only", phone="+12125550100",
                         sms_consent=True, last_activity_at=T0, last_event_at=T0))
    [texted] = load(runtime, Cart, Cart.cart_key == "sms-only")
    with runtime.db.transaction() as session:
        session.add(Send(store_id=shop_store, cart_id=texted.id, move="first", channel="sms",
                         address="+12125550100", result="sent", created_at=T0))
    body = {"shop_id": 548380009, "shop_domain": SHOP,
            "customer": {"id": 207119551, "email": "ada@example.com", "phone": "+12125550100"},
            "orders_to_redact": []}
    response = post_webhook(client, "customers/redact", body)
    assert response.status_code == 200 and response.json["carts"] == 2
    assert [c.email for c in load(runtime, Cart)] == ["bob@example.com"]
    assert load(runtime, Send) == []

def test_compliance_topics_refuse_a_bad_hmac(client, runtime, shop_store):
    checkout(client, "tok-a", "ada@example.com")
    body = {"shop_id": 1, "shop_domain": SHOP, "customer": {"email": "ada@example.com"}}
    for topic in ("customers/redact", "customers/data_request", "shop/redact"):
        response = post_webhook(client, topic, body, secret="shpss_" + "0" * 32)
        assert response.status_code == 401
    assert len(load(runtime, Cart)) == 1


def test_compliance_path_from_the_toml_works_too(client, runtime, shop_store):
    import json

    from tests.shopify_payloads import signed_headers

    raw = json.dumps({"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 9, "email": None},
                      "orders_requested": [], "data_request": {"id": 9999}}).encode()
    response = client.post("/webhooks/shopify/compliance", data=raw,
                           headers=signed_headers("customers/data_request", raw))
    assert response.status_code == 200 and response.json["outcome"] == "recorded"
    [store] = load(runtime, Store)
    assert store.platform_state["data_requests"][0]["id"] == "9999"


def test_shop_redact_after_uninstall_erases_the_store(client, runtime, shop_store, timers):
    checkout(client, "tok-a", "ada@example.com")
    post_webhook(client, "app/uninstalled", shop_body())
    response = post_webhook(client, "shop/redact", {"shop_id": 548380009, "shop_domain": SHOP})
    assert response.status_code == 200 and response.json["outcome"] == "redacted"
    assert load(runtime, Store) == [] and load(runtime, Cart) == []
    # A redelivery finds no shop and is still acknowledged.
    again = post_webhook(client, "shop/redact", {"shop_id": 548380009, "shop_domain": SHOP})
    assert again.status_code == 200
    # The record of the erasure outlives the store, as proof it was done, once.
    [noted] = load(runtime, PrivacyRequest)
    assert (noted.store_id, noted.kind, noted.status, noted.counts) == (
        shop_store, "shop/redact", "erased", {"carts": 1, "stores": 1})


def test_shop_redact_for_a_reinstalled_shop_keeps_its_data(client, runtime, shop_store):
    checkout(client, "tok-a", "ada@example.com")
    response = post_webhook(client, "shop/redact", {"shop_id": 548380009, "shop_domain": SHOP})
    assert response.json["outcome"] == "kept"
    assert len(load(runtime, Cart)) == 1
    [noted] = load(runtime, PrivacyRequest)
    assert (noted.kind, noted.status, noted.counts) == ("shop/redact", "kept", {})


def test_customers_redact_with_a_phone_we_cannot_read_still_erases_by_address(
        client, runtime, shop_store):
    checkout(client, "tok-a", "ada@example.com")
    body = {"shop_id": 548380009, "shop_domain": SHOP,
            "customer": {"id": 207119551, "email": "ada@example.com", "phone": "555-625-1199"},
            "orders_to_redact": []}
    response = post_webhook(client, "customers/redact", body)
    assert response.status_code == 200 and response.json["carts"] == 1
    assert load(runtime, Cart) == []
