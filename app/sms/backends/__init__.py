"""SMS backends behind one small interface: hand over one text.

`send` returns the provider's message id; it raises `DeliveryError` as the
mail backends do (`transient` worth a retry, `ambiguous` maybe delivered),
and `SmsOptedOut` when the provider holds the number as opted out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164
    body: str
    created_at: datetime
    # Echoed into the provider's delivery events, so they tie back to a cart.
    context: dict[str, str] = field(default_factory=dict)


class Texter(Protocol):
    name: str

    def send(self, message: TextMessage) -> str: ...


def make_texter(config: Mapping[str, Any]) -> Texter:
    backend = config["SMS_BACKEND"]
    if backend == "outbox":
        from app.sms.backends.outbox import OutboxTexter

        return OutboxTexter(config["SMS_OUTBOX_DIR"])
    if backend == "aws":
        from app.sms.backends.aws import AwsTexter

        return AwsTexter.from_config(config)
    raise ValueError(f"SMS backend {backend!r} is not available")
