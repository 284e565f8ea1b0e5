"""Build the RFC 5322 message for one reminder: headers, text and HTML parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from app.errors import UnsafeMessage
from app.mail.compose import Composed
from app.mail.headers import (
    NAME_LIMIT,
    SERIALIZE_POLICY,
    SUBJECT_LIMIT,
    printable,
    refuse_line_breaks,
    verify,
)

__all__ = ["SERIALIZE_POLICY", "Envelope", "UnsafeMessage", "build", "wire_bytes"]

# The bytes `verify` checked, kept on the message so a backend sends exactly
# those and does not serialise the message a second time.
_CHECKED = "_cartback_checked_bytes"


@dataclass(frozen=True)
class Envelope:
    from_name: str
    from_email: str
    to_email: str
    reply_to: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None


def _address(name: str, email: str) -> Address:
    local, _, domain = refuse_line_breaks("an address", email.strip()).rpartition("@")
    try:
        return Address(display_name=printable(name, NAME_LIMIT), username=local, domain=domain)
    except (ValueError, IndexError) as err:
        raise UnsafeMessage("an address the email package refuses") from err


def build(composed: Composed, envelope: Envelope, now: datetime) -> EmailMessage:
    """The message, already serialised once and checked (see app.mail.headers.verify).

    Raises `UnsafeMessage` (a permanent DeliveryError) instead of returning a
    message with a header we did not set or a second recipient.
    """
    msg = EmailMessage(policy=SERIALIZE_POLICY)
    msg["From"] = _address(envelope.from_name, envelope.from_email)
    msg["To"] = _address("", envelope.to_email)
    if envelope.reply_to:
        msg["Reply-To"] = _address("", envelope.reply_to)
    msg["Subject"] = printable(composed.subject, SUBJECT_LIMIT)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=envelope.from_email.rpartition("@")[2] or None)
    targets = [f"<{envelope.unsubscribe_url}>"]
    if envelope.unsubscribe_mailto:
        targets.append(f"<mailto:{envelope.unsubscribe_mailto}?subject=unsubscribe>")
    msg["List-Unsubscribe"] = refuse_line_breaks("List-Unsubscribe", ", ".join(targets))
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(composed.text)
    msg.add_alternative(composed.html, subtype="html")
    raw = verify(msg, recipient=envelope.to_email.strip(), reply_to=bool(envelope.reply_to))
    setattr(msg, _CHECKED, (_fingerprint(msg), raw))
    return msg


def _fingerprint(msg: EmailMessage) -> tuple[object, ...]:
    # Cheap (the header objects already exist): notices a header set or
    # changed after build. Nothing in Cartback changes a built message.
    return tuple(msg.items())


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: the bytes `build` checked, or (a message changed since,
    or built elsewhere) serialised now with the same policy."""
    checked = getattr(msg, _CHECKED, None)
    if checked is not None and checked[0] == _fingerprint(msg):
        return bytes(checked[1])
    return msg.as_bytes(policy=SERIALIZE_POLICY)
