"""Many processes, one PostgreSQL: concurrent intake stays correct, two wake
loops send exactly one reminder per cart and move, and a standby scheduler
takes over when the leader dies. PostgreSQL only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.carts.ingest import ingest
from app.db.models import Activity, Cart, Send, Store
from app.worker import leader
from platforms.base import CartEvent, EventKind, Item
from tests.factories import due_cart_row

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs several processes on one PostgreSQL database")
    return database_url


def no_quiet_hours(runtime, store):
    with runtime.db.transaction() as session:
        found = session.get(Store, store.id)
        found.settings = {**found.settings, "quiet_start": "00:00", "quiet_end": "00:00"}


def due_carts(runtime, store, count, *, prefix="due"):
    """`count` abandoned carts whose first reminder fell due an hour ago (real time)."""
    now = datetime.now(UTC)
    rows = [due_cart_row(store.id, f"{prefix}-{n}", f"shopper{n}.{prefix}@example.com", now)
            for n in range(count)]
    with runtime.db.transaction() as session:
        session.execute(insert(Cart), rows)


def sent_per_cart_and_move(runtime):
    with runtime.db.new_session() as session:
        return session.execute(select(Send.cart_id, Send.move, func.count())
                               .where(Send.result == "sent")
                               .group_by(Send.cart_id, Send.move)).all()


def env_for(pg, tmp_path):
    env = dict(os.environ, CARTBACK_DATABASE_URL=pg, CARTBACK_SECRET_KEY="test-secret-key",
               CARTBACK_OUTBOX_DIR=str(tmp_path / "outbox"), CARTBACK_LOG_LEVEL="WARNING",
               CARTBACK_PUBLIC_URL="https://cartback.test", CARTBACK_AUTO_MIGRATE="false",
               CARTBACK_INSTANCE_PATH=str(tmp_path / "instance"), PYTHONPATH=str(ROOT))
    env.pop("CARTBACK_RUN_SCHEDULER", None)
    return env


def test_concurrent_deliveries_for_one_cart_make_one_row_and_lose_nothing(pg, runtime, store):
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    barrier = threading.Barrier(8)
    errors = []

    def deliver(n):
        items = tuple(Item(f"Item {i}", 1, Decimal("1.00")) for i in range(n + 1))
        event = CartEvent(store_id=store.id, cart_key="hot", kind=EventKind.UPDATED,
                          occurred_at=start + timedelta(seconds=n), items=items,
                          delivery_id=f"evt-{n % 4}")  # each id delivered twice
        barrier.wait()
        try:
            ingest(runtime, store.id, [event])
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with runtime.db.new_session() as session:
        [cart] = session.scalars(select(Cart)).all()
        applied = session.scalar(select(func.count()).select_from(Activity))
    assert applied == 4  # four distinct delivery ids, each processed once
    # Never rolled back to an older state: the row holds the newest applied event.
    assert cart.last_event_at >= start + timedelta(seconds=3)


def test_two_wake_loops_send_exactly_one_reminder_per_cart(pg, runtime, store, tmp_path):
    no_quiet_hours(runtime, store)
    due_carts(runtime, store, 2000)
    now = datetime.now(UTC).isoformat()
    env = env_for(pg, tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "wake-due", "--now", now],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][1][-2000:]
    results = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    assert sum(1 for r in results if r["result"] == "sent") == 2000
    counts = sent_per_cart_and_move(runtime)
    assert len(counts) == 2000 and {c for _, _, c in counts} == {1}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2000


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)  # polling other processes, not a timer
    return predicate()


def test_standby_scheduler_takes_over_when_the_leader_dies(pg, runtime, store, tmp_path):
    no_quiet_hours(runtime, store)
    env = env_for(pg, tmp_path)
    cmd = [sys.executable, "-m", "app.cli", "scheduler", "--poll", "0.5", "--standby-retry", "1"]
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        holder = wait_for(lambda: leader.last_beat(runtime.db.engine), 30)
        assert holder and holder[0].endswith(f":{first.pid}")
        second = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        # The leader follows rows written by others (as web processes do).
        due_carts(runtime, store, 300, prefix="before")
        assert wait_for(lambda: len(sent_per_cart_and_move(runtime)) == 300, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        new_holder = wait_for(lambda: (b := leader.last_beat(runtime.db.engine))
                              and b[0].endswith(f":{second.pid}") and b, 30)
        assert new_holder, "the standby never took over"
        assert time.monotonic() - killed_at < 30
        due_carts(runtime, store, 300, prefix="after")
        assert wait_for(lambda: len(sent_per_cart_and_move(runtime)) == 600, 60)
        counts = sent_per_cart_and_move(runtime)
        assert {c for _, _, c in counts} == {1}
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 600
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
