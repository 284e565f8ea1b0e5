"""Intake in process: CPU per event through the Flask test client, Cartback
against the floor in the same run, and optionally where Cartback's time goes.

Run by hand (numbers go to docs/performance.md, never into tests):

    .venv/bin/python bench/intake_profile.py --events 3000 [--profile] \
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

The same pool of signed bodies as bench/intake_bench.py goes to each app's
test client (no server, no load generator), so the figure is the request's
own cost: web stack, verification, parsing, the database work and commit.
`--profile` prints cProfile's top functions for Cartback's run; the statement
count is every statement the engine executed (round trips on PostgreSQL).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake_bench import floor_url, make_pool  # noqa: E402
from sqlalchemy import event  # noqa: E402


def _requests(pool: list[str]) -> list[tuple[str, str, bytes]]:
    out = []
    for line in pool:
        path, mac, body = line.split("\t", 2)
        out.append((path, mac, body.encode()))
    return out


def _drive(client, requests, profile: cProfile.Profile | None = None) -> float:
    cpu = time.process_time()
    if profile:
        profile.enable()
    for path, mac, body in requests:
        answer = client.post(path, data=body, headers={
            "X-Cartback-Hmac-Sha256": mac, "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.get_data()
    if profile:
        profile.disable()
    return (time.process_time() - cpu) / len(requests) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--carts", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from app import create_app
    from app.stores import create_store

    workdir = Path(tempfile.mkdtemp(prefix="cartback-profile-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    if args.database_url:
        from lateness_bench import fresh_database

        db_url = fresh_database(args.database_url, f"cartback_profile_{int(time.time())}")
    app = create_app({"INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url,
                      "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "AUTO_MIGRATE": True,
                      "RUN_SCHEDULER": False, "OUTBOX_DIR": str(workdir / "outbox")})
    runtime = app.extensions["cartback"]
    with runtime.db.transaction() as session:
        store = create_store(session, platform="custom", name="Bench", domain="bench.example")
        store_id, secret = store.id, store.webhook_secret
    pool = _requests(make_pool(store_id, secret, args.events * 2, args.carts,
                               random.Random(1)))
    warm, timed = pool[:args.events], pool[args.events:]

    statements = [0]
    event.listen(runtime.db.engine, "before_cursor_execute",
                 lambda *_: statements.__setitem__(0, statements[0] + 1))
    client = app.test_client()
    _drive(client, warm[:500])
    before = statements[0]
    profile = cProfile.Profile() if args.profile else None
    ours = _drive(client, timed, profile)
    per_event = (statements[0] - before) / len(timed)

    os.environ.update(FLOOR_DATABASE_URL=floor_url(db_url, workdir), FLOOR_SECRET=secret)
    import intake_floor

    intake_floor.create_table()
    floor_client = intake_floor.app.test_client()
    _drive(floor_client, warm[:500])
    floor = _drive(floor_client, timed)
    print(f"cartback {ours:.3f} ms CPU/event, {per_event:.1f} statements/event; "
          f"floor {floor:.3f} ms; ratio {floor / ours:.2f}")
    if profile:
        stats = pstats.Stats(profile).sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        stats.print_callees(r"session.py.*\(transaction\)|util.py.*\(__exit__\)|session.py.*\(close\)|_finalize_fairy|base.py.*\(commit\)")


if __name__ == "__main__":
    main()
