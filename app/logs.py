"""Structured, private logs: one JSON object per line, ids in fields.

Anything passed in `extra` (store_id, cart_id, move, reason...) becomes a
field. Never log tokens, secrets or full email addresses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


_context: ContextVar[dict[str, Any] | None] = ContextVar("cartback_log_context", default=None)


def context_fields() -> dict[str, Any]:
    return dict(_context.get() or {})


def add_context(**fields: Any) -> None:
    """Add fields to the current log context (e.g. a store id learnt mid-way)."""
    _context.set({**context_fields(), **fields})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every log line inside carries these fields (store_id, cart_id, ...)."""
    token = _context.set({**context_fields(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(context_fields())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                plain = isinstance(value, (int, float, bool, type(None)))
                data[key] = value if plain else str(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Migration chatter on every start says nothing an operator needs.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every added job at INFO (one line per cart change) and a
    # warning when a cart's wake is re-armed while it runs, which is expected
    # here: the row is the truth and the second fire finds nothing due.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


def mask_email(address: str | None) -> str:
    """j***@example.com: enough to tell shoppers apart in a log, not to mail them."""
    if not address or "@" not in address:
        return "-"
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"
