"""One exception hierarchy: every error the app raises on purpose is declared in app/errors.py."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from app import errors

ROOT = Path(__file__).resolve().parents[2]


def test_errors_no_exception_class_is_declared_outside_app_errors():
    declared_elsewhere = []
    for path in (ROOT / "app").rglob("*.py"):
        if path == ROOT / "app" / "errors.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception"))
                    for base in node.bases):
                declared_elsewhere.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert declared_elsewhere == []


def test_errors_every_error_maps_to_an_http_status_and_a_safe_message():
    for _name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.CartbackError):
            assert 400 <= cls.status < 600
            assert cls.public_message and "Traceback" not in cls.public_message


def test_errors_input_errors_are_value_errors_and_say_what_was_wrong():
    err = errors.SettingsError({"quiet_start": "use HH:MM"})
    assert isinstance(err, ValueError) and err.status == 400
    assert err.public_message == "quiet_start: use HH:MM"
