"""The sender's guardrails as an ordered pipeline.

Each gate looks at a `GateContext` and returns `Pass`, `Skip(reason)` or
`Defer(until)`. Gates take `now` from the context and never read a clock;
whatever they need from the database comes through the `History` protocol,
so each gate tests without a database or a request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app.core import addresses, holdout, quiet_hours
from app.core.rules import Rules


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


@dataclass(frozen=True)
class HoldOut:
    """The shopper is in the store's holdout group: no message, recorded `held_out`."""


Verdict = Pass | Skip | Defer | HoldOut
PASS = Pass()


class History(Protocol):
    """Read-only questions the gates ask about a store's past."""

    def is_suppressed(self, email: str, cart_id: int) -> bool: ...

    def reminders_about_other_carts_since(self, email: str, cart_id: int,
                                          since: datetime) -> int: ...


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
    # Set while the mail provider refuses all sending (app.mail.breaker).
    mail_paused_until: datetime | None = None
    # The shopper's place in 0..9999 from a keyed hash (app.core.holdout.bucket).
    holdout_bucket: int | None = None


Gate = Callable[[GateContext], Verdict]


def paused(ctx: GateContext) -> Verdict:
    return Skip("paused") if ctx.rules.paused else PASS


def postal_address(ctx: GateContext) -> Verdict:
    """Compliance: every reminder carries the store's postal address, so none goes without one."""
    return PASS if ctx.rules.postal_address.strip() else Skip("no_postal_address")


def address(ctx: GateContext) -> Verdict:
    """Gate 1: only the address the shopper gave; never guessed, and only a valid one."""
    if not (ctx.email and ctx.email.strip()):
        return Skip("no_email")
    return PASS if addresses.deliverable(ctx.email) else Skip("invalid_address")


def unsubscribed(ctx: GateContext) -> Verdict:
    """Gate 3a: the store's unsubscribe list, for this cart or for all reminders."""
    assert ctx.email is not None
    return Skip("unsubscribed") if ctx.history.is_suppressed(ctx.email, ctx.cart_id) else PASS


def consent(ctx: GateContext) -> Verdict:
    """Gate 3b: the store's consent policy.

    `subscribers_only` needs an explicit yes; `by_region` needs it only where
    the law asks for opt-in (EU/EEA/UK, judged by country, else locale).
    """
    policy = ctx.rules.consent_policy
    if policy == "all" or ctx.marketing_consent is True:
        return PASS
    if policy == "by_region" and not in_opt_in_region(ctx.country, ctx.locale):
        return PASS
    return Skip("no_consent")


def frequency_cap(ctx: GateContext) -> Verdict:
    """Gate 3c: at most N reminders per shopper per period, about the store's other carts.

    Only reminders about *other* carts count, so a cart's own second reminder
    is not blocked by its first; the defaults (1 per 72 h) are the old fixed
    do-not-disturb window. The reason keeps its old name, `recently_reminded`,
    so the merchant's numbers read the same before and after.
    """
    assert ctx.email is not None
    if ctx.rules.dnd_window <= timedelta(0):
        return PASS
    since = ctx.now - ctx.rules.dnd_window
    count = ctx.history.reminders_about_other_carts_since(ctx.email, ctx.cart_id, since)
    return Skip("recently_reminded") if count >= ctx.rules.cap_reminders else PASS


def quiet(ctx: GateContext) -> Verdict:
    """Gate 2: never in quiet hours (shopper's zone when known, else the store's)."""
    tz = quiet_hours.zone(ctx.timezone, ctx.rules.store_timezone)
    until = quiet_hours.next_allowed(ctx.now, ctx.rules.quiet_start, ctx.rules.quiet_end, tz)
    return PASS if until is None else Defer(until, "quiet_hours")


def mail_paused(ctx: GateContext) -> Verdict:
    """The provider paused our sending: wait for the breaker, never fail or burn the move."""
    if ctx.mail_paused_until is not None and ctx.mail_paused_until > ctx.now:
        return Defer(ctx.mail_paused_until, "mail_paused")
    return PASS


def held_back(ctx: GateContext) -> Verdict:
    """Last: of the carts that would be messaged now, hold back the store's share."""
    return HoldOut() if holdout.held_out(ctx.holdout_bucket, ctx.rules.holdout_percent) else PASS


# Order matters: certain refusals first (a shopper who unsubscribed is
# skipped, not deferred to the morning and skipped then). The holdout comes
# last so a held-out cart is one that would have been messaged at that moment.
PIPELINE: list[Gate] = [paused, postal_address, address, unsubscribed, consent, frequency_cap,
                        quiet, mail_paused, held_back]

# EU and EEA members plus the UK: where reminder emails need prior opt-in.
OPT_IN_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",  # EU
    "IS", "LI", "NO",  # EEA
    "GB",  # UK
})


def in_opt_in_region(country: str | None, locale: str | None) -> bool:
    if country:
        return country.upper() in OPT_IN_COUNTRIES
    if locale:
        parts = locale.replace("_", "-").split("-")
        region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
        if region:
            return region.upper() in OPT_IN_COUNTRIES
    # Unknown region: treat as opt-in required, the careful reading.
    return True


def run(ctx: GateContext, gates: Sequence[Gate] | None = None) -> Verdict:
    for gate in PIPELINE if gates is None else gates:
        verdict = gate(ctx)
        if not isinstance(verdict, Pass):
            return verdict
    return PASS
