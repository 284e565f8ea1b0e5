"""The admin as a merchant reads it: store formats, the setup checklist, confirmations,
the privacy requests page and friendly error pages (HTML for a browser, JSON for code)."""

from __future__ import annotations

import re
from datetime import timedelta

import boto3
from moto import mock_aws
from sqlalchemy import func, select

from app.carts.wake import wake_due
from app.db.models import Cart, Store, Suppression
from app.mail.backends.ses import SesMailer
from app.privacy import suppressions
from tests.factories import T0, cart_body, cart_id

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def set_store(runtime, store_id, **fields):
    with runtime.db.transaction() as session:
        row = session.get(Store, store_id)
        for key, value in fields.items():
            if key == "settings":
                row.settings = {**(row.settings or {}), **value}
            elif key == "platform_state":
                row.platform_state = {**(row.platform_state or {}), **value}
            else:
                setattr(row, key, value)


# --- store formats ---------------------------------------------------------------------------

def test_carts_show_money_in_the_store_locale_and_times_in_its_zone(admin, store, runtime,
                                                                     post_custom, clock):
    set_store(runtime, store.id, timezone="Asia/Tokyo", settings={"locale": "ja_JP"})
    post_custom(cart_body(total="26400", currency="JPY",
                          items=[{"title": "Kettle", "quantity": 1, "price": "26400"}]))
    clock.set(T0 + timedelta(hours=3))
    page = admin(store).get("/admin/carts").get_data(as_text=True)
    assert "￥26,400" in page and "26400.00" not in page
    # T0 is 09:00 UTC: 18:00 in Tokyo, three hours before now.
    assert "2026/11/23 18:00" in page and "3時間前" in page
    assert "UTC" not in page


def test_cart_page_shows_human_status_and_english_money_by_default(admin, store, runtime,
                                                                   post_custom):
    post_custom(cart_body(total="49.00", currency="EUR"))
    page = admin(store).get(f"/admin/carts/{cart_id(runtime, 'c-1')}").get_data(as_text=True)
    assert ">Waiting</span>" in page and "waiting for the first reminder" in page
    assert "€49.00" in page


def test_store_locale_is_checked_when_saved(admin, store):
    me = admin(store)
    response = me.post("/admin/settings", data={"locale": "xx_YY", "timezone": "UTC"})
    assert response.status_code == 400
    assert "is not a known locale" in response.get_data(as_text=True)


# --- the setup checklist ---------------------------------------------------------------------

def checklist(page):
    found = re.search(r'<section class="card checklist".*?</section>', page, re.S)
    return found.group(0) if found else None


def item(section, key):
    return re.search(rf'<li class="setup-item ([a-z ]+)" data-item="{key}">(.*?)</li>',
                     section, re.S)


def test_new_store_sees_the_checklist_with_links_to_each_fix(admin, make_store):
    fresh = make_store(name="New shop", domain="new.example", from_email=None,
                       settings={"postal_address": ""})
    section = checklist(admin(fresh).get("/admin/").get_data(as_text=True))
    assert section is not None and "0 of 5 done" in section
    assert 'href="/admin/settings#postal_address"' in item(section, "postal_address").group(2)
    assert 'href="/admin/settings#from_email"' in item(section, "from_address").group(2)
    assert 'href="/admin/carts"' in item(section, "first_webhook").group(2)
    assert 'href="/admin/dry-run"' in item(section, "first_reminder").group(2)
    assert 'href="/admin/emails/first"' in item(section, "test_email").group(2)
    assert item(section, "test_email").group(1) == "todo optional"


def test_checklist_ticks_what_is_done_and_says_when_it_cannot_tell(admin, store, runtime,
                                                                   post_custom):
    post_custom(cart_body())
    section = checklist(admin(store).get("/admin/").get_data(as_text=True))
    assert item(section, "postal_address").group(1) == "done"
    assert item(section, "first_webhook").group(1) == "done"
    assert item(section, "first_reminder").group(1) == "todo"
    # The outbox backend cannot say whether hello@maple.example is verified.
    sender = item(section, "from_address")
    assert sender.group(1) == "unknown" and "Can't tell" in sender.group(2)


def test_checklist_sees_the_test_email_the_email_page_records(admin, store, runtime):
    set_store(runtime, store.id, settings={"test_email_sent_at": T0.isoformat()})
    section = checklist(admin(store).get("/admin/").get_data(as_text=True))
    assert item(section, "test_email").group(1) == "done optional"


def test_checklist_goes_away_for_good_once_setup_is_done(admin, store, runtime, post_custom,
                                                         clock):
    post_custom(cart_body())
    wake_due(runtime, T0 + timedelta(hours=4))
    me = admin(store)
    assert checklist(me.get("/admin/").get_data(as_text=True)) is None
    # Later gaps show as the dashboard's own banners, not as a checklist again.
    set_store(runtime, store.id, settings={"postal_address": ""})
    page = me.get("/admin/").get_data(as_text=True)
    assert checklist(page) is None and "no-postal-address" in page


def test_ses_says_whether_the_from_address_is_verified():
    with mock_aws():
        client = boto3.client("sesv2", region_name="eu-west-1")
        client.create_email_identity(EmailIdentity="maple.example")
        mailer = SesMailer(client)
        assert mailer.sender_verified("hello@maple.example") is True
        assert mailer.sender_verified("hello@elsewhere.example") is False


# --- confirmations ---------------------------------------------------------------------------

def test_erasing_a_shopper_first_says_what_goes_then_erases_on_confirm(admin, store, runtime,
                                                                       post_custom):
    post_custom(cart_body(email="ada@example.com"))
    with runtime.db.transaction() as session:
        suppressions.add(session, store.id, "ada@example.com", source="shopper", now=T0)
    me = admin(store)
    asked = me.post("/admin/privacy/erase", data={"email": "ada@example.com"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Erase everything about ada@example.com?" in page
    assert "1 cart</strong>" in page and "unsubscribe entry stays" in page
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Cart)) == 1
    done = me.post("/admin/privacy/erase", data={"email": "ada@example.com", "confirm": "yes"})
    assert done.status_code == 302 and "/admin/privacy" in done.headers["Location"]
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Cart)) == 0
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1


def test_resubscribing_someone_who_unsubscribed_themselves_warns_first(admin, store, runtime):
    with runtime.db.transaction() as session:
        suppressions.add(session, store.id, "ben@example.com", source="shopper", now=T0)
        entry_id = session.scalars(select(Suppression.id)).one()
    page = admin(store).get(f"/admin/unsubscribes/{entry_id}/remove").get_data(as_text=True)
    assert "Let ben@example.com get reminders again?" in page
    assert "They unsubscribed themselves" in page
    with runtime.db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1


# --- privacy requests ------------------------------------------------------------------------

def test_privacy_page_lists_data_requests_with_their_status(admin, store, runtime, clock):
    set_store(runtime, store.id, platform_state={"data_requests": [
        {"id": "9001", "customer_id": "207119551", "carts": 2,
         "received_at": (T0 - timedelta(days=40)).isoformat()},
        {"id": "9002", "customer_id": "207119552", "carts": 0,
         "received_at": (T0 - timedelta(days=2)).isoformat()},
    ]})
    me = admin(store)
    page = me.get("/admin/privacy").get_data(as_text=True)
    assert re.search(r'request-overdue">.*?9001.*?Overdue', page, re.S)
    assert re.search(r'request-open">.*?9002.*?Open.*?due Dec 21, 2026', page, re.S)
    assert me.post("/admin/privacy/requests/answered", data={"request": "9002"}).status_code == 302
    page = me.get("/admin/privacy").get_data(as_text=True)
    assert re.search(r'request-answered">.*?9002.*?Answered', page, re.S)
    assert me.post("/admin/privacy/requests/answered",
                   data={"request": "nope"}).status_code == 404


def test_privacy_page_lists_every_erasure_with_its_status(admin, store, runtime, post_custom,
                                                          clock):
    from tests.shopify_payloads import SHOP

    post_custom(cart_body(email="ada@example.com"))
    me = admin(store)
    assert "No erasures so far." in me.get("/admin/privacy").get_data(as_text=True)
    me.post("/admin/privacy/erase", data={"email": "ada@example.com", "confirm": "yes"})
    from app.privacy import erasure_log

    with runtime.db.transaction() as session:  # as the Shopify webhooks note theirs
        erasure_log.record(session, store.id, "customers/redact", clock() + timedelta(hours=1),
                           {"carts": 0}, customer_ref="207119551")
        erasure_log.record(session, store.id, "shop/redact", clock() + timedelta(hours=2), {},
                           kept=True)
    page = me.get("/admin/privacy").get_data(as_text=True)
    rows = re.findall(r'<tr class="erasure-(\w+)">(.*?)</tr>', page, re.S)
    after_when = [(status, " ".join(re.sub(r"<[^>]+>", " ", cells.split("</td>", 1)[1]).split()))
                  for status, cells in rows]
    assert after_when == [
        ("kept", "Erase the store, 48 h after uninstall — 0 "
                 "Not erased the store reinstalled Cartback first"),
        ("erased", "A customer asked to be erased 207119551 0 Erased"),
        ("erased", "Erased by you — 1 Erased"),
    ]
    assert "ada@example.com" not in page.split('id="erasures-title"')[1]
    assert SHOP not in page


# --- error pages -----------------------------------------------------------------------------

def test_expired_session_is_a_page_for_a_browser_and_json_for_code(client, store):
    page = client.get("/admin/", headers=HTML)
    assert page.status_code == 401 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Your session has ended" in text and "cartback admin-link" in text
    api = client.get("/admin/")
    assert api.status_code == 401 and api.json == {"error": "sign in again from your store admin"}


def test_missing_and_foreign_carts_get_the_admin_not_found_page(admin, store, make_store,
                                                                 post_custom, runtime):
    other = make_store(name="Other shop", domain="other.example")
    post_custom(cart_body(cart_id="theirs", return_url="https://other.example/cart"),
                target=other)
    theirs = cart_id(runtime, "theirs")
    me = admin(store)
    for path in (f"/admin/carts/{theirs}", "/admin/carts/999999"):
        response = me.client.get(path, headers=HTML)
        text = response.get_data(as_text=True)
        assert response.status_code == 404 and "We could not find that" in text
        assert 'aria-label="Cartback"' in text  # the admin's own navigation
    assert me.get(f"/admin/carts/{theirs}").json == {"error": "not found"}


def test_server_error_is_a_page_in_the_admins_look(admin, store, app, monkeypatch):
    from app.web.admin import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.cart_list, "list_carts", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = admin(store).client.get("/admin/carts", headers=HTML)
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong on our side" in text
    assert "boom" not in text
    assert admin(store).get("/admin/carts").json == {"error": "internal error"}
