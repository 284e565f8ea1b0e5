"""Per-cart timers. Nothing outside this package imports APScheduler.

`Timers` is what the app talks to: `set(cart_id, when)` (re)arms a cart's one
timer, `None` cancels it. `CartTimers` is the APScheduler-backed one used by
the process that runs the timers; `NullTimers` is for web processes and tests,
where the cart rows alone carry the wake times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from scheduler.timers import CartTimers


class Timers(Protocol):
    def set(self, cart_id: int, when: datetime | None) -> None: ...

    def cancel_many(self, cart_ids: Iterable[int]) -> None: ...


class NullTimers:
    def set(self, cart_id: int, when: datetime | None) -> None:
        pass

    def cancel_many(self, cart_ids: Iterable[int]) -> None:
        pass


def __getattr__(name: str) -> object:
    # Import APScheduler only when the real timers are asked for.
    if name == "CartTimers":
        from scheduler.timers import CartTimers

        return CartTimers
    raise AttributeError(name)


__all__ = ["CartTimers", "NullTimers", "Timers"]
