"""Engine and sessions, bound to the app in `init_app`.

Every caller opens its own short transaction (`db.transaction()`) and domain
code takes a `Session` argument; nothing here knows about requests, so the
worker, the CLI and the web share one way in.
"""

from __future__ import annotations

import fcntl
import os
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import Busy

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# How long a bounded transaction (every webhook's) may wait on a lock in all:
# platforms give up after 5 s (Shopify), so we answer 503 well before that.
WEBHOOK_LOCK_S = 2.0
SQLITE_BUSY_MS = 30_000  # everyone else waits as long as it takes
# PostgreSQL: lock_timeout, and a statement_timeout a little above it.
PG_TIMEOUT_SQLSTATES = ("55P03", "57014")  # lock_not_available, query_canceled


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": SQLITE_BUSY_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            # WAL lets the scheduler thread read while a web request writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "checkin")
        def _sqlite_default_wait(dbapi_conn: Any, _record: Any) -> None:
            # A bounded transaction shortened this connection's busy timeout.
            dbapi_conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2)
    # Instead of the pool's pre-ping (a SELECT 1 round trip on every checkout,
    # a tenth of a webhook's round trips): a connection the server has closed
    # or is closing (a restart, pg_terminate_backend, an idle timeout) has its
    # goodbye waiting on the socket, while a live idle one has nothing to read.
    # DisconnectionError makes the pool throw it away and hand out another.
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    try:
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
        waiting = poller.poll(0)
    except Exception as err:  # a closed connection has no socket left to ask
        raise DisconnectionError("connection already closed") from err
    if waiting:
        raise DisconnectionError("the server closed or is closing this connection")


class Database:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None
        self._turn_path: str | None = None

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(url, app.config["DB_POOL_SIZE"])
        database = self.engine.url.database if url.startswith("sqlite") else None
        self._turn_path = (f"{database}.writer.lock"
                           if database and database != ":memory:" else None)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        app.extensions["db"] = self

    def new_session(self) -> Session:
        assert self.factory is not None, "Database.init_app was not called"
        return self.factory()

    @contextmanager
    def transaction(self, *, lock_wait_s: float | None = None) -> Iterator[Session]:
        """A fresh session that commits on success and rolls back on error.

        With `lock_wait_s`, waiting on a lock (a PostgreSQL row lock, SQLite's
        write lock) or a slow statement is bounded: past it everything rolls
        back and Busy is raised.
        """
        try:
            with self._writer_turn(lock_wait_s) as remaining, self._begun(remaining) as session:
                yield session
        except OperationalError as err:
            if lock_wait_s is not None and _timed_out(err):
                raise Busy(f"database busy for over {lock_wait_s:g} s") from err
            raise

    @contextmanager
    def _begun(self, remaining: float | None) -> Iterator[Session]:
        """A session in a transaction, its waits bounded when `remaining` is set.

        Bounding is the transaction's first round trip, so it is where a
        connection the server dropped a moment ago shows (the checkout's socket
        check sees only a goodbye already on the wire): nothing has been done
        yet, so the transaction starts once more on another connection rather
        than answer a webhook with an error.
        """
        for attempt in (1, 2):
            session = self.new_session()
            begun = session.begin()
            try:
                if remaining is not None:
                    _bound(session, remaining)
                break
            except OperationalError as err:
                begun.rollback()
                session.close()
                if attempt == 2 or not err.connection_invalidated:
                    raise
        with session, begun:
            yield session

    @contextmanager
    def _writer_turn(self, lock_wait_s: float | None) -> Iterator[float | None]:
        """SQLite: bounded (webhook) transactions take turns on a file lock beside
        the database before they begin; yields the time left of `lock_wait_s`.

        SQLite's own wait for its write lock sleeps in growing steps (1, 2, 5,
        10 ... 100 ms), so web workers fighting over it mostly sleep; in turns,
        the next one starts within a fraction of a millisecond of the last
        commit. Past `lock_wait_s` in the queue, Busy (503) as before.
        """
        if lock_wait_s is None or self._turn_path is None:
            yield lock_wait_s
            return
        deadline = time.monotonic() + lock_wait_s
        fd = os.open(self._turn_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            pause = 0.0001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy(f"database busy for over {lock_wait_s:g} s") from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
            yield max(0.05, deadline - time.monotonic())
        finally:
            os.close(fd)  # closing drops the flock


def _bound(session: Session, seconds: float) -> None:
    ms = int(seconds * 1000)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip for both (SET LOCAL is set_config(..., is_local => true)).
        session.execute(text("SELECT set_config('lock_timeout', :lock, true), "
                             "set_config('statement_timeout', :statement, true)"),
                        {"lock": f"{ms}ms", "statement": f"{ms + 500}ms"})
    else:
        # Per connection; the pool's checkin hook puts the default back. On the
        # driver's connection directly, like that hook: through SQLAlchemy's
        # statement machinery it cost as much as one of intake's statements.
        session.connection().connection.driver_connection.execute(
            f"PRAGMA busy_timeout = {ms}")


def _timed_out(err: OperationalError) -> bool:
    if getattr(err.orig, "sqlstate", None) in PG_TIMEOUT_SQLSTATES:
        return True
    return "database is locked" in str(err.orig)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def dialect_insert(session: Session) -> Any:
    """The INSERT construct of the session's database, for ON CONFLICT upserts.

    Both dialects spell `on_conflict_do_nothing`/`_do_update` the same way;
    only the construct differs.
    """
    return insert_for_dialect(session.get_bind().dialect.name)


def insert_for_dialect(name: str) -> Any:
    """`dialect_insert` by dialect name, for statements built once per dialect."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if name == "postgresql" else sqlite_insert
