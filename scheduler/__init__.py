"""Per-cart timers (placeholder interface until the APScheduler layer lands)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol


class Timers(Protocol):
    def set(self, cart_id: int, when: datetime | None) -> None: ...

    def cancel_many(self, cart_ids: Iterable[int]) -> None: ...


class NullTimers:
    def set(self, cart_id: int, when: datetime | None) -> None:
        pass

    def cancel_many(self, cart_ids: Iterable[int]) -> None:
        pass
