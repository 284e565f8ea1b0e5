"""Backlog sends to the outbox: Cartback's reminders/s against the send floor.

Run by hand (numbers go to docs/performance.md, never into tests):

    .venv/bin/python bench/send_bench.py --carts 2000
    .venv/bin/python bench/send_bench.py --carts 2000 --admin-url postgresql://postgres@127.0.0.1:5432/test

A fresh database (SQLite in a temp folder, or a new PostgreSQL database) gets
N abandoned carts whose first reminder fell due an hour ago, spread over a few
stores with quiet hours off; then `iter_wake_due` (what `cartback wake-due`
runs) sends them all to the outbox in this process. The floor
(bench/send_floor.py: render, build, write the .eml) runs in the same process
right after, on as many emails (at most 5,000); the ratio is Cartback's rate
over the floor's. Peak memory (ru_maxrss) before and after the sends shows
whether a large backlog stays flat.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.carts.wake import iter_wake_due  # noqa: E402
from app.db.models import Cart, Send, Store  # noqa: E402
from app.stores import create_store  # noqa: E402
from bench.lateness_bench import fresh_database  # noqa: E402
from bench.send_floor import floor  # noqa: E402


def seed(runtime, carts: int, stores: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with runtime.db.transaction() as session:
        ids = []
        for n in range(stores):
            store = create_store(session, platform="custom", name=f"Bench {n}",
                                 domain=f"bench{n}.example")
            store.from_email = f"hello@bench{n}.example"
            # A postal address: the compliance gate sends nothing without one.
            store.settings = {"quiet_start": "00:00", "quiet_end": "00:00",
                              "postal_address": "1 Bench Street, 10115 Berlin"}
            ids.append(store.id)
    for start in range(0, carts, 10_000):
        rows = [dict(store_id=ids[n % stores], cart_key=f"due-{n}", status="active",
                     email=f"shopper{n}@example.com", first_name="Ada",
                     items=[{"title": "Mug", "quantity": 1, "unit_price": "18.00"}],
                     total=Decimal("18.00"), currency="EUR", saved_link=False,
                     last_activity_at=now - timedelta(hours=5),
                     last_event_at=now - timedelta(hours=5), stage=0, reminders_sent=0,
                     attempts=0, wake_at=now - timedelta(hours=1),
                     created_at=now - timedelta(hours=5), updated_at=now)
                for n in range(start, min(carts, start + 10_000))]
        with runtime.db.transaction() as session:
            session.execute(insert(Cart), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--admin-url", default=None,
                        help="PostgreSQL server to make a fresh database on (else SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cartback-send-"))
    if args.admin_url:
        db_url = fresh_database(args.admin_url, f"cartback_send_{int(time.time())}")
    else:
        db_url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url,
                      "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "AUTO_MIGRATE": True,
                      "OUTBOX_DIR": str(workdir / "outbox"), "RUN_SCHEDULER": False})
    runtime = app.extensions["cartback"]
    now = datetime.now(UTC)
    seed(runtime, args.carts, args.stores, now)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    handled = sum(1 for _ in iter_wake_due(runtime, now))
    seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with runtime.db.new_session() as session:
        sent = session.scalar(select(func.count()).select_from(Send)
                              .where(Send.result == "sent"))
        twice = session.scalar(select(func.count()).select_from(
            select(Send.cart_id).where(Send.result == "sent")
            .group_by(Send.cart_id, Send.move).having(func.count() > 1).subquery()))
        assert session.scalar(select(func.count()).select_from(Store)) == args.stores
    emails = len(list((workdir / "outbox").glob("*.eml")))
    assert sent == args.carts, f"only {sent} of {args.carts} reminders were sent"
    rate = sent / seconds
    floor_rate = floor(min(args.carts, 5000), workdir / "floor-outbox")
    print(json.dumps({
        "database": "postgresql" if args.admin_url else "sqlite", "carts": args.carts,
        "handled": handled, "sent": sent, "emails": emails, "sent_twice": twice,
        "seconds": round(seconds, 2),
        "reminders_per_s": round(rate), "floor_emails_per_s": round(floor_rate),
        "ratio": round(rate / floor_rate, 2),
        "peak_rss_mb_before": round(rss_before / 1024),
        "peak_rss_mb_after": round(rss_after / 1024),
    }))


if __name__ == "__main__":
    main()
