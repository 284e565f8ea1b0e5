"""How many billed parts a text is: GSM-7 or UCS-2, counted as carriers split them.

A text travels in 140-byte parts. In the GSM 03.38 alphabet that is 160
septets, or 153 per part once a text needs several (the rest carries the
header that joins them); the extension table's characters (`{}[]~\\|^€` and
form feed) are an escape plus a character, two septets, and an escape pair is
never split across parts. One character outside the alphabet (an emoji, a
curly quote, most accented letters) makes the whole text UCS-2: 70 UTF-16
units, or 67 per part, an emoji being two units that are never split.
See shared/reference/flow-offers-sms-holdout.md C5.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (the 128 code points, as Unicode).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# The extension table: each is sent as ESC + one septet.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int

    @property
    def single(self) -> bool:
        return self.parts == 1


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def _units(text: str, encoding: str) -> list[int]:
    """Each character's size: septets, or UTF-16 code units."""
    if encoding == GSM7:
        return [2 if c in GSM_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def count(text: str) -> Segments:
    encoding = GSM7 if is_gsm7(text) else UCS2
    sizes = _units(text, encoding)
    single, per_part = LIMITS[encoding]
    total = sum(sizes)
    if total <= single:
        return Segments(encoding, total, 1 if text else 0)
    parts, used = 1, 0
    for size in sizes:  # greedy, never splitting an escape pair or a surrogate pair
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return Segments(encoding, total, parts)
