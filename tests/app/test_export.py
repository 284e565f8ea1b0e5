"""The nightly export read back: CSV with the csv module, XLSX with openpyxl,
and the exact Google Sheets API calls through a faked HTTP layer."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import responses
from openpyxl import load_workbook

from app import export
from app.carts.wake import wake_due
from app.db.crypto import encrypt_json
from app.db.models import Store
from tests.factories import T0, cart_body

DAY = date(2026, 11, 23)


@pytest.fixture
def day_of_carts(post_custom, runtime, clock):
    post_custom(cart_body(cart_id="a", items=[{"title": "Linen shirt", "quantity": 2,
                                                "price": "49.00"}], total="98.00"))
    post_custom(cart_body(cart_id="b", email="bob@example.com", first_name="Bob"))
    wake_due(runtime, T0 + timedelta(hours=4))
    clock.set(T0 + timedelta(hours=6))
    post_custom(cart_body("order.placed", cart_id="a", occurred_at=T0 + timedelta(hours=6),
                          total="98.00"))
    clock.set(T0 + timedelta(days=1))
    post_custom(cart_body(cart_id="c", occurred_at=T0 + timedelta(days=1)))  # the next day


def test_export_writes_csv_and_xlsx_for_the_stores_day(day_of_carts, runtime, store):
    written = export.export_day(runtime, store.id, DAY)
    csv_path, xlsx_path = written
    assert csv_path.endswith(f"/{store.id}/2026-11-23.csv")
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == export.HEADER
    assert len(rows) == 3  # carts a and b; c started the next day
    a = dict(zip(rows[0], rows[1], strict=True))
    assert a["Items"] == "2 × Linen shirt"
    assert a["Total"] == "98.0000" or a["Total"].startswith("98.00")
    assert (a["Status"], a["Reminded"], a["Recovered"]) == ("recovered", "yes", "yes")
    assert a["First reminder"] == "2026-11-23 13:00"
    assert a["Recovered at"] == "2026-11-23 15:00"
    book = load_workbook(xlsx_path)
    sheet = book["2026-11-23"]
    assert [c.value for c in sheet[1]] == export.HEADER
    assert sheet[1][0].font.bold
    started = sheet.cell(row=2, column=1).value
    assert isinstance(started, datetime) and started == datetime(2026, 11, 23, 9, 0)
    assert sheet.cell(row=2, column=3).value == 98.0
    assert sheet.cell(row=3, column=5).value == "reminded"


def test_export_uses_the_store_timezone_for_the_day(make_store, runtime, client):
    tokyo = make_store(domain="tokyo.example", timezone="Asia/Tokyo")
    from platforms.signing import sign_base64

    # 20:00 UTC on the 22nd is already the 23rd in Tokyo.
    raw = json.dumps(cart_body(occurred_at=datetime(2026, 11, 22, 20, tzinfo=UTC),
                               return_url="https://tokyo.example/cart")).encode()
    client.post(f"/webhooks/custom/{tokyo.id}", data=raw,
                headers={"X-Cartback-Hmac-Sha256": sign_base64(tokyo.webhook_secret, raw)})
    csv_path = export.export_day(runtime, tokyo.id, DAY)[0]
    with open(csv_path, encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 2 and rows[1][0] == "2026-11-23 05:00"


def service_account():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "cartback-test",
            "private_key_id": "k1", "private_key": pem,
            "client_email": "exporter@cartback-test.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}


def test_export_to_google_sheets_makes_exactly_these_calls(day_of_carts, runtime, store):
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.credentials = encrypt_json(runtime.fernet(),
                                       {"google_service_account": service_account()})
        row.platform_state = {"google_sheet": {"spreadsheet_id": "SHEET123"}}
    base = "https://sheets.googleapis.com/v4/spreadsheets/SHEET123"
    metadata = {"spreadsheetId": "SHEET123", "properties": {"title": "Cartback carts"},
                "sheets": [{"properties": {"sheetId": 0, "title": "Sheet1", "index": 0,
                                           "gridProperties": {"rowCount": 100,
                                                              "columnCount": 20}}}]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://iamcredentials\.googleapis\.com/.*"),
                 json={})
        rsps.add(responses.POST, "https://oauth2.googleapis.com/token",
                 json={"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"})
        rsps.add(responses.GET, re.compile(re.escape(base) + r"(\?.*)?$"), json=metadata)
        rsps.add(responses.POST, f"{base}:batchUpdate", json={
            "spreadsheetId": "SHEET123", "replies": [{"addSheet": {"properties": {
                "sheetId": 7, "title": "2026-11-23", "index": 1,
                "gridProperties": {"rowCount": 13, "columnCount": 11}}}}]})
        rsps.add(responses.PUT, re.compile(re.escape(f"{base}/values/") + ".*"),
                 json={"updatedRows": 3})
        written = export.export_day(runtime, store.id, DAY)
        # google-auth may also ask iamcredentials about the account on its own;
        # what Cartback asks of the Sheets API is exactly this:
        sheets = [c for c in rsps.calls if "sheets.googleapis.com" in c.request.url]
        calls = [(c.request.method, c.request.url.removeprefix(base)) for c in sheets]
        add_sheet = json.loads(sheets[2].request.body)
        update = json.loads(sheets[3].request.body)
        token_calls = [c for c in rsps.calls if c.request.url.startswith(
            "https://oauth2.googleapis.com/token")]
    assert written[-1] == "google-sheet:SHEET123#2026-11-23"
    assert len(token_calls) == 1  # signed with the service account's key
    assert calls == [
        ("GET", "?includeGridData=false"),  # open the spreadsheet
        ("GET", "?includeGridData=false"),  # look for today's tab
        ("POST", ":batchUpdate"),  # add the tab
        ("PUT", "/values/%272026-11-23%27%21A1?valueInputOption=USER_ENTERED"),
    ]
    assert add_sheet["requests"][0]["addSheet"]["properties"]["title"] == "2026-11-23"
    assert update["values"][0] == export.HEADER
    assert update["values"][1][1] == "2 × Linen shirt"
    assert len(update["values"]) == 3


def test_export_due_retries_a_failure_with_backoff_and_reports_it(day_of_carts, runtime,
                                                                  store):
    attempts = []

    def broken_sheet(*args):
        attempts.append(args)
        raise ConnectionError("sheets unreachable")

    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.credentials = encrypt_json(runtime.fernet(),
                                       {"google_service_account": {"type": "service_account"}})
        row.platform_state = {"google_sheet": {"spreadsheet_id": "S"}}
        row.settings = {}
    night = datetime(2026, 11, 24, 0, 31, tzinfo=UTC)
    assert export.export_due(runtime, night, broken_sheet) == {store.id: "failed"}
    assert export.export_due(runtime, night + timedelta(minutes=2), broken_sheet) == {}
    assert export.export_due(runtime, night + timedelta(minutes=5), broken_sheet) == {
        store.id: "failed"}
    with runtime.db.new_session() as session:
        state = session.get(Store, store.id).platform_state["export"]
    assert state["ok"] is False and state["attempts"] == 2 and "unreachable" in state["error"]
    assert state["retry_at"] == (night + timedelta(minutes=35)).isoformat()
    ok = export.export_due(runtime, night + timedelta(minutes=35), lambda *a: None)
    assert ok == {store.id: "ok"}
    assert export.export_due(runtime, night + timedelta(hours=5), broken_sheet) == {}


def test_export_cli_by_hand(runner, day_of_carts, store):
    result = runner.invoke(["export", "--store", str(store.id), "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert result.output.count(".csv") == 1 and result.output.count(".xlsx") == 1
    bad = runner.invoke(["export", "--store", str(store.id), "--date", "23/11/2026"])
    assert bad.exit_code != 0


def exported_days(runtime, store):
    folder = Path(runtime.config["EXPORT_DIR"]) / str(store.id)
    return sorted(p.stem for p in folder.glob("*.csv"))


def test_export_missed_night_is_caught_up_on_the_next_run(day_of_carts, runtime, store):
    assert export.export_due(runtime, datetime(2026, 11, 23, 0, 40, tzinfo=UTC)) == {
        store.id: "ok"}  # the 22nd, on time
    # The scheduler was down through the night of the 24th (nothing ran), back on the 25th.
    assert export.export_due(runtime, datetime(2026, 11, 25, 0, 31, tzinfo=UTC)) == {
        store.id: "ok"}
    assert exported_days(runtime, store) == ["2026-11-22", "2026-11-23", "2026-11-24"]
    with open(Path(runtime.config["EXPORT_DIR"]) / str(store.id) / "2026-11-23.csv",
              encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) == 3  # header and the day's two carts
    with runtime.db.new_session() as session:
        state = session.get(Store, store.id).platform_state["export"]
    assert state["ok"] and state["done_through"] == "2026-11-24"
    assert state["caught_up"] == ["2026-11-23"]
    # Nothing more to do until the next night.
    assert export.export_due(runtime, datetime(2026, 11, 25, 6, 0, tzinfo=UTC)) == {}


def test_export_day_whose_retries_all_failed_is_retried_the_next_night(day_of_carts, runtime,
                                                                       store):
    def broken(*args):
        raise ConnectionError("disk full")

    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.credentials = encrypt_json(runtime.fernet(),
                                       {"google_service_account": {"type": "service_account"}})
        row.platform_state = {"google_sheet": {"spreadsheet_id": "S"}}
    night = datetime(2026, 11, 24, 0, 31, tzinfo=UTC)
    for later in (0, 5, 35, 155):  # the first try and its three retries
        assert export.export_due(runtime, night + timedelta(minutes=later), broken) == {
            store.id: "failed"}
    assert export.export_due(runtime, night + timedelta(hours=20), broken) == {}
    sheets = []
    ok = export.export_due(runtime, night + timedelta(days=1),
                           lambda account, sheet, tab, values: sheets.append(tab))
    assert ok == {store.id: "ok"}
    assert sheets == ["2026-11-23", "2026-11-24"]


def test_export_xlsx_has_each_reminders_performance(day_of_carts, runtime, store):
    _, xlsx_path = export.export_day(runtime, store.id, DAY)
    sheet = load_workbook(xlsx_path)["Reminders"]
    assert [c.value for c in sheet[1]] == export.STEP_HEADER
    first = [c.value for c in sheet[2]]
    # Two first reminders that day; cart a's order (98.00) is credited to its first.
    assert first[:8] == ["first", "email", 2, 2, 0, 0, 0, 1]  # both delivered, none bounced
    assert first[9] == 0.5 and first[10] == "98.00 EUR"
    assert first[11] == 7  # the store's attribution window, in days
    assert [c.value for c in sheet[3]][:8] == ["second", "email", 0, 0, 0, 0, 0, 0]
