"""Email addresses as Cartback compares and checks them. Pure.

One normal form for every comparison (the unsubscribe list, do-not-disturb,
linking an order to a cart by email) and one shape check for addresses a
merchant types (a From address, an unsubscribe entry).
"""

from __future__ import annotations

import re

_ADDRESS_SHAPE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def normalize_email(address: str | None) -> str | None:
    """The form addresses are compared in: trimmed and case-folded; None when blank."""
    if address is None:
        return None
    cleaned = address.strip().casefold()
    return cleaned or None


def looks_like_address(text: str | None) -> bool:
    """One @, a dotted domain, nothing that would split a header into two addresses."""
    return bool(text) and _ADDRESS_SHAPE.match(text or "") is not None
