"""A reminder as a text: store name, a short line, the return link, "Reply STOP".

Every text names the brand first and ends with the opt-out words (CTIA
practice; reference C6). It is kept to one billed part where it can be:
typographic quotes and dashes, which would force UCS-2 (70 characters a
part instead of 160), become their plain forms, and a text that still runs
long drops words in a fixed order (the merchant's own line for the built-in
one, then the line, then a long store name's tail), never the brand, the
link or the opt-out. Plain text, no template engine: nothing is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.sms.segments import Segments, count

OPT_OUT = "Reply STOP to opt out"
OPENINGS = {
    "first": "you left something in your cart.",
    "second": "your cart is still saved for you.",
    "saved": "still saving these?",
}
SHORT_STORE_NAME = 24
PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                       "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2013": "-",
                       "\u2014": "-", "\u2212": "-", "\u00a0": " ", "\u2026": "..."})
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Text:
    body: str
    segments: Segments


def plain(text: str) -> str:
    """One line, typographic punctuation in its GSM-7 form."""
    return " ".join(CONTROL.sub(" ", text.translate(PLAIN)).split())


def _clip_words(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space when there is one."""
    head = text[:limit + 1]
    return (head.rsplit(" ", 1)[0] if " " in head else text[:limit]).rstrip()


def _body(store: str, opening: str, offer: str, link: str) -> str:
    words = [f"{store}:", opening, offer, link, OPT_OUT]
    return " ".join(w for w in words if w)


def compose(*, store_name: str, move: str, saved_link: bool, link: str,
            opening: str = "", offer_code: str | None = None) -> Text:
    """The text for one reminder; `opening` is the merchant's own line (blank: ours)."""
    default = OPENINGS["saved" if saved_link else move]
    store = plain(store_name) or "Your store"
    offer = f"Code {plain(offer_code)}." if offer_code else ""
    short_store = store if len(store) <= SHORT_STORE_NAME else (
        _clip_words(store, SHORT_STORE_NAME - 3) + "...")
    candidates = [_body(store, plain(opening) or default, offer, link),
                  _body(store, default, offer, link),
                  _body(store, "", offer, link),
                  _body(short_store, "", offer, link)]
    for body in candidates:
        if count(body).single:
            return Text(body, count(body))
    return Text(candidates[-1], count(candidates[-1]))
