"""Delivery events of texts (End User Messaging SMS event destinations through SNS). Pure.

A configuration set's event destination (`CreateEventDestination`, an SNS
topic) publishes one JSON object per status change of a text: `eventType`,
`messageId` (the id `SendTextMessage` returned), `isFinal`,
`destinationPhoneNumber`, `messageStatus`, `context`... (reference C4; the
fields as in AWS's "Messaging Events" example log). The event types are
botocore's `EventType` enum for `pinpoint-sms-voice-v2`. A text that the
carrier or AWS could not deliver counts as bounced, as an email's hard or
soft bounce does; TEXT_UNKNOWN (no final word after 72 hours) does not: we
do not know it failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import SnsRefused
from platforms import fields
from platforms.base import BadPayload

DELIVERED = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
UNDELIVERED = frozenset({"TEXT_INVALID", "TEXT_INVALID_MESSAGE", "TEXT_UNREACHABLE",
                         "TEXT_CARRIER_UNREACHABLE", "TEXT_BLOCKED", "TEXT_CARRIER_BLOCKED",
                         "TEXT_SPAM", "TEXT_TTL_EXPIRED", "TEXT_PROTECT_BLOCKED"})


@dataclass(frozen=True)
class TextEvent:
    event_type: str
    message_id: str

    @property
    def undelivered(self) -> bool:
        return self.event_type in UNDELIVERED


def is_text_event(event: Any) -> bool:
    """A delivery event rather than an inbound text: both may come through one topic."""
    return isinstance(event, dict) and str(event.get("eventType") or "").startswith("TEXT_")


def parse(event: dict[str, Any]) -> TextEvent:
    """Raises SnsRefused (400) naming what is missing or malformed."""
    try:
        event_type = fields.text(event.get("eventType"), "eventType", max_len=40)
        message_id = fields.text(event.get("messageId"), "messageId", max_len=255)
    except BadPayload as err:
        raise SnsRefused(f"SMS event {err}") from err
    if not event_type or not message_id:
        raise SnsRefused("SMS event has no eventType or messageId")
    return TextEvent(event_type, message_id)
