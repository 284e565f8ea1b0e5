"""The custom webhook lane: every answer the contract promises."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.db.models import Activity, Cart, Delivery
from platforms.signing import sign_base64
from tests.factories import cart_body


def count(runtime, model):
    with runtime.db.new_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_written(runtime):
    return count(runtime, Cart) == 0 and count(runtime, Delivery) == 0 and count(
        runtime, Activity) == 0


def test_custom_accepts_a_signed_cart(post_custom, runtime):
    response = post_custom(cart_body())
    assert response.status_code == 200
    assert response.json["results"][0]["outcome"] == "created"
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
    assert cart.email == "ada@example.com"
    assert str(cart.total) .startswith("98.00")
    assert cart.items[0]["unit_price"] == "49.00"


def test_custom_duplicate_event_id_is_a_no_op(post_custom, runtime):
    body = cart_body(event_id="evt-1")
    assert post_custom(body).status_code == 200
    again = post_custom(body)
    assert again.status_code == 200
    assert again.json["results"][0]["outcome"] == "duplicate"
    assert count(runtime, Activity) == 1


@pytest.mark.parametrize("signature", ["", "bm90LWEtc2lnbmF0dXJl", None])
def test_custom_wrong_or_missing_signature_is_401(client, store, runtime, signature):
    raw = json.dumps(cart_body()).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Cartback-Hmac-Sha256"] = signature
    response = client.post(f"/webhooks/custom/{store.id}", data=raw, headers=headers)
    assert response.status_code == 401
    assert nothing_written(runtime)


def test_custom_signature_with_another_stores_secret_is_401(post_custom, make_store, runtime):
    other = make_store(domain="other.example")
    response = post_custom(cart_body(), secret=other.webhook_secret)
    assert response.status_code == 401
    assert nothing_written(runtime)


def test_custom_signature_over_reencoded_body_is_401(client, store, runtime):
    body = cart_body()
    signed_over = json.dumps(body, indent=2).encode()
    response = client.post(f"/webhooks/custom/{store.id}", data=json.dumps(body).encode(),
                           headers={"X-Cartback-Hmac-Sha256":
                                    sign_base64(store.webhook_secret, signed_over)})
    assert response.status_code == 401


def test_custom_header_name_in_any_case(client, store):
    raw = json.dumps(cart_body()).encode()
    response = client.post(f"/webhooks/custom/{store.id}", data=raw,
                           headers={"x-cartback-hmac-sha256": sign_base64(store.webhook_secret,
                                                                           raw)})
    assert response.status_code == 200


def test_custom_unknown_store_is_404(client):
    raw = json.dumps(cart_body()).encode()
    response = client.post("/webhooks/custom/999", data=raw,
                           headers={"X-Cartback-Hmac-Sha256": sign_base64("x", raw)})
    assert response.status_code == 404
    assert response.json == {"error": "not found"}


BAD_BODIES = [
    (b"not json at all", "body"),
    (b"[1, 2, 3]", "body"),
    (cart_body(cart_id=None), "cart_id"),
    (cart_body(cart_id=""), "cart_id"),
    (cart_body(cart_id=["a"]), "cart_id"),
    (cart_body(event="cart.exploded"), "event"),
    (cart_body(occurred_at="yesterday"), "occurred_at"),
    (cart_body(occurred_at="2026-11-23T09:00:00"), "occurred_at"),
    (cart_body(return_url="http://[::1/cart"), "return_url"),
    (cart_body(total="1e400"), "total"),
    (cart_body(items=[{"title": "Shirt", "quantity": -1, "price": "1.00"}]), "items[0].quantity"),
    (cart_body(items=[{"title": "Shirt", "quantity": "2", "price": "1.00"}]), "items[0].quantity"),
    (cart_body(items=[{"title": "Shirt", "quantity": 1, "price": "free"}]), "items[0].price"),
    (cart_body(items=[{"quantity": 1, "price": "1.00"}]), "items[0].title"),
    (cart_body(items="shirt"), "items"),
    (cart_body(total=True), "total"),
    (cart_body(currency="euro"), "currency"),
    (cart_body(email="a@example.com, b@example.com"), "email"),
    (cart_body(return_url="javascript:alert(1)"), "return_url"),
    (cart_body(saved_link="yes"), "saved_link"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_custom_malformed_body_is_400_naming_the_field(post_custom, runtime, body, field):
    response = post_custom(body)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}:")
    assert nothing_written(runtime)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", 5, ["Europe/Paris"], {"tz": "UTC"},
                                  "../../etc/passwd", "Europe/" + "x" * 300, "", True])
def test_custom_unknown_timezone_falls_back_to_the_store_zone(post_custom, runtime, zone):
    response = post_custom(cart_body(timezone=zone))
    assert response.status_code == 200
    with runtime.db.new_session() as session:
        assert session.scalars(select(Cart)).one().timezone is None


def test_custom_body_over_256_kib_is_413(post_custom, runtime):
    padding = "x" * (256 * 1024)
    response = post_custom(cart_body(note=padding))
    assert response.status_code == 413
    assert nothing_written(runtime)


def test_custom_money_never_passes_through_float(post_custom, runtime):
    raw = (b'{"event": "cart.updated", "cart_id": "m", "occurred_at": "2026-11-23T09:00:00Z",'
           b' "items": [{"title": "Pen", "quantity": 3, "price": 0.1}], "total": 0.30,'
           b' "currency": "USD"}')
    assert post_custom(raw).status_code == 200
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
    assert cart.items[0]["unit_price"] == "0.1"
    assert str(cart.total).rstrip("0") == "0.3"
