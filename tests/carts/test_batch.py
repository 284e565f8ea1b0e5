"""Due carts woken as a batch (app.carts.batch) keep every promise of one wake:
the per-shopper cap across carts of one batch, the unsubscribe list, an order
or a change that lands while an earlier cart of the batch is composed, a
claim left by a crashed process, and the moves that send nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.carts.batch import BatchHistory, wake_batch
from app.carts.wake import _wake_or_report, wake_due
from app.db.models import Cart, Send
from app.privacy import suppressions
from tests.factories import T0, cart_body

DUE = T0 + timedelta(hours=4)


def cart_ids(runtime):
    with runtime.db.new_session() as session:
        return list(session.scalars(select(Cart.id).order_by(Cart.id)))


def sends(runtime):
    with runtime.db.new_session() as session:
        return [(s.cart_id, s.move, s.result, s.reason)
                for s in session.scalars(select(Send).order_by(Send.cart_id, Send.id))]


class DuringCompose:
    """A polisher that does `action` once, while the first email is composed."""

    def __init__(self, action):
        self.action, self.fired = action, False

    def polish(self, plain_line, **_):
        if not self.fired:
            self.fired = True
            self.action()
        return None


def test_batch_two_carts_of_one_shopper_send_one_reminder(post_custom, runtime, outbox):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="ADA@example.com"))
    post_custom(cart_body(cart_id="c", email="grace@example.com"))
    results = wake_batch(runtime, cart_ids(runtime), DUE, _wake_or_report)
    assert [(r.result, r.reason) for r in results] == [
        ("sent", None), ("skipped", "recently_reminded"), ("sent", None)]
    assert len(outbox()) == 2


def test_batch_skips_the_unsubscribed_and_sends_the_rest(post_custom, runtime, store,
                                                          outbox):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="grace@example.com"))
    with runtime.db.transaction() as session:
        suppressions.add(session, store.id, "Ada@Example.com", source="merchant", now=T0)
    results = wake_batch(runtime, cart_ids(runtime), DUE, _wake_or_report)
    assert [(r.result, r.reason) for r in results] == [("skipped", "unsubscribed"),
                                                       ("sent", None)]
    [message] = outbox()
    assert message["To"] == "grace@example.com"


def test_an_order_for_a_later_cart_while_an_earlier_one_is_composed_stops_it(
        post_custom, runtime, clock, outbox):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="grace@example.com"))

    def order_b():
        clock.set(DUE + timedelta(seconds=1))
        assert post_custom(cart_body("order.placed", cart_id="b", email="grace@example.com",
                                     occurred_at=clock.now, order_id="o-1")).status_code == 200

    runtime.polisher = DuringCompose(order_b)
    results = wake_due(runtime, DUE)
    runtime.polisher = None
    assert [(r.result, r.reason) for r in results] == [("sent", None),
                                                       ("skipped", "cancelled: ordered")]
    assert [m["To"] for m in outbox()] == ["ada@example.com"]
    with runtime.db.new_session() as session:
        assert [c.status for c in session.scalars(select(Cart).order_by(Cart.id))] == [
            "reminded", "bought"]


def test_a_claim_left_by_a_crashed_process_is_never_sent_again(post_custom, runtime, outbox):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="grace@example.com"))
    first, second = cart_ids(runtime)
    with runtime.db.transaction() as session:
        cart = session.get(Cart, first)
        session.add(Send(store_id=cart.store_id, cart_id=first, move="first",
                         address=cart.email, result="claimed", created_at=T0))
    results = wake_batch(runtime, [first, second], DUE, _wake_or_report)
    assert [(r.result, r.reason) for r in results] == [("duplicate", "already claimed"),
                                                       ("sent", None)]
    assert [m["To"] for m in outbox()] == ["grace@example.com"]


def test_moves_that_send_nothing_are_made_as_one_wake_makes_them(post_custom, runtime, clock,
                                                                 outbox):
    clock.set(DUE)
    post_custom(cart_body(cart_id="early", occurred_at=DUE - timedelta(hours=1)))
    post_custom(cart_body(cart_id="old", email="old@example.com",
                          occurred_at=DUE - timedelta(days=8)))
    post_custom(cart_body(cart_id="anon", email=None))
    with runtime.db.transaction() as session:
        for cart in session.scalars(select(Cart)):
            cart.wake_at = DUE  # all due now, whatever the waiter says
    results = wake_batch(runtime, cart_ids(runtime), DUE, _wake_or_report)
    assert [(r.move, r.result, r.reason) for r in results] == [
        ("wait", "rescheduled", None), ("give_up", "expired", None),
        ("first", "skipped", "no_email")]
    assert results[0].wake_at == DUE + timedelta(hours=3)
    assert outbox() == []
    assert [(move, result) for _, move, result, _ in sends(runtime)] == [("first", "skipped")]


def test_a_cart_not_due_any_more_is_left_alone(post_custom, runtime, outbox):
    post_custom(cart_body(cart_id="a"))
    [cart_id] = cart_ids(runtime)
    [result] = wake_batch(runtime, [cart_id], DUE - timedelta(minutes=1), _wake_or_report)
    assert (result.result, result.wake_at) == ("not_due", DUE)
    assert sends(runtime) == [] and outbox() == []


def test_batch_history_sees_claims_made_earlier_in_the_batch(runtime, store):
    with runtime.db.new_session() as session:
        history = BatchHistory(session, {store.id}, {"ada@example.com"}, T0)
        view = history.for_store(store.id)
        count = view.reminders_about_other_carts_since
        assert count("Ada@example.com", 1, T0) == 0
        history.claimed(store.id, "ADA@example.com", 1, DUE)
        assert count("ada@example.com", 1, T0) == 0  # its own cart
        assert count("ada@example.com", 2, T0) == 1
        assert count("ada@example.com", 2, DUE + timedelta(1)) == 0
        history.claimed(store.id, "ada@example.com", 3, DUE)
        assert count("ada@example.com", 2, T0) == 2  # the frequency cap counts each
        assert history.for_store(store.id + 1).reminders_about_other_carts_since(
            "ada@example.com", 2, T0) == 0


def test_wake_due_goes_through_many_batches_and_sends_each_cart_once(post_custom, runtime,
                                                                    outbox, monkeypatch):
    import app.carts.batch as batch

    monkeypatch.setattr(batch, "BATCH", 3)
    for n in range(7):
        post_custom(cart_body(cart_id=f"c-{n}", email=f"shopper{n}@example.com"))
    results = wake_due(runtime, DUE)
    assert [r.result for r in results] == ["sent"] * 7
    assert len(outbox()) == 7
    with runtime.db.new_session() as session:
        assert {c.status for c in session.scalars(select(Cart))} == {"reminded"}


def test_claims_a_slow_backend_cannot_reach_within_their_lease_are_released(
        post_custom, runtime, outbox, monkeypatch):
    import app.carts.batch as batch

    post_custom(cart_body(cart_id="a"))
    monkeypatch.setattr(batch, "HANDOVER_LIMIT_S", 0.0)
    results = wake_due(runtime, DUE)  # released, due again at once, released again ...
    assert {(r.result, r.reason) for r in results} == {
        ("skipped", "cancelled: claim lease running out")}
    assert outbox() == []
    monkeypatch.undo()
    [result] = wake_due(runtime, DUE)  # due again at once, and sent this time
    assert result.result == "sent" and len(outbox()) == 1


def test_a_cart_whose_row_is_held_elsewhere_is_woken_alone_after_the_batch(
        post_custom, runtime, database_url, outbox):
    if not database_url.startswith("postgresql"):
        return  # SQLite locks the whole database: there is no row to skip
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="grace@example.com"))
    first, second = cart_ids(runtime)
    holder = runtime.db.engine.connect()
    holder.execute(select(Cart.id).where(Cart.id == first).with_for_update())
    alone = []

    def wake_one(rt, cart_id, now):
        alone.append(cart_id)
        holder.commit()  # the other transaction ends; the wake gets the row
        return _wake_or_report(rt, cart_id, now)

    try:
        results = wake_batch(runtime, [first, second], DUE, wake_one)
    finally:
        holder.close()
    assert alone == [first]
    assert [(r.cart_id, r.result) for r in results] == [(second, "sent"), (first, "sent")]
    assert len(outbox()) == 2
