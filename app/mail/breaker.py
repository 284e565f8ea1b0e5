"""The mail circuit breaker: when the provider refuses all mail, stop asking.

An account-level refusal (`MailPaused`: quota used up, sending paused or
suspended, a missing configuration set, an unverified MAIL FROM domain)
opens a pause for its scope: the whole backend (`backend:ses`), or one
store when only its sending identity is at fault (`store:7`). While a pause
is open, due reminders are deferred to its `retry_at` (Send `deferred`,
reason `mail_paused`), never failed. At `retry_at` exactly one wake is let
through as the probe (it takes a short lease so the others wait behind it);
its success closes the pause and everyone else goes on their next wake, its
failure moves `retry_at` on. Opening logs at error level once and counts a
metric; the admin dashboard shows open pauses as a banner.

The state is a table (`mail_pauses`), so every scheduler process and the
web processes see the same breaker, and it survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import MailPause
from app.errors import MailPaused

log = logging.getLogger(__name__)

# How long the probing wake holds the breaker before another may probe.
PROBE_LEASE = timedelta(minutes=2)

OPENED = Counter("cartback_mail_breaker_opened_total",
                 "Times the provider paused our sending (circuit breaker opened)",
                 ["scope", "kind"])


@dataclass(frozen=True)
class Timing:
    """When to try again: quota resets on a rolling 24 h window (try hourly);
    a pause or a broken setup needs a human (probe every few minutes)."""

    quota_retry: timedelta = timedelta(hours=1)
    probe_every: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Timing:
        return cls(quota_retry=timedelta(minutes=float(str(config["MAIL_QUOTA_RETRY_MINUTES"]))),
                   probe_every=timedelta(minutes=float(str(config["MAIL_PROBE_MINUTES"]))))

    def retry_after(self, kind: str) -> timedelta:
        return self.quota_retry if kind == "quota" else self.probe_every


def scopes(backend: str, store_id: int) -> tuple[str, str]:
    return f"backend:{backend}", f"store:{store_id}"


def open_pauses(session: Session, backend: str, store_id: int) -> Sequence[MailPause]:
    return session.scalars(select(MailPause).where(
        MailPause.scope.in_(scopes(backend, store_id)), MailPause.closed_at.is_(None),
    ).order_by(MailPause.opened_at)).all()


def wait_until(session: Session, backend: str, store_id: int, now: datetime) -> datetime | None:
    """When a due reminder of this store must wait for the breaker; None to go now.

    None also when this wake is the probe: it took the probe lease, so a
    burst of deferred carts due at the same minute sends one probe, not all.
    """
    pauses = open_pauses(session, backend, store_id)
    waiting = [p.retry_at for p in pauses if p.retry_at > now]
    if waiting:
        return max(waiting)
    for pause in pauses:
        taken = session.execute(
            update(MailPause)
            .where(MailPause.id == pause.id, MailPause.closed_at.is_(None),
                   MailPause.retry_at <= now)
            .values(retry_at=now + PROBE_LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            return now + PROBE_LEASE  # another wake is probing right now
    return None


def trip(session: Session, error: MailPaused, backend: str, store_id: int, now: datetime,
         timing: Timing) -> MailPause:
    """Open (or keep open) the pause `error` calls for; returns it with its retry time."""
    scope = scopes(backend, store_id)[1 if error.store_level else 0]
    retry_at = now + timing.retry_after(error.kind)
    pause = session.scalars(select(MailPause).where(
        MailPause.scope == scope, MailPause.closed_at.is_(None))).first()
    if pause is not None:
        pause.failed_probes += 1
        pause.kind, pause.reason, pause.retry_at = error.kind, error.reason[:200], retry_at
        log.warning("mail still paused: probe refused", extra={
            "scope": scope, "kind": error.kind, "retry_at": retry_at.isoformat()})
        return pause
    pause = MailPause(scope=scope, kind=error.kind, reason=error.reason[:200], opened_at=now,
                      retry_at=retry_at, failed_probes=0)
    try:
        with session.begin_nested():
            session.add(pause)
    except IntegrityError:
        # Another process opened it a moment ago: use theirs.
        return trip(session, error, backend, store_id, now, timing)
    OPENED.labels(scope.split(":")[0], error.kind).inc()
    log.error("mail paused by the provider: deferring every due reminder", extra={
        "scope": scope, "kind": error.kind, "reason": error.reason,
        "retry_at": retry_at.isoformat()})
    return pause


def close(session: Session, backend: str, store_id: int, now: datetime) -> int:
    """A message went through: the pauses over this store are over."""
    closed = session.execute(
        update(MailPause)
        .where(MailPause.scope.in_(scopes(backend, store_id)), MailPause.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        log.warning("mail resumed: the provider accepted a message again",
                    extra={"backend": backend, "store_id": store_id})
    return int(closed or 0)
