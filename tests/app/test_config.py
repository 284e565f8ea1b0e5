"""Config in layers: defaults, CARTBACK_* env vars, then overrides; fail fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import load
from app.errors import ConfigError


def test_config_reads_prefixed_env_without_prefix(tmp_path: Path):
    config = load(tmp_path, environ={"CARTBACK_PUBLIC_URL": "https://cb.example",
                                     "CARTBACK_RUN_SCHEDULER": "yes", "OTHER_THING": "x"})
    assert config["PUBLIC_URL"] == "https://cb.example"
    assert config["RUN_SCHEDULER"] is True
    assert "OTHER_THING" not in config


def test_config_overrides_win_over_env(tmp_path: Path):
    config = load(tmp_path, {"MAIL_BACKEND": "outbox"}, environ={"CARTBACK_MAIL_BACKEND": "ses"})
    assert config["MAIL_BACKEND"] == "outbox"


def test_config_defaults_are_embedded(tmp_path: Path):
    config = load(tmp_path, environ={})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'cartback.db'}"
    assert config["MAIL_BACKEND"] == "outbox"
    assert config["OUTBOX_DIR"] == str(tmp_path / "outbox")
    assert config["RUN_SCHEDULER"] is False
    assert config["AUTO_MIGRATE"] is True


def test_config_secret_key_is_generated_once_and_kept(tmp_path: Path):
    first = load(tmp_path, environ={})["SECRET_KEY"]
    assert load(tmp_path, environ={})["SECRET_KEY"] == first
    assert len(first) >= 32


@pytest.mark.parametrize(("env", "words"), [
    ({"CARTBACK_MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND"),
    ({"CARTBACK_RUN_SCHEDULER": "maybe"}, "true or false"),
    ({"CARTBACK_PUBLIC_URL": "cartback.example"}, "PUBLIC_URL"),
    ({"CARTBACK_DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"CARTBACK_MAX_BODY_BYTES": "lots"}, "whole number"),
    # A negative retention would let the nightly purge erase every idle cart.
    ({"CARTBACK_RETENTION_DAYS": "-5"}, "RETENTION_DAYS must be between 1 and 3650"),
    ({"CARTBACK_RETENTION_DAYS": "0"}, "RETENTION_DAYS must be between 1"),
    ({"CARTBACK_SMTP_PORT": "70000"}, "SMTP_PORT must be between 1 and 65535"),
    ({"CARTBACK_POLISH_TIMEOUT_MS": "0"}, "POLISH_TIMEOUT_MS"),
    ({"CARTBACK_SES_MAX_SEND_RATE": "fast"}, "must be a number"),
    ({"CARTBACK_LOG_LEVEL": "LOUD"}, "LOG_LEVEL is 'LOUD'; choose one of"),
    ({"CARTBACK_SMS_BACKEND": "aws"}, "set CARTBACK_SMS_ORIGINATION_IDENTITY"),
    ({"CARTBACK_SMS_MAX_PRICE": "5 cents"}, "SMS_MAX_PRICE is a price in USD"),
])
def test_config_bad_value_fails_fast_with_a_sentence(tmp_path: Path, env, words):
    with pytest.raises(ConfigError, match=words):
        load(tmp_path, environ=env)


def test_config_embedded_default_migrates_itself_on_start(tmp_path: Path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("CARTBACK_"):
            monkeypatch.delenv(key)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    runtime = app.extensions["cartback"]
    from sqlalchemy import inspect

    tables = set(inspect(runtime.db.engine).get_table_names())
    assert {"stores", "carts", "sends", "suppressions", "deliveries"} <= tables
    runtime.db.engine.dispose()



def test_config_values_arrive_typed_once(tmp_path: Path):
    config = load(tmp_path, environ={"CARTBACK_RETENTION_DAYS": "45", "CARTBACK_SMTP_SSL": "on",
                                     "CARTBACK_SES_MAX_SEND_RATE": "14",
                                     "CARTBACK_SHOPIFY_API_KEY": "kept-as-given"})
    assert config["RETENTION_DAYS"] == 45
    assert config["SES_MAX_SEND_RATE"] == 14.0
    # Derived defaults are settled here, not by each backend.
    assert config["SMTP_SSL"] is True and config["SMTP_STARTTLS"] is False
    assert config["SMTP_PORT"] == 465
    assert config["SHOPIFY_API_KEY"] == "kept-as-given"


def test_config_overrides_are_checked_like_the_environment(tmp_path: Path):
    with pytest.raises(ConfigError, match="STORE_REDACT_DAYS"):
        load(tmp_path, {"STORE_REDACT_DAYS": -1}, environ={})


def test_config_public_url_must_be_https_outside_development(tmp_path: Path):
    with pytest.raises(ConfigError, match="PUBLIC_URL must start with https://.*unsubscribe"):
        load(tmp_path, environ={"CARTBACK_PUBLIC_URL": "http://cartback.example"})


@pytest.mark.parametrize("env", [
    {"CARTBACK_PUBLIC_URL": "https://cartback.example"},
    {"CARTBACK_PUBLIC_URL": "http://localhost:5000"},
    {"CARTBACK_PUBLIC_URL": "http://127.0.0.1:8000"},
    {"CARTBACK_PUBLIC_URL": "http://cartback.test", "CARTBACK_TESTING": "true"},
    {},  # the embedded default, http://localhost:5000
])
def test_config_public_url_http_allowed_only_for_development(tmp_path: Path, env):
    assert load(tmp_path, environ=env)["PUBLIC_URL"] == env.get("CARTBACK_PUBLIC_URL",
                                                                "http://localhost:5000")
