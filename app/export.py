"""The nightly export: the day's carts mirrored to a sheet a person can read.

"The day's carts" are the carts started on that calendar day in the store's
timezone, one row each, as they stand at export time. Always written as CSV
and XLSX into EXPORT_DIR/<store id>/<date>.{csv,xlsx}; also to a Google Sheet
(one tab per day) when the store has a service account and a spreadsheet.
The XLSX has a second sheet, "Reminders": per step and channel, the reminders
sent that day and what followed (app.performance). The export only reads:
nothing ever flows back from a sheet.

Failures are retried with backoff (5 min, 30 min, 2 h) by `export_due`, which
the scheduler runs every few minutes; a night that was missed (the scheduler
was down, or every retry failed) is caught up on the next run, up to
CATCH_UP_DAYS back. The last outcome is kept on the store for the dashboard.
Reminders never wait on an export.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import performance
from app.core.rules import Rules
from app.db.crypto import decrypt_json
from app.db.models import Cart, Send, SendResult, Store
from app.runtime import Runtime

log = logging.getLogger(__name__)

HEADER = ["Started", "Items", "Total", "Currency", "Status", "Reminded", "First reminder",
          "Second reminder", "Recovered", "Recovered at", "Order total", "Holdout group"]
EXPORT_AT = time(0, 30)  # local time the previous day is exported
RETRY_AFTER = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
# How far back a run catches up days it missed (scheduler down, retries used up).
CATCH_UP_DAYS = 7


@dataclass(frozen=True)
class Row:
    started: datetime  # store-local, naive (spreadsheets have no zones)
    items: str
    total: Decimal | None
    currency: str
    status: str
    reminded: bool
    first_at: datetime | None
    second_at: datetime | None
    recovered: bool
    recovered_at: datetime | None
    order_total: Decimal | None
    held_out: bool = False  # held back on purpose: the holdout group got no reminder

    def cells(self) -> list[Any]:
        return [self.started, self.items, self.total, self.currency, self.status,
                "yes" if self.reminded else "no", self.first_at, self.second_at,
                "yes" if self.recovered else "no", self.recovered_at, self.order_total,
                "held back" if self.held_out else ""]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(day, time(0), tz),
            datetime.combine(day + timedelta(days=1), time(0), tz))


def rows_for_day(session: Session, store: Store, day: date) -> list[Row]:
    tz = ZoneInfo(store.timezone)
    start, end = day_bounds(day, tz)
    carts = session.scalars(select(Cart).where(
        Cart.store_id == store.id, Cart.created_at >= start, Cart.created_at < end)
        .order_by(Cart.created_at, Cart.id)).all()
    sent: dict[tuple[int, str], datetime] = {}
    held: set[int] = set()
    if carts:
        for cart_id, move, created, result in session.execute(select(
                Send.cart_id, Send.move, Send.created_at, Send.result).where(
                Send.cart_id.in_([c.id for c in carts]),
                Send.result.in_((SendResult.SENT.value, SendResult.HELD_OUT.value)))):
            if result == SendResult.HELD_OUT.value:
                held.add(cart_id)
            else:
                sent[(cart_id, move)] = created

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz).replace(tzinfo=None) if moment else None

    rows = []
    for cart in carts:
        recovered = cart.status == "recovered"
        rows.append(Row(
            started=local(cart.created_at) or datetime.min,
            items="; ".join(f"{i.get('quantity', 1)} × {i.get('title', '')}" for i in cart.items)
            or ("(erased)" if cart.erased_at else ""),
            total=cart.total, currency=cart.currency or "", status=cart.status,
            reminded=cart.reminders_sent > 0,
            first_at=local(sent.get((cart.id, "first"))),
            second_at=local(sent.get((cart.id, "second"))),
            recovered=recovered, recovered_at=local(cart.ordered_at) if recovered else None,
            order_total=cart.order_total if recovered else None,
            held_out=cart.id in held,
        ))
    return rows


def write_csv(rows: Sequence[Row], path: Path) -> None:
    # UTF-8 with a byte-order mark: Excel otherwise reads "×" and accents as
    # mojibake; LibreOffice and Google Sheets ignore the mark.
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(["" if v is None else (v.isoformat(sep=" ", timespec="minutes")
                                                   if isinstance(v, datetime) else v)
                             for v in row.cells()])


STEP_HEADER = ["Reminder", "Channel", "Sent", "Delivered", "Bounced", "Clicked", "Unsubscribed",
               "Recovered", "Click rate", "Recovery rate", "Revenue recovered",
               "Attribution window (days)"]


def step_rows(session: Session, store: Store, day: date) -> list[list[Any]]:
    """Per-step numbers for the reminders sent that day (app.performance.step_report)."""
    start, end = day_bounds(day, ZoneInfo(store.timezone))
    window = Rules.for_store(store.settings, store.timezone).attribution_window
    return [[row.step, row.channel, row.sent, row.delivered, row.bounced, row.clicked,
             row.unsubscribed, row.recovered,
             None if row.click_rate is None else round(row.click_rate, 4),
             None if row.recovery_rate is None else round(row.recovery_rate, 4),
             "; ".join(f"{amount} {currency}" for currency, amount in row.revenue.items()),
             window.days]
            for row in performance.step_report(session, store.id, start, end, window)]


def write_xlsx(rows: Sequence[Row], path: Path, day: date,
               steps: Sequence[Sequence[Any]] = ()) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = day.isoformat()
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row.cells()])
    for index, width in enumerate([17, 48, 11, 9, 11, 9, 17, 17, 10, 17, 12, 12], start=1):
        sheet.column_dimensions[chr(64 + index)].width = width
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    if steps:
        # A second sheet: how each reminder sent that day performed.
        per_step = book.create_sheet("Reminders")
        per_step.append(STEP_HEADER)
        for cell in per_step[1]:
            cell.font = Font(bold=True)
        for step in steps:
            per_step.append(list(step))
    book.save(path)


SheetWriter = Callable[[dict[str, Any], str, str, list[list[Any]]], None]


def write_google_sheet(service_account: dict[str, Any], spreadsheet_id: str, tab: str,
                       values: list[list[Any]]) -> None:
    """One tab per day in the merchant's spreadsheet, replaced if it exists."""
    import gspread

    client = gspread.service_account_from_dict(service_account)
    spreadsheet = client.open_by_key(spreadsheet_id)
    try:
        worksheet = spreadsheet.worksheet(tab)
        worksheet.clear()
    except gspread.WorksheetNotFound:
        worksheet = spreadsheet.add_worksheet(title=tab, rows=max(len(values), 1) + 10,
                                              cols=len(HEADER))
    worksheet.update(values, "A1", value_input_option="USER_ENTERED")


def _sheet_values(rows: Sequence[Row]) -> list[list[Any]]:
    def plain(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, datetime):
            return v.strftime("%Y-%m-%d %H:%M")
        if isinstance(v, Decimal):
            return float(v)
        return v

    return [HEADER] + [[plain(v) for v in row.cells()] for row in rows]


def export_day(runtime: Runtime, store_id: int, day: date,
               sheet_writer: SheetWriter = write_google_sheet) -> list[str]:
    """Write the day's sheet(s); returns what was written (paths, and the sheet)."""
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None:
            raise LookupError(f"no store {store_id}")
        rows = rows_for_day(session, store, day)
        steps = step_rows(session, store, day)
        google = (store.platform_state or {}).get("google_sheet")
        secrets = decrypt_json(runtime.fernet(), store.credentials) if google else {}
    folder = Path(runtime.config["EXPORT_DIR"]) / str(store_id)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    csv_path, xlsx_path = folder / f"{day.isoformat()}.csv", folder / f"{day.isoformat()}.xlsx"
    write_csv(rows, csv_path)
    write_xlsx(rows, xlsx_path, day, steps)
    written += [str(csv_path), str(xlsx_path)]
    if google and secrets.get("google_service_account"):
        sheet_writer(secrets["google_service_account"], google["spreadsheet_id"],
                     day.isoformat(), _sheet_values(rows))
        written.append(f"google-sheet:{google['spreadsheet_id']}#{day.isoformat()}")
    return written


def _record(runtime: Runtime, store_id: int, outcome: dict[str, Any]) -> None:
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        if store is not None:
            store.platform_state = {**(store.platform_state or {}), "export": outcome}


def _days_due(state: dict[str, Any], yesterday: date) -> list[date]:
    """Every day not exported yet, oldest first, at most CATCH_UP_DAYS back.

    A night the scheduler missed (down at 00:30, or a failure that used up
    its retries) is caught up on the next run instead of being skipped.
    """
    done = state.get("done_through") or (state.get("day") if state.get("ok") else None)
    if done is not None:
        first = date.fromisoformat(done) + timedelta(days=1)
    elif state.get("day"):  # never succeeded: start from the first day that failed
        first = min(date.fromisoformat(state["day"]), yesterday)
    else:
        first = yesterday
    first = max(first, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]


def export_due(runtime: Runtime, now: datetime,
               sheet_writer: SheetWriter = write_google_sheet) -> dict[int, str]:
    """Export every day not yet exported up to yesterday, for every store past 00:30
    local; a failure is retried with backoff within the night, and again the next night."""
    with runtime.db.new_session() as session:
        stores = [(s.id, s.timezone, dict((s.platform_state or {}).get("export") or {}))
                  for s in session.scalars(select(Store).where(Store.installed.is_(True)))]
    results = {}
    for store_id, tz_name, state in stores:
        local = now.astimezone(ZoneInfo(tz_name))
        if local.time() < EXPORT_AT:
            continue
        yesterday = local.date() - timedelta(days=1)
        days = _days_due(state, yesterday)
        if not days:
            continue
        same_night = state.get("night", state.get("day")) == yesterday.isoformat()
        if same_night and not state.get("ok"):
            if state.get("attempts", 0) > len(RETRY_AFTER):
                continue
            if state.get("retry_at") and datetime.fromisoformat(state["retry_at"]) > now:
                continue
        attempts = state.get("attempts", 0) + 1 if same_night and not state.get("ok") else 1
        results[store_id] = _export_days(runtime, store_id, days, yesterday, state, attempts,
                                         now, sheet_writer)
    return results


def _export_days(runtime: Runtime, store_id: int, days: list[date], night: date,
                 state: dict[str, Any], attempts: int, now: datetime,
                 sheet_writer: SheetWriter) -> str:
    done_through = state.get("done_through") or (state.get("day") if state.get("ok") else None)
    written: list[str] = []
    for day in days:
        try:
            written += export_day(runtime, store_id, day, sheet_writer)
        except Exception as err:  # noqa: BLE001 - any failure is recorded and retried, never raised
            retry_at = (now + RETRY_AFTER[attempts - 1]) if attempts <= len(RETRY_AFTER) else None
            _record(runtime, store_id, {"day": day.isoformat(), "night": night.isoformat(),
                                        "ok": False, "attempts": attempts, "at": now.isoformat(),
                                        "error": f"{type(err).__name__}: {err}"[:300],
                                        "retry_at": retry_at.isoformat() if retry_at else None,
                                        "done_through": done_through})
            log.warning("export failed", extra={"store_id": store_id, "day": day.isoformat(),
                                                 "attempt": attempts})
            return "failed"
        done_through = day.isoformat()
    if len(days) > 1:
        log.info("export caught up missed days", extra={
            "store_id": store_id, "days": [d.isoformat() for d in days]})
    _record(runtime, store_id, {"day": days[-1].isoformat(), "night": night.isoformat(),
                                "ok": True, "attempts": attempts, "at": now.isoformat(),
                                "files": written, "done_through": done_through,
                                "caught_up": [d.isoformat() for d in days[:-1]]})
    return "ok"
