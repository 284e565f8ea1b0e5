"""The parts the domain flow needs, bundled once per process.

Web views, the scheduler's fire callback and the CLI all reach intake and the
waiter through a `Runtime`, so none of them builds its own mailer or clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.fernet import Fernet

from app.db.crypto import fernet_for
from app.db.session import Database
from app.mail.backends import Mailer
from app.mail.links import Links
from app.sms.backends import Texter
from scheduler import NullTimers, Timers


class Polisher(Protocol):
    """Rewrites the plain opening line, or returns None to keep it."""

    def polish(self, plain_line: str, *, voice: str, items: list[str], saved_link: bool,
               store_name: str) -> str | None: ...


def real_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    db: Database
    mailer: Mailer
    links: Links
    config: dict[str, Any]
    timers: Timers = field(default_factory=NullTimers)
    polisher: Polisher | None = None
    clock: Callable[[], datetime] = real_now
    texter: Texter | None = None  # SMS steps (app.sms); None: texts fail as not configured

    def fernet(self) -> Fernet:
        """The key that encrypts stored platform credentials (see app.db.crypto)."""
        return fernet_for(self.config["SECRET_KEY"], self.config.get("ENCRYPTION_KEY"))
