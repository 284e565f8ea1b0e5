"""What a step offers, from the settings, and the code's shape."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.core.offers import Offer, code_from
from app.core.rules import Rules


def test_no_offer_by_default():
    rules = Rules.for_store({}, "UTC")
    assert rules.offer_for("first") is None and rules.offer_for("second") is None


def test_offer_per_step_from_the_settings():
    rules = Rules.for_store({"second_offer": "free_shipping", "offer_hours": 24,
                             "offer_minimum": 40}, "UTC")
    assert rules.offer_for("first") is None
    offer = rules.offer_for("second")
    assert offer == Offer("free_shipping", Decimal("10.0"), 24, Decimal("40.0"))
    now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert offer.ends_at(now) == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    # A percentage of zero is no offer at all.
    assert Rules.for_store({"first_offer": "percent", "first_offer_value": 0},
                           "UTC").offer_for("first") is None


def test_codes_avoid_lookalike_characters():
    code = code_from(bytes(range(10)))
    assert code == "CB-ABCDEFGHJK" and not set(code[3:]) & set("0O1IL")
