"""POST /webhooks/shopify: signatures, dedupe, ordering and cart → checkout → order linking."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Delivery
from platforms.signing import sign_base64
from tests.factories import T0
from tests.shopify_payloads import (
    CART_TOKEN,
    CHECKOUT_ID,
    PREVIOUS_SECRET,
    SECRET,
    SHOP,
    cart_payload,
    checkout_payload,
    delete_payload,
    order_payload,
    post_webhook,
    signed_headers,
)


def count(runtime, model):
    with runtime.db.new_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def carts(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Cart).order_by(Cart.id)))


def nothing_written(runtime):
    return count(runtime, Cart) == 0 and count(runtime, Delivery) == 0 and count(
        runtime, Activity) == 0


def test_checkout_webhook_creates_one_cart_with_the_checkout_email(client, runtime, shop_store):
    response = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.store_id == shop_store
    assert cart.cart_key == CART_TOKEN and cart.checkout_key == "123123123"
    assert cart.email == "example@email.com"
    assert cart.wake_at == T0 + timedelta(hours=4)


def test_signature_over_reserialized_body_is_401_and_nothing_stored(client, runtime, shop_store):
    body = checkout_payload(updated_at=T0)
    sent = json.dumps(body).encode()
    signature = sign_base64(SECRET, json.dumps(body, indent=2).encode())
    response = client.post("/webhooks/shopify", data=sent,
                           headers=signed_headers("checkouts/create", sent, signature=signature))
    assert response.status_code == 401
    assert nothing_written(runtime)


def test_hex_digest_is_401(client, runtime, shop_store):
    raw = json.dumps(checkout_payload(updated_at=T0)).encode()
    hex_sig = __import__("hmac").new(SECRET.encode(), raw, "sha256").hexdigest()
    response = client.post("/webhooks/shopify", data=raw,
                           headers=signed_headers("checkouts/create", raw, signature=hex_sig))
    assert response.status_code == 401
    assert nothing_written(runtime)


def test_lowercase_header_names_are_accepted(client, runtime, shop_store):
    response = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0),
                            lowercase=True)
    assert response.status_code == 200
    assert len(carts(runtime)) == 1


def test_previous_secret_accepted_any_other_refused(client, runtime, shop_store):
    ok = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0),
                      secret=PREVIOUS_SECRET)
    assert ok.status_code == 200
    refused = post_webhook(client, "checkouts/update",
                           checkout_payload(updated_at=T0 + timedelta(minutes=1)),
                           secret="shpss_ffffffffffffffffffffffffffffffff")
    assert refused.status_code == 401
    assert count(runtime, Activity) == 1


def test_duplicate_webhook_id_is_processed_once(client, runtime, shop_store, timers):
    body = checkout_payload(updated_at=T0)
    first = post_webhook(client, "checkouts/create", body, webhook_id="b54557e4-bdd9-4b37")
    again = post_webhook(client, "checkouts/create", body, webhook_id="b54557e4-bdd9-4b37")
    assert first.status_code == again.status_code == 200
    assert again.json["results"][0]["outcome"] == "duplicate"
    assert count(runtime, Activity) == 1
    assert len(timers.sets) == 1


def test_older_checkout_update_arriving_late_changes_nothing(client, runtime, shop_store, timers,
                                                            clock):
    clock.set(T0 + timedelta(minutes=10))
    newer = checkout_payload(updated_at=T0 + timedelta(minutes=10), email="new@example.com",
                             total="500.00")
    older = checkout_payload(updated_at=T0, email="old@example.com", total="421.88")
    post_webhook(client, "checkouts/update", newer)
    late = post_webhook(client, "checkouts/update", older)
    assert late.json["results"][0]["outcome"] == "stale"
    [cart] = carts(runtime)
    assert cart.email == "new@example.com"
    assert str(cart.total).startswith("500.00")
    assert cart.wake_at == T0 + timedelta(minutes=10, hours=4)
    assert len(timers.sets) == 1  # the stale delivery did not touch the timer


def test_cart_then_checkout_then_order_is_one_row_ending_bought(client, runtime, shop_store,
                                                                timers):
    post_webhook(client, "carts/create", cart_payload(updated_at=T0))
    [cart] = carts(runtime)
    assert cart.email is None
    post_webhook(client, "checkouts/create",
                 checkout_payload(updated_at=T0 + timedelta(minutes=2)))
    [cart] = carts(runtime)
    # The checkout's own email, not customer.email (john@example.com).
    assert cart.email == "example@email.com"
    assert cart.first_name == "Bob" and cart.locale == "en-GB" and cart.country == "CA"
    assert cart.return_url.startswith("https://checkout.local/548380009/checkouts/123123123/")
    assert cart.marketing_consent is True and cart.currency == "EUR"
    response = post_webhook(client, "orders/create",
                            order_payload(created_at=T0 + timedelta(minutes=9)))
    assert response.json["results"][0]["outcome"] == "ordered"
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.wake_at is None
    assert cart.order_ref == "820982911946154508"
    assert timers.sets[-1] == (cart.id, None)


def test_order_with_only_an_email_links_to_the_shoppers_live_cart(client, runtime, shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0, token="tok-a",
                                                              email="jon@example.com"))
    post_webhook(client, "orders/create", order_payload(created_at=T0 + timedelta(hours=1),
                                                        checkout_token=None))
    [cart] = carts(runtime)
    assert cart.status == "bought"


def test_completed_checkout_stops_the_cart_without_an_order(client, runtime, shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    done = T0 + timedelta(minutes=5)
    post_webhook(client, "checkouts/update", checkout_payload(updated_at=done, completed_at=done))
    [cart] = carts(runtime)
    assert cart.status == "bought" and cart.wake_at is None


def test_delete_with_only_id_and_cart_token_finds_the_cart(client, runtime, shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0 - timedelta(hours=1),
                                                              id=CHECKOUT_ID))
    response = post_webhook(client, "checkouts/delete", delete_payload())
    assert response.status_code == 200
    [cart] = carts(runtime)
    assert cart.status == "expired" and cart.ended_reason == "deleted" and cart.wake_at is None


def test_delete_of_a_checkout_without_cart_token_matches_by_id(client, runtime, shop_store):
    post_webhook(client, "checkouts/create", checkout_payload(
        updated_at=T0 - timedelta(hours=1), cart_token=None, id=CHECKOUT_ID))
    post_webhook(client, "checkouts/delete", delete_payload(cart_token=None))
    [cart] = carts(runtime)
    assert cart.ended_reason == "deleted"


def test_delete_of_an_unknown_checkout_writes_nothing(client, runtime, shop_store):
    response = post_webhook(client, "checkouts/delete", delete_payload())
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert nothing_written(runtime)


def test_cart_without_a_checkout_never_emails(client, runtime, shop_store, clock, outbox):
    post_webhook(client, "carts/update", cart_payload(updated_at=T0))
    wake_due(runtime, T0 + timedelta(days=2))
    assert outbox() == []


def test_unknown_shop_gets_200_and_nothing_is_stored(client, runtime):
    response = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    assert response.status_code == 200 and response.json["outcome"] == "unknown_shop"
    assert nothing_written(runtime)


def test_hostile_shop_header_is_dropped(client, runtime, shop_store):
    response = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0),
                            shop=f"{SHOP}.evil.com")
    assert response.json["outcome"] == "unknown_shop"
    assert nothing_written(runtime)


def test_malformed_signed_body_is_400_with_a_reason(client, runtime, shop_store):
    response = post_webhook(client, "checkouts/update", b"{not json")
    assert response.status_code == 400
    assert response.json["error"] == "body: is not valid JSON"
    assert nothing_written(runtime)


def test_topics_we_do_not_use_are_acknowledged(client, runtime, shop_store):
    response = post_webhook(client, "products/update", {"id": 1})
    assert response.status_code == 200 and response.json["outcome"] == "ignored"


def test_missing_app_secret_is_our_500(client, app):
    app.config["SHOPIFY_API_SECRET"] = ""
    response = post_webhook(client, "checkouts/create", checkout_payload(updated_at=T0))
    assert response.status_code == 500
