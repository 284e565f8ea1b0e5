"""One leader on SQLite too: a second scheduler waits as a standby on a file lock."""

from __future__ import annotations

import pytest

from app.db.session import make_engine
from app.worker.leader import Leadership


def test_second_scheduler_on_sqlite_stands_by_until_the_leader_lets_go(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL leadership is covered by test_scale_postgres")
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    first, second = Leadership(first_engine), Leadership(second_engine)
    try:
        assert first.try_acquire() is True
        assert first.try_acquire() is True  # the leader keeps what it has
        assert second.try_acquire() is False
        assert second.try_acquire() is False
        first.release()
        assert second.try_acquire() is True
        assert first.try_acquire() is False
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()
