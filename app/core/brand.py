"""Checks for a store's email brand and copy: named placeholders, the accent
colour's contrast, the logo's address. Pure string rules, shared by the
settings schema (on save) and the renderer (on send)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

# What a merchant may write in a subject, preheader, message or sign-off, and
# what each becomes (the admin shows this table).
PLACEHOLDERS: dict[str, str] = {
    "first_name": 'the shopper\'s first name, or "there" when we do not know it',
    "store_name": "your store's name",
    "cart_total": "the cart's total, in the shopper's currency",
    "item_count": "how many items are in the cart",
    "first_item": "the first item's title",
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

# White button text on the accent colour must stay readable: WCAG AA for body text.
MIN_BUTTON_CONTRAST = 4.5


def unknown_placeholders(text: str) -> list[str]:
    return [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]


def check_copy(text: str) -> str:
    """Raise ValueError naming the first placeholder we cannot fill, or a lone brace."""
    unknown = unknown_placeholders(text)
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"{{{unknown[0]}}} is not a placeholder we know; use {known}")
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise ValueError("has a { or } that does not belong to a placeholder")
    return text


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace each known placeholder; anything else stays as written (saved copy is checked)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def parse_hex_color(value: str) -> str:
    """`#RGB` or `#RRGGBB` (the # optional) as lower-case `#rrggbb`; ValueError otherwise."""
    digits = value.strip().removeprefix("#")
    if not re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", digits):
        raise ValueError("use a hex colour such as #008060")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits.lower()}"


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_accent(value: str) -> str:
    color = parse_hex_color(value)
    ratio = contrast_ratio(color, "#ffffff")
    if ratio < MIN_BUTTON_CONTRAST:
        raise ValueError(f"is too light for the button's white text (contrast {ratio:.1f}:1, "
                         f"needs {MIN_BUTTON_CONTRAST:g}:1); pick a darker shade")
    return color


def check_logo_url(value: str) -> str:
    """An https address (mail clients block or warn on http images), or empty for no logo."""
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// address of an image")
    if any(c.isspace() or c in '"<>\\' for c in url) or "@" in parts.netloc:
        raise ValueError("is not a plain image address")
    return url


def check_language(value: str) -> str:
    tag = value.strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag):
        raise ValueError("use a language code such as en, de or pt-BR")
    return tag
