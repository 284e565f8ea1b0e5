"""Sharded schedulers on one PostgreSQL: three `cartback scheduler` processes
split the stores' timers fairly, thousands of carts falling due at once get
exactly one reminder each, and a killed process's shards are taken over.
PostgreSQL only (advisory locks)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from app.db.models import Cart, Store
from app.worker.shards import SHARD_CLASS, ShardLocks, shard_of
from tests.factories import due_cart_row
from tests.worker.test_scale_postgres import ROOT, env_for, sent_per_cart_and_move, wait_for

SHARDS = 6


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks: PostgreSQL only")
    return database_url


@pytest.fixture
def twelve_stores(runtime, make_store):
    stores = [make_store(name=f"Shop {n}", domain=f"shop{n}.example",
                         from_email=f"hi@shop{n}.example") for n in range(12)]
    with runtime.db.transaction() as session:
        for store in stores:
            row = session.get(Store, store.id)
            row.settings = {**row.settings, "quiet_start": "00:00", "quiet_end": "00:00"}
    return stores


def due_carts(runtime, stores, per_store, prefix):
    now = datetime.now(UTC)
    rows = [due_cart_row(store.id, f"{prefix}-{n}", f"{prefix}{n}.{store.id}@example.com", now)
            for store in stores for n in range(per_store)]
    with runtime.db.transaction() as session:
        session.execute(insert(Cart), rows)


def shards_by_pid(runtime):
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :c "
            "AND objsubid = 2 AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY pid"),
            {"c": SHARD_CLASS}).all()
    return sorted(count for _, count in rows)


def scheduler(pg, tmp_path, name):
    env = env_for(pg, tmp_path)
    env.update(CARTBACK_OUTBOX_DIR=str(tmp_path / name), CARTBACK_SCHEDULER_SHARDS=str(SHARDS),
               CARTBACK_RUN_NIGHTLY="false")
    return subprocess.Popen([sys.executable, "-m", "app.cli", "scheduler", "--poll", "0.5",
                             "--standby-retry", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def emails(tmp_path, name):
    folder = tmp_path / name
    return len(list(folder.glob("*.eml"))) if folder.exists() else 0


def test_three_schedulers_share_the_shards_and_send_each_reminder_once(
        pg, runtime, twelve_stores, tmp_path):
    names = ["a", "b", "c"]
    procs = {name: scheduler(pg, tmp_path, name) for name in names}
    try:
        # A fair split: each of the three runs two of the six shards (four stores).
        assert wait_for(lambda: shards_by_pid(runtime) == [2, 2, 2], 60), shards_by_pid(runtime)
        due_carts(runtime, twelve_stores, 200, "due")  # 2,400 carts due at once
        assert wait_for(lambda: len(sent_per_cart_and_move(runtime)) == 2400, 240)
        counts = sent_per_cart_and_move(runtime)
        assert {c for _, _, c in counts} == {1}
        split = {name: emails(tmp_path, name) for name in names}
        assert sum(split.values()) == 2400
        assert set(split.values()) == {800}, split  # four stores of 200 carts each

        # One dies: the other two take its shards over within 30 s and send the rest.
        procs["a"].send_signal(signal.SIGKILL)
        procs["a"].wait(10)
        killed_at = time.monotonic()
        assert wait_for(lambda: shards_by_pid(runtime) == [3, 3], 30), shards_by_pid(runtime)
        assert time.monotonic() - killed_at < 30
        due_carts(runtime, twelve_stores, 50, "after")
        assert wait_for(lambda: len(sent_per_cart_and_move(runtime)) == 3000, 120)
        assert {c for _, _, c in sent_per_cart_and_move(runtime)} == {1}
        assert emails(tmp_path, "b") + emails(tmp_path, "c") == 800 * 2 + 600
        assert emails(tmp_path, "a") == 800
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_shard_locks_split_fairly_and_hand_back_over_the_share(pg, runtime):
    engine = runtime.db.engine
    first, second = ShardLocks(engine, SHARDS), ShardLocks(engine, SHARDS)
    try:
        gained, lost = first.rebalance()
        assert sorted(gained) == list(range(SHARDS)) and lost == []
        second.rebalance()  # two members now: nothing free yet
        assert second.held == set()
        gained, lost = first.rebalance()  # over its share: gives three back
        assert (gained, len(lost), len(first.held)) == ([], 3, 3)
        gained, _ = second.rebalance()
        assert sorted(gained) == sorted(set(range(SHARDS)) - first.held)
        assert first.holds(next(iter(first.held))) and not first.holds(next(iter(second.held)))
        second.release()  # a member gone: its shards are free and the share grows
        gained, _ = first.rebalance()
        assert len(gained) == 3 and first.held == set(range(SHARDS))
    finally:
        first.release()
        second.release()


def test_a_store_always_lands_in_the_same_shard():
    assert [shard_of(store_id, 4) for store_id in range(1, 9)] == [1, 2, 3, 0, 1, 2, 3, 0]
