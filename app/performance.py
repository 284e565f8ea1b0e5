"""What the reminders achieve over a period: the holdout comparison and per-step numbers.

Read-only, Flask-free; the dashboard and the nightly export both use it.

Holdout. A cart enters the comparison when its first reminder fell due in the period
and passed every gate: then it was either messaged (a send was claimed: sent,
failed or of unknown outcome — counted as the group it was assigned to,
whatever the mail server did) or held back (`held_out`). Both groups are
judged the same way: recovered when the order came after that moment and
within the store's attribution window of the cart's last message (or held-back
message), so the held-out group's "would have been sent" times stand in for
the reminders it never got.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.holdout import Comparison
from app.db.models import Activity, Cart, CartStatus, Send, SendResult

MESSAGED = (SendResult.CLAIMED.value, SendResult.SENT.value, SendResult.UNKNOWN.value,
            SendResult.FAILED.value)
ARM_RESULTS = (*MESSAGED, SendResult.HELD_OUT.value)


@dataclass
class _Entry:
    held: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None
    ordered_at: datetime | None = None
    total: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class HoldoutReport:
    comparison: Comparison
    messaged_revenue: dict[str, Decimal] = field(default_factory=dict)
    held_revenue: dict[str, Decimal] = field(default_factory=dict)

    @property
    def incremental_revenue(self) -> dict[str, Decimal] | None:
        """Recovered revenue of the messaged group minus what it would have had
        at the held-out group's revenue per cart; None without a held-out group."""
        c = self.comparison
        if not c.held or not c.messaged:
            return None
        scale = Decimal(c.messaged) / Decimal(c.held)
        currencies = sorted(set(self.messaged_revenue) | set(self.held_revenue))
        return {cur: (self.messaged_revenue.get(cur, Decimal(0))
                      - self.held_revenue.get(cur, Decimal(0)) * scale).quantize(Decimal("0.01"))
                for cur in currencies}


def holdout_report(session: Session, store_id: int, start: datetime, end: datetime,
                   window: timedelta) -> HoldoutReport:
    entries: dict[int, _Entry] = defaultdict(_Entry)
    first_due = select(Send.cart_id).where(
        Send.store_id == store_id, Send.move == "first", Send.result.in_(ARM_RESULTS),
        Send.created_at >= start, Send.created_at < end)
    rows = session.execute(
        select(Send.cart_id, Send.result, Send.created_at, Cart.ordered_at, Cart.order_total,
               Cart.currency)
        .join(Cart, Cart.id == Send.cart_id)
        .where(Send.cart_id.in_(first_due), Send.result.in_(ARM_RESULTS)))
    for cart_id, result, created, ordered_at, total, currency in rows:
        entry = entries[cart_id]
        entry.held = entry.held or result == SendResult.HELD_OUT.value
        entry.first_at = min(filter(None, (entry.first_at, created)))
        entry.last_at = max(filter(None, (entry.last_at, created)))
        entry.ordered_at, entry.total, entry.currency = ordered_at, total, currency or ""

    counts = {True: [0, 0], False: [0, 0]}  # held -> [recovered, carts]
    revenue: dict[bool, defaultdict[str, Decimal]] = {True: defaultdict(Decimal),
                                                      False: defaultdict(Decimal)}
    for entry in entries.values():
        counts[entry.held][1] += 1
        assert entry.first_at is not None and entry.last_at is not None
        if entry.ordered_at is not None and (
                entry.first_at <= entry.ordered_at <= entry.last_at + window):
            counts[entry.held][0] += 1
            revenue[entry.held][entry.currency] += entry.total or Decimal(0)
    comparison = Comparison(messaged_recovered=counts[False][0], messaged=counts[False][1],
                            held_recovered=counts[True][0], held=counts[True][1])
    return HoldoutReport(comparison, _cents(revenue[False]), _cents(revenue[True]))


def _cents(amounts: dict[str, Decimal]) -> dict[str, Decimal]:
    return {currency: amount.quantize(Decimal("0.01")) for currency, amount in amounts.items()}


# -- per step ---------------------------------------------------------------------------------

STEPS = ("first", "second")
CHANNELS = ("email", "sms")
REACHED = (SendResult.SENT.value, SendResult.UNKNOWN.value)


@dataclass
class StepNumbers:
    """One step and channel, for the reminders sent in the period.

    bounced: reminders the provider reported bounced (SES through SNS,
    app.mail.feedback; texts by AWS's delivery events, app.sms.delivery_events);
    delivered: sent and not bounced (a backend that reports
    no bounces, the outbox or plain SMTP, counts every reminder it accepted);
    clicked / unsubscribed: reminders followed by a return-link click / an
    unsubscribe before the cart's next reminder; recovered: reminders an order
    is attributed to (see `step_report`)."""

    step: str
    channel: str
    sent: int = 0
    bounced: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    recovered: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, count: int) -> float | None:
        return count / self.sent if self.sent else None

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced

    @property
    def delivery_rate(self) -> float | None:
        return self.rate(self.delivered)

    @property
    def click_rate(self) -> float | None:
        return self.rate(self.clicked)

    @property
    def unsubscribe_rate(self) -> float | None:
        return self.rate(self.unsubscribed)

    @property
    def recovery_rate(self) -> float | None:
        return self.rate(self.recovered)


@dataclass(frozen=True)
class _Message:
    step: str
    at: datetime
    in_period: bool
    channel: str = "email"
    bounced: bool = False


def _attributed(messages: list[_Message], clicks: list[datetime], ordered_at: datetime,
                window: timedelta) -> _Message | None:
    """The last message clicked, else the last sent, within the window before the order."""
    candidates = [m for m in messages if m.at <= ordered_at and ordered_at - m.at <= window]
    if not candidates:
        return None
    clicked = [m for m in candidates if _clicked(m, messages, clicks, until=ordered_at)]
    return (clicked or candidates)[-1]


def _next_at(message: _Message, messages: list[_Message]) -> datetime | None:
    later = [m.at for m in messages if m.at > message.at]
    return min(later) if later else None


def _clicked(message: _Message, messages: list[_Message], times: list[datetime],
             until: datetime | None = None) -> bool:
    """Something happened after this message and before the next one (and `until`)."""
    end = _next_at(message, messages)
    return any(message.at <= t and (end is None or t < end) and (until is None or t <= until)
               for t in times)


def step_report(session: Session, store_id: int, start: datetime, end: datetime,
                window: timedelta) -> list[StepNumbers]:
    """Per step and channel, the reminders sent in [start, end) and what followed.

    A recovered cart's order (intake decided it was recovered: it came within
    the attribution window of a reminder) is attributed to the last reminder
    the shopper clicked within the window before the order, else to the last
    reminder sent within it. Email rows are always there; an SMS row once a
    step has texts in the period.
    """
    in_period = select(Send.cart_id).where(
        Send.store_id == store_id, Send.result.in_(REACHED),
        Send.created_at >= start, Send.created_at < end)
    messages: dict[int, list[_Message]] = defaultdict(list)
    for cart_id, move, created, channel, bounced_at in session.execute(
            select(Send.cart_id, Send.move, Send.created_at, Send.channel, Send.bounced_at)
            .where(Send.cart_id.in_(in_period), Send.result.in_(REACHED))
            .order_by(Send.created_at)):
        messages[cart_id].append(_Message(move, created, start <= created < end, channel,
                                          bounced_at is not None))
    activity: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for cart_id, kind, occurred in session.execute(
            select(Activity.cart_id, Activity.kind, Activity.occurred_at)
            .where(Activity.cart_id.in_(in_period),
                   Activity.kind.in_(("click", "unsubscribed")))):
        activity[(cart_id, kind)].append(occurred)
    orders = {cart_id: (ordered_at, total, currency) for cart_id, ordered_at, total, currency
              in session.execute(select(Cart.id, Cart.ordered_at, Cart.order_total,
                                        Cart.currency)
                                 .where(Cart.id.in_(in_period),
                                        Cart.status == CartStatus.RECOVERED.value))}

    rows = {(step, channel): StepNumbers(step, channel) for step in STEPS
            for channel in CHANNELS}
    revenue: dict[tuple[str, str], defaultdict[str, Decimal]] = {
        key: defaultdict(Decimal) for key in rows}
    for cart_id, sent in messages.items():
        clicks = activity[(cart_id, "click")]
        for message in sent:
            if not message.in_period or (message.step, message.channel) not in rows:
                continue
            row = rows[(message.step, message.channel)]
            row.sent += 1
            row.bounced += message.bounced
            row.clicked += _clicked(message, sent, clicks)
            row.unsubscribed += _clicked(message, sent, activity[(cart_id, "unsubscribed")])
        if cart_id in orders and orders[cart_id][0] is not None:
            ordered_at, total, currency = orders[cart_id]
            credited = _attributed(sent, clicks, ordered_at, window)
            key = (credited.step, credited.channel) if credited is not None else None
            if credited is not None and credited.in_period and key in rows:
                rows[key].recovered += 1
                revenue[key][currency or ""] += total or Decimal(0)
    for key, row in rows.items():
        row.revenue = _cents(revenue[key])
    return [row for row in rows.values() if row.channel == "email" or row.sent]
