"""Per-store settings as a typed schema, and the `Rules` the domain reads.

Each field says its label, help text, kind and default once; validation, the
defaults the waiter and gates use, and the admin form all come from here.
Values live in `Store.settings` (JSON); anything missing falls back to the
default, so adding a setting needs no migration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from app.core import brand
from app.core.addresses import looks_like_address
from app.core.offers import Offer, make_offer
from app.errors import SettingsError


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    # minutes | hours | days | count | percent | number | time | timezone | locale | text
    # | email | bool | choice | https_url | url (the logo) | color (the accent)
    # | hex (any colour) | copy | language
    kind: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False
    # Which admin page edits it: "settings", or "emails" (the brand and copy on the Emails page).
    page: str = "settings"


def _copy(step: str, part: str, label: str, default: str, help: str = "") -> Field:
    return Field(f"{step}_{part}", label, "copy", default, help, page="emails")


# The Emails page: what a merchant designs without touching template code. Copy fields
# take {placeholders} (app.core.brand); the defaults are the copy every store starts with.
BRAND_FIELDS: tuple[Field, ...] = (
    Field("logo_url", "Logo", "url", "",
          "An https:// address of your logo image (PNG or JPEG).", page="emails"),
    Field("logo_background", "Behind the logo", "hex", "#ffffff",
          "The plate your logo sits on, the same in light and dark mode so a transparent "
          "logo never vanishes: keep white for a dark logo, pick a dark colour for a white one.",
          page="emails"),
    Field("logo_width", "Logo width", "count", 160, "In pixels, as it shows in the email.",
          minimum=16, maximum=560, page="emails"),
    Field("logo_height", "Logo height", "count", 48, "In pixels; keep your logo's proportions.",
          minimum=16, maximum=240, page="emails"),
    Field("accent_color", "Accent colour", "color", "#008060",
          "The button's colour, as hex (#008060). It must be dark enough for white text.",
          page="emails"),
    Field("sign_off", "Sign-off", "copy", "The {store_name} team",
          "The line under the button, in every reminder.", page="emails"),
    Field("email_language", "Language of your emails", "language", "en",
          "The language your subject and message are written in (en, de, fr, pt-BR...): "
          "mail clients and screen readers use it.", page="emails"),
    _copy("first", "subject", "Subject", "Hi {first_name}, your cart at {store_name} is waiting"),
    _copy("first", "preheader", "Preheader",
          "Your {item_count} picks are saved; come back whenever you like.",
          "The grey line inboxes show after the subject."),
    _copy("first", "body", "Message",
          "You left a few things in your cart at {store_name}, and we kept them for you.",
          "The opening paragraph. With polishing on, the language model may reword it in "
          "your store's voice."),
    _copy("second", "subject", "Subject", "Your cart at {store_name} is still saved"),
    _copy("second", "preheader", "Preheader",
          "{first_item} and the rest are still in your cart.",
          "The grey line inboxes show after the subject."),
    _copy("second", "body", "Message",
          "Your cart is still saved at {store_name}, whenever you are ready.",
          "The opening paragraph."),
    _copy("saved", "subject", "Subject", "Still saving these? Your cart at {store_name} is here"),
    _copy("saved", "preheader", "Preheader", "The cart you saved at {store_name} is right here.",
          "The grey line inboxes show after the subject."),
    _copy("saved", "body", "Message",
          "You saved these at {store_name}; they are still here for you.",
          "The opening paragraph."),
)


# How a reminder step goes out (app.core.gates.channel_for).
CHANNEL_CHOICES = ("email", "sms", "sms_if_no_email")

FIELDS: tuple[Field, ...] = (
    Field("first_wait_minutes", "First reminder after", "minutes", 240,
          "Minutes since the shopper last touched the cart.", minimum=15, maximum=7 * 24 * 60),
    Field("second_wait_hours", "Second reminder after", "hours", 24,
          "Hours after the first reminder.", minimum=1, maximum=14 * 24),
    Field("give_up_days", "Give up after", "days", 7,
          "Days since the last activity after which no reminder is sent.", minimum=1, maximum=60),
    Field("quiet_start", "Quiet hours start", "time", "21:00",
          "No email from this time (shopper's timezone when known)."),
    Field("quiet_end", "Quiet hours end", "time", "08:00", "Emails resume at this time."),
    # The key keeps its old name (it was the fixed do-not-disturb window) so
    # the values merchants already saved still apply.
    Field("dnd_hours", "Frequency cap period", "hours", 72,
          "The period the frequency cap counts over, in hours (72 = 3 days); 0 turns the cap off.",
          minimum=0, maximum=30 * 24),
    Field("cap_reminders", "Frequency cap: reminders per shopper", "count", 1,
          "At most this many reminders about a shopper's other carts within the period; "
          "past it a new cart's reminder is skipped. A cart's own second reminder is never "
          "blocked by its first.", minimum=1, maximum=50),
    Field("consent_policy", "Consent policy", "choice", "all",
          "Who may be reminded.", choices=("all", "subscribers_only", "by_region")),
    Field("holdout_percent", "Holdout group", "percent", 0,
          "Hold back this share of eligible carts (0 = none; 10 is a good start): they get no "
          "reminder, so the dashboard can show how many sales the reminders really add. "
          "A shopper is always in the same group.", minimum=0, maximum=50),
    Field("attribution_days", "Count an order as recovered within", "days", 7,
          "Days after a reminder within which an order counts as recovered.",
          minimum=1, maximum=60),
    Field("first_offer", "Offer in the first reminder", "choice", "none",
          "A unique single-use code made for this shopper when the reminder is really sent "
          "(custom storefronts: taken from your uploaded codes). The email shows it, the "
          "return link applies it where your platform allows (see the README), and codes "
          "that expire unused are deleted from your store.",
          choices=("none", "percent", "fixed", "free_shipping")),
    Field("first_offer_value", "First reminder's offer value", "number", 10,
          "Percent (10 = 10 % off) or an amount in the cart's currency; ignored for free "
          "shipping.", minimum=0, maximum=10_000),
    Field("second_offer", "Offer in the second reminder", "choice", "none",
          "As for the first reminder.", choices=("none", "percent", "fixed", "free_shipping")),
    Field("second_offer_value", "Second reminder's offer value", "number", 10,
          "Percent or amount, as above.", minimum=0, maximum=10_000),
    Field("offer_hours", "Offer valid for", "hours", 12,
          "Hours after the reminder; the code stops working then.", minimum=1, maximum=30 * 24),
    Field("offer_minimum", "Offer's minimum order", "number", 0,
          "The code works only from this order subtotal (0 = any order).",
          minimum=0, maximum=1_000_000),
    # SMS (issue 16): per step a channel; texts only with explicit SMS consent.
    Field("first_channel", "First reminder goes by", "choice", "email",
          "email; sms (only to shoppers who ticked SMS marketing consent for their number); "
          "or sms_if_no_email: email, but a text when there is no usable email address or "
          "no consent for email under the consent policy.", choices=CHANNEL_CHOICES),
    Field("second_channel", "Second reminder goes by", "choice", "email",
          "As for the first reminder.", choices=CHANNEL_CHOICES),
    Field("sms_quiet_start", "SMS quiet hours start", "time", "20:00",
          "No text from this time in the shopper's zone (their number's zone when the cart "
          "names none, the narrowest when a number spans several). Stricter than email: "
          "US law forbids texts before 8:00 and after 21:00, some states from 20:00."),
    Field("sms_quiet_end", "SMS quiet hours end", "time", "09:00", "Texts resume at this time."),
    Field("sms_opening", "SMS opening", "text", "",
          "The text's first words after the store name (empty: \"you left something in your "
          "cart\"). Keep it short: a text of more than 160 plain characters (70 with any "
          "emoji or accented letter outside the GSM alphabet) is billed as several."),
    Field("offer_callback_url", "Offer code address (custom storefronts)", "https_url", "",
          "Instead of uploaded codes: Cartback POSTs the cart and the offer to this https "
          "address on your store's domain, signed like your webhooks (X-Cartback-Hmac-Sha256), "
          "and your storefront answers {\"code\": \"...\"}. Empty: use the uploaded codes."),
    Field("locale", "Store locale", "locale", "en",
          "Language and region for money and dates in this admin, e.g. en_US, de_DE, ja_JP."),
    Field("sender_name", "Sender name", "text", "", "Shown as the From name; store name if empty."),
    Field("reply_to", "Reply-to address", "email", "", "Where shopper replies go."),
    Field("postal_address", "Postal address", "text", "",
          "Printed in every email's footer (required by anti-spam law)."),
    Field("voice", "Store voice", "text", "",
          "One sentence on how the store talks, for the polished opening line."),
    Field("polish", "Polish the opening line", "bool", True,
          "Let the language model rewrite the first line in the store's voice."),
    *BRAND_FIELDS,
    Field("paused", "Pause all reminders", "bool", False,
          "Nothing is sent while paused; timers keep running."),
)

FIELDS_BY_KEY = {f.key: f for f in FIELDS}
NUMERIC_KINDS = frozenset({"minutes", "hours", "days", "count", "percent", "number"})



def parse_time(value: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise ValueError("use HH:MM, 24-hour")
    return time(int(match.group(1)), int(match.group(2)))


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"{value!r} is not a known IANA timezone") from err
    return value


def check_locale(value: str) -> str:
    """A locale Babel knows (`en_US`, `de-DE`), in Babel's spelling."""
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError) as err:
        raise ValueError(f"{value!r} is not a known locale (try en_US or de_DE)") from err


def _clean(field: Field, raw: Any) -> Any:
    if field.kind in NUMERIC_KINDS:
        if isinstance(raw, bool):
            raise ValueError("must be a number")
        try:
            number = float(raw)
        except (TypeError, ValueError) as err:
            raise ValueError("must be a number") from err
        if field.minimum is not None and number < field.minimum:
            raise ValueError(f"must be at least {field.minimum:g}")
        if field.maximum is not None and number > field.maximum:
            raise ValueError(f"must be at most {field.maximum:g}")
        if field.kind == "count" and not number.is_integer():
            raise ValueError("must be a whole number")
        return int(number) if number.is_integer() else number
    if field.kind == "time":
        return parse_time(str(raw)).strftime("%H:%M")
    if field.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "on", "yes"}:
            return True
        if str(raw).lower() in {"0", "false", "off", "no", ""}:
            return False
        raise ValueError("must be on or off")
    if field.kind == "choice":
        if raw not in field.choices:
            raise ValueError(f"choose one of {', '.join(field.choices)}")
        return raw
    if field.kind == "email":
        value = str(raw).strip()
        if value and not looks_like_address(value):
            raise ValueError("is not an email address")
        return value
    if field.kind == "timezone":
        return check_timezone(str(raw))
    if field.kind == "locale":
        return check_locale(str(raw))
    if field.kind == "url":
        return brand.check_logo_url(str(raw))
    if field.kind == "color":
        return brand.check_accent(str(raw))
    if field.kind == "hex":
        return brand.parse_hex_color(str(raw))
    if field.kind == "language":
        return brand.check_language(str(raw))
    if field.kind == "copy":
        value = " ".join(str(raw).split())  # one line: subjects and preheaders are headers
        if not value:
            raise ValueError("must not be empty; use Reset to default to go back to ours")
        if len(value) > 500:
            raise ValueError("is too long (500 characters at most)")
        return brand.check_copy(value)
    if field.kind == "https_url":
        value = str(raw).strip()
        if value and not re.fullmatch(r"https://[^\s/?#@\\]+(/\S*)?", value):
            raise ValueError("must be an https:// address")
        if len(value) > 500:
            raise ValueError("is too long (500 characters at most)")
        return value
    value = str(raw)
    if field.key != "postal_address" and ("\r" in value or "\n" in value):
        raise ValueError("must be one line")
    if len(value) > 500:
        raise ValueError("is too long (500 characters at most)")
    return value


def validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Clean `changes`; raise SettingsError naming every bad field."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, raw in changes.items():
        field = FIELDS_BY_KEY.get(key)
        if field is None:
            errors[key] = "is not a setting"
            continue
        try:
            cleaned[key] = _clean(field, raw)
        except ValueError as err:
            errors[key] = str(err)
    if errors:
        raise SettingsError(errors)
    return cleaned


def effective(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    values = {f.key: f.default for f in FIELDS}
    values.update({k: v for k, v in (stored or {}).items() if k in FIELDS_BY_KEY})
    return values


@dataclass(frozen=True)
class Rules:
    """What the waiter and the gates need to know about a store, typed."""

    first_wait: timedelta = timedelta(hours=4)
    second_wait: timedelta = timedelta(hours=24)
    give_up_after: timedelta = timedelta(days=7)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    store_timezone: str = "UTC"
    dnd_window: timedelta = timedelta(hours=72)  # the frequency cap's period
    cap_reminders: int = 1
    consent_policy: str = "all"
    attribution_window: timedelta = timedelta(days=7)
    holdout_percent: float = 0
    paused: bool = False
    # Printed in every email's footer; the law (CAN-SPAM, and most others) wants one.
    postal_address: str = ""
    # Per step: the offer a reminder carries (None: no offer).
    offers: tuple[tuple[str, Offer | None], ...] = ()
    # Per step: email | sms | sms_if_no_email (missing: email).
    channels: tuple[tuple[str, str], ...] = ()
    sms_quiet_start: time = time(20, 0)
    sms_quiet_end: time = time(9, 0)

    def offer_for(self, move: str) -> Offer | None:
        return dict(self.offers).get(move)

    def channel_for(self, move: str) -> str:
        return dict(self.channels).get(move, "email")

    @classmethod
    def for_store(cls, stored: Mapping[str, Any] | None, store_timezone: str) -> Rules:
        values = effective(stored)
        return cls(
            first_wait=timedelta(minutes=values["first_wait_minutes"]),
            second_wait=timedelta(hours=values["second_wait_hours"]),
            give_up_after=timedelta(days=values["give_up_days"]),
            quiet_start=parse_time(values["quiet_start"]),
            quiet_end=parse_time(values["quiet_end"]),
            store_timezone=store_timezone,
            dnd_window=timedelta(hours=values["dnd_hours"]),
            cap_reminders=int(values["cap_reminders"]),
            consent_policy=values["consent_policy"],
            attribution_window=timedelta(days=values["attribution_days"]),
            holdout_percent=float(values["holdout_percent"]),
            paused=bool(values["paused"]),
            postal_address=str(values["postal_address"] or "").strip(),
            offers=tuple((step, make_offer(values[f"{step}_offer"],
                                           float(values[f"{step}_offer_value"]),
                                           float(values["offer_hours"]),
                                           float(values["offer_minimum"])))
                         for step in ("first", "second")),
            channels=tuple((step, values[f"{step}_channel"]) for step in ("first", "second")),
            sms_quiet_start=parse_time(values["sms_quiet_start"]),
            sms_quiet_end=parse_time(values["sms_quiet_end"]),
        )
