"""Erasure is permanent: no late delivery recreates an erased shopper, nobody
erased is mailed, and their unsubscribe link keeps answering 200."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.carts.wake import wake_due
from app.db.models import Cart, Tombstone
from app.integrations.shopify.install import save_install
from app.privacy import requests as privacy
from app.privacy import retention
from platforms.shopify.api import Grant
from tests.factories import T0, cart_body
from tests.shopify_payloads import OVERRIDES, SHOP, checkout_payload, post_webhook


def carts(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Cart).order_by(Cart.id)))


def erase(runtime, store, email="ada@example.com"):
    with runtime.db.transaction() as session:
        return privacy.erase_shopper(session, store.id, email)


def test_late_delivery_for_an_erased_cart_recreates_nothing(post_custom, runtime, store,
                                                            outbox):
    post_custom(cart_body(cart_id="c-1"))
    erase(runtime, store)
    # A retry of an old delivery, an update for the same cart without an
    # address, and a new cart under the erased address: none comes back.
    for body in (cart_body(cart_id="c-1"),
                 cart_body("cart.updated", cart_id="c-1", email=None,
                           occurred_at=T0 + timedelta(minutes=5)),
                 cart_body(cart_id="c-9", email=" Ada@Example.com",
                           occurred_at=T0 + timedelta(minutes=6))):
        response = post_custom(body)
        assert response.status_code == 200
        assert [r["outcome"] for r in response.json["results"]] == ["erased"]
    assert carts(runtime) == []
    assert wake_due(runtime, T0 + timedelta(days=2)) == []
    assert outbox() == []


def test_tombstones_hold_no_readable_address_or_key(post_custom, runtime, store):
    post_custom(cart_body(cart_id="c-1"))
    erase(runtime, store)
    with runtime.db.new_session() as session:
        rows = session.execute(select(Tombstone.kind, Tombstone.digest)).all()
        dump = " ".join(str(v) for row in session.execute(text("SELECT * FROM tombstones"))
                        for v in row)
    assert sorted(kind for kind, _ in rows) == ["cart", "email"]
    # Digests are hex, so look for what hex cannot spell ("ada" alone can turn up
    # in a random digest): the address's "@" and "example", the key's "c-1".
    assert "@" not in dump and "example" not in dump and "c-1" not in dump


def test_other_shoppers_are_untouched_by_a_tombstone(post_custom, runtime, store):
    post_custom(cart_body(cart_id="c-1"))
    erase(runtime, store)
    response = post_custom(cart_body(cart_id="c-2", email="bob@example.com"))
    assert [r["outcome"] for r in response.json["results"]] == ["created"]


@pytest.mark.parametrize("how", ["erased", "purged"])
def test_unsubscribe_link_of_an_erased_or_purged_cart_still_answers_200(
        how, post_custom, runtime, store, client):
    post_custom(cart_body(cart_id="c-1"))
    [cart] = carts(runtime)
    token = runtime.links.unsubscribe_url(cart.id).rsplit("/", 1)[1]
    if how == "erased":
        erase(runtime, store)
    else:
        post_custom(cart_body("order.placed", occurred_at=T0 + timedelta(hours=1)))
        with runtime.db.transaction() as session:
            assert retention.purge(session, T0 + timedelta(days=40), days=30) == 1
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    one_click = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    chosen = client.post(f"/u/{token}", data={"scope": "all"})
    assert chosen.status_code == 200


def test_late_event_for_a_purged_cart_does_not_bring_its_data_back(post_custom, runtime):
    post_custom(cart_body(cart_id="c-1"))
    post_custom(cart_body("cart.deleted", occurred_at=T0 + timedelta(hours=1)))
    with runtime.db.transaction() as session:
        assert retention.purge(session, T0 + timedelta(days=40), days=30) == 1
    post_custom(cart_body("cart.updated", occurred_at=T0 + timedelta(days=41)))
    [cart] = carts(runtime)
    assert (cart.email, cart.items, cart.wake_at) == (None, [], None)


class TestShopifyRedact:
    @pytest.fixture
    def app_overrides(self):
        return dict(OVERRIDES)

    def test_customers_redact_then_a_retried_checkout_webhook(self, runtime, clock, client,
                                                              outbox):
        save_install(runtime, SHOP, Grant(access_token="shpat_test", scope="read_orders"),
                     clock(), via="oauth")
        checkout = checkout_payload(updated_at=T0, email="ada@example.com")
        assert post_webhook(client, "checkouts/create", checkout).status_code == 200
        body = {"shop_id": 548380009, "shop_domain": SHOP,
                "customer": {"id": 1, "email": "ada@example.com"}, "orders_to_redact": []}
        assert post_webhook(client, "customers/redact", body).status_code == 200
        # Shopify retries a delivery it thinks failed, and sends checkouts/update late.
        assert post_webhook(client, "checkouts/create", checkout).status_code == 200
        later = checkout_payload(updated_at=T0 + timedelta(minutes=3), email="ada@example.com")
        assert post_webhook(client, "checkouts/update", later).status_code == 200
        with runtime.db.new_session() as session:
            assert session.scalar(select(func.count()).select_from(Cart)) == 0
        assert wake_due(runtime, T0 + timedelta(days=2)) == []
        assert outbox() == []
