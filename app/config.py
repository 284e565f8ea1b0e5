"""Configuration in layers: defaults, then `CARTBACK_*` env vars, then overrides.

Every key is read once at start and checked here, so a wrong value fails fast
with a sentence a person understands instead of a stack trace at 3 am.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.errors import ConfigError

PREFIX = "CARTBACK_"

# Keys whose string values from the environment are turned into booleans/ints.
BOOL_KEYS = {"RUN_SCHEDULER", "RUN_NIGHTLY", "TESTING", "AUTO_MIGRATE", "SMTP_STARTTLS",
             "SMTP_SSL"}
INT_KEYS = {"MAX_BODY_BYTES", "SMTP_PORT", "POLISH_TIMEOUT_MS", "DB_POOL_SIZE",
            "RETENTION_DAYS", "STORE_REDACT_DAYS"}
FLOAT_KEYS = {"SES_MAX_SEND_RATE"}

MAIL_BACKENDS = {"outbox", "smtp", "ses"}


def defaults(instance_path: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": f"sqlite:///{instance_path / 'cartback.db'}",
        "SECRET_KEY": None,  # generated and kept in the instance folder when unset
        "PUBLIC_URL": "http://localhost:5000",
        "MAIL_BACKEND": "outbox",
        "OUTBOX_DIR": str(instance_path / "outbox"),
        "EXPORT_DIR": str(instance_path / "exports"),
        "RETENTION_DAYS": 30,
        "STORE_REDACT_DAYS": 30,
        "RUN_SCHEDULER": False,
        "AUTO_MIGRATE": None,  # None: migrate automatically for SQLite only
        "MAX_BODY_BYTES": 256 * 1024,
        "DB_POOL_SIZE": 5,
        "LOG_LEVEL": "INFO",
    }


def _coerce(key: str, value: str) -> Any:
    if key in BOOL_KEYS:
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{PREFIX}{key} must be true or false, not {value!r}.")
    if key in INT_KEYS:
        try:
            return int(value)
        except ValueError as err:
            raise ConfigError(f"{PREFIX}{key} must be a whole number, not {value!r}.") from err
    if key in FLOAT_KEYS:
        try:
            return float(value)
        except ValueError as err:
            raise ConfigError(f"{PREFIX}{key} must be a number, not {value!r}.") from err
    return value


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key[len(PREFIX):]: _coerce(key[len(PREFIX):], value)
        for key, value in environ.items()
        if key.startswith(PREFIX) and len(key) > len(PREFIX)
    }


def load(instance_path: Path, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    config = defaults(instance_path)
    config.update(from_env(os.environ if environ is None else environ))
    config.update(overrides or {})
    _validate(config)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(instance_path)
    if config["AUTO_MIGRATE"] is None:
        config["AUTO_MIGRATE"] = str(config["DATABASE_URL"]).startswith("sqlite")
    return config


def _validate(config: Mapping[str, Any]) -> None:
    backend = config["MAIL_BACKEND"]
    if backend not in MAIL_BACKENDS:
        choices = ", ".join(sorted(MAIL_BACKENDS))
        raise ConfigError(f"{PREFIX}MAIL_BACKEND is {backend!r}; choose one of {choices}.")
    public_url = str(config["PUBLIC_URL"])
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must be the http(s) address shoppers reach us "
                          f"at, not {public_url!r}.")
    url = str(config["DATABASE_URL"])
    if not url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"{PREFIX}DATABASE_URL must be a sqlite:// or postgresql:// URL.")


def _instance_secret(instance_path: Path) -> str:
    """A stable per-install secret, so signed links survive a restart.

    Production sets CARTBACK_SECRET_KEY; the embedded default keeps one in the
    instance folder rather than inventing a new one on every start.
    """
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
