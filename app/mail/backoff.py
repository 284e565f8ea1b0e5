"""Retry delays for transient delivery failures: exponential, capped, with jitter.

Without jitter every cart throttled in the same second retries in the same
second and is throttled again. "Equal jitter": a random point in the upper
half of the exponential step, so a retry never comes sooner than half the step.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

_system = secrets.SystemRandom()


def retry_delay(attempt: int, *, base: timedelta = timedelta(minutes=1),
                cap: timedelta = timedelta(hours=1),
                random: Callable[[], float] = _system.random) -> timedelta:
    step = min(cap, base * 2 ** max(0, attempt))
    return step / 2 + step / 2 * random()
