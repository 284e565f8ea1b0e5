"""The gates for an SMS step: the channel picked per step, explicit SMS consent, the
number as address, SMS quiet hours in the number's zones, one list and one cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.core import gates
from app.core.gates import Defer, Pass, Skip
from app.core.rules import Rules
from tests.core.test_gates import ADDRESS, FakeHistory, ctx

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
US = "+12125550100"
AU = "+61412345678"  # an Australian mobile: any of eight zones, UTC+6:30 to UTC+11


def sms(**overrides):
    values = dict(channel=gates.SMS, phone=US, sms_consent=True, now=NOW,
                  rules=Rules(postal_address=ADDRESS))
    values.update(overrides)
    return ctx(**values)


@pytest.mark.parametrize("choice, email, consent, policy, texter, expected", [
    ("email", None, None, "all", True, "email"),
    ("sms", "ada@example.com", True, "all", False, "sms"),
    ("sms_if_no_email", "ada@example.com", None, "all", True, "email"),
    ("sms_if_no_email", None, None, "all", True, "sms"),
    ("sms_if_no_email", "not an address", None, "all", True, "sms"),
    ("sms_if_no_email", "ada@example.com", None, "subscribers_only", True, "sms"),
    ("sms_if_no_email", "ada@example.com", True, "subscribers_only", True, "email"),
    # Neither channel can be used: email, whose skip says why (no_email).
    ("sms_if_no_email", None, None, "all", False, "email"),
])
def test_channel_for_each_step(choice, email, consent, policy, texter, expected):
    rules = Rules.for_store({"first_channel": choice, "consent_policy": policy}, "UTC")
    shopper = dict(email=email, marketing_consent=consent, rules=rules,
                   phone=US if texter else None, sms_consent=texter or None)
    assert gates.channel_for(ctx(**shopper)) == expected
    assert gates.channel_for(ctx(**shopper, move="second")) == "email"  # second untouched


@pytest.mark.parametrize("sms_consent", [None, False])
def test_a_text_needs_explicit_sms_consent_whatever_the_email_policy(sms_consent):
    assert gates.run(sms(sms_consent=sms_consent, marketing_consent=True)) == Skip(
        "no_sms_consent")


def test_a_text_needs_a_number_not_an_email():
    assert gates.run(sms(phone=None)) == Skip("no_phone")
    assert gates.run(sms(email=None)) == Pass()  # no email and no postal address needed
    assert gates.run(sms(email=None, rules=Rules())) == Pass()


@pytest.mark.parametrize("listed", ["ada@example.com", US])
def test_either_channels_opt_out_stops_both(listed):
    history = FakeHistory(suppressed={(listed, None)})
    assert gates.run(sms(history=history)) == Skip("unsubscribed")
    assert gates.run(ctx(phone=US, history=history, now=NOW)) == Skip("unsubscribed")


def test_the_cap_counts_texts_and_emails_to_the_same_shopper():
    texted = FakeHistory(reminded=[(US, 2, NOW)])
    assert gates.run(ctx(phone=US, history=texted, now=NOW)) == Skip("recently_reminded")
    emailed = FakeHistory(reminded=[("ada@example.com", 2, NOW)])
    assert gates.run(sms(history=emailed)) == Skip("recently_reminded")


def test_sms_quiet_hours_are_stricter_than_emails():
    eight_in_new_york = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert gates.quiet(ctx(now=eight_in_new_york, timezone="America/New_York")) == Pass()
    assert gates.quiet(sms(now=eight_in_new_york)) == Defer(
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC), "quiet_hours")
    eight_pm = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert gates.quiet(sms(now=eight_pm)) == Defer(datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
                                                   "quiet_hours")


def test_a_number_spanning_zones_keeps_to_the_narrowest_window():
    # 12:00 UTC is 23:00 in Sydney and 18:30 on the Cocos Islands: texts wait until
    # 09:00 holds everywhere, 02:30 UTC (09:00 Cocos, 13:30 Sydney).
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert gates.quiet(sms(phone=AU, now=at)) == Defer(
        datetime(2026, 11, 24, 2, 30, tzinfo=UTC), "quiet_hours")
    # The shopper's own zone, when the cart knows it, is used instead.
    assert gates.quiet(sms(phone=AU, now=at, timezone="Australia/Sydney")) == Defer(
        datetime(2026, 11, 23, 22, 0, tzinfo=UTC), "quiet_hours")


def test_the_store_sets_its_own_sms_window():
    rules = Rules.for_store({"sms_quiet_start": "21:00", "sms_quiet_end": "08:00",
                             "postal_address": ADDRESS}, "UTC")
    eight_in_new_york = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert gates.quiet(sms(now=eight_in_new_york, rules=rules)) == Pass()


def test_the_mail_providers_pause_does_not_hold_texts():
    paused = sms(mail_paused_until=datetime(2026, 11, 24, tzinfo=UTC))
    assert gates.mail_paused(paused) == Pass()
    assert isinstance(gates.mail_paused(replace(paused, channel=gates.EMAIL)), Defer)
