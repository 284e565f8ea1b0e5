"""Recovery offers: what a step offers, and the code's shape. Pure.

A step offers nothing (the default), a percentage, a fixed amount or free
shipping, valid for a number of hours after the reminder, optionally above a
minimum order. The code itself is made on the platform only once every gate
has passed (app.carts.offers); this module only says what to make.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

KINDS = ("none", "percent", "fixed", "free_shipping")
# No 0/O or 1/I/L: shoppers type these from an email.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Offer:
    kind: str  # percent | fixed | free_shipping
    value: Decimal  # percent (10 = 10 %) or an amount in the cart's currency
    hours: int
    minimum: Decimal | None = None

    def ends_at(self, now: datetime) -> datetime:
        return now + timedelta(hours=self.hours)


def make_offer(kind: str, value: float, hours: float, minimum: float) -> Offer | None:
    if kind not in KINDS or kind == "none":
        return None
    if kind != "free_shipping" and value <= 0:
        return None
    return Offer(kind, Decimal(str(value)), int(hours),
                 Decimal(str(minimum)) if minimum and minimum > 0 else None)


def code_from(random_bytes: bytes, length: int = 10) -> str:
    """A code such as CB-7KQ2MXH9RT from random bytes (the caller supplies them)."""
    return "CB-" + "".join(ALPHABET[b % len(ALPHABET)] for b in random_bytes[:length])


MAX_CODE_LENGTH = 64  # sends.offer_code


def codes_from_csv(text: str) -> tuple[list[str], list[str]]:
    """A merchant's code list: the first column of each line (a header line
    without digits such as "code" is skipped), trimmed, without repeats.
    Returns (codes, refused) where refused are values too long or with spaces."""
    codes: dict[str, None] = {}
    refused: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text))):
        value = row[0].strip().strip("\ufeff") if row else ""
        if not value or (number == 0 and value.casefold() in ("code", "codes", "coupon")):
            continue
        if len(value) > MAX_CODE_LENGTH or any(c.isspace() for c in value):
            refused.append(value[:80])
            continue
        codes.setdefault(value, None)
    return list(codes), refused
