"""Stops: by hand or by lifecycle, a stopped cart gets no move and says why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.carts.stops import stop_cart, stop_store
from app.carts.wake import wake_due
from app.db.models import Activity, Cart
from tests.factories import T0, cart_body


def _carts(runtime):
    with runtime.db.new_session() as session:
        return {c.cart_key: c for c in session.scalars(select(Cart))}


def _stops(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Activity).where(Activity.kind == "stopped")))


def test_stop_cart_ends_a_live_cart_once_and_writes_the_timeline(runtime, post_custom, outbox):
    post_custom(cart_body(cart_id="c-1"))
    cart = _carts(runtime)["c-1"]
    with runtime.db.transaction() as session:
        assert stop_cart(session, cart.id, reason="merchant", why="by you", now=T0) is True
    with runtime.db.transaction() as session:
        assert stop_cart(session, cart.id, reason="merchant", why="by you", now=T0) is False
    stopped = _carts(runtime)["c-1"]
    assert stopped.status == "stopped" and stopped.wake_at is None
    assert [a.detail["reason"] for a in _stops(runtime)] == ["by you"]
    assert wake_due(runtime, T0 + timedelta(days=2)) == []
    assert outbox() == []


def test_stop_store_leaves_ended_carts_and_other_stores_alone(runtime, make_store, post_custom):
    other = make_store(name="Other", domain="other.example")
    post_custom(cart_body(cart_id="live"))
    post_custom(cart_body(event="order.placed", cart_id="bought", email="bo@example.com"))
    post_custom(cart_body(cart_id="elsewhere", return_url="https://other.example/cart/9"),
                target=other)
    carts = _carts(runtime)
    with runtime.db.transaction() as session:
        stopped = stop_store(session, carts["live"].store_id, reason="uninstalled",
                             why="because the store uninstalled Cartback", now=T0)
    assert stopped == [carts["live"].id]
    after = _carts(runtime)
    assert after["bought"].status == "bought"
    assert after["elsewhere"].status == "active"
    assert [a.cart_id for a in _stops(runtime)] == [carts["live"].id]

