"""Email addresses as Cartback compares, checks and sends to them. Pure.

One normal form for every comparison (the unsubscribe list, do-not-disturb,
linking an order to a cart by email) and one check, `email-validator`'s
syntax rules, for every address we would put on an envelope or accept from a
merchant (a From address, an unsubscribe entry).

No DNS lookups (deliverability is the provider's job and would make a gate
slow and impure). Refused: anything that is not one plain addr-spec, quoted
local parts, IP-literal domains (`a@[127.0.0.1]`), special-use domains
(`.local`, `.invalid`, `localhost`), dotted oddities (`a..b@`, `.a@`, `a.@`)
and non-ASCII local parts. The last is a decision: none of our backends
speaks SMTPUTF8 (SES takes a 7-bit local part; our SMTP client never asks for
SMTPUTF8), so `jösé@example.com` would fail at the provider or be mangled.
Internationalised domains are fine and are sent in their ASCII (IDNA) form.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

# Flip only together with a backend that negotiates SMTPUTF8 end to end.
ALLOW_SMTPUTF8 = False


def normalize_email(address: str | None) -> str | None:
    """The form addresses are compared in: trimmed and case-folded; None when blank."""
    if address is None:
        return None
    cleaned = address.strip().casefold()
    return cleaned or None


def identities(email: str | None, phone: str | None) -> tuple[str, ...]:
    """A shopper as the unsubscribe list and the frequency cap know them: the
    normalized email and the E.164 number, so either channel's opt-out or
    reminder counts for both."""
    return tuple(i for i in (normalize_email(email), phone) if i)


def deliverable(email: str | None) -> str | None:
    """The ASCII form to put on the envelope, or None when we must not send to it."""
    if not email or not email.strip():
        return None
    try:
        checked = validate_email(email.strip(), check_deliverability=False,
                                 allow_smtputf8=ALLOW_SMTPUTF8, allow_quoted_local=False,
                                 allow_domain_literal=False, allow_display_name=False)
    except EmailNotValidError:
        return None
    return str(checked.ascii_email or checked.normalized)


def looks_like_address(text: str | None) -> bool:
    """One plain address we could send from or to; nothing that would split a header."""
    return deliverable(text) is not None
