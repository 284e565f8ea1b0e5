"""The holdout group: who is held back, and what the comparison says.

Pure: the caller passes a keyed hash of the shopper (so assignment is random
across shoppers and stable for one), and counts for the two groups.

The comparison is the textbook one for two proportions: a pooled two-sided
z-test for "is there a difference at all", and Newcombe's hybrid score
interval (Newcombe 1998, method 10, from the two groups' Wilson intervals) for
how large it is. The normal approximation is only trusted with at least
MIN_EACH recovered and MIN_EACH unrecovered carts in each group; before that
the verdict is "not enough data yet".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BUCKETS = 10_000
Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile
MIN_EACH = 10


def bucket(digest_hex: str) -> int:
    """A shopper's place in 0..9999, from a hex digest of a keyed hash."""
    return int(digest_hex[:12], 16) % BUCKETS


def held_out(bucket_value: int | None, percent: float) -> bool:
    """Whether this shopper belongs to the held-back share of `percent` %."""
    if bucket_value is None or percent <= 0:
        return False
    return bucket_value < round(percent * BUCKETS / 100)


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


@dataclass(frozen=True)
class Comparison:
    """Messaged (treated) against held-out carts: x recovered of n each."""

    messaged_recovered: int
    messaged: int
    held_recovered: int
    held: int

    @property
    def messaged_rate(self) -> float | None:
        return self.messaged_recovered / self.messaged if self.messaged else None

    @property
    def held_rate(self) -> float | None:
        return self.held_recovered / self.held if self.held else None

    @property
    def difference(self) -> float | None:
        if self.messaged_rate is None or self.held_rate is None:
            return None
        return self.messaged_rate - self.held_rate

    @property
    def enough_data(self) -> bool:
        return all(count >= MIN_EACH for count in (
            self.messaged_recovered, self.messaged - self.messaged_recovered,
            self.held_recovered, self.held - self.held_recovered))

    def z_test(self) -> tuple[float, float] | None:
        """(z, two-sided p) of the pooled test; None when it cannot be computed."""
        n1, n2 = self.messaged, self.held
        if not n1 or not n2:
            return None
        pooled = (self.messaged_recovered + self.held_recovered) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        if se == 0:
            return None
        z = (self.messaged_recovered / n1 - self.held_recovered / n2) / se
        return z, 2 * (1 - normal_cdf(abs(z)))

    def interval(self, z: float = Z_95) -> tuple[float, float] | None:
        """Newcombe's 95 % interval for messaged rate minus held-out rate."""
        if not self.messaged or not self.held:
            return None
        p1, p2 = self.messaged_recovered / self.messaged, self.held_recovered / self.held
        l1, u1 = wilson(self.messaged_recovered, self.messaged, z)
        l2, u2 = wilson(self.held_recovered, self.held, z)
        d = p1 - p2
        return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
                d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))

    def verdict(self) -> str:
        """The answer in plain words, for the dashboard."""
        if not self.enough_data:
            return (f"Not enough data yet: each group needs at least {MIN_EACH} recovered and "
                    f"{MIN_EACH} unrecovered carts before the difference means anything.")
        low, high = self.interval() or (0.0, 0.0)
        span = f"between {low * 100:+.1f} and {high * 100:+.1f} points"
        if low > 0:
            return (f"Reminders work: messaged carts are recovered more often than held-out "
                    f"ones (95 % sure the difference is {span}).")
        if high < 0:
            return (f"Held-out carts are recovered more often than messaged ones (95 % sure "
                    f"the difference is {span}): look at what the reminders say.")
        return (f"No clear difference yet (the difference is {span}, which includes zero): "
                f"keep the holdout running.")
