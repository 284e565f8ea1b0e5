"""CartTimers on a real BackgroundScheduler: times are in the past or a few
milliseconds ahead, and tests wait on events (bounded), never on the timers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.timers import CartTimers


class Recorder:
    def __init__(self, expect: int = 1) -> None:
        self.calls: Counter[int] = Counter()
        self.order: list[int] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.expect = expect

    def __call__(self, cart_id: int) -> None:
        with self.lock:
            self.calls[cart_id] += 1
            self.order.append(cart_id)
            if sum(self.calls.values()) >= self.expect:
                self.done.set()


@pytest.fixture
def make_timers():
    made = []

    def _make(fire):
        timers = CartTimers(fire, max_workers=2)
        made.append(timers)
        return timers

    yield _make
    for timers in made:
        timers.shutdown(wait=True)


def now():
    return datetime.now(UTC)


def test_timers_wake_already_due_at_start_fires_once_right_after(make_timers):
    fired = Recorder(expect=2)
    timers = make_timers(fired)
    timers.start([(1, now() - timedelta(hours=6)), (2, now() - timedelta(seconds=1)),
                  (3, now() + timedelta(days=1))])
    assert fired.done.wait(5)
    timers.shutdown(wait=True)
    assert fired.calls == Counter({1: 1, 2: 1})
    assert timers.pending() == 1
    assert timers.when(3) is not None


def test_timers_set_replaces_the_carts_one_timer(make_timers):
    fired = Recorder()
    timers = make_timers(fired)
    timers.start()
    timers.set(5, now() + timedelta(days=1))
    timers.set(5, now() + timedelta(milliseconds=50))
    assert fired.done.wait(5)
    timers.shutdown(wait=True)  # lets the scheduler finish removing the fired job
    assert fired.calls == Counter({5: 1})
    assert timers.pending() == 0


def test_timers_moving_a_timer_earlier_wakes_the_scheduler(make_timers):
    fired = Recorder()
    timers = make_timers(fired)
    timers.start([(9, now() + timedelta(hours=1))])
    timers.set(9, now())
    assert fired.done.wait(5)


def test_timers_set_none_and_cancel_many_cancel(make_timers):
    fired = Recorder()
    timers = make_timers(fired)
    timers.set(1, now() + timedelta(milliseconds=100))
    timers.set(2, now() + timedelta(milliseconds=100))
    timers.set(3, now() + timedelta(milliseconds=100))
    timers.set(1, None)
    timers.cancel_many([2, 99])
    timers.start()
    assert fired.done.wait(5)
    assert fired.calls == Counter({3: 1})


def test_timers_rebuild_from_ten_thousand_rows(make_timers):
    timers = make_timers(Recorder())
    start = now() + timedelta(days=1)
    timers.start((n, start + timedelta(seconds=n)) for n in range(10_000))
    assert timers.pending() == 10_000
    assert abs((timers.next_due() - start).total_seconds()) < 0.001


def test_timers_failing_fire_is_logged_and_the_scheduler_carries_on(make_timers, caplog):
    done = threading.Event()

    def fire(cart_id):
        if cart_id == 1:
            raise RuntimeError("boom")
        done.set()

    timers = make_timers(fire)
    timers.start([(1, now() - timedelta(seconds=1))])
    timers.set(2, now() + timedelta(milliseconds=100))
    assert done.wait(5)
    assert any("wake failed" in r.getMessage() for r in caplog.records)


def test_timers_nightly_and_interval_jobs_are_registered(make_timers):
    timers = make_timers(Recorder())
    ran = threading.Event()
    timers.add_nightly("export", lambda: None, hour=0, minute=30, timezone="Europe/Berlin")
    timers.add_interval("reconcile", ran.set, seconds=0.05)
    timers.start()
    assert ran.wait(5)
