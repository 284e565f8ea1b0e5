"""HTTP blueprints: thin views over the Flask-free domain code."""

from __future__ import annotations

from flask import current_app

from app.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["cartback"]  # type: ignore[no-any-return]
