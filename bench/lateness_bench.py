"""How late reminders go out when many carts fall due at once, timers vs polling.

Run by hand (numbers go to docs/performance.md, never into tests):

    .venv/bin/python bench/lateness_bench.py --carts 10000 --window 360

A fresh PostgreSQL database gets N abandoned carts whose first reminder falls
due spread evenly over WINDOW seconds, starting shortly after launch. A real
`cartback scheduler` process (outbox backend) sends them; lateness is the send
time (the claim written just before the mail is built) minus the due time.
Database work is read from pg_stat_database (transactions committed) for the
run, scaled to one hour.

The polling design that popular WooCommerce plugins use (a cron every 15
minutes scanning the cart table for carts past their wait) is then modelled on
the same due times: each scan picks up everything due since the last one and
works through it at the send rate measured in the timer run. Its scan query is
run for real against the same table to report its cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from app.db.models import Cart, Send  # noqa: E402
from app.db.session import make_engine, upgrade  # noqa: E402
from app.stores import create_store  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_s": round(percentile(values, 0.5), 2), "p90_s": round(percentile(values, 0.9), 2),
            "p99_s": round(percentile(values, 0.99), 2), "max_s": round(max(values), 2),
            "mean_s": round(statistics.fmean(values), 2)}


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def commits(engine, name: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT xact_commit FROM pg_stat_database "
                                     "WHERE datname = :n"), {"n": name}).scalar())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=360.0, help="seconds they fall due over")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--scan-every", type=float, default=900.0)
    parser.add_argument("--model-carts", type=int, default=100_000,
                        help="carts due within one hour in the polling model")
    args = parser.parse_args()

    name = "cartback_lateness"
    url = fresh_database(args.admin_url, name)
    engine = make_engine(url)
    upgrade(engine)
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(engine)
    with factory.begin() as session:
        store = create_store(session, platform="custom", name="Bench", domain="bench.example")
        store.settings = {"quiet_start": "00:00", "quiet_end": "00:00"}  # measure timing only
        store_id = store.id
    start = datetime.now(UTC) + timedelta(seconds=20)
    rng = random.Random(1)
    due = {}
    rows = []
    for n in range(args.carts):
        at = start + timedelta(seconds=args.window * n / args.carts)
        due[f"c{n}"] = at
        rows.append(dict(store_id=store_id, cart_key=f"c{n}", status="active",
                         email=f"s{n}@example.com", first_name="Ada",
                         items=[{"title": "Mug", "quantity": 1, "unit_price": "18.00"}],
                         total=Decimal("18.00"), currency="EUR", saved_link=False,
                         last_activity_at=at - timedelta(hours=4),
                         last_event_at=at - timedelta(hours=4), stage=0, reminders_sent=0,
                         attempts=0, wake_at=at, created_at=at - timedelta(hours=4),
                         updated_at=datetime.now(UTC)))
    rng.shuffle(rows)
    with factory.begin() as session:
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Cart), rows[chunk:chunk + 5000])

    workdir = Path(tempfile.mkdtemp(prefix="cartback-lateness-"))
    env = dict(os.environ, CARTBACK_DATABASE_URL=url, CARTBACK_SECRET_KEY="bench",
               CARTBACK_OUTBOX_DIR=str(workdir / "outbox"), CARTBACK_LOG_LEVEL="WARNING",
               CARTBACK_INSTANCE_PATH=str(workdir), CARTBACK_AUTO_MIGRATE="false",
               CARTBACK_RUN_NIGHTLY="false")
    before = commits(engine, name)
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "scheduler"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 20 + args.window + 600
        while time.monotonic() < deadline:
            with factory() as session:
                sent = session.scalar(select(func.count()).select_from(Send)
                                      .where(Send.result == "sent"))
            if sent >= args.carts:
                break
            time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    elapsed = time.monotonic() - began
    used = commits(engine, name) - before

    with factory() as session:
        sends = session.execute(select(Cart.cart_key, Send.created_at)
                                .join(Send, Send.cart_id == Cart.id)
                                .where(Send.result == "sent")).all()
    lateness = [(sent_at - due[key]).total_seconds() for key, sent_at in sends]
    busy = max((s for _, s in sends)) - min((s for _, s in sends))
    rate = len(sends) / max(busy.total_seconds(), 1e-9)

    # How fast one process works through a backlog (what a cron run does):
    # 2,000 carts all due at once, sent by `cartback wake-due`.
    backlog = 2000
    now = datetime.now(UTC)
    with factory.begin() as session:
        session.execute(insert(Cart), [dict(
            row, cart_key=f"b{n}", email=f"b{n}@example.com", wake_at=now,
            last_activity_at=now - timedelta(hours=5), last_event_at=now - timedelta(hours=5))
            for n, row in enumerate(rows[:backlog])])
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "app.cli", "wake-due"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    backlog_rate = backlog / (time.monotonic() - t0)

    # The polling model: the full workload (MODEL_CARTS due evenly over an
    # hour), a scan every 15 minutes, each scan's batch worked through at the
    # backlog rate just measured.
    scans: dict[int, list[float]] = {}
    for n in range(args.model_carts):
        offset = 3600 * n / args.model_carts
        scans.setdefault(int(offset // args.scan_every) + 1, []).append(offset)
    polled = []
    free_at = 0.0  # one cron worker: a scan's batch waits for the previous one to finish
    for index, batch in sorted(scans.items()):
        begin = max(index * args.scan_every, free_at)
        for position, offset in enumerate(batch):
            polled.append(begin + (position + 1) / backlog_rate - offset)
        free_at = begin + len(batch) / backlog_rate
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(text("SELECT id FROM carts WHERE status IN ('active','reminded') "
                          "AND last_activity_at < now() - interval '4 hours'")).all()
        scan_ms = (time.perf_counter() - t0) * 1000
    hours = elapsed / 3600
    print(json.dumps({
        "carts": args.carts, "window_s": args.window, "sent": len(sends),
        "timers": {"lateness": summary(lateness), "send_rate_per_s": round(rate, 1),
                   "db_transactions": used, "db_transactions_per_hour": round(used / hours)},
        "backlog_send_rate_per_s": round(backlog_rate, 1),
        "polling_every_15_min_model": {"carts_per_hour": args.model_carts,
                                       "lateness": summary(polled),
                                       "scan_query_ms_on_this_table": round(scan_ms, 1),
                                       "scans_per_hour": round(3600 / args.scan_every)},
    }, indent=2))
    engine.dispose()


if __name__ == "__main__":
    main()
