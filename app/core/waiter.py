"""The waiter: given a cart, the time and the store's rules, pick the next move.

A pure function of its arguments. It reads only what `CartState` offers, so a
Cart row or a plain dataclass in a test both work.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.core.rules import Rules
from app.core.statuses import LIVE_STATUSES


class MoveKind(str, enum.Enum):
    WAIT = "wait"
    FIRST = "first"
    SECOND = "second"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    until: datetime | None = None  # only for WAIT

    @property
    def is_reminder(self) -> bool:
        return self.kind in (MoveKind.FIRST, MoveKind.SECOND)


GIVE_UP = Move(MoveKind.GIVE_UP)
FIRST = Move(MoveKind.FIRST)
SECOND = Move(MoveKind.SECOND)


class CartState(Protocol):
    status: str
    last_activity_at: datetime
    stage: int
    stage_at: datetime | None


def decide(cart: CartState, now: datetime, rules: Rules) -> Move | None:
    """None for carts that get no move at all (bought, recovered, stopped, expired)."""
    if cart.status not in LIVE_STATUSES:
        return None
    give_up_at = cart.last_activity_at + rules.give_up_after
    if now >= give_up_at:
        # Idle past the give-up age, however the cart reached us (a late
        # delivery, a backfill, a reconcile, a wake after an outage): never a
        # reminder, whatever stage it is at.
        return GIVE_UP
    if cart.stage >= 2:
        # Nothing more to send; the cart stays `reminded` until the give-up
        # age so the list shows it as still in play.
        return Move(MoveKind.WAIT, give_up_at)

    # Any change to the cart resets the clock: both reminders wait at least
    # `first_wait` after the last activity, so a shopper still adding items is
    # never nudged early.
    due = cart.last_activity_at + rules.first_wait
    if cart.stage == 1 and cart.stage_at is not None:
        due = max(due, cart.stage_at + rules.second_wait)

    if due >= give_up_at:
        return Move(MoveKind.WAIT, give_up_at)
    if now < due:
        return Move(MoveKind.WAIT, due)
    return FIRST if cart.stage == 0 else SECOND
