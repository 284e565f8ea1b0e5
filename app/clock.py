"""The moment a command acts as: `--now` in ISO 8601 with an offset, else the real now.

Shared by the core CLI and every integration's command group, so
`cartback wake-due --now ...` and `cartback <platform> reconcile --now ...`
read time the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise click.BadParameter("use ISO 8601, e.g. 2026-11-23T15:00:00+00:00") from err
    if parsed.tzinfo is None:
        raise click.BadParameter("include a UTC offset, e.g. +00:00 or Z")
    return parsed
