"""Shared fixtures: an app on a fresh database (SQLite, and PostgreSQL when a
URL is given), a controllable clock, stores, and signed webhook posts.

Every test that uses `app` runs once per database backend. PostgreSQL runs
when CARTBACK_TEST_POSTGRES_URL is set (`.ci/run` sets it); without it those
runs are skipped with a visible reason.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db.models import Base, Store
from app.db.session import make_engine, upgrade
from app.stores import create_store
from platforms.signing import sign_base64
from tests.factories import POSTAL_ADDRESS, Clock, read_outbox

POSTGRES_URL = os.environ.get("CARTBACK_TEST_POSTGRES_URL")


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return "databases: SQLite and PostgreSQL (CARTBACK_TEST_POSTGRES_URL is set)"
    return ("databases: SQLite only; PostgreSQL runs are SKIPPED because "
            "CARTBACK_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: set CARTBACK_TEST_POSTGRES_URL to enable it")
    name = f"cartback_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_psycopg(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith(
        "postgresql://") else url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path,
                 sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "cartback.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to change config for its tests."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: Clock,
        app_overrides: dict[str, Any]) -> Iterator[Any]:
    overrides = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "PUBLIC_URL": "https://cartback.test",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "RUN_SCHEDULER": False,
        "AUTO_MIGRATE": False,
        "LOG_LEVEL": "WARNING",
    }
    overrides.update(app_overrides)
    application = create_app(overrides)
    application.extensions["cartback"].clock = clock
    yield application
    application.extensions["db"].engine.dispose()


@pytest.fixture
def runtime(app: Any) -> Any:
    return app.extensions["cartback"]


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class CliRunner:
    """Invokes the `cartback` command group against the test app."""

    def __init__(self, app: Any) -> None:
        self._runner = app.test_cli_runner()

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        """`invoke([...])` runs `cartback ...`; `invoke(group, [...])` runs another group."""
        from app.cli import cli

        if args and not isinstance(args[0], list):
            return self._runner.invoke(*args, **kwargs)
        if args:
            kwargs["args"] = args[0]
        return self._runner.invoke(cli, **kwargs)


@pytest.fixture
def runner(app: Any) -> CliRunner:
    return CliRunner(app)


@pytest.fixture
def make_store(runtime: Any) -> Any:
    def _make(**fields: Any) -> Store:
        # Every store has the postal address the compliance gate asks for, unless a
        # test says otherwise (settings={"postal_address": ""}).
        settings = {"postal_address": POSTAL_ADDRESS, **(fields.pop("settings", None) or {})}
        values = {"platform": "custom", "name": "Maple & Co", "domain": "maple.example",
                  "timezone": "UTC", "from_email": "hello@maple.example"}
        values.update(fields)
        with runtime.db.transaction() as session:
            store = create_store(session, **values)
            store.settings = settings
        return store

    return _make


@pytest.fixture
def store(make_store: Any) -> Store:
    return make_store()


@pytest.fixture
def admin(app: Any, runtime: Any) -> Any:
    """A signed-in admin for a store: a client holding the session cookie, and get/post
    helpers (post adds the CSRF token)."""
    from app.web.admin.auth import COOKIE, COOKIE_PATH, csrf_token, mint_session

    class Admin:
        def __init__(self, store):
            with app.test_request_context():
                self.s = mint_session(store.id)
                self.csrf = csrf_token(self.s)
            self.client = app.test_client()
            self.client.set_cookie(COOKIE, self.s, path=COOKIE_PATH)
            self.store = store

        def get(self, path, **params):
            return self.client.get(path, query_string=params or None)

        def post(self, path, data=None, **kwargs):
            data = dict(data or {})
            data.setdefault("csrf", self.csrf)
            return self.client.post(path, data=data, **kwargs)

    return Admin


@pytest.fixture
def post_custom(client: Any, store: Store) -> Any:
    """POST a correctly signed custom webhook (dict → JSON, or raw bytes)."""

    def _post(body: dict[str, Any] | bytes, *, target: Store | None = None,
              secret: str | None = None, signature: str | None = None) -> Any:
        target = target or store
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sig = signature if signature is not None else sign_base64(
            secret or target.webhook_secret, raw)
        return client.post(f"/webhooks/custom/{target.id}", data=raw,
                           headers={"X-Cartback-Hmac-Sha256": sig,
                                    "Content-Type": "application/json"})

    return _post


@pytest.fixture
def outbox(app: Any) -> Any:
    return lambda: read_outbox(app.config["OUTBOX_DIR"])
