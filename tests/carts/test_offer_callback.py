"""A custom storefront's own code endpoint: Cartback POSTs the cart and the offer,
signed like the storefront's webhooks, and puts the answered code in the reminder;
anything else means a reminder without an offer (logged); only an https address on
the store's domain is ever called."""

from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Send, Store
from platforms.signing import sign_base64
from tests.factories import T0, cart_body

ENDPOINT = "https://maple.example/cartback/offer"


def _offer(runtime, store_id, url=ENDPOINT):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        row.settings = {**row.settings, "first_offer": "free_shipping", "offer_hours": 24,
                        "offer_callback_url": url}


def _plain(outbox):
    [message] = outbox()
    return message.get_body(("plain",)).get_content()


def test_the_storefront_answers_a_code_for_a_signed_request(runtime, store, post_custom,
                                                            outbox, clock):
    _offer(runtime, store.id)
    post_custom(cart_body())
    with responses.RequestsMock() as fake:
        call = fake.post(ENDPOINT, json={"code": "MAPLE-SHIP-77"})
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    request = call.calls[0].request
    assert request.headers["X-Cartback-Hmac-Sha256"] == sign_base64(store.webhook_secret,
                                                                     request.body)
    sent = json.loads(request.body)
    assert sent["cart_id"] == "c-1" and sent["reminder"] == "first"
    assert sent["offer"] == {"kind": "free_shipping", "value": None, "hours": 24,
                             "minimum": None, "expires_at": "2026-11-24T13:00:00+00:00"}
    assert "Your code MAPLE-SHIP-77: free shipping" in _plain(outbox)

    clock.set(T0 + timedelta(hours=6))
    post_custom(cart_body("order.placed", occurred_at=T0 + timedelta(hours=6),
                          discount_codes=["MAPLE-SHIP-77"]))
    with runtime.db.new_session() as session:
        ordered = session.scalars(select(Activity).where(Activity.kind == "ordered")).one()
        send = session.scalars(select(Send)).one()
    assert ordered.detail["offer_code"] == "MAPLE-SHIP-77" and send.offer_used_at is not None


def test_a_storefront_error_means_a_reminder_without_offer(runtime, store, post_custom,
                                                          outbox, caplog):
    _offer(runtime, store.id)
    post_custom(cart_body())
    with responses.RequestsMock() as fake:
        fake.post(ENDPOINT, json={"code": "has spaces in it"})
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    assert "Your code" not in _plain(outbox)
    assert "storefront gave no offer code; the reminder goes without it" in caplog.text


def test_an_address_off_the_stores_domain_is_never_called(runtime, store, post_custom, outbox,
                                                          caplog):
    _offer(runtime, store.id, url="https://169.254.169.254/latest/meta-data")
    post_custom(cart_body())
    with responses.RequestsMock():  # any request would fail: none is registered
        [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent" and "Your code" not in _plain(outbox)
    assert "offer code address is not https on the store's domain; no offer" in caplog.text


def test_settings_take_only_an_https_address(admin, store):
    from tests.web.admin.test_admin import settings_form

    page = admin(store).post("/admin/settings", data=settings_form(
        offer_callback_url="http://maple.example/offer"))
    assert page.status_code == 400
    assert "Offer code address (custom storefronts): must be an https:// address" in (
        page.get_data(as_text=True))
