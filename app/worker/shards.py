"""Timers split into shards by store, shared by every `cartback scheduler` on PostgreSQL.

A cart belongs to shard `store_id % SCHEDULER_SHARDS` (the same number in
every process). Each process keeps one dedicated connection holding
session-level advisory locks: one *member* lock (so the others can count
the live processes from `pg_locks`) and one lock per shard it runs. Every
few seconds each process rebalances: with M live members it aims at
ceil(SHARDS / M) shards, gives back what is over that and takes free shards
up to it. Every process is the others' standby: when one dies PostgreSQL
drops its connection and its locks, the member count falls, and the next
rebalance (seconds later) takes its shards over. During a handover two
processes may both fire one cart's timer for a moment; the cart row lock
and the one-claim-per-move index still allow one reminder.
"""

from __future__ import annotations

import logging
import math

from sqlalchemy import Connection, Engine, text

from app.worker.leader import close_dead

log = logging.getLogger(__name__)

# Advisory lock classes (the two-int form): "cars" for shards, "carm" for members.
SHARD_CLASS = 0x63617273
MEMBER_CLASS = 0x6361726D


def shard_of(store_id: int, shards: int) -> int:
    return store_id % shards


class ShardLocks:
    def __init__(self, engine: Engine, shards: int) -> None:
        if shards < 1:
            raise ValueError("at least one shard")
        self.engine = engine
        self.shards = shards
        self.held: set[int] = set()
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock(:c, pg_backend_pid())"),
                               {"c": MEMBER_CLASS})
            self._conn.commit()
        return self._conn

    def members(self) -> int:
        conn = self._connection()
        count = conn.execute(text(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = :c AND objsubid = 2 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"c": MEMBER_CLASS & 0xFFFFFFFF}).scalar()
        conn.commit()
        return max(1, int(count or 0))

    def target(self, members: int) -> int:
        return math.ceil(self.shards / members)

    def rebalance(self) -> tuple[list[int], list[int]]:
        """Give back shards over this process's fair share, take free ones up to it.

        Returns (gained, lost). Raises DBAPIError when the connection is gone.
        """
        conn = self._connection()
        target = self.target(self.members())
        lost = sorted(self.held, reverse=True)[:max(0, len(self.held) - target)]
        for shard in lost:
            conn.execute(text("SELECT pg_advisory_unlock(:c, :s)"),
                         {"c": SHARD_CLASS, "s": shard})
            self.held.discard(shard)
        gained = []
        if len(self.held) < target:
            # Start from a different shard in each process so they do not all
            # race for shard 0 first.
            start = hash(conn.execute(text("SELECT pg_backend_pid()")).scalar()) % self.shards
            for step in range(self.shards):
                if len(self.held) >= target:
                    break
                shard = (start + step) % self.shards
                if shard in self.held:
                    continue
                if conn.execute(text("SELECT pg_try_advisory_lock(:c, :s)"),
                                {"c": SHARD_CLASS, "s": shard}).scalar():
                    self.held.add(shard)
                    gained.append(shard)
        conn.commit()
        return gained, lost

    def holds(self, store_id: int) -> bool:
        return shard_of(store_id, self.shards) in self.held

    def abandon(self) -> None:
        """After losing the database: forget the locks (PostgreSQL dropped them)."""
        self.held.clear()
        close_dead(self._conn)
        self._conn = None

    def release(self) -> None:
        self.held.clear()
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None

