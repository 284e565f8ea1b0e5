"""Build the RFC 5322 message for one reminder: headers, text and HTML parts."""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from app.errors import UnsafeMessage
from app.mail.compose import Composed
from app.mail.headers import (
    NAME_LIMIT,
    PLAIN_ADDRESS,
    SERIALIZE_POLICY,
    SUBJECT_LIMIT,
    printable,
    refuse_line_breaks,
    verify,
    verify_bytes,
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
    fast = _written(composed, envelope, now)
    if fast is not None:
        return fast
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
    # Cheap (the values as stored, no header parsing): notices a header set
    # or changed after build. Nothing in Cartback changes a built message.
    return tuple(msg.raw_items())


# --- the usual message, written directly --------------------------------------------------
# The email package's header objects and MIME assembly cost ~6 times the render.
# When every address is a plain ASCII dot-atom (nearly always), the message is
# written as text from values that are safe by construction: addresses
# matched in full, names and subject through `printable` then quoted or
# RFC 2047-encoded, bodies quoted-printable (7-bit, so no line is too long and
# the boundary, which starts "=_", cannot occur in them). The bytes are still
# parsed back and checked by `verify_bytes` before any backend sees them.
# The message object holds the body as that text, not as parts: to read its
# parts, parse `wire_bytes(msg)`. Anything else goes the email package's way above.

# A display name that needs no quoting (RFC 5322 atext and spaces).
PLAIN_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
LINE = 76  # as SERIALIZE_POLICY folds


def _written(composed: Composed, envelope: Envelope, now: datetime) -> EmailMessage | None:
    addresses = [envelope.from_email.strip(), envelope.to_email.strip()]
    if envelope.reply_to:
        addresses.append(envelope.reply_to.strip())
    if any("=?" in a or not PLAIN_ADDRESS.fullmatch(a) for a in addresses):
        return None
    from_email, to_email = addresses[0], addresses[1]
    targets = [f"<{envelope.unsubscribe_url}>"]
    if envelope.unsubscribe_mailto:
        targets.append(f"<mailto:{envelope.unsubscribe_mailto}?subject=unsubscribe>")
    boundary = f"=_{secrets.token_hex(16)}"
    headers = [
        ("From", _mailbox(printable(envelope.from_name, NAME_LIMIT), from_email)),
        ("To", to_email),
        *([("Reply-To", addresses[2])] if envelope.reply_to else []),
        ("Subject", _unstructured("Subject", printable(composed.subject, SUBJECT_LIMIT))),
        ("Date", format_datetime(now)),
        ("Message-ID", make_msgid(domain=from_email.rpartition("@")[2])),
        ("List-Unsubscribe", refuse_line_breaks("List-Unsubscribe", ", ".join(targets))),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
    ]
    body = "".join(
        f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_quoted_printable(content)}\r\n"
        for subtype, content in (("plain", composed.text), ("html", composed.html))
    ) + f"--{boundary}--\r\n"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = verify_bytes(f"{head}\r\n{body}".encode("ascii"), recipient=to_email,
                       reply_to=bool(envelope.reply_to))
    msg = EmailMessage(policy=SERIALIZE_POLICY)
    for name, value in headers:
        msg.set_raw(name, value)
    msg.set_payload(body)
    setattr(msg, _CHECKED, (_fingerprint(msg), raw))
    return msg


def _mailbox(name: str, email: str) -> str:
    if not name:
        return email
    if name.isascii():
        phrase = name if PLAIN_PHRASE.fullmatch(name) else (
            '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"')
    else:
        phrase = _unstructured("From", name)
    # "From: " + the name's last line + " <email>" within LINE, else the address folds.
    fold = " " if len(phrase.rpartition("\r\n")[2]) + len(email) + 9 <= LINE else "\r\n "
    return f"{phrase}{fold}<{email}>"


def _unstructured(name: str, text: str) -> str:
    """`text` folded at its spaces within LINE, or as RFC 2047 words when not ASCII."""
    if not text.isascii():
        return str(Header(text, "utf-8", header_name=name).encode(linesep="\r\n",
                                                                   maxlinelen=LINE))
    lines = [""]
    width = len(name) + 2
    for word in text.split(" "):
        if lines[-1] and width + len(lines[-1]) + 1 + len(word) > LINE:
            lines.append("")
            width = 1
        lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return "\r\n ".join(lines)


def _quoted_printable(text: str) -> str:
    # Ending on a line break, as the email package's set_content writes a part.
    crlf = (text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n").replace(
        "\n", "\r\n")
    return binascii.b2a_qp(crlf.encode("utf-8"), istext=True).decode("ascii")


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: the bytes `build` checked, or (a message changed since,
    or built elsewhere) serialised now with the same policy."""
    checked = getattr(msg, _CHECKED, None)
    if checked is not None and checked[0] == _fingerprint(msg):
        return bytes(checked[1])
    return msg.as_bytes(policy=SERIALIZE_POLICY)
