"""Intake: one row per cart, waits from occurred_at, order-safe, sticky orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.carts.ingest import ingest
from app.db.models import Activity, Cart
from platforms.base import CartEvent, EventKind, Item
from tests.factories import T0


def event(store, kind=EventKind.CHECKOUT_STARTED, key="c-1", at=T0, **fields):
    defaults = dict(items=(Item("Linen shirt", 1, Decimal("49.00")),), total=Decimal("49.00"),
                    currency="EUR", email="ada@example.com")
    defaults.update(fields)
    return CartEvent(store_id=store.id, cart_key=key, kind=kind, occurred_at=at, **defaults)


def the_cart(runtime, key="c-1"):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart).where(Cart.cart_key == key)).one()


def test_intake_one_row_per_cart(runtime, store):
    ingest(runtime, store.id, [event(store)])
    ingest(runtime, store.id, [event(store, EventKind.UPDATED, at=T0 + timedelta(minutes=5))])
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Cart)) == 1


def test_intake_waits_run_from_occurred_at_not_receipt(runtime, store, clock):
    # Delivered three hours after the shopper acted.
    clock.set(T0 + timedelta(hours=3))
    [applied] = ingest(runtime, store.id, [event(store)])
    assert applied.wake_at == T0 + timedelta(hours=4)


def test_intake_late_event_delivered_long_after_is_due_now(runtime, store, clock):
    clock.set(T0 + timedelta(hours=6))
    [applied] = ingest(runtime, store.id, [event(store)])
    assert applied.wake_at == clock.now


def test_intake_older_event_never_overwrites_newer_state(runtime, store, clock):
    clock.set(T0 + timedelta(minutes=10))
    newer = event(store, at=T0 + timedelta(minutes=10), email="new@example.com")
    older = event(store, at=T0, email="old@example.com")
    ingest(runtime, store.id, [newer])
    [applied] = ingest(runtime, store.id, [older])
    assert applied.outcome == "stale"
    cart = the_cart(runtime)
    assert cart.email == "new@example.com"
    assert cart.last_activity_at == T0 + timedelta(minutes=10)


def test_intake_order_is_sticky(runtime, store):
    ingest(runtime, store.id, [event(store)])
    ingest(runtime, store.id, [event(store, EventKind.ORDERED, at=T0 + timedelta(minutes=30))])
    [applied] = ingest(runtime, store.id, [
        event(store, EventKind.UPDATED, at=T0 + timedelta(hours=1), email="x@example.com")])
    assert applied.outcome == "ignored"
    cart = the_cart(runtime)
    assert cart.status == "bought"
    assert cart.wake_at is None
    assert cart.email == "ada@example.com"


def test_intake_order_delivered_before_an_older_cart_update_still_wins(runtime, store):
    ingest(runtime, store.id, [event(store, EventKind.ORDERED, at=T0 + timedelta(minutes=30))])
    ingest(runtime, store.id, [event(store, EventKind.UPDATED, at=T0)])
    cart = the_cart(runtime)
    assert cart.status == "bought" and cart.wake_at is None


def test_intake_change_resets_clock_but_repeat_does_not(runtime, store, clock):
    ingest(runtime, store.id, [event(store)])
    clock.set(T0 + timedelta(hours=2))
    same = event(store, EventKind.UPDATED, at=T0 + timedelta(hours=1))
    [applied] = ingest(runtime, store.id, [same])
    assert applied.outcome == "unchanged"
    assert applied.wake_at == T0 + timedelta(hours=4)
    more = event(store, EventKind.UPDATED, at=T0 + timedelta(hours=2),
                 items=(Item("Linen shirt", 2, Decimal("49.00")),))
    [applied] = ingest(runtime, store.id, [more])
    assert applied.outcome == "changed"
    assert applied.wake_at == T0 + timedelta(hours=6)


def test_intake_saved_link_is_kept(runtime, store):
    ingest(runtime, store.id, [event(store, saved_link=True)])
    ingest(runtime, store.id, [event(store, EventKind.UPDATED, at=T0 + timedelta(minutes=1))])
    assert the_cart(runtime).saved_link is True


def test_intake_update_without_email_keeps_the_email(runtime, store):
    ingest(runtime, store.id, [event(store)])
    ingest(runtime, store.id, [event(store, EventKind.UPDATED, at=T0 + timedelta(minutes=1),
                                     email=None)])
    assert the_cart(runtime).email == "ada@example.com"


def test_intake_deleted_cart_gets_no_timer(runtime, store):
    ingest(runtime, store.id, [event(store)])
    [applied] = ingest(runtime, store.id, [event(store, EventKind.DELETED,
                                                 at=T0 + timedelta(minutes=1))])
    assert applied.wake_at is None
    assert the_cart(runtime).status == "expired"


def test_intake_order_found_by_checkout_key(runtime, store):
    ingest(runtime, store.id, [event(store, key="cart-token", checkout_key="chk-1")])
    [applied] = ingest(runtime, store.id, [
        event(store, EventKind.ORDERED, key="chk-1", at=T0 + timedelta(minutes=5))])
    assert applied.status == "bought"
    assert the_cart(runtime, "cart-token").status == "bought"


def test_intake_order_linked_by_email_within_window(runtime, store):
    ingest(runtime, store.id, [event(store, key="beacon-cart", email="Ada@Example.com")])
    [applied] = ingest(runtime, store.id, [
        event(store, EventKind.ORDERED, key="order-99", at=T0 + timedelta(hours=2),
              email="ada@example.com ")])
    assert the_cart(runtime, "beacon-cart").status == "bought"
    assert applied.cart_id == the_cart(runtime, "beacon-cart").id


def test_intake_every_event_lands_on_the_timeline(runtime, store):
    ingest(runtime, store.id, [event(store)])
    ingest(runtime, store.id, [event(store, at=T0 - timedelta(minutes=1))])
    with runtime.db.new_session() as session:
        kinds = [a.kind for a in session.scalars(select(Activity).order_by(Activity.id))]
    assert kinds == ["checkout_started", "stale"]


def test_one_delivery_with_an_order_then_an_update_keeps_the_order(runtime, store, clock):
    # A platform may send several events in one delivery, all applied in one
    # transaction: the update after the order must see it and change nothing.
    clock.set(T0 + timedelta(hours=1))
    ingest(runtime, store.id, [event(store)])
    order, update, reorder = ingest(runtime, store.id, [
        event(store, EventKind.ORDERED, at=T0 + timedelta(minutes=30)),
        event(store, EventKind.UPDATED, at=T0 + timedelta(minutes=40), email="later@example.com"),
        event(store, EventKind.ORDERED, at=T0 + timedelta(minutes=50))])
    assert (order.outcome, update.outcome, reorder.outcome) == ("ordered", "ignored", "ignored")
    cart = the_cart(runtime)
    assert (cart.status, cart.email, cart.wake_at) == ("bought", "ada@example.com", None)


def test_one_delivery_with_an_update_then_an_order_records_both(runtime, store, clock):
    clock.set(T0 + timedelta(hours=1))
    ingest(runtime, store.id, [event(store)])
    update, order = ingest(runtime, store.id, [
        event(store, EventKind.UPDATED, at=T0 + timedelta(minutes=20), email="new@example.com"),
        event(store, EventKind.ORDERED, at=T0 + timedelta(minutes=30))])
    assert (update.outcome, order.outcome) == ("changed", "ordered")
    cart = the_cart(runtime)
    assert (cart.status, cart.email, cart.last_event_at) == (
        "bought", "new@example.com", T0 + timedelta(minutes=30))
