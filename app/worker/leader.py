"""Which `cartback scheduler` process runs the timers: one leader, any standbys.

PostgreSQL: the leader holds a session-level advisory lock on a connection it
keeps for its lifetime. If the process dies, PostgreSQL drops the connection
and the lock with it, and a standby's next try (every few seconds) wins.
SQLite is one machine: the leader holds an exclusive lock on a file beside
the database (flock), which the kernel drops when the process dies, so a
second `cartback scheduler` waits as a standby there too.

The leader also writes a heartbeat row, which /healthz reports.
"""

from __future__ import annotations

import fcntl
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
        self._file: int | None = None  # SQLite: the open, flocked lock file

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _lock_path(self) -> str | None:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None  # an in-memory database is one process by nature
        return f"{database}.scheduler.lock"

    def _try_file_lock(self) -> bool:
        if self._file is not None:
            return True
        path = self._lock_path()
        if path is None:
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._file = fd
        return True

    def try_acquire(self) -> bool:
        if not self.postgres:
            return self._try_file_lock()
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
            self._drop_connection()
            return False

    def abandon(self) -> None:
        """Let go after losing the database: close what we hold, ignore errors."""
        if self._file is not None:
            os.close(self._file)
            self._file = None
        self._drop_connection()

    def _drop_connection(self) -> None:
        close_dead(self._conn)
        self._conn = None

    def release(self) -> None:
        if self._file is not None:
            os.close(self._file)  # closing drops the flock
            self._file = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None


def close_dead(conn: Connection | None) -> None:
    """Close a connection the database dropped. Closed, not just forgotten: a
    psycopg connection left open would only be noticed by the garbage collector."""
    if conn is None:
        return
    try:
        conn.invalidate()
        conn.close()
    except Exception:  # noqa: BLE001, S110 - the connection is already dead
        pass


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
