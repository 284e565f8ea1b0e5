"""Header safety: shopper and merchant text made printable, and the built message checked.

Python's email package (before 3.11.10 / 3.12.5, CVE-2024-6923) decodes an
RFC 2047 encoded word found in a header value and can fold the decoded CR/LF
back out as real line breaks, so a first name such as
`=?utf-8?q?a=0D=0ABcc:_evil@x.test?=` becomes a Bcc header. We do not rely on
the Python version: every value is reduced to printable text without
encoded-word syntax before it reaches the email package (`printable`), and
the serialised bytes are parsed back and checked for exactly the headers we
set and one recipient (`verify`) before any backend sees them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import Any

from app.errors import UnsafeMessage

# An RFC 2047 encoded word, or anything that starts like one.
ENCODED_WORD_RE = re.compile(r"=\?[^?\s]*\?[^?\s]*\?[^\s]*?\?=")
# RFC 2047 §2: an encoded word is at most 75 characters long.
MAX_ENCODED_WORD = 75
RAW_ENCODED_WORD_RE = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# Headers printed exactly as given, on one line: folding a long List-Unsubscribe
# turns it into encoded words no client can follow (values are ASCII URLs).
VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post", "message-id"})
NAME_LIMIT = 64
# One ASCII dot-atom addr-spec, nothing else: what nearly every address is.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                           r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# One mailbox: a bare or quoted display name (no encoded words) and a plain address.
PLAIN_MAILBOX = re.compile(r"(?:(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+|\"(?:[^\"\\]|\\.)*\") ?)?"
                           r"<(" + PLAIN_ADDRESS.pattern + r")>")
SUBJECT_LIMIT = 200


def printable(value: str | None, limit: int = NAME_LIMIT) -> str:
    """`value` as one line of printable text: no control or format characters,
    no line/paragraph separators, no encoded-word syntax, at most `limit` characters."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
                   else ch for ch in text)
    text = ENCODED_WORD_RE.sub(" ", text)
    while "=?" in text or "?=" in text:  # leftovers of half an encoded word
        text = text.replace("=?", "?").replace("?=", "?")
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rstrip()
    return text


def refuse_line_breaks(name: str, value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise UnsafeMessage(f"{name} contains a line break")
    return value


class SafePolicy(policy.EmailPolicy):
    """SMTP policy (CRLF, folded) that writes the `VERBATIM` headers on one line, unfolded."""

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in VERBATIM:
            return f"{name}: {refuse_line_breaks(name, str(value))}{self.linesep}"
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in VERBATIM:
            return self.fold(name, value).encode("ascii")
        return bytes(super().fold_binary(name, value))


# 76, not 78: CPython's folder can emit a 77-character encoded word on a
# 78-column line (one leading space + the word); at 76 every word fits RFC 2047's 75.
SERIALIZE_POLICY = SafePolicy(linesep="\r\n", max_line_length=76)

BASE_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                "List-Unsubscribe-Post", "MIME-Version", "Content-Type")


def _decoded(name: str, value: str) -> Any:
    """The header as `policy.default` reads it (encoded words decoded, addresses parsed)."""
    return policy.default.header_factory(name, value)


def verify(message: EmailMessage, *, recipient: str, reply_to: bool) -> bytes:
    """The message's bytes, after proving they carry exactly our headers and one recipient."""
    return verify_bytes(message.as_bytes(policy=SERIALIZE_POLICY), recipient=recipient,
                        reply_to=reply_to)


def verify_bytes(raw: bytes, *, recipient: str, reply_to: bool) -> bytes:
    """`raw`, after proving it carries exactly our headers and one recipient."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    try:
        head.decode("ascii")
    except UnicodeDecodeError as err:
        raise UnsafeMessage("raw 8-bit bytes in the headers") from err
    for word in RAW_ENCODED_WORD_RE.findall(head):
        if len(word) > MAX_ENCODED_WORD:
            raise UnsafeMessage("an encoded word longer than 75 characters")
    if any(len(line) > 998 for line in head.split(b"\r\n")):
        raise UnsafeMessage("a header line longer than 998 characters")
    # The checks are about the top-level headers only: parse just those, as
    # the raw strings (compat32); only a value with encoded-word syntax needs
    # the full decode to be checked for control characters; a value without
    # it decodes to its own (ASCII, unfolded) text.
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(head + b"\r\n\r\n")
    expected = Counter(h.lower() for h in BASE_HEADERS + (("Reply-To",) if reply_to else ()))
    found = Counter(key.lower() for key in parsed.keys())
    if found != expected:
        extra = sorted((found - expected).elements()) + sorted((expected - found).elements())
        raise UnsafeMessage(f"unexpected header set ({', '.join(extra)})")
    for key, value in parsed.items():
        unfolded = "".join(str(value).splitlines())
        decoded = str(_decoded(key, unfolded)) if "=?" in unfolded else unfolded
        if any(unicodedata.category(ch) == "Cc" for ch in decoded):
            raise UnsafeMessage(f"{key} decodes to a control character")
    if _one_address("To", str(parsed["To"])).lower() != recipient.lower():
        raise UnsafeMessage("the To header does not name exactly the one recipient")
    _one_address("From", str(parsed["From"]))
    return raw


def _one_address(name: str, value: str) -> str:
    """The one addr-spec a To or From value names; raises UnsafeMessage otherwise.

    A value matched in full by a plain pattern is one address without the
    header parser (three times the cost of the rest of the check)."""
    unfolded = "".join(value.splitlines())
    if "=?" not in unfolded:
        if PLAIN_ADDRESS.fullmatch(unfolded):
            return unfolded
        if plain := PLAIN_MAILBOX.fullmatch(unfolded):
            return plain.group(1)
    found = _decoded(name, unfolded).addresses
    if len(found) != 1:
        raise UnsafeMessage(f"the {name} header does not name exactly "
                            f"{'the one recipient' if name == 'To' else 'one sender'}")
    return str(found[0].addr_spec)
