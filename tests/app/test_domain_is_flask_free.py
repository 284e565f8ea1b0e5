"""Intake, waiter and gates must test without a request: they never import Flask."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ["app/carts/intake.py", "app/core/waiter.py", "app/core/gates.py", "app/carts/sender.py",
          "app/carts/wake.py", "app/core/rules.py", "app/mail/compose.py", "app/carts/history.py",
          "app/carts/ingest.py"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_does_not_import_flask(module):
    imports = imported_modules(ROOT / module)
    assert not any(name == "flask" or name.startswith(("flask.", "werkzeug")) for name in imports)


def test_only_scheduler_imports_apscheduler():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("app", "platforms")
        for path in (ROOT / folder).rglob("*.py")
        if any(name.startswith("apscheduler") for name in imported_modules(path))
    ]
    assert offenders == []


def test_platform_adapters_import_neither_flask_nor_the_database():
    for path in (ROOT / "platforms").rglob("*.py"):
        imports = imported_modules(path)
        assert not any(n.startswith(("flask", "sqlalchemy", "app")) for n in imports), path.name
