"""A custom storefront's own code pool: uploaded on the settings page, one code
taken per reminder with an offer (never the same code twice, even with two
sessions taking at once on PostgreSQL), shown in the email, attributed when the
order reports it; an empty pool means a reminder without an offer, logged."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.carts import offer_pool
from app.carts.wake import wake_due
from app.db.models import Activity, Cart, OfferCode, Send, Store
from tests.factories import T0, cart_body


def _offer(runtime, store_id):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        row.settings = {**row.settings, "first_offer": "fixed", "first_offer_value": 5}


def _upload(admin, store, text):
    me = admin(store)
    response = me.post("/admin/offer-codes", data={"file": (io.BytesIO(text.encode()), "c.csv")},
                       content_type="multipart/form-data")
    assert response.status_code == 302
    return me.client.get(response.headers["Location"]).get_data(as_text=True)


def test_uploaded_codes_go_one_per_reminder_and_an_empty_pool_sends_without(
        admin, store, runtime, post_custom, client, outbox, caplog, clock):
    _offer(runtime, store.id)
    page = _upload(admin, store, "code\nMAPLE-A1\nMAPLE-A1\nMAPLE B2\n")
    assert "Added 1 codes; 0 were already there; refused 1" in page
    assert "<strong>1</strong> codes left, 0 used by reminders." in page
    assert "Added 0 codes; 1 were already there." in _upload(admin, store, "MAPLE-A1\n")

    post_custom(cart_body(cart_id="c-1"))
    post_custom(cart_body(cart_id="c-2", email="bo@example.com"))
    results = wake_due(runtime, T0 + timedelta(hours=4))
    assert [r.result for r in results] == ["sent", "sent"]
    first, second = sorted(outbox(), key=lambda m: m["To"])
    assert "Your code MAPLE-A1: €5.00 off" in first.get_body(("plain",)).get_content()
    assert "Your code" not in second.get_body(("plain",)).get_content()  # the pool ran dry
    assert "offer code pool is empty; the reminder goes without an offer" in caplog.text
    assert "<strong>0</strong> codes left, 1 used by reminders." in admin(store).get(
        "/admin/settings").get_data(as_text=True)

    # The storefront's order feed reports the code: the recovery is the offer's.
    clock.set(T0 + timedelta(hours=6))
    post_custom(cart_body("order.placed", cart_id="c-1", occurred_at=T0 + timedelta(hours=6),
                          order_id="o-1", discount_codes=["maple-a1"]))
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart).where(Cart.cart_key == "c-1")).one()
        send = session.scalars(select(Send).where(Send.cart_id == cart.id)).one()
        ordered = session.scalars(select(Activity).where(Activity.kind == "ordered")).one()
    assert cart.status == "recovered" and ordered.detail["offer_code"] == "MAPLE-A1"
    assert send.offer_ref.startswith(offer_pool.REF_PREFIX) and send.offer_used_at is not None


def test_platform_stores_have_no_pool(admin, make_store):
    shop = make_store(platform="shopify", domain="s.myshopify.com")
    me = admin(shop)
    assert 'id="offer-codes"' not in me.get("/admin/settings").get_data(as_text=True)
    response = me.post("/admin/offer-codes", data={"file": (io.BytesIO(b"X1\n"), "c.csv")},
                       content_type="multipart/form-data")
    assert response.status_code == 400


def test_discount_codes_must_be_a_list_of_strings(post_custom):
    response = post_custom(cart_body("order.placed", discount_codes="SAVE10"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("discount_codes: must be a list of strings")


def _pool(runtime, store_id, n):
    with runtime.db.transaction() as session:
        offer_pool.add(session, store_id, [f"P-{i:03}" for i in range(n)], T0)


def test_two_sessions_taking_at_once_get_different_codes(runtime, store, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time: there is no 'at once' to test")
    _pool(runtime, store.id, 3)
    first, second = runtime.db.new_session(), runtime.db.new_session()
    try:
        a = offer_pool.take(first, store.id, None, T0)  # row locked, not committed
        b = offer_pool.take(second, store.id, None, T0)  # skips it, does not wait
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert a is not None and b is not None and a.code != b.code
    with runtime.db.new_session() as session:
        assert offer_pool.size(session, store.id) == offer_pool.PoolSize(free=1, taken=2)


def test_many_takers_never_share_a_code_and_stop_at_empty(runtime, store):
    _pool(runtime, store.id, 12)
    got: list[str | None] = []
    lock = threading.Lock()

    def taker():
        for _ in range(5):
            with runtime.db.transaction() as session:
                taken = offer_pool.take(session, store.id, None, T0)
            with lock:
                got.append(taken.code if taken else None)

    threads = [threading.Thread(target=taker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [c for c in got if c]
    assert sorted(codes) == [f"P-{i:03}" for i in range(12)]  # each once, all taken
    assert got.count(None) == 8
    with runtime.db.new_session() as session:
        assert session.scalars(select(OfferCode).where(OfferCode.taken_at.is_(None))).all() == []


class Refusing:
    """The mail service refuses the next `failures` messages, then accepts."""

    def __init__(self, inner, failures):
        self.inner, self.failures, self.name = inner, list(failures), "refusing"

    def send(self, message, *, sender, recipient):
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.send(message, sender=sender, recipient=recipient)


def _pool_state(runtime, store_id):
    with runtime.db.new_session() as session:
        return offer_pool.size(session, store_id), session.scalars(
            select(Send.offer_code).order_by(Send.id)).all()


def test_a_code_whose_reminder_failed_goes_back_and_the_retry_uses_it(
        admin, store, runtime, post_custom, outbox):
    from app.errors import DeliveryError

    _offer(runtime, store.id)
    _upload(admin, store, "MAPLE-A1\n")
    runtime.mailer = Refusing(runtime.mailer, [DeliveryError("throttled", transient=True)])
    post_custom(cart_body(cart_id="c-1"))
    [failed] = wake_due(runtime, T0 + timedelta(hours=4))
    assert failed.result == "failed" and outbox() == []
    # The shopper never saw it: the code is free again and not on the failed row.
    assert _pool_state(runtime, store.id) == (offer_pool.PoolSize(free=1, taken=0), [None])
    [sent] = wake_due(runtime, failed.wake_at)
    assert sent.result == "sent"
    [message] = outbox()
    assert "Your code MAPLE-A1" in message.get_body(("plain",)).get_content()
    assert _pool_state(runtime, store.id) == (offer_pool.PoolSize(free=0, taken=1),
                                        [None, "MAPLE-A1"])


def test_a_lone_wake_whose_reminder_was_refused_gives_its_code_back(
        admin, store, runtime, post_custom, outbox):
    from app.carts.wake import wake
    from app.errors import DeliveryError

    _offer(runtime, store.id)
    _upload(admin, store, "MAPLE-A1\n")
    runtime.mailer = Refusing(runtime.mailer, [DeliveryError("mailbox unavailable",
                                                             transient=False)])
    post_custom(cart_body(cart_id="c-1"))
    with runtime.db.new_session() as session:
        cart_id = session.scalars(select(Cart.id)).one()
    assert wake(runtime, cart_id, T0 + timedelta(hours=4)).result == "failed"
    assert _pool_state(runtime, store.id) == (offer_pool.PoolSize(free=1, taken=0), [None])
    with runtime.db.new_session() as session:
        assert session.scalars(select(OfferCode.cart_id)).one() is None


def test_a_code_whose_reminder_went_stays_taken(
        admin, store, runtime, post_custom):
    _offer(runtime, store.id)
    _upload(admin, store, "MAPLE-A1\n")
    post_custom(cart_body(cart_id="c-1"))
    assert [r.result for r in wake_due(runtime, T0 + timedelta(hours=4))] == ["sent"]
    assert _pool_state(runtime, store.id) == (offer_pool.PoolSize(free=0, taken=1), ["MAPLE-A1"])
