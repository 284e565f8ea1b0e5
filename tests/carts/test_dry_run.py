"""The dry run: the same waiter and gates, nothing written, and it agrees with what
the wake then does on the same clock (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.carts import dry_run
from app.carts.sender import holdout_bucket
from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from app.privacy import suppressions
from tests.factories import T0, cart_body

NOW = T0 + timedelta(hours=1)  # 10:00 UTC


def _setup(runtime, store, post_custom, clock):
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**row.settings, "holdout_percent": 50}
        held = next(f"h{n}@example.com" for n in range(200)
                    if holdout_bucket(row, Cart(email=f"h{n}@example.com")) < 5000)
        free = next(f"f{n}@example.com" for n in range(200)
                    if holdout_bucket(row, Cart(email=f"f{n}@example.com")) >= 5000)
        other = next(f"o{n}@example.com" for n in range(200)
                     if holdout_bucket(row, Cart(email=f"o{n}@example.com")) >= 5000)
        tokyo = next(f"t{n}@example.com" for n in range(200)
                     if holdout_bucket(row, Cart(email=f"t{n}@example.com")) >= 5000)
        suppressions.add(session, store.id, "eve@example.com", scope="all", cart_id=None,
                         source="merchant", now=T0)
    clock.set(NOW)
    minutes = iter(range(0, 60, 5))
    for key, email, extra in [
        ("a", free, {}),                             # sent at 13:00
        ("b", free, {}),                             # same shopper: frequency cap
        ("c", None, {}),                             # no address
        ("d", "eve@example.com", {}),                # unsubscribed
        ("e", held, {}),                             # holdout group
        ("f", tokyo, {"timezone": "Asia/Tokyo"}),    # 22:xx in Tokyo: waits for 08:00 JST
        ("g", other, {"occurred_at": T0 - timedelta(days=8)}),  # too old: give up at once
    ]:
        extra.setdefault("occurred_at", T0 + timedelta(minutes=next(minutes)))
        post_custom(cart_body(cart_id=key, email=email, **extra))


def _ids(runtime):
    with runtime.db.new_session() as session:
        return {c.cart_key: c.id for c in session.scalars(select(Cart))}


def test_dry_run_agrees_with_what_the_wakes_then_do(runtime, store, post_custom, clock,
                                                    outbox):
    _setup(runtime, store, post_custom, clock)
    ids = _ids(runtime)
    with runtime.db.new_session() as session:
        before = [(c.id, c.wake_at, c.stage) for c in session.scalars(select(Cart)
                                                                     .order_by(Cart.id))]
        planned = dry_run.plan(session, NOW, hours=24)

    # What it says, in the words the merchant reads.
    by_key = {k: [(e.step, dry_run.describe(e)) for e in planned if e.cart_id == i]
              for k, i in ids.items()}
    assert by_key["a"] == [("first", "send")]
    assert by_key["b"] == [("first", "not sent: frequency cap")]
    assert by_key["c"] == [("first", "not sent: no email address")]
    assert by_key["d"] == [("first", "not sent: unsubscribed")]
    assert by_key["e"] == [("first", "not sent: holdout group")]
    assert by_key["f"][0][1].startswith("wait: quiet hours, until 2026-11-23 23:00")
    assert by_key["f"][1] == ("first", "send")
    assert by_key["g"] == [("give_up", "give up (past the give-up age)")]
    # Nothing was written, sent or moved.
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0
        assert [(c.id, c.wake_at, c.stage) for c in session.scalars(
            select(Cart).order_by(Cart.id))] == before
    assert outbox() == []

    # The timers then fire at the planned moments: the same outcomes, in the same order.
    done = []
    for at in sorted({e.at for e in planned}):
        done += [(r.cart_id, r.move, r.result, r.reason) for r in wake_due(runtime, at)
                 if r.result not in ("rescheduled", "not_due", "no_move")]
    words = {"send": "sent", "give_up": "expired"}
    assert done == [(e.cart_id, e.step, words.get(e.outcome, e.outcome),
                     None if e.outcome in ("send", "give_up") else e.reason) for e in planned]
    assert len(outbox()) == 2


def test_dry_run_command_and_admin_page(runtime, store, post_custom, clock, runner):
    _setup(runtime, store, post_custom, clock)
    result = runner.invoke(["dry-run", "--store", str(store.id), "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "first   email  send" in result.output
    assert "not sent: frequency cap" in result.output
    assert "2 reminder(s) would be sent in the next 24 hours" in result.output
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0


def test_dry_run_admin_page_lists_the_next_day(admin, runtime, store, post_custom,  # noqa: F811
                                               clock):
    _setup(runtime, store, post_custom, clock)
    page = admin(store).get("/admin/dry-run").get_data(as_text=True)
    assert "What the next 24 hours would send" in page
    assert page.count('class="outcome-send"') == 2
    assert "not sent: holdout group" in page and "wait: quiet hours" in page
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0
