"""The admin's error answers: a page in the admin's own look for a person, JSON for code.

A browser navigating (it asks for text/html) gets a page that says what
happened and what to do next; fetches and API clients keep the JSON answer
the app's error map gives everywhere else. A refused platform session token
also carries that platform's retry headers (Embedding.refused_headers), so
its script fetches a fresh token.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from app import integrations
from app.errors import BadCsrf, NotSignedIn
from app.web.admin.auth import bearer_token


def wants_page() -> bool:
    """A document load, not a fetch: the browser named text/html outright."""
    return "text/html" in request.headers.get("Accept", "")


def _answer(status: int, kind: str, message: str,
            headers: dict[str, str] | None = None) -> ResponseReturnValue:
    if not wants_page():
        return jsonify({"error": message}), status, headers or {}
    return render_template("admin/error.html", kind=kind, status=status,
                           store=g.get("store"), embed_head=None), status, headers or {}


def register(bp: Blueprint) -> None:
    @bp.errorhandler(NotSignedIn)
    def _not_signed_in(err: NotSignedIn) -> ResponseReturnValue:
        return _answer(401, "session", err.public_message,
                       integrations.admin_refused_headers() if bearer_token() else None)

    @bp.errorhandler(BadCsrf)
    def _bad_csrf(err: BadCsrf) -> ResponseReturnValue:
        return _answer(400, "form", err.public_message)

    @bp.errorhandler(404)
    def _not_found(err: HTTPException) -> ResponseReturnValue:
        return _answer(404, "missing", "not found")

    @bp.errorhandler(500)
    def _server_error(err: HTTPException) -> ResponseReturnValue:
        return _answer(500, "server", "internal error")
