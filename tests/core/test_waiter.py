"""The waiter: a pure function of (cart, now, rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.core.rules import Rules
from app.core.waiter import MoveKind, decide

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = Rules()


@dataclass
class FakeCart:
    status: str = "active"
    last_activity_at: datetime = T0
    stage: int = 0
    stage_at: datetime | None = None


def test_waiter_waits_out_the_first_wait():
    move = decide(FakeCart(), T0 + timedelta(hours=3, minutes=59), RULES)
    assert move.kind is MoveKind.WAIT
    assert move.until == T0 + timedelta(hours=4)


def test_waiter_first_reminder_exactly_at_the_first_wait():
    assert decide(FakeCart(), T0 + timedelta(hours=4), RULES).kind is MoveKind.FIRST


def test_waiter_second_reminder_a_day_after_the_first():
    first_at = T0 + timedelta(hours=4)
    cart = FakeCart(status="reminded", stage=1, stage_at=first_at)
    early = decide(cart, first_at + timedelta(hours=23), RULES)
    assert early.kind is MoveKind.WAIT and early.until == first_at + timedelta(hours=24)
    assert decide(cart, first_at + timedelta(hours=24), RULES).kind is MoveKind.SECOND


def test_waiter_cart_changed_resets_clock_before_second():
    first_at = T0 + timedelta(hours=4)
    # The shopper came back and edited the cart 23 h after the first reminder.
    cart = FakeCart(status="reminded", stage=1, stage_at=first_at,
                    last_activity_at=first_at + timedelta(hours=23))
    move = decide(cart, first_at + timedelta(hours=24), RULES)
    assert move.kind is MoveKind.WAIT
    assert move.until == first_at + timedelta(hours=27)


def test_waiter_gives_up_after_the_second_at_the_give_up_age():
    cart = FakeCart(status="reminded", stage=2, stage_at=T0 + timedelta(hours=28))
    move = decide(cart, T0 + timedelta(hours=28), RULES)
    assert move.kind is MoveKind.WAIT and move.until == T0 + timedelta(days=7)
    assert decide(cart, T0 + timedelta(days=7), RULES).kind is MoveKind.GIVE_UP


def test_waiter_gives_up_past_the_give_up_age():
    rules = Rules(first_wait=timedelta(days=10))
    assert decide(FakeCart(), T0 + timedelta(days=6), rules).until == T0 + timedelta(days=7)
    assert decide(FakeCart(), T0 + timedelta(days=7), rules).kind is MoveKind.GIVE_UP


@pytest.mark.parametrize("status", ["bought", "recovered", "stopped", "expired"])
def test_waiter_no_move_for_finished_carts(status):
    assert decide(FakeCart(status=status), T0 + timedelta(days=1), RULES) is None


def test_waiter_uses_store_rules():
    rules = Rules(first_wait=timedelta(minutes=30))
    assert decide(FakeCart(), T0 + timedelta(minutes=30), rules).kind is MoveKind.FIRST


@pytest.mark.parametrize("stage,status", [(0, "active"), (1, "reminded")])
def test_waiter_never_reminds_a_cart_already_past_the_give_up_age(stage, status):
    # A cart that reaches the waiter 12 days idle (late delivery, backfill, outage).
    cart = FakeCart(status=status, stage=stage,
                    stage_at=T0 + timedelta(hours=4) if stage else None)
    assert decide(cart, T0 + timedelta(days=12), RULES).kind is MoveKind.GIVE_UP
