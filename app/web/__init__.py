"""HTTP blueprints: thin views over the Flask-free domain code."""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["cartback"]  # type: ignore[no-any-return]


# Ids are PostgreSQL `integer` columns: anything larger names no row. Route parameters
# are bounded by the app's `int` converter (app.factory.RowId); form fields by `row_id`.
MAX_ROW_ID = 2**31 - 1


def row_id(value: str | None) -> int | None:
    """A row id from a form or query field, or None when it cannot be one."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 10:
        return None
    number = int(value.strip())
    return number if 0 < number <= MAX_ROW_ID else None


def has_nul(values: Any) -> bool:
    """True when a MultiDict's keys or values hold a NUL character (PostgreSQL refuses
    NUL in any text, with an error rather than a no-match)."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))
