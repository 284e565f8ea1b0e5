"""What happens to a cart while its reminder is in flight wins over the send.

Each race is driven for real: the webhook (or the merchant's stop, or the
shopper's unsubscribe) is posted through the test client from inside the
mail backend's `send`, or from inside the polisher, which runs after the
claim and before the hand-over.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.carts.stops import stop_cart
from app.carts.wake import wake_due
from app.db.models import Activity, Cart, Send
from app.errors import DeliveryError, MailPaused
from app.integrations.shopify.install import save_install
from platforms.shopify.api import Grant
from tests.factories import T0, cart_body, with_postal_address
from tests.shopify_payloads import OVERRIDES, SHOP, checkout_payload, order_payload, post_webhook

DUE = T0 + timedelta(hours=4)
SECOND_DUE = T0 + timedelta(hours=29)


class DuringSend:
    """A mail backend that does `action` while it is handing the message over."""

    def __init__(self, inner, action):
        self.inner, self.action, self.name, self.fired = inner, action, inner.name, False

    def send(self, message, *, sender, recipient):
        message_id = self.inner.send(message, sender=sender, recipient=recipient)
        if not self.fired:
            self.fired = True
            self.action()
        return message_id


class DuringCompose:
    """A polisher that does `action` while the email is being composed."""

    def __init__(self, action):
        self.action = action

    def polish(self, plain_line, **_):
        self.action()
        return None


def carts(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Cart).order_by(Cart.id)))


def timeline(runtime, cart_id):
    with runtime.db.new_session() as session:
        return [a.kind for a in session.scalars(
            select(Activity).where(Activity.cart_id == cart_id).order_by(Activity.id))]


def sends(runtime):
    with runtime.db.new_session() as session:
        return [(s.move, s.result) for s in session.scalars(select(Send).order_by(Send.id))]


def unsubscribe(client, runtime, cart_id):
    token = runtime.links.unsubscribe_url(cart_id).rsplit("/", 1)[1]
    return client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})


@pytest.mark.parametrize("what, status, reason", [
    ("order", "bought", "ordered"),
    ("delete", "expired", "deleted"),
    ("empty", "expired", "emptied"),
    ("stop", "stopped", "merchant"),
])
def test_what_lands_during_the_send_is_kept_and_no_second_reminder_follows(
        what, status, reason, post_custom, runtime, client, clock, outbox):
    post_custom(cart_body())
    [cart] = carts(runtime)

    def land():
        clock.set(DUE + timedelta(seconds=1))
        if what == "order":
            assert post_custom(cart_body("order.placed", occurred_at=clock.now,
                                         order_id="o-1")).status_code == 200
        elif what == "delete":
            assert post_custom(cart_body("cart.deleted", occurred_at=clock.now)).status_code == 200
        elif what == "empty":
            assert post_custom(cart_body("cart.updated", occurred_at=clock.now,
                                         items=[])).status_code == 200
        else:
            with runtime.db.transaction() as session:
                stop_cart(session, cart.id, reason="merchant", why="by the merchant",
                          now=clock.now)

    runtime.mailer = DuringSend(runtime.mailer, land)
    [result] = wake_due(runtime, DUE)
    assert result.result == "sent"
    [after] = carts(runtime)
    assert (after.status, after.ended_reason, after.wake_at) == (status, reason, None)
    # The timeline says what happened in which order: the event, then the send
    # that it overtook.
    assert timeline(runtime, cart.id)[-1] == "send_overtaken"
    assert wake_due(runtime, SECOND_DUE) == []
    assert len(outbox()) == 1
    assert sends(runtime) == [("first", "sent")]


def test_unsubscribe_during_the_send_stops_the_second_reminder(post_custom, runtime, client,
                                                                 clock, outbox):
    post_custom(cart_body())
    [cart] = carts(runtime)
    runtime.mailer = DuringSend(runtime.mailer,
                                lambda: unsubscribe(client, runtime, cart.id))
    wake_due(runtime, DUE)
    results = wake_due(runtime, SECOND_DUE)
    assert [(r.move, r.result, r.reason) for r in results] == [
        ("second", "skipped", "unsubscribed")]
    assert len(outbox()) == 1


def test_update_after_the_claim_is_not_sent_stale_but_after_its_own_wait(
        post_custom, runtime, clock, outbox):
    post_custom(cart_body())
    changed_at = DUE + timedelta(seconds=1)

    def add_item():
        clock.set(changed_at)
        items = [{"title": "Linen shirt", "quantity": 2, "price": "49.00"},
                 {"title": "Wool scarf", "quantity": 1, "price": "30.00"}]
        assert post_custom(cart_body("cart.updated", occurred_at=changed_at, items=items,
                                     total="128.00")).status_code == 200

    runtime.polisher = DuringCompose(add_item)
    [result] = wake_due(runtime, DUE)
    runtime.polisher = None
    assert (result.result, result.reason) == ("skipped", "cancelled: cart changed")
    assert outbox() == []
    [cart] = carts(runtime)
    # The shopper was still adding items: the clock restarted from that change.
    assert cart.wake_at == changed_at + timedelta(hours=4)
    assert timeline(runtime, cart.id)[-2:] == ["updated", "send_cancelled"]
    [result] = wake_due(runtime, changed_at + timedelta(hours=4))
    assert result.result == "sent"
    [message] = outbox()
    assert "Wool scarf" in message.get_body(("plain",)).get_content()


def test_order_after_the_claim_means_no_send(post_custom, runtime, clock, outbox):
    post_custom(cart_body())

    def order():
        clock.set(DUE + timedelta(seconds=1))
        post_custom(cart_body("order.placed", occurred_at=clock.now, order_id="o-1"))

    runtime.polisher = DuringCompose(order)
    [result] = wake_due(runtime, DUE)
    assert (result.result, result.reason) == ("skipped", "cancelled: ordered")
    assert outbox() == []
    assert [c.status for c in carts(runtime)] == ["bought"]


class TestShopify:
    @pytest.fixture
    def app_overrides(self):
        return dict(OVERRIDES)

    @pytest.fixture
    def shop(self, runtime, clock, client):
        store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test",
                                                      scope="read_orders"), clock(), via="oauth")
        with_postal_address(runtime, store_id)
        response = post_webhook(client, "checkouts/create", checkout_payload(
            updated_at=T0, email="ada@example.com"))
        assert response.status_code == 200

    def test_uninstall_during_the_send_stays_uninstalled(self, shop, runtime, client, outbox):
        shop_body = {"id": 548380009, "name": "Super Toys", "myshopify_domain": SHOP}
        runtime.mailer = DuringSend(
            runtime.mailer, lambda: post_webhook(client, "app/uninstalled", shop_body))
        [result] = wake_due(runtime, DUE)
        assert result.result == "sent"
        [cart] = carts(runtime)
        assert (cart.status, cart.ended_reason, cart.wake_at) == ("stopped", "uninstalled", None)
        assert wake_due(runtime, SECOND_DUE) == []
        assert len(outbox()) == 1

    def test_redact_during_the_send_leaves_nothing_behind(self, shop, runtime, client, outbox):
        body = {"shop_id": 548380009, "shop_domain": SHOP,
                "customer": {"id": 1, "email": "ada@example.com"}, "orders_to_redact": []}
        runtime.mailer = DuringSend(
            runtime.mailer, lambda: post_webhook(client, "customers/redact", body))
        [result] = wake_due(runtime, DUE)
        assert result.result == "sent"
        assert carts(runtime) == [] and sends(runtime) == []
        assert wake_due(runtime, SECOND_DUE) == []

    def test_order_during_the_send_is_kept(self, shop, runtime, client, outbox):
        runtime.mailer = DuringSend(runtime.mailer, lambda: post_webhook(
            client, "orders/create", order_payload(created_at=DUE + timedelta(seconds=1),
                                                   email="ada@example.com")))
        wake_due(runtime, DUE)
        [cart] = carts(runtime)
        assert cart.status in ("bought", "recovered") and cart.wake_at is None
        assert wake_due(runtime, SECOND_DUE) == []
        assert len(outbox()) == 1


class FailsAfter:
    """A mail backend that does `action`, then answers with `error` (nothing provably sent)."""

    def __init__(self, inner, action, error):
        self.inner, self.action, self.error, self.name = inner, action, error, inner.name

    def send(self, message, *, sender, recipient):
        self.action()
        raise self.error


@pytest.mark.parametrize("error", [
    MailPaused("account sending paused", kind="paused"),
    DeliveryError("connection closed after the request was sent", transient=True,
                  ambiguous=True),
], ids=["mail-paused", "ambiguous"])
def test_an_order_during_a_paused_or_ambiguous_send_keeps_the_cart_bought(
        error, post_custom, runtime, clock):
    post_custom(cart_body())

    def order():
        clock.set(DUE + timedelta(seconds=1))
        assert post_custom(cart_body("order.placed", occurred_at=clock.now,
                                     order_id="o-1")).status_code == 200

    runtime.mailer = FailsAfter(runtime.mailer, order, error)
    wake_due(runtime, DUE)
    [cart] = carts(runtime)
    # Neither the pause's deferral nor the maybe-delivered outcome revives the cart.
    assert cart.status == "bought" and cart.wake_at is None
    assert cart.reminders_sent == 0
    assert wake_due(runtime, DUE + timedelta(days=3)) == []
