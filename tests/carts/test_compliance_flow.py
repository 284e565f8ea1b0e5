"""The compliance gate end to end: a store with no postal address sends nothing,
says why on every skipped reminder, and is told so on its admin pages."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Send
from app.web.admin.auth import COOKIE, mint_session
from platforms.signing import sign_base64
from tests.factories import T0, cart_body


def post(client, store, body):
    raw = json.dumps(body).encode()
    return client.post(f"/webhooks/custom/{store.id}", data=raw,
                       headers={"X-Cartback-Hmac-Sha256": sign_base64(store.webhook_secret, raw),
                                "Content-Type": "application/json"})


def test_store_without_postal_address_skips_reminders_with_reason(make_store, client, runtime,
                                                                   outbox):
    store = make_store(domain="noaddress.example", settings={"postal_address": "  "})
    assert post(client, store, cart_body(
        return_url="https://noaddress.example/cart/c-1")).status_code == 200
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.move, result.result, result.reason) == ("first", "skipped",
                                                            "no_postal_address")
    assert outbox() == []
    with runtime.db.new_session() as session:
        [row] = session.scalars(select(Send)).all()
        assert (row.result, row.reason) == ("skipped", "no_postal_address")


def test_store_with_postal_address_sends_it_in_the_footer(make_store, client, runtime, outbox):
    store = make_store(settings={"postal_address": "2 Quay Street, Bristol BS1 4DJ"})
    post(client, store, cart_body())
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert "2 Quay Street, Bristol BS1 4DJ" in message.get_body(("plain",)).get_content()


def test_admin_warns_on_dashboard_and_settings_until_an_address_is_saved(make_store, app):
    store = make_store(settings={"postal_address": ""})
    client = signed_in(app, store.id)
    for path in ("/admin/", "/admin/settings"):
        page = client.get(path).get_data(as_text=True)
        assert "no-postal-address" in page and "postal address" in page
    other = make_store(domain="withaddress.example")
    client = signed_in(app, other.id)
    for path in ("/admin/", "/admin/settings"):
        assert "no-postal-address" not in client.get(path).get_data(as_text=True)


def signed_in(app, store_id):
    client = app.test_client()
    with app.test_request_context():
        client.set_cookie(COOKIE, mint_session(store_id), path="/admin")
    return client
