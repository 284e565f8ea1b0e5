"""What the reminders achieve over a period: the holdout comparison.

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
from app.db.models import Cart, Send, SendResult

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

