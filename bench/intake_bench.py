"""Custom-lane intake throughput through gunicorn, measured with wrk.

Run by hand (numbers go to docs/performance.md, never into tests):

    .venv/bin/python bench/intake_bench.py --workers 2 --connections 16 --seconds 20
    .venv/bin/python bench/intake_bench.py --database-url postgresql://postgres@127.0.0.1/test ...

It makes a fresh database and store, pre-signs a pool of realistic webhook
bodies (new carts, updates, checkouts, orders, a few duplicates), starts
gunicorn on 127.0.0.1, replays the pool with wrk and prints events/s and
latency percentiles. wrk (Debian package `wrk`) keeps the load generator in C
so the two cores measure Cartback, not the client.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app import create_app  # noqa: E402
from app.stores import create_store  # noqa: E402
from platforms.signing import sign_base64  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_pool(store_id: int, secret: str, size: int, carts: int, rng: random.Random) -> list[str]:
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    lines = []
    for n in range(size):
        cart = rng.randrange(carts)
        kind = rng.choices(["cart.updated", "checkout.started", "order.placed"], [70, 25, 5])[0]
        at = start + timedelta(seconds=n)
        body = {
            "event": kind, "cart_id": f"bench-{cart}", "occurred_at": at.isoformat(),
            "items": [{"title": "Linen shirt", "quantity": rng.randint(1, 3), "price": "49.00",
                       "sku": "LS-1", "url": "https://bench.example/p/ls"}],
            "total": "98.00", "currency": "EUR", "email": f"shopper{cart}@example.com",
            "first_name": "Ada", "timezone": "Europe/Berlin", "locale": "de-DE",
            "return_url": f"https://bench.example/cart/{cart}",
            "event_id": f"evt-{n if rng.random() > 0.02 else 0}",
        }
        raw = json.dumps(body, separators=(",", ":"))
        lines.append(f"/webhooks/custom/{store_id}\t{sign_base64(secret, raw.encode())}\t{raw}")
    return lines


def run(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="cartback-bench-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    if args.database_url:  # a server to make a fresh database on, as each run needs
        from lateness_bench import fresh_database

        db_url = fresh_database(args.database_url, f"cartback_intake_{int(time.time())}")
    env_config = {"INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url,
                  "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "AUTO_MIGRATE": True}
    app = create_app(env_config)
    runtime = app.extensions["cartback"]
    with runtime.db.transaction() as session:
        store = create_store(session, platform="custom", name="Bench", domain="bench.example")
        store_id, secret = store.id, store.webhook_secret
    app.extensions["db"].engine.dispose()

    (workdir / "pool.tsv").write_text("\n".join(
        make_pool(store_id, secret, args.pool, args.carts, random.Random(1))) + "\n")
    env = dict(os.environ, CARTBACK_DATABASE_URL=db_url, CARTBACK_SECRET_KEY="bench",
               CARTBACK_LOG_LEVEL="WARNING", CARTBACK_RUN_SCHEDULER="false",
               CARTBACK_AUTO_MIGRATE="false", CARTBACK_OUTBOX_DIR=str(workdir / "outbox"))
    out = serve_and_load(args, "wsgi:app", env, workdir)
    floor_out = None
    if args.floor:
        env_floor = dict(os.environ, FLOOR_DATABASE_URL=floor_url(db_url, workdir),
                         FLOOR_SECRET=secret)
        os.environ.update(FLOOR_DATABASE_URL=env_floor["FLOOR_DATABASE_URL"])
        import intake_floor

        intake_floor.create_table()
        intake_floor.engine.dispose()
        floor_out = serve_and_load(args, "intake_floor:app", env_floor, workdir,
                                   cwd=ROOT / "bench")
    shutil.rmtree(workdir, ignore_errors=True)
    result = parse(args, out)
    if floor_out is not None:
        floor = parse(args, floor_out)
        result["floor_events_per_s"] = floor["events_per_s"]
        result["floor_p99_ms"] = floor["p99_ms"]
        result["floor_non_2xx"] = floor["non_2xx"]
        result["ratio"] = round(int(str(result["events_per_s"]))
                                / int(str(floor["events_per_s"])), 2)
    return result


def floor_url(db_url: str, workdir: Path) -> str:
    if db_url.startswith("postgresql"):
        return db_url  # the floor's own table beside Cartback's
    return f"sqlite:///{workdir / 'floor.db'}"


def serve_and_load(args: argparse.Namespace, wsgi: str, env: dict[str, str], workdir: Path,
                   cwd: Path = ROOT) -> str:
    pool = workdir / "pool.tsv"
    port = free_port()
    gunicorn = subprocess.Popen(
        # -c /dev/null: measure the bare server, not the repo's gunicorn.conf.py
        # (its access log would cost a write per request).
        [str(Path(sys.executable).parent / "gunicorn"), wsgi, "-c", "/dev/null",
         "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=cwd, env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=1)  # noqa: S310
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        return subprocess.run(
            ["wrk", "-t", str(args.threads), "-c", str(args.connections),
             "-d", f"{args.seconds}s", "-s", str(ROOT / "bench" / "wrk_custom.lua"),
             f"http://127.0.0.1:{port}", "--", str(pool),
             str(args.burst // args.threads if args.burst else 0)],
            capture_output=True, text=True, check=True).stdout
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)


def parse(args: argparse.Namespace, out: str) -> dict[str, object]:
    match = re.search(r"RESULT (.*)", out)
    assert match, out
    fields = {k: int(v) for k, v in (p.split("=") for p in match.group(1).split())}
    seconds = fields["duration_us"] / 1e6
    return {
        "database": "postgresql" if args.database_url else "sqlite",
        "workers": args.workers, "connections": args.connections,
        "events": fields["requests"], "events_per_s": round(fields["requests"] / seconds),
        "non_2xx": fields["non2xx"], "p50_ms": fields["p50_us"] / 1000,
        "p90_ms": fields["p90_us"] / 1000, "p99_ms": fields["p99_us"] / 1000,
        "max_ms": fields["max_us"] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--pool", type=int, default=50_000)
    parser.add_argument("--carts", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--floor", action="store_true",
                        help="also serve bench/intake_floor.py the same way and print the ratio")
    parser.add_argument("--burst", type=int, default=0,
                        help="send exactly this many events as fast as possible, then stop "
                             "(give --seconds generously)")
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
