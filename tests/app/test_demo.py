"""`cartback demo`, a newcomer's first command, runs end to end and explains itself."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli


def test_demo_plays_the_stories_and_summarises(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--carts", "16", "--outbox", "out"])
    assert result.exit_code == 0, result.output
    for line in ["first reminder sent", "deferred (quiet_hours)", "skipped (no_email)",
                 "skipped (recently_reminded)", "skipped (unsubscribed)", "carts bought"]:
        assert line in result.output
    emails = sorted((tmp_path / "out").glob("*.eml"))
    assert emails and f"{len(emails)} emails written to {tmp_path / 'out'}" in result.output
    message = BytesParser(policy=policy.default).parsebytes(emails[0].read_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The shopper who left only a mobile number (with SMS consent) is texted.
    assert "first reminder by SMS sent" in result.output
    texts = sorted((tmp_path / "out" / "sms").glob("*.json"))
    assert texts and "Reply STOP to opt out" in texts[0].read_text()
    # The second reminder's offer: a code from the store's pool, shown in the email.
    offer = result.output.split("Offers: ")[1].splitlines()
    assert "carried a single-use code for 10 % off" in offer[0]
    code, path = offer[1].strip().removeprefix("e.g. ").split(" in ")
    shown = BytesParser(policy=policy.default).parsebytes(Path(path).read_bytes())
    assert f"Your code {code}: 10% off" in shown.get_body(("plain",)).get_content()
    # The holdout comparison is shown by default (10 % held back).
    assert "Holdout (10 % held back): messaged " in result.output


def test_demo_with_a_holdout_shows_the_comparison(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--carts", "40", "--outbox", "out",
                                      "--holdout", "30"])
    assert result.exit_code == 0, result.output
    assert "held_out" in result.output  # the summary's per-result lines
    assert "Holdout (30 % held back): messaged " in result.output
    assert "Verdict: Not enough data yet" in result.output
