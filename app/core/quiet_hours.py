"""Local-time arithmetic for quiet hours: is a moment inside the window, and
when is the first allowed minute after it.

Windows may cross midnight (21:00–08:00); zones may be half-hour offsets or
change offset for daylight saving. An end time that falls in a DST gap (the
clock jumps over it) opens at the jump, the first local minute that exists.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def inside(local: time, start: time, end: time) -> bool:
    if start == end:
        return False  # an empty window: no quiet hours
    if start < end:
        return start <= local < end
    return local >= start or local < end  # crosses midnight


def _first_instant_at_or_after(day: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """The first real instant whose local wall time on `day` is `wall` or later."""
    naive = datetime.combine(day.date(), wall)
    candidate = naive.replace(tzinfo=tz)
    if candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return candidate.astimezone(UTC)
    # `wall` does not exist (spring-forward gap): walk to the end of the gap.
    instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant


def next_allowed(now: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """None when `now` is outside the window, else the first allowed instant (UTC)."""
    local = now.astimezone(tz)
    if not inside(local.time(), start, end):
        return None
    day = local if (start > end and local.time() < end) or start < end else (
        local + timedelta(days=1))
    return _first_instant_at_or_after(day, end, tz)


def next_allowed_in_all(now: datetime, start: time, end: time,
                        zones: tuple[ZoneInfo, ...]) -> datetime | None:
    """`next_allowed` when the recipient may be in any of `zones`: the first
    instant outside the window in every one of them (None: `now` already is)."""
    at = now
    # Each pass moves past one zone's window; windows of real zones overlap
    # within a day, so a handful of passes settles it.
    for _ in range(4 * len(zones) + 1):
        later = [u for tz in zones if (u := next_allowed(at, start, end, tz)) is not None]
        if not later:
            return None if at == now else at
        at = max(later)
    return at
