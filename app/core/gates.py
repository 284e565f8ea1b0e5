"""The sender's guardrails as an ordered pipeline.

Each gate looks at a `GateContext` and returns `Pass`, `Skip(reason)` or
`Defer(until)`. Gates take `now` from the context and never read a clock;
whatever they need from the database comes through the `History` protocol,
so each gate tests without a database or a request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from app.core import addresses, holdout, phones, quiet_hours
from app.core.rules import Rules

EMAIL = "email"
SMS = "sms"


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
    # The step's channel (`channel_for` picks it) and what SMS needs: the
    # number (E.164) and the shopper's explicit SMS marketing consent.
    channel: str = EMAIL
    phone: str | None = None
    sms_consent: bool | None = None

    @property
    def identities(self) -> tuple[str, ...]:
        """The shopper as the unsubscribe list and the frequency cap know them:
        email and number, so an opt-out or a reminder on either channel counts."""
        return addresses.identities(self.email, self.phone)


def channel_for(ctx: GateContext) -> str:
    """The store's channel for this step; `sms_if_no_email` texts only when
    email cannot be used (no usable address, or no consent for email) and a
    text can (a number with SMS consent); when neither can, it stays email,
    whose skip says why."""
    choice = ctx.rules.channel_for(ctx.move)
    if choice != "sms_if_no_email":
        return choice
    as_email = replace(ctx, channel=EMAIL)
    email_ok = isinstance(address(as_email), Pass) and isinstance(consent(as_email), Pass)
    as_sms = replace(ctx, channel=SMS)
    sms_ok = isinstance(address(as_sms), Pass) and isinstance(consent(as_sms), Pass)
    return SMS if sms_ok and not email_ok else EMAIL


Gate = Callable[[GateContext], Verdict]


def paused(ctx: GateContext) -> Verdict:
    return Skip("paused") if ctx.rules.paused else PASS


def postal_address(ctx: GateContext) -> Verdict:
    """Compliance: every email carries the store's postal address, so none goes without one."""
    if ctx.channel == SMS:
        return PASS  # a text names the store; anti-spam law asks no postal address of it
    return PASS if ctx.rules.postal_address.strip() else Skip("no_postal_address")


def address(ctx: GateContext) -> Verdict:
    """Gate 1: only the address the shopper gave; never guessed, and only a valid one.
    A text goes only to the number the shopper gave with their SMS consent."""
    if ctx.channel == SMS:
        if ctx.phone:
            return PASS
        # A shopper who said no to texts is not "missing a number": say why.
        return Skip("no_sms_consent" if ctx.sms_consent is False else "no_phone")
    if not (ctx.email and ctx.email.strip()):
        return Skip("no_email")
    return PASS if addresses.deliverable(ctx.email) else Skip("invalid_address")


def unsubscribed(ctx: GateContext) -> Verdict:
    """Gate 3a: the store's unsubscribe list, for this cart or for all reminders
    (an email unsubscribe stops texts too, and a STOP stops emails)."""
    if any(ctx.history.is_suppressed(who, ctx.cart_id) for who in ctx.identities):
        return Skip("unsubscribed")
    return PASS


def consent(ctx: GateContext) -> Verdict:
    """Gate 3b: the store's consent policy.

    `subscribers_only` needs an explicit yes; `by_region` needs it only where
    the law asks for opt-in (EU/EEA/UK, judged by country, else locale).
    A text always needs the shopper's explicit SMS consent, whatever the policy.
    """
    if ctx.channel == SMS:
        return PASS if ctx.sms_consent is True else Skip("no_sms_consent")
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
    if ctx.rules.dnd_window <= timedelta(0):
        return PASS
    since = ctx.now - ctx.rules.dnd_window
    count = sum(ctx.history.reminders_about_other_carts_since(who, ctx.cart_id, since)
                for who in ctx.identities)
    return Skip("recently_reminded") if count >= ctx.rules.cap_reminders else PASS


def quiet(ctx: GateContext) -> Verdict:
    """Gate 2: never in quiet hours (shopper's zone when known, else the store's).

    Texts keep the store's SMS window, in the shopper's zone, else every zone
    their number may ring in, else the store's.
    """
    if ctx.channel == SMS:
        names = (ctx.timezone,) if ctx.timezone else phones.zones(ctx.phone)
        zones = tuple(quiet_hours.zone(n, ctx.rules.store_timezone) for n in names) or (
            quiet_hours.zone(None, ctx.rules.store_timezone),)
        until = quiet_hours.next_allowed_in_all(ctx.now, ctx.rules.sms_quiet_start,
                                                ctx.rules.sms_quiet_end, zones)
        return PASS if until is None else Defer(until, "quiet_hours")
    tz = quiet_hours.zone(ctx.timezone, ctx.rules.store_timezone)
    until = quiet_hours.next_allowed(ctx.now, ctx.rules.quiet_start, ctx.rules.quiet_end, tz)
    return PASS if until is None else Defer(until, "quiet_hours")


def mail_paused(ctx: GateContext) -> Verdict:
    """The provider paused our sending: wait for the breaker, never fail or burn the move."""
    if ctx.channel == SMS:
        return PASS  # the mail provider's pause says nothing about texts
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
