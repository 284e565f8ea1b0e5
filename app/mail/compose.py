"""Gate 4's renderer: a reminder's subject, text and HTML from Jinja2 templates.

Templates run in a `SandboxedEnvironment` because merchants edit them; the
HTML environment autoescapes, the text one does not (it is plain text). A
template set is `{name}.subject.txt`, `{name}.opening.txt`, `{name}.txt` and
`{name}.html`; merchant overrides (same names) take precedence over the files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from jinja2 import (
    ChoiceLoader,
    DictLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.sandbox import SandboxedEnvironment

from app.core import brand as copywriting
from app.core import quiet_hours
from app.errors import TemplateFailed
from app.mail import budget
from app.mail.brand import DEFAULT_BRAND, Brand
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
    brand: Brand = DEFAULT_BRAND  # the store's logo, colour, sign-off and per-step copy


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
        # No constant folding at compile time: `{{ "x" * 10**10 }}` must cost nothing until
        # it runs, inside the render budget. The optimizer folds everywhere; the code
        # generator folds `{{ ... }}` output unless finalize needs the render's context.
        optimized=False,
        finalize=_as_is,
    )


@pass_context
def _as_is(_context: Any, value: Any) -> Any:
    return value


def template_variables(ctx: MailContext, name: str = "first") -> dict[str, Any]:
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
    total = money(ctx.total, ctx.currency, locale)
    placeholders = {
        "first_name": first_name or "there",
        "store_name": ctx.store_name,
        "cart_total": total,
        "item_count": str(sum(item["quantity"] for item in items)),
        "first_item": items[0]["title"] if items else "your picks",
    }
    brand = ctx.brand
    return {
        "greeting": f"Hi {first_name}" if first_name else "Hi there",
        "first_name": first_name,
        "items": items,
        "total": total,
        "return_url": ctx.return_url,
        "unsubscribe_url": ctx.unsubscribe_url,
        "store_name": ctx.store_name,
        "postal_address": ctx.postal_address,
        "saved_link": ctx.saved_link,
        # The language the copy is written in (the merchant says which), not the shopper's:
        # only the money and dates follow the shopper's locale.
        "lang": brand.language,
        "copy": {part: copywriting.fill(brand.copy.get(f"{name}_{part}", ""), placeholders)
                 for part in ("subject", "preheader", "body")},
        "brand": {"logo_url": brand.logo_url, "logo_background": brand.logo_background,
                  "logo_width": brand.logo_width,
                  "logo_height": brand.logo_height, "accent_color": brand.accent_color,
                  "sign_off": copywriting.fill(brand.sign_off, placeholders)},
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
    """The template's own opening line (what the polisher starts from), within the budget."""
    rendered = _render_parts(name, overrides or {}, template_variables(ctx, name),
                             ("opening.txt",))
    return one_line(rendered["opening.txt"])


def render(name: str, ctx: MailContext, *, opening_line: str | None = None,
           overrides: Mapping[str, str] | None = None) -> Composed:
    """Render template set `name`; `opening_line` replaces the plain one when given.

    Runs within the render budget (see `_render_parts`); raises TemplateFailed.
    """
    rendered = _render_parts(name, overrides or {}, template_variables(ctx, name), PARTS,
                             opening_line=opening_line)
    return Composed(template=name, subject=one_line(rendered["subject.txt"]),
                    opening_line=rendered["line"], text=rendered["txt"],
                    html=rendered["html"])


# --- the render budget -----------------------------------------------------------------------
# Merchant templates are code: they render in a forked child (app.mail.budget) that is killed
# after RENDER_TIME_LIMIT_S and capped in memory, and each part's output is capped too. Every
# way a render can fail becomes one TemplateFailed naming the part and, when known, the line.

TEMPLATE_SIZE_LIMIT = 64 * 1024  # characters per part, checked when a template is saved
OUTPUT_SIZE_LIMIT = 512 * 1024  # characters each rendered part may produce
RENDER_TIME_LIMIT_S = 1.0

# Nothing is fetched: a template's <link> to a stylesheet is not ours to load. (The layout's
# dark-mode rules sit in a <style data-css-inline="keep"> and stay as written.)
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


def _compile(env: SandboxedEnvironment, template_name: str) -> Template:
    part = template_name.split(".", 1)[1]
    try:
        return env.get_template(template_name)
    except TemplateSyntaxError as err:
        raise TemplateFailed(err.message or "is not a valid template", part=part,
                             line=err.lineno) from err
    except RecursionError as err:
        raise TemplateFailed("is nested too deeply", part=part) from err
    except TemplateError as err:
        raise TemplateFailed(err.message or "is not a valid template", part=part) from err


def _render_parts(name: str, overrides: Mapping[str, str], variables: dict[str, Any],
                  parts: Sequence[str], *, opening_line: str | None = None) -> dict[str, str]:
    text_env = _environment(overrides, autoescape=False)
    html_env = _environment(overrides, autoescape=True)
    # Compiled here, in the parent, so every child starts warm; the environments do not
    # fold constants (optimized=False), so compiling costs only the template's length.
    compiled = {part: _compile(html_env if part == "html" else text_env, f"{name}.{part}")
                for part in parts}
    if "html" in parts:
        html_env.get_template("layout.html")  # ours, and what every HTML part extends

    def work(progress: Callable[[str], None]) -> dict[str, str] | tuple[str, int | None, str]:
        values = dict(variables)
        out: dict[str, str] = {}
        for part in parts:
            progress(part)
            try:
                out[part] = compiled[part].render(values)
                if part == "html":
                    out[part] = _INLINER.inline(out[part])
            except Exception as err:  # noqa: BLE001 - merchant code may raise anything
                return part, _line_of(err, f"{name}.{part}"), _reason(err)
            if len(out[part]) > OUTPUT_SIZE_LIMIT:
                return part, None, (f"renders more than {OUTPUT_SIZE_LIMIT // 1024} KiB; "
                                    "check for a loop that repeats too often")
            if part == "subject.txt":
                values["subject"] = one_line(out[part])
            if part == "opening.txt":
                plain = one_line(out[part])
                out["line"] = one_line(opening_line) if opening_line else plain
                values["opening_line"] = out["line"]
        return out

    if overrides:
        kind, value = budget.run(work, time_limit_s=RENDER_TIME_LIMIT_S)
    else:
        # Only our own templates: no merchant code to contain, so no child
        # (a fork costs ~10 times the render itself).
        kind, value = "ok", work(lambda part: None)
    if kind == "ok" and isinstance(value, dict):
        return value
    if kind == "ok":
        part, line, reason = value
        raise TemplateFailed(reason, part=part, line=line)
    reasons = {"timeout": f"took longer than {RENDER_TIME_LIMIT_S:g} s to render; "
                          "check for loops that repeat too often",
               "memory": "needs too much memory to render",
               "crashed": "stopped the renderer"}
    raise TemplateFailed(reasons[kind], part=value)


def _reason(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "calls itself too deeply"
    if isinstance(err, MemoryError):
        return "needs too much memory to render"
    if isinstance(err, TemplateError):
        return err.message or type(err).__name__
    # Python's own errors (division by zero, a range too big): the message, not the type.
    return str(err)[:300] or type(err).__name__


def _line_of(err: BaseException, template_name: str) -> int | None:
    if isinstance(err, TemplateSyntaxError):
        return err.lineno
    tb = err.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template_name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
