"""Configuration in layers: defaults, then `CARTBACK_*` env vars, then overrides.

Every core setting is declared once below with its type, default and allowed
range; `load` builds the whole configuration once at start, coerces each
value to its declared type and checks it, so a wrong value fails fast with a
sentence a person understands instead of a stack trace at 3 am, and no caller
re-parses a setting. Keys an integration owns (`SHOPIFY_*`) pass through as
given and are checked by that integration's own config.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.core.addresses import looks_like_address
from app.errors import ConfigError

PREFIX = "CARTBACK_"
INSTANCE = "<instance>"  # stands for the instance folder in declared defaults
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Setting:
    key: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", str, f"sqlite:///{INSTANCE}/cartback.db",
            "sqlite:///... or postgresql://user@host/db"),
    Setting("SECRET_KEY", str, None, "signs shopper links and admin sessions"),
    Setting("ENCRYPTION_KEY", str, None, "Fernet key encrypting platform tokens at rest"),
    Setting("PUBLIC_URL", str, "http://localhost:5000", "base of every link we email"),
    Setting("MAIL_BACKEND", str, "outbox", "where reminders go",
            choices=("outbox", "smtp", "ses")),
    Setting("OUTBOX_DIR", str, f"{INSTANCE}/outbox", "folder of .eml files (outbox backend)"),
    Setting("EXPORT_DIR", str, f"{INSTANCE}/exports", "folder of nightly CSV/XLSX files"),
    Setting("RETENTION_DAYS", int, 30, "days before an idle cart's personal data is erased",
            minimum=1, maximum=3650),
    Setting("STORE_REDACT_DAYS", int, 30, "days after uninstall before a store is erased",
            minimum=1, maximum=3650),
    Setting("RUN_SCHEDULER", bool, False, "run the per-cart timers in this process"),
    Setting("RUN_NIGHTLY", bool, True, "run the periodic and nightly jobs with the timers"),
    Setting("SCHEDULER_SHARDS", int, 16,
            "shards the timers are split into by store (PostgreSQL; the same in every "
            "scheduler process)", minimum=1, maximum=4096),
    Setting("AUTO_MIGRATE", bool, None, "apply migrations at start (default: SQLite only)"),
    Setting("TESTING", bool, False, "test mode"),
    Setting("TRUSTED_PROXIES", int, 0,
            "how many proxies/load balancers in front of the app add X-Forwarded-For "
            "(0: the client address is the socket's, and X-Forwarded-For is ignored)",
            minimum=0, maximum=10),
    Setting("MAX_BODY_BYTES", int, 256 * 1024, "largest webhook body accepted",
            minimum=1024, maximum=64 * 1024 * 1024),
    Setting("PLATFORM_BODY_BYTES", int, 16 * 1024 * 1024,
            "largest platform webhook body read in full (a larger order "
            "still stops its cart, from the fields that identify it)",
            minimum=64 * 1024, maximum=256 * 1024 * 1024),
    Setting("DB_POOL_SIZE", int, 5, "database connections per process", minimum=1, maximum=200),
    Setting("LOG_LEVEL", str, "INFO", "logging threshold",
            choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    Setting("SMTP_HOST", str, None, "SMTP server (smtp backend)"),
    Setting("SMTP_PORT", int, None, "SMTP port (default 587, or 465 with SSL)",
            minimum=1, maximum=65535),
    Setting("SMTP_USER", str, None, "SMTP login"),
    Setting("SMTP_PASSWORD", str, None, "SMTP password"),
    Setting("SMTP_STARTTLS", bool, None, "STARTTLS on a plain port (default on without SSL)"),
    Setting("SMTP_SSL", bool, False, "implicit TLS"),
    Setting("AWS_REGION", str, None, "region for SES and Bedrock"),
    Setting("SES_CONFIGURATION_SET", str, None, "SES configuration set"),
    Setting("SES_MAX_SEND_RATE", float, None, "sends per second to pace to",
            minimum=0.01, maximum=10_000),
    Setting("MAIL_QUOTA_RETRY_MINUTES", int, 60,
            "after the provider's daily quota ran out, minutes before the next try",
            minimum=1, maximum=24 * 60),
    Setting("MAIL_PROBE_MINUTES", int, 15,
            "while the provider has paused sending, minutes between probe sends",
            minimum=1, maximum=24 * 60),
    Setting("SES_SNS_TOPIC_ARNS", str, None,
            "comma-separated SNS topic ARNs whose SES bounce/complaint notifications we accept"),
    Setting("BOUNCE_RATE_LIMIT", float, 0.05,
            "hard-bounce share of a store's recent sends that pauses it", minimum=0.001,
            maximum=1),
    Setting("COMPLAINT_RATE_LIMIT", float, 0.003,
            "complaint share of a store's recent sends that pauses it", minimum=0.0001,
            maximum=1),
    Setting("RATE_MIN_SENDS", int, 200, "sends a store needs before its rates are judged",
            minimum=1, maximum=1_000_000),
    Setting("RATE_WINDOW_SENDS", int, 1000, "how many recent sends the rates are taken over",
            minimum=1, maximum=1_000_000),
    Setting("UNSUBSCRIBE_MAILTO", str, None, "adds <mailto:...> to List-Unsubscribe"),
    Setting("DEFAULT_FROM_EMAIL", str, None,
            "From address of a store that has not set its own (default: no-reply@ the "
            "host of PUBLIC_URL); use an address your mail service may send from"),
    Setting("SMS_BACKEND", str, "outbox", "where texts go (SMS steps)", choices=("outbox", "aws")),
    Setting("SMS_OUTBOX_DIR", str, f"{INSTANCE}/sms-outbox",
            "folder of .json texts (SMS outbox backend)"),
    Setting("SMS_ORIGINATION_IDENTITY", str, None,
            "what texts are sent from (aws backend): a phone number, sender id, pool id or "
            "its ARN, in AWS End User Messaging SMS"),
    Setting("SMS_CONFIGURATION_SET", str, None,
            "End User Messaging SMS configuration set (for delivery events)"),
    Setting("SMS_MAX_PRICE", str, None,
            "most a text may cost in USD (e.g. 0.05); dearer texts are refused by AWS"),
    Setting("SMS_SNS_TOPIC_ARNS", str, None,
            "comma-separated SNS topic ARNs whose inbound texts (STOP, START) and text "
            "delivery events we accept"),
    Setting("SMS_OPT_OUT_LIST", str, "Default",
            "End User Messaging SMS opt-out list our opt-outs are copied to (aws backend)"),
    Setting("BEDROCK_MODEL_ID", str, None, "turns the polished opening line on"),
    Setting("POLISH_TIMEOUT_MS", int, 2000, "time budget of the polishing call",
            minimum=50, maximum=30_000),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def defaults(instance_path: Path) -> dict[str, Any]:
    def place(value: Any) -> Any:
        return value.replace(INSTANCE, str(instance_path)) if isinstance(value, str) else value

    return {setting.key: place(setting.default) for setting in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    """A value from the environment (text) or an override, as the declared type."""
    name = f"{PREFIX}{setting.key}"
    if value is None or (isinstance(value, str) and value == "" and setting.kind is not str):
        return setting.default if setting.kind is bool else None
    if setting.kind is bool:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in TRUE_WORDS | FALSE_WORDS:
            return lowered in TRUE_WORDS
        raise ConfigError(f"{name} must be true or false, not {value!r}.")
    if setting.kind is int:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        except ValueError as err:
            raise ConfigError(f"{name} must be a whole number, not {value!r}.") from err
    if setting.kind is float:
        try:
            return float(value)
        except ValueError as err:
            raise ConfigError(f"{name} must be a number, not {value!r}.") from err
    return str(value)


def _check_range(setting: Setting, value: Any) -> None:
    if value is None:
        return
    name = f"{PREFIX}{setting.key}"
    low, high = setting.minimum, setting.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (f"between {low:g} and {high:g}" if low is not None and high is not None
                  else f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ConfigError(f"{name} must be {bounds} ({setting.help}), not {value!r}.")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{name} is {value!r}; choose one of {', '.join(setting.choices)}.")


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key[len(PREFIX):]: value
        for key, value in environ.items()
        if key.startswith(PREFIX) and len(key) > len(PREFIX)
    }


def load(instance_path: Path, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole configuration, typed and checked; built once per app."""
    config = defaults(instance_path)
    config.update(from_env(os.environ if environ is None else environ))
    config.update(overrides or {})
    for key, setting in BY_KEY.items():
        config[key] = _coerce(setting, config.get(key))
        _check_range(setting, config[key])
    _validate(config)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(instance_path)
    if config["AUTO_MIGRATE"] is None:
        config["AUTO_MIGRATE"] = str(config["DATABASE_URL"]).startswith("sqlite")
    if config["SMTP_STARTTLS"] is None:
        config["SMTP_STARTTLS"] = not config["SMTP_SSL"]
    if config["SMTP_PORT"] is None:
        config["SMTP_PORT"] = 465 if config["SMTP_SSL"] else 587
    return config


def _validate(config: Mapping[str, Any]) -> None:
    public_url = str(config["PUBLIC_URL"])
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must be the http(s) address shoppers reach us "
                          f"at, not {public_url!r}.")
    default_from = config.get("DEFAULT_FROM_EMAIL")
    if default_from and not looks_like_address(str(default_from)):
        raise ConfigError(f"{PREFIX}DEFAULT_FROM_EMAIL must be one email address, "
                          f"not {default_from!r}.")
    host = (urlsplit(public_url).hostname or "").lower()
    if (public_url.startswith("http://") and not config["TESTING"]
            and host not in LOCAL_HOSTS):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must start with https:// (it is {public_url!r}): "
                          "every email's unsubscribe link is built from it and must be https "
                          "outside development on localhost.")
    if config["SMS_BACKEND"] == "aws" and not config.get("SMS_ORIGINATION_IDENTITY"):
        raise ConfigError(f"{PREFIX}SMS_BACKEND is aws: set {PREFIX}SMS_ORIGINATION_IDENTITY "
                          "to the phone number, sender id or pool texts are sent from.")
    max_price = config.get("SMS_MAX_PRICE")
    if max_price and not re.fullmatch(r"[0-9]{0,2}\.[0-9]{1,5}", str(max_price)):
        raise ConfigError(f"{PREFIX}SMS_MAX_PRICE is a price in USD such as 0.05, "
                          f"not {max_price!r}.")
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
