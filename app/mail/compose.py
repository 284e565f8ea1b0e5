"""Gate 4's renderer: a reminder's subject, text and HTML from Jinja2 templates.

Templates run in a `SandboxedEnvironment` because merchants edit them; the
HTML environment autoescapes, the text one does not (it is plain text). A
template set is `{name}.subject.txt`, `{name}.opening.txt`, `{name}.txt` and
`{name}.html`; merchant overrides (same names) take precedence over the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, format_percent
from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from app.core import quiet_hours
from app.mail.headers import printable

EMAIL_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
TEMPLATE_NAMES = ("first", "second", "saved")
PARTS = ("subject.txt", "opening.txt", "txt", "html")


@dataclass(frozen=True)
class Composed:
    template: str
    subject: str
    opening_line: str
    text: str
    html: str


@dataclass(frozen=True)
class MailContext:
    """Everything a template may show; built by the sender from the cart row."""

    store_name: str
    postal_address: str
    first_name: str | None
    items: Sequence[Mapping[str, Any]]
    total: Decimal | None
    currency: str | None
    locale: str | None
    return_url: str
    unsubscribe_url: str
    saved_link: bool
    # A recovery offer's single-use code (app.carts.offers), when the step has one.
    offer_kind: str | None = None  # percent | fixed | free_shipping
    offer_value: Decimal | None = None
    offer_code: str | None = None
    offer_expires_at: datetime | None = None
    timezone: str | None = None  # for the offer's expiry, the shopper's (else the store's)


def template_for(move: str, saved_link: bool) -> str:
    if move == "first" and saved_link:
        return "saved"
    return move


def babel_locale(tag: str | None) -> Locale:
    if tag:
        try:
            return Locale.parse(tag.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse("en")


def money(amount: Decimal | None, currency: str | None, locale: Locale) -> str:
    if amount is None:
        return ""
    if not currency:
        return f"{amount:.2f}"
    return str(format_currency(amount, currency, locale=locale))


def _environment(overrides: Mapping[str, str], autoescape: bool) -> SandboxedEnvironment:
    return _cached_environment(tuple(sorted(overrides.items())), autoescape)


@lru_cache(maxsize=256)
def _cached_environment(overrides: tuple[tuple[str, str], ...],
                        autoescape: bool) -> SandboxedEnvironment:
    # One environment per distinct set of templates: Jinja then compiles each
    # template once instead of on every email (a store's edits make a new key).
    return SandboxedEnvironment(
        loader=ChoiceLoader([DictLoader(dict(overrides)), FileSystemLoader(str(EMAIL_TEMPLATES))]),
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def template_variables(ctx: MailContext) -> dict[str, Any]:
    locale = babel_locale(ctx.locale)
    items = []
    for raw in ctx.items:
        unit = Decimal(str(raw.get("unit_price", "0")))
        quantity = int(raw.get("quantity", 1))
        items.append({
            "title": raw.get("title", ""),
            "quantity": quantity,
            "price": money(unit, ctx.currency, locale),
            "line_total": money(unit * quantity, ctx.currency, locale),
            "image_url": raw.get("image_url") or "",
            "product_url": raw.get("product_url") or "",
        })
    # Shopper-given names reach the subject line: printable text only (see app.mail.headers).
    first_name = printable(ctx.first_name)
    return {
        "greeting": f"Hi {first_name}" if first_name else "Hi there",
        "first_name": first_name,
        "items": items,
        "total": money(ctx.total, ctx.currency, locale),
        "return_url": ctx.return_url,
        "unsubscribe_url": ctx.unsubscribe_url,
        "store_name": ctx.store_name,
        "postal_address": ctx.postal_address,
        "saved_link": ctx.saved_link,
        "lang": locale.language,
        "offer": _offer(ctx, locale),
    }


def _offer(ctx: MailContext, locale: Locale) -> dict[str, str] | None:
    """The code, what it gives and until when, in the shopper's locale and zone."""
    if not ctx.offer_code or ctx.offer_expires_at is None:
        return None
    if ctx.offer_kind == "percent" and ctx.offer_value is not None:
        what = f"{format_percent(ctx.offer_value / 100, locale=locale)} off"
    elif ctx.offer_kind == "fixed" and ctx.offer_value is not None:
        what = f"{money(ctx.offer_value, ctx.currency, locale)} off"
    else:
        what = "free shipping"
    until = format_datetime(ctx.offer_expires_at, "medium",
                            tzinfo=quiet_hours.zone(ctx.timezone, "UTC"), locale=locale)
    return {"code": ctx.offer_code, "what": what, "until": str(until)}


def one_line(value: str) -> str:
    """Subjects and opening lines are single lines whatever a template does."""
    return " ".join(value.split())


def render_plain_opening(name: str, ctx: MailContext,
                         overrides: Mapping[str, str] | None = None) -> str:
    text_env = _environment(overrides or {}, autoescape=False)
    return one_line(text_env.get_template(f"{name}.opening.txt").render(template_variables(ctx)))


def render(name: str, ctx: MailContext, *, opening_line: str | None = None,
           overrides: Mapping[str, str] | None = None) -> Composed:
    """Render template set `name`; `opening_line` replaces the plain one when given."""
    overrides = overrides or {}
    variables = template_variables(ctx)
    text_env = _environment(overrides, autoescape=False)
    html_env = _environment(overrides, autoescape=True)
    subject = one_line(text_env.get_template(f"{name}.subject.txt").render(variables))
    plain = one_line(text_env.get_template(f"{name}.opening.txt").render(variables))
    line = one_line(opening_line) if opening_line else plain
    variables.update(subject=subject, opening_line=line)
    text = text_env.get_template(f"{name}.txt").render(variables)
    html = css_inline.inline(html_env.get_template(f"{name}.html").render(variables))
    return Composed(template=name, subject=subject, opening_line=line, text=text, html=html)
