"""Where a phone number rings: its possible time zones, for SMS quiet hours. Pure.

Numbers are stored in E.164 (read by `platforms.fields.phone`). A number's
zones come from its country and area code (libphonenumber's geocoding
data): one for most, several for a country or area that spans zones (a
Canadian mobile, say). The quiet-hours gate then keeps to the narrowest
window, as the US rules ask when the shopper's zone is unsure.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as number_zones

UNKNOWN_ZONE = "Etc/Unknown"


def zones(e164: str | None) -> tuple[str, ...]:
    """The IANA zones the number may be in; () when unknown or unreadable."""
    if not e164:
        return ()
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(z for z in number_zones.time_zones_for_number(number) if z != UNKNOWN_ZONE)
