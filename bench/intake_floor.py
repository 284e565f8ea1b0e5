"""The intake floor: a bare Flask view that checks the HMAC, parses the JSON
and upserts one row, on the same database engine Cartback uses.

Served by bench/intake_bench.py (`--floor`) with the same gunicorn, wrk and
pool of signed bodies, so the ratio compares like with like. No dedupe, no
order safety, no timeline, no wake time: only what any receiver must do.
Configured by env: FLOOR_DATABASE_URL, FLOOR_SECRET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from flask import Flask, abort, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
_url = os.environ.get("FLOOR_DATABASE_URL", "sqlite:///floor.db")
if _url.startswith("postgresql://"):
    _url = "postgresql+psycopg://" + _url[len("postgresql://"):]
engine = create_engine(_url)
SECRET = os.environ.get("FLOOR_SECRET", "").encode()
UPSERT = text(
    "INSERT INTO floor_carts (store_id, cart_key, kind, occurred_at, body) "
    "VALUES (:s, :k, :e, :t, :b) ON CONFLICT (store_id, cart_key) DO UPDATE SET "
    "kind = excluded.kind, occurred_at = excluded.occurred_at, body = excluded.body")


def create_table() -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS floor_carts (store_id INTEGER NOT NULL, "
            "cart_key VARCHAR(255) NOT NULL, kind VARCHAR(40), occurred_at VARCHAR(40), "
            "body TEXT, PRIMARY KEY (store_id, cart_key))")


if engine.dialect.name == "sqlite":
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")


@app.post("/webhooks/custom/<int:store_id>")
def receive(store_id: int):  # type: ignore[no-untyped-def]
    raw = request.get_data()
    given = request.headers.get("X-Cartback-Hmac-Sha256", "").encode()
    mac = base64.b64encode(hmac.new(SECRET, raw, hashlib.sha256).digest())
    if not hmac.compare_digest(mac, given):
        abort(401)
    body = json.loads(raw)
    with engine.begin() as conn:
        conn.execute(UPSERT, {"s": store_id, "k": body["cart_id"], "e": body["event"],
                              "t": body["occurred_at"], "b": raw.decode()})
    return {"ok": True}
