"""Which `cartback scheduler` process runs the timers: one leader, any standbys.

PostgreSQL: the leader holds a session-level advisory lock on a connection it
keeps for its lifetime. If the process dies, PostgreSQL drops the connection
and the lock with it, and a standby's next try (every few seconds) wins.
SQLite is one machine and one process by nature: the lock always succeeds.

The leader also writes a heartbeat row, which /healthz reports.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

LOCK_KEY = 0x63617274  # "cart": one fixed key for the whole installation


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if not self.postgres:
            return True
        if self._conn is None:
            self._conn = self.engine.connect()
        got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": LOCK_KEY}).scalar())
        self._conn.commit()
        return got

    def still_held(self) -> bool:
        """False if our lock connection was lost (then another process may lead)."""
        if not self.postgres:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure means the lock may be gone
            log.exception("lost the leader connection")
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None


def beat(engine: Engine, holder: str, now: datetime) -> None:
    with engine.begin() as conn:
        updated = conn.execute(text(
            "UPDATE scheduler_heartbeat SET holder = :h, beat_at = :t WHERE id = 1"),
            {"h": holder, "t": now}).rowcount
        if not updated:
            conn.execute(text(
                "INSERT INTO scheduler_heartbeat (id, holder, beat_at) VALUES (1, :h, :t)"),
                {"h": holder, "t": now})


def last_beat(engine: Engine) -> tuple[str, datetime] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT holder, beat_at FROM scheduler_heartbeat WHERE id = 1"))\
            .first()
    if row is None:
        return None
    beat_at = row[1]
    if isinstance(beat_at, str):
        beat_at = datetime.fromisoformat(beat_at)
    if beat_at.tzinfo is None:
        from datetime import UTC

        beat_at = beat_at.replace(tzinfo=UTC)
    return str(row[0]), beat_at
