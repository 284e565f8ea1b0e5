"""Build the RFC 5322 message for one reminder: headers, text and HTML parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from app.mail.compose import Composed

# One physical line per header: Python's default folding turns a long
# List-Unsubscribe into RFC 2047 encoded-words, which no client can follow.
SERIALIZE_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Envelope:
    from_name: str
    from_email: str
    to_email: str
    reply_to: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None


def _no_newlines(value: str) -> str:
    # A CR or LF in a header value would start a new header: never allow it.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def _address(name: str, email: str) -> Address:
    local, _, domain = email.strip().rpartition("@")
    return Address(display_name=_no_newlines(name), username=local, domain=domain)


def build(composed: Composed, envelope: Envelope, now: datetime) -> EmailMessage:
    msg = EmailMessage(policy=SERIALIZE_POLICY)
    msg["From"] = _address(envelope.from_name, envelope.from_email)
    msg["To"] = _address("", envelope.to_email)
    if envelope.reply_to:
        msg["Reply-To"] = _address("", envelope.reply_to)
    msg["Subject"] = _no_newlines(composed.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=envelope.from_email.rpartition("@")[2] or None)
    targets = [f"<{envelope.unsubscribe_url}>"]
    if envelope.unsubscribe_mailto:
        targets.append(f"<mailto:{envelope.unsubscribe_mailto}?subject=unsubscribe>")
    msg["List-Unsubscribe"] = ", ".join(targets)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(composed.text)
    msg.add_alternative(composed.html, subtype="html")
    return msg
