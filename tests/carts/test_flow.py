"""The whole flow on embedded defaults, through HTTP and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.db.models import Cart, Send
from tests.factories import T0, cart_body


def wake_due(runner, moment):
    result = runner.invoke(args=["wake-due", "--now", moment.isoformat()])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_flow_one_first_reminder_after_the_wait_and_not_before(post_custom, runner, outbox):
    assert post_custom(cart_body()).status_code == 200

    assert wake_due(runner, T0 + timedelta(hours=3, minutes=59)) == []
    assert outbox() == []

    lines = wake_due(runner, T0 + timedelta(hours=4))
    assert [(line["move"], line["result"]) for line in lines] == [("first", "sent")]
    assert wake_due(runner, T0 + timedelta(hours=4, minutes=30)) == []
    [message] = outbox()
    assert message["To"] == "ada@example.com"
    assert "Linen shirt" in message.get_body(("plain",)).get_content()


def test_flow_second_reminder_a_day_later_then_nothing(post_custom, runner, outbox):
    post_custom(cart_body())
    wake_due(runner, T0 + timedelta(hours=4))
    assert wake_due(runner, T0 + timedelta(hours=27)) == []
    lines = wake_due(runner, T0 + timedelta(hours=28))
    assert [(line["move"], line["result"]) for line in lines] == [("second", "sent")]
    assert wake_due(runner, T0 + timedelta(days=3)) == []
    later = wake_due(runner, T0 + timedelta(days=8))
    assert [(line["move"], line["result"]) for line in later] == [("give_up", "expired")]
    messages = outbox()
    assert len(messages) == 2
    assert "still saved" in messages[1]["Subject"]


def test_flow_no_reminder_after_an_order(post_custom, runner, outbox, runtime):
    post_custom(cart_body())
    post_custom(cart_body("order.placed", occurred_at=T0 + timedelta(hours=1)))
    assert wake_due(runner, T0 + timedelta(days=2)) == []
    assert outbox() == []
    with runtime.db.new_session() as session:
        assert session.scalars(select(Cart)).one().status == "bought"


def test_flow_order_after_reminder_is_recovered(post_custom, runner, runtime, clock):
    post_custom(cart_body())
    wake_due(runner, T0 + timedelta(hours=4))
    clock.set(T0 + timedelta(hours=6))
    post_custom(cart_body("order.placed", occurred_at=T0 + timedelta(hours=6)))
    assert wake_due(runner, T0 + timedelta(days=2)) == []
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
    assert cart.status == "recovered"
    assert cart.wake_at is None


def test_flow_cart_without_email_is_skipped_and_logged(post_custom, runner, runtime, outbox,
                                                         caplog):
    post_custom(cart_body("cart.updated", email=None))
    with caplog.at_level("INFO"):
        lines = wake_due(runner, T0 + timedelta(hours=4))
    assert [(line["move"], line["result"], line["reason"]) for line in lines] == [
        ("first", "skipped", "no_email")]
    assert outbox() == []
    with runtime.db.new_session() as session:
        send = session.scalars(select(Send)).one()
    assert (send.result, send.reason) == ("skipped", "no_email")
    assert any(getattr(r, "reason", None) == "no_email" for r in caplog.records)


def test_flow_email_arriving_later_gets_its_first_reminder(post_custom, runner, outbox):
    post_custom(cart_body("cart.updated", email=None))
    wake_due(runner, T0 + timedelta(hours=4))
    post_custom(cart_body(occurred_at=T0 + timedelta(hours=5)))
    lines = wake_due(runner, T0 + timedelta(hours=9))
    assert [(line["move"], line["result"]) for line in lines] == [("first", "sent")]
    assert len(outbox()) == 1


def test_flow_wake_due_rejects_a_naive_time(runner, app):
    result = runner.invoke(args=["wake-due", "--now", "2026-11-23T09:00:00"])
    assert result.exit_code != 0
    assert "UTC offset" in result.output


def test_flow_stores_add_prints_id_and_secret(runner, runtime):
    result = runner.invoke(args=["stores", "add", "--platform", "custom", "--name", "Fern",
                                 "--domain", "fern.example", "--timezone", "Europe/Paris",
                                 "--from-email", "hi@fern.example"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] and len(data["webhook_secret"]) >= 32
    assert data["webhook_url"].endswith(f"/webhooks/custom/{data['id']}")


def test_flow_stores_add_refuses_a_bad_timezone(runner, app):
    result = runner.invoke(args=["stores", "add", "--platform", "custom", "--domain", "x.example",
                                 "--timezone", "Mars/Base"])
    assert result.exit_code != 0
    assert "timezone" in result.output


def test_flow_serve_runs_the_web_app_with_timers(monkeypatch, tmp_path):
    import werkzeug.serving
    from click.testing import CliRunner

    from app.cli import cli

    served = {}

    def fake_run_simple(host, port, application, **kwargs):
        served.update(host=host, port=port, app=application)

    monkeypatch.setattr(werkzeug.serving, "run_simple", fake_run_simple)
    monkeypatch.setenv("CARTBACK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CARTBACK_RUN_SCHEDULER", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    application = served["app"]
    try:
        assert served["port"] == 5099
        assert application.config["RUN_SCHEDULER"] is True
        assert application.extensions["cartback_timers"].running
    finally:
        application.extensions["cartback_timers"].shutdown(wait=True)
        application.extensions["db"].engine.dispose()
