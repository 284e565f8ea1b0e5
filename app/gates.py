"""The sender's guardrails as an ordered pipeline.

Each gate looks at a `GateContext` and returns `Pass`, `Skip(reason)` or
`Defer(until)`. Gates take `now` from the context and never read a clock;
whatever they need from the database comes through the `History` protocol,
so each gate tests without a database or a request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.settings import Rules


@dataclass(frozen=True)
class Pass:
    pass


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str = "quiet_hours"


Verdict = Pass | Skip | Defer
PASS = Pass()


class History(Protocol):
    """Read-only questions the gates ask about a store's past."""

    def is_suppressed(self, email: str, cart_id: int) -> bool: ...

    def reminded_other_cart_since(self, email: str, cart_id: int, since: datetime) -> bool: ...


@dataclass(frozen=True)
class GateContext:
    cart_id: int
    move: str
    email: str | None
    timezone: str | None
    locale: str | None
    country: str | None
    marketing_consent: bool | None
    now: datetime
    rules: Rules
    history: History


Gate = Callable[[GateContext], Verdict]


def paused(ctx: GateContext) -> Verdict:
    return Skip("paused") if ctx.rules.paused else PASS


def address(ctx: GateContext) -> Verdict:
    """Gate 1: only the address the shopper gave; never guessed."""
    return PASS if ctx.email and ctx.email.strip() else Skip("no_email")


# Gates 2 and 3 (quiet hours, do-not-disturb, consent) are added to this list
# by the sender issue; order matters: cheap, certain refusals first.
PIPELINE: list[Gate] = [paused, address]


def run(ctx: GateContext, gates: Sequence[Gate] | None = None) -> Verdict:
    for gate in PIPELINE if gates is None else gates:
        verdict = gate(ctx)
        if not isinstance(verdict, Pass):
            return verdict
    return PASS
