"""Per-step numbers from a seeded history: each order credited to the last reminder
clicked, else the last sent, within the attribution window (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app import performance
from app.db.models import Activity, Cart, Send
from tests.factories import T0

FIRST, SECOND = T0 + timedelta(hours=4), T0 + timedelta(hours=28)
WEEK = timedelta(days=7)


def seed(runtime, store, key, *, moves=("first", "second"), clicks=(), unsubscribed=(),
         ordered_at=None, total="0"):
    with runtime.db.transaction() as session:
        cart = Cart(store_id=store.id, cart_key=key, email=f"{key}@example.com",
                    status="recovered" if ordered_at else "reminded", items=[],
                    currency="EUR", last_activity_at=T0, last_event_at=T0, created_at=T0,
                    ordered_at=ordered_at, order_total=Decimal(total) if ordered_at else None)
        session.add(cart)
        session.flush()
        for move in moves:
            session.add(Send(store_id=store.id, cart_id=cart.id, move=move, address=cart.email,
                             result="sent", created_at=FIRST if move == "first" else SECOND))
        for kind, times in (("click", clicks), ("unsubscribed", unsubscribed)):
            for at in times:
                session.add(Activity(cart_id=cart.id, kind=kind, occurred_at=at, detail={}))


def by_step(runtime, store, start=T0, end=T0 + WEEK, window=WEEK):
    with runtime.db.new_session() as session:
        return {r.step: r for r in performance.step_report(session, store.id, start, end,
                                                            window)}


def test_per_step_numbers_credit_the_last_clicked_else_last_sent(runtime, store):
    # a: clicked the first, ordered after the second came -> the first (last clicked).
    seed(runtime, store, "a", clicks=[FIRST + timedelta(hours=1)],
         ordered_at=SECOND + timedelta(hours=2), total="100.00")
    # b: clicked nothing, ordered after the second -> the second (last sent).
    seed(runtime, store, "b", ordered_at=SECOND + timedelta(hours=3), total="50.00")
    # c: unsubscribed after the first; its second was never sent.
    seed(runtime, store, "c", moves=("first",), unsubscribed=[FIRST + timedelta(hours=2)])
    # d: clicked the second and ordered -> the second.
    seed(runtime, store, "d", clicks=[SECOND + timedelta(minutes=5)],
         ordered_at=SECOND + timedelta(hours=1), total="70.00")

    steps = by_step(runtime, store)

    first, second = steps["first"], steps["second"]
    assert (first.channel, first.sent, first.clicked, first.unsubscribed, first.recovered) == (
        "email", 4, 1, 1, 1)
    assert first.revenue == {"EUR": Decimal("100.00")}
    assert (second.sent, second.clicked, second.unsubscribed, second.recovered) == (3, 1, 0, 2)
    assert second.revenue == {"EUR": Decimal("120.00")}
    assert second.recovery_rate == 2 / 3 and first.click_rate == 0.25


def test_per_step_click_outside_the_window_does_not_take_the_credit(runtime, store):
    # Clicked the first, but the order came 2 days later with a 1-day window:
    # only the second (sent within the day before the order) can take it.
    seed(runtime, store, "a", clicks=[FIRST + timedelta(hours=1)],
         ordered_at=FIRST + timedelta(days=2), total="80.00")
    steps = by_step(runtime, store, window=timedelta(days=1))
    assert (steps["first"].recovered, steps["second"].recovered) == (0, 1)


def test_per_step_counts_only_reminders_sent_in_the_period(runtime, store):
    seed(runtime, store, "a", ordered_at=SECOND + timedelta(hours=1), total="10.00")
    steps = by_step(runtime, store, start=T0, end=SECOND)  # the second falls outside
    assert (steps["first"].sent, steps["second"].sent) == (1, 0)
    assert (steps["first"].recovered, steps["second"].recovered) == (0, 0)


def test_per_step_delivered_is_sent_minus_what_the_provider_reported_bounced(runtime, store):
    seed(runtime, store, "a")
    seed(runtime, store, "b", moves=("first",))
    seed(runtime, store, "c", moves=("first",))
    with runtime.db.transaction() as session:
        for send in session.query(Send).join(Cart).filter(Cart.cart_key.in_(("b", "c"))):
            send.bounced_at = send.created_at + timedelta(minutes=2)
    steps = by_step(runtime, store)
    first, second = steps["first"], steps["second"]
    assert (first.sent, first.delivered, first.bounced) == (3, 1, 2)
    assert first.delivery_rate == 1 / 3
    assert (second.sent, second.delivered, second.bounced) == (1, 1, 0)
