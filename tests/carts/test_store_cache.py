"""The webhook path's copy of a store: a change made in this process counts at
once, one made by another process within the cache's few seconds."""

from __future__ import annotations

from sqlalchemy import text

from app.carts import store_cache
from app.db.models import Store
from tests.factories import cart_body


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_uninstall_in_this_process_refuses_the_next_delivery_at_once(post_custom, runtime,
                                                                        store):
    assert post_custom(cart_body(cart_id="a")).status_code == 200
    with runtime.db.transaction() as session:
        session.get(Store, store.id).installed = False
    assert post_custom(cart_body(cart_id="b")).status_code == 404


def test_a_secret_rotated_in_this_process_is_the_one_checked_at_once(post_custom, runtime,
                                                                     store):
    assert post_custom(cart_body(cart_id="a")).status_code == 200
    with runtime.db.transaction() as session:
        session.get(Store, store.id).webhook_secret = "rotated-secret"
    assert post_custom(cart_body(cart_id="b")).status_code == 401
    assert post_custom(cart_body(cart_id="b"), secret="rotated-secret").status_code == 200


def test_a_change_by_another_process_is_seen_within_the_ttl(runtime, store):
    ticks = Ticks()
    assert store_cache.get(runtime.db, store.id, clock=ticks).installed
    # Another process's write: plain SQL on its own connection, no session events here.
    with runtime.db.engine.begin() as connection:
        connection.execute(text("UPDATE stores SET installed = :no WHERE id = :id"),
                           {"no": False, "id": store.id})
    ticks.now += store_cache.STORE_TTL_S / 2
    assert store_cache.get(runtime.db, store.id, clock=ticks).installed
    ticks.now += store_cache.STORE_TTL_S
    assert not store_cache.get(runtime.db, store.id, clock=ticks).installed


def test_a_store_deleted_in_this_process_is_gone_at_once(runtime, store):
    assert store_cache.get(runtime.db, store.id) is not None
    with runtime.db.transaction() as session:
        session.delete(session.get(Store, store.id))
    assert store_cache.get(runtime.db, store.id) is None
