"""The compact cart job store honours APScheduler's job store contract."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError

from scheduler.store import CartJobStore, job_id

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeJob:
    def __init__(self, cart_id: int, when: datetime | None) -> None:
        self.id = job_id(cart_id)
        self.next_run_time = when


@pytest.fixture
def store():
    s = CartJobStore(func_ref="scheduler.timers:_fire", instance_key=1)
    s._scheduler = None
    s._alias = "carts"
    return s


def test_timer_store_add_lookup_and_conflict(store):
    store.add_job(FakeJob(7, T0))
    job = store.lookup_job("cart:7")
    assert job.next_run_time == T0 and job.args == (1, 7)
    with pytest.raises(ConflictingIdError):
        store.add_job(FakeJob(7, T0))
    assert store.lookup_job("cart:8") is None
    assert store.lookup_job("not-a-cart") is None


def test_timer_store_update_moves_the_one_timer(store):
    store.add_job(FakeJob(7, T0))
    store.update_job(FakeJob(7, T0 + timedelta(hours=1)))
    assert [j.id for j in store.get_due_jobs(T0 + timedelta(minutes=59))] == []
    assert [j.id for j in store.get_due_jobs(T0 + timedelta(hours=1))] == ["cart:7"]
    with pytest.raises(JobLookupError):
        store.update_job(FakeJob(9, T0))


def test_timer_store_due_jobs_stay_until_removed(store):
    store.add_job(FakeJob(1, T0))
    store.add_job(FakeJob(2, T0 + timedelta(seconds=1)))
    assert [j.id for j in store.get_due_jobs(T0 + timedelta(seconds=5))] == ["cart:1", "cart:2"]
    assert len(store) == 2
    store.remove_job("cart:1")
    assert [j.id for j in store.get_due_jobs(T0 + timedelta(seconds=5))] == ["cart:2"]
    with pytest.raises(JobLookupError):
        store.remove_job("cart:1")


def test_timer_store_next_run_time_skips_stale_entries(store):
    store.add_job(FakeJob(1, T0))
    store.add_job(FakeJob(2, T0 + timedelta(hours=2)))
    store.update_job(FakeJob(1, T0 + timedelta(hours=3)))
    assert store.get_next_run_time() == T0 + timedelta(hours=2)
    store.remove_all_jobs()
    assert store.get_next_run_time() is None


def test_timer_store_many_resets_match_a_plain_dict(store):
    rng = random.Random(3)
    truth: dict[int, datetime] = {}
    for _ in range(20_000):
        cart = rng.randrange(500)
        when = T0 + timedelta(seconds=rng.randrange(100_000))
        if cart in truth and rng.random() < 0.1:
            store.remove_job(job_id(cart))
            del truth[cart]
        elif cart in truth:
            store.update_job(FakeJob(cart, when))
            truth[cart] = when
        else:
            store.add_job(FakeJob(cart, when))
            truth[cart] = when
    moment = T0 + timedelta(seconds=50_000)
    expected = sorted((w, c) for c, w in truth.items() if w <= moment)
    due = store.get_due_jobs(moment)
    assert [(j.next_run_time, int(j.id[5:])) for j in due] == expected
    assert store.get_next_run_time() == min(truth.values())
    assert len(store._heap) <= 2 * len(truth) + 1024


def test_timer_store_bulk_load(store):
    store.load((n, (T0 + timedelta(minutes=n)).timestamp()) for n in range(10_000))
    assert len(store) == 10_000
    assert store.get_next_run_time() == T0
    assert [j.id for j in store.get_all_jobs()[:2]] == ["cart:0", "cart:1"]
