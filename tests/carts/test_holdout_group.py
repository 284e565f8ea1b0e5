"""The holdout group on the send path: held carts get nothing, recorded `held_out`,
and a shopper stays in one group across carts and steps (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from tests.factories import T0, cart_body


def _set_settings(runtime, store, **values):
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**(row.settings or {}), **values}


def _results(runtime):
    with runtime.db.new_session() as session:
        rows = session.execute(select(Cart.email, Cart.cart_key, Send.move, Send.result)
                               .join(Cart, Cart.id == Send.cart_id).order_by(Send.id))
        return [(e.casefold(), k, m, r) for e, k, m, r in rows]


def test_held_out_shoppers_get_nothing_and_stay_held(post_custom, runtime, store, outbox,
                                                     clock):
    # Half held back; no frequency cap, so each cart stands on its own.
    _set_settings(runtime, store, holdout_percent=50, dnd_hours=0)
    for n in range(20):
        post_custom(cart_body(cart_id=f"a{n}", email=f"shopper{n}@example.com"))

    wake_due(runtime, T0 + timedelta(hours=4))

    first = _results(runtime)
    held = {email for email, _, _, result in first if result == "held_out"}
    sent = {email for email, _, _, result in first if result == "sent"}
    assert held and sent and len(held) + len(sent) == 20
    recipients = {m["To"].casefold() for m in outbox()}
    assert recipients == sent  # nobody held back got an email

    # The same shoppers come back with new carts (address typed differently):
    # each lands in the group it was in before.
    clock.set(T0 + timedelta(hours=5))
    for n in range(20):
        post_custom(cart_body(cart_id=f"b{n}", email=f" Shopper{n}@EXAMPLE.com",
                              occurred_at=T0 + timedelta(hours=5)))
    wake_due(runtime, T0 + timedelta(hours=9))
    again = [(e.strip(), r) for e, k, _, r in _results(runtime) if k.startswith("b")]
    assert {e for e, r in again if r == "held_out"} == held

    # A held cart's second step is held back too; nothing reaches those shoppers.
    wake_due(runtime, T0 + timedelta(hours=29))
    seconds = [(e, r) for e, k, m, r in _results(runtime) if k.startswith("a") and m == "second"]
    assert {e for e, r in seconds if r == "held_out"} == held
    assert {m["To"].casefold() for m in outbox()} == sent



def test_held_out_cart_is_labelled_in_the_export_and_timeline(post_custom, runtime, store):
    from datetime import date

    from app import export
    from app.web.admin.carts import timeline

    _set_settings(runtime, store, holdout_percent=50)  # the top of the range
    # Find a shopper the store's key puts in the held half.
    from app.carts.sender import holdout_bucket

    with runtime.db.new_session() as session:
        row = session.get(Store, store.id)
        email = next(f"s{n}@example.com" for n in range(200)
                     if holdout_bucket(row, Cart(email=f"s{n}@example.com")) < 5000)
    post_custom(cart_body(cart_id="held", email=email))
    wake_due(runtime, T0 + timedelta(hours=4))

    with runtime.db.new_session() as session:
        [row] = export.rows_for_day(session, store, date(2026, 11, 23))
        assert row.cells()[-1] == "held back" and not row.reminded
        cart = session.scalars(select(Cart)).one()
        titles = [e.title for e in timeline(session, cart)]
    assert "First reminder held back: holdout group, nothing sent" in titles
