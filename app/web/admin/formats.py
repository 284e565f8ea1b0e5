"""Money and moments as the merchant reads them: the store's locale and time zone.

Money goes through the emails' own Babel formatter (app.mail.compose.money),
so the admin and the reminders print a total the same way. Flask-free.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format

from app.mail.compose import babel_locale
from app.mail.compose import money as email_money


class StoreFormats:
    """Formatting for one store: its locale (settings `locale`) and its time zone."""

    def __init__(self, locale: str | None, timezone: str, now: datetime) -> None:
        self.locale: Locale = babel_locale(locale)
        self.zone = ZoneInfo(timezone)
        self.now = now

    def money(self, amount: Decimal | float | str | None, currency: str | None) -> str:
        if amount is None or amount == "":
            return "—"
        return email_money(Decimal(str(amount)), currency, self.locale)

    def moment(self, at: datetime | None) -> str:
        """`Nov 27, 2026, 10:09 PM` in the store's zone; '—' for no time."""
        if at is None:
            return "—"
        local = at.astimezone(self.zone)
        pattern = str(get_datetime_format("medium", locale=self.locale)).replace("'", "")
        return pattern.format(format_time(local, "short", locale=self.locale),
                              format_date(local, "medium", locale=self.locale))

    def day(self, at: datetime | None) -> str:
        return "—" if at is None else format_date(at.astimezone(self.zone), "medium",
                                                  locale=self.locale)

    def ago(self, at: datetime | None) -> str:
        """`3h ago`, `in 20 min`: how far from now, in the store's language."""
        if at is None:
            return ""
        return str(format_timedelta(at - self.now, add_direction=True, format="narrow",
                                    threshold=1.5, locale=self.locale))
