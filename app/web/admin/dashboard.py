"""The merchant's numbers for a period, in the store's timezone. Flask-free.

Definitions (also shown on the page):
- abandoned: carts started in the period that were not simply bought (a cart
  bought with no reminder was never abandoned);
- reminders sent / skipped by reason / deferred / held out: Send rows in the period;
- clicks: return-link clicks in the period;
- recovered: carts whose order came within the store's attribution window
  after a reminder (intake decides this when the order arrives), counted on
  the order's day, with their order totals per currency;
- recovery rate: recovered carts / carts that got a reminder in the period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Activity, Cart, CartStatus, Send, SendResult


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    days: tuple[date, ...]

    @classmethod
    def last_days(cls, days: int, now: datetime, tz_name: str) -> Period:
        tz = ZoneInfo(tz_name)
        today = now.astimezone(tz).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, time(0), tz)
        end = datetime.combine(today + timedelta(days=1), time(0), tz)
        return cls(start, end, tuple(first + timedelta(days=n) for n in range(days)))


@dataclass
class Numbers:
    abandoned: int = 0
    reminded_carts: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    held_out: int = 0  # reminders held back for the holdout group
    skipped: Counter[str] = field(default_factory=Counter)
    clicks: int = 0
    recovered: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    per_day: dict[date, tuple[int, int]] = field(default_factory=dict)  # (sent, recovered)

    @property
    def recovery_rate(self) -> float | None:
        return None if not self.reminded_carts else self.recovered / self.reminded_carts


def numbers(session: Session, store_id: int, period: Period, tz_name: str) -> Numbers:
    tz = ZoneInfo(tz_name)
    result = Numbers()
    result.abandoned = session.scalar(
        select(func.count()).select_from(Cart).where(
            Cart.store_id == store_id, Cart.created_at >= period.start,
            Cart.created_at < period.end, Cart.status != CartStatus.BOUGHT.value)
    ) or 0
    sends = session.execute(
        select(Send.cart_id, Send.result, Send.reason, Send.created_at).where(
            Send.store_id == store_id, Send.created_at >= period.start,
            Send.created_at < period.end)
    ).all()
    sent_per_day: Counter[date] = Counter()
    reminded: set[int] = set()
    for cart_id, result_name, reason, created in sends:
        if result_name == SendResult.SENT.value:
            result.sent += 1
            reminded.add(cart_id)
            sent_per_day[created.astimezone(tz).date()] += 1
        elif result_name == SendResult.SKIPPED.value:
            result.skipped[reason or "unknown"] += 1
        elif result_name == SendResult.DEFERRED.value:
            result.deferred += 1
        elif result_name == SendResult.FAILED.value:
            result.failed += 1
        elif result_name == SendResult.HELD_OUT.value:
            result.held_out += 1
    result.reminded_carts = len(reminded)
    result.clicks = session.scalar(
        select(func.count()).select_from(Activity).join(Cart, Cart.id == Activity.cart_id)
        .where(Cart.store_id == store_id, Activity.kind == "click",
               Activity.occurred_at >= period.start, Activity.occurred_at < period.end)
    ) or 0
    recovered_per_day: Counter[date] = Counter()
    revenue: defaultdict[str, Decimal] = defaultdict(Decimal)
    for ordered_at, total, currency in session.execute(
        select(Cart.ordered_at, Cart.order_total, Cart.currency).where(
            Cart.store_id == store_id, Cart.status == CartStatus.RECOVERED.value,
            Cart.ordered_at >= period.start, Cart.ordered_at < period.end)
    ):
        result.recovered += 1
        recovered_per_day[ordered_at.astimezone(tz).date()] += 1
        revenue[currency or ""] += total or Decimal(0)
    result.revenue = dict(revenue)
    result.per_day = {day: (sent_per_day[day], recovered_per_day[day]) for day in period.days}
    return result
