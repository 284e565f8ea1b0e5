"""The dashboard's holdout comparison from a seeded history (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from app import performance
from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from app.web.admin.dashboard import Period
from tests.factories import T0, cart_body, cart_id

DUE = T0 + timedelta(hours=4)


def seed(runtime, store, group, carts, recovered, *, order_after=timedelta(hours=6),
         total="100.00", tag=""):
    """`carts` carts whose first reminder fell due at DUE in `group` (sent | held_out),
    the first `recovered` of them ordered `order_after` later."""
    with runtime.db.transaction() as session:
        for n in range(carts):
            ordered = n < recovered
            cart = Cart(store_id=store.id, cart_key=f"{group}{tag}-{n}",
                        email=f"{group}{tag}{n}@example.com",
                        status="recovered" if ordered and group == "sent" else
                        ("bought" if ordered else "reminded"),
                        items=[], currency="EUR", total=Decimal(total), last_activity_at=T0,
                        last_event_at=T0, stage=1, created_at=T0,
                        ordered_at=DUE + order_after if ordered else None,
                        order_total=Decimal(total) if ordered else None)
            session.add(cart)
            session.flush()
            session.add(Send(store_id=store.id, cart_id=cart.id, move="first",
                             address=cart.email, result=group, created_at=DUE))


def report(runtime, store):
    period = Period.last_days(7, T0 + timedelta(days=1), "UTC")
    with runtime.db.new_session() as session:
        return performance.holdout_report(session, store.id, period.start, period.end,
                                          timedelta(days=7))


def test_holdout_numbers_and_verdict_from_history(admin, runtime, store, clock):  # noqa: F811
    # Messaged: 30 of 60 recovered (50 %); held back: 10 of 30 (33.3 %).
    seed(runtime, store, "sent", 60, 30)
    seed(runtime, store, "held_out", 30, 10)
    # A held-back cart ordered after the attribution window does not count.
    seed(runtime, store, "held_out", 1, 1, order_after=timedelta(days=8), tag="late")
    with runtime.db.transaction() as session:
        session.get(Store, store.id).settings = {"holdout_percent": 10}

    got = report(runtime, store)

    c = got.comparison
    assert (c.messaged_recovered, c.messaged, c.held_recovered, c.held) == (30, 60, 10, 31)
    # 3000 EUR recovered from 60 messaged carts; 1000 EUR from 31 held back, i.e.
    # 1000 * 60 / 31 = 1935.48 expected without reminders: 1064.52 added.
    assert got.incremental_revenue == {"EUR": Decimal("1064.52")}
    clock.set(T0 + timedelta(days=1))
    page = admin(store).get("/admin/", days="7").get_data(as_text=True)
    assert "Do reminders add sales?" in page
    assert "No clear difference yet" in page
    assert re.search(r"Messaged</td><td class=\"num\">60</td><td class=\"num\">30</td>"
                     r"<td class=\"num\">50.0%", page)
    assert "€1,064.52" in page
    assert "Held back on purpose (holdout group)" in page


def test_holdout_says_not_enough_data_yet(admin, runtime, store, clock):  # noqa: F811
    seed(runtime, store, "sent", 8, 2)
    seed(runtime, store, "held_out", 2, 0)
    with runtime.db.transaction() as session:
        session.get(Store, store.id).settings = {"holdout_percent": 10}
    clock.set(T0 + timedelta(days=1))
    page = admin(store).get("/admin/", days="7").get_data(as_text=True)
    assert "Not enough data yet" in page
    assert "confidence interval" not in page


def test_dashboard_shows_each_steps_numbers(admin, runtime, store, post_custom, client,  # noqa: F811
                                            clock):
    post_custom(cart_body(cart_id="a"))
    wake_due(runtime, T0 + timedelta(hours=4))
    wake_due(runtime, T0 + timedelta(hours=28))
    clock.set(T0 + timedelta(hours=29))  # the shopper clicks the second reminder's link
    cart = cart_id(runtime, "a")
    assert client.get(f"/r/{runtime.links.token('return', cart)}").status_code == 302
    clock.set(T0 + timedelta(hours=30))
    post_custom(cart_body("order.placed", cart_id="a", occurred_at=T0 + timedelta(hours=30)))
    clock.set(T0 + timedelta(days=2))
    page = admin(store).get("/admin/", days="7").get_data(as_text=True)
    row = re.search(r'<tr class="step-second">(.*?)</tr>', page, re.S).group(1)
    # sent, delivered, bounced, clicked, unsubscribed, recovered
    assert re.findall(r'<td class="num">(\d+)', row)[:6] == ["1", "1", "0", "1", "0", "1"]
    assert "€98.00" in row
    first = re.search(r'<tr class="step-first">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)', first)[:6] == ["1", "1", "0", "0", "0", "0"]
