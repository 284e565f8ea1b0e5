"""Inbound texts delivered through SNS (two-way SMS): who wrote, and is it an opt-out. Pure.

The SNS `Message` is a JSON object with `originationNumber` (the shopper),
`destinationNumber` (ours), `messageKeyword`, `messageBody` and
`inboundMessageId` (reference C3). The opt-out words are the ones carriers
require in the US and Canada (reference C2), plus STOPALL and REVOKE, which
shoppers use too; a reply counts as one when its first word is one of them,
in any case and with trailing punctuation ("Stop."). START and UNSTOP
re-subscribe (the words AWS's default keywords use for opting back in,
reference C2); HELP is AWS's to answer while it manages the number's
opt-outs (`SelfManagedOptOutsEnabled` false, the default), so it is only
logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.errors import SnsRefused
from platforms import fields
from platforms.base import BadPayload

STOP_WORDS = frozenset({"ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE",
                        "STOP", "STOPALL", "TD", "UNSUBSCRIBE", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP"})
FIRST_WORD = re.compile(r"^\s*([A-Za-z-]+)[\s.!]*")


@dataclass(frozen=True)
class Inbound:
    phone: str  # E.164, the shopper's number
    keyword: str | None  # the first word, upper-cased
    message_id: str | None

    @property
    def is_stop(self) -> bool:
        return self.keyword in STOP_WORDS

    @property
    def is_start(self) -> bool:
        return self.keyword in START_WORDS

    @property
    def is_help(self) -> bool:
        return self.keyword in HELP_WORDS


def parse(event: Any) -> Inbound:
    """Raises SnsRefused (400) naming what is missing or malformed."""
    if not isinstance(event, dict):
        raise SnsRefused("inbound SMS Message is not a JSON object")
    try:
        phone = fields.phone(event.get("originationNumber"), "originationNumber")
        body = fields.text(event.get("messageBody"), "messageBody", max_len=1600, clip=True)
        keyword = fields.text(event.get("messageKeyword"), "messageKeyword", max_len=40,
                              clip=True)
        message_id = fields.text(event.get("inboundMessageId"), "inboundMessageId",
                                 max_len=255, clip=True)
    except BadPayload as err:
        raise SnsRefused(f"inbound SMS {err}") from err
    if phone is None:
        raise SnsRefused("inbound SMS has no originationNumber")
    # The body is what the shopper wrote; `messageKeyword` is AWS's reading of it
    # against the keywords configured on our number, and may be absent.
    match = FIRST_WORD.match(body or "")
    word = match.group(1).upper() if match else (keyword or "").upper() or None
    return Inbound(phone, word, message_id)
