"""What a text costs: GSM-7 vs UCS-2, extension characters, parts as carriers split them."""

from __future__ import annotations

import pytest

from app.sms.segments import GSM7, UCS2, Segments, count


@pytest.mark.parametrize("text, encoding, units, parts", [
    ("", GSM7, 0, 0),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    # Extension characters are an escape plus a character: two septets each.
    ("€" * 80, GSM7, 160, 1),
    ("€" * 81, GSM7, 162, 2),
    ("{}[]~\\|^", GSM7, 16, 1),
    # Accented letters in the GSM alphabet stay GSM-7; one outside it makes it all UCS-2.
    ("é" * 160, GSM7, 160, 1),
    ("ê" * 70, UCS2, 70, 1),
    ("ê" * 71, UCS2, 71, 2),
    ("it\u2019s" + "a" * 66, UCS2, 70, 1),  # a curly apostrophe
    ("it\u2019s" + "a" * 67, UCS2, 71, 2),
    ("ê" * 134, UCS2, 134, 2),
    ("ê" * 135, UCS2, 135, 3),
    # An emoji is two UTF-16 units.
    ("🛒" * 35, UCS2, 70, 1),
    ("🛒" * 36, UCS2, 72, 2),
])
def test_segments_counted_as_billed(text, encoding, units, parts):
    assert count(text) == Segments(encoding, units, parts)


def test_an_escape_pair_is_never_split_across_parts():
    # 152 septets then a two-septet "€": it cannot end part one (153), so it opens part two.
    text = "a" * 152 + "€" + "a" * 152
    assert count(text).units == 306  # naive division would say 2 parts
    assert count(text).parts == 3


def test_an_emoji_is_never_split_across_parts():
    text = "ê" * 66 + "🛒" + "ê" * 66  # 134 units; the emoji cannot straddle 67
    assert (count(text).units, count(text).parts) == (134, 3)
