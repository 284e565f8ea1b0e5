"""The Emails page as a merchant uses it: brand and words saved or refused with a
reason, the preview on the store's own cart and footer, reset to default, and
"Send me a test" into the outbox (never a reminder, never more than the allowance)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.carts.merchant_test import TESTS_PER_HOUR
from app.carts.wake import wake_due
from app.db.models import Activity, Send, Store
from tests.factories import POSTAL_ADDRESS, T0, cart_body


def settings_of(runtime, store):
    with runtime.db.new_session() as session:
        return dict(session.get(Store, store.id).settings)


def preview_html(response):
    page = response.get_data(as_text=True)
    return html.unescape(page.split('srcdoc="')[1].split('"></iframe>')[0])


def rows(runtime, model):
    with runtime.db.new_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_emails_preview_shows_the_store_and_its_real_address_on_a_sample_cart(admin, store):
    response = admin(store).get("/admin/emails/first")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = preview_html(response)
    assert POSTAL_ADDRESS.replace("&", "&amp;") in shown
    assert "Example Street" not in shown and "Your store" not in shown
    assert "a sample cart (your store has no carts yet)" in page


def test_emails_preview_uses_a_recent_real_cart_with_links_that_touch_nothing(
        admin, store, post_custom):
    post_custom(cart_body(cart_id="c-1", first_name="Chloé",
                          items=[{"title": "Merino beanie", "quantity": 1, "price": "32.00"}],
                          total="32.00"))
    response = admin(store).get("/admin/emails/second")
    shown = preview_html(response)
    assert "Hi Chloé" in shown and "Merino beanie" in shown
    assert "Chloé's recent cart (1 item)" in html.unescape(response.get_data(as_text=True))
    assert "https://cartback.test/u/preview" in shown and "/r/preview" in shown


def test_emails_save_copy_with_placeholders_reaches_the_next_reminder(
        admin, store, runtime, post_custom, outbox):
    response = admin(store).post("/admin/emails/first", data={
        "action": "save", "first_subject": "{first_name}, {item_count} picks wait at {store_name}",
        "first_body": "Still thinking it over? Your {first_item} is here.",
        "sign_off": "Cheers, {store_name}", "accent_color": "#1A3D8F"})
    assert response.status_code == 302
    saved = settings_of(runtime, store)
    assert saved["accent_color"] == "#1a3d8f" and saved["postal_address"] == POSTAL_ADDRESS
    post_custom(cart_body())
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert message["Subject"] == "Ada, 2 picks wait at Maple & Co"
    text = message.get_body(("plain",)).get_content()
    assert "Still thinking it over? Your Linen shirt is here." in text
    assert "Cheers, Maple & Co" in text
    assert "#1a3d8f" in message.get_body(("html",)).get_content()


def test_emails_unknown_placeholder_is_refused_and_named_nothing_saved(admin, store, runtime):
    before = settings_of(runtime, store)
    response = admin(store).post("/admin/emails/first", data={
        "action": "save", "first_subject": "Your {discount_code} is waiting",
        "accent_color": "#ffee88"})
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "{discount_code} is not a placeholder we know" in page
    assert "too light for the button's white text" in page
    # What the merchant typed stays in the form to fix.
    assert 'value="Your {discount_code} is waiting"' in page
    assert settings_of(runtime, store) == before


def test_emails_reset_to_default_brings_our_words_back(admin, store, runtime):
    me = admin(store)
    me.post("/admin/emails/saved", data={"action": "save", "saved_subject": "Mine",
                                         "saved_body": "My words.", "sign_off": "Bye"})
    assert settings_of(runtime, store)["saved_subject"] == "Mine"
    response = me.post("/admin/emails/saved", data={"action": "reset"})
    assert response.status_code == 302
    stored = settings_of(runtime, store)
    assert "saved_subject" not in stored and "saved_body" not in stored
    assert stored["sign_off"] == "Bye"  # the brand is shared; only this step's words reset
    page = html.unescape(me.get("/admin/emails/saved").get_data(as_text=True))
    assert 'value="Still saving these? Your cart at {store_name} is here"' in page


def test_settings_page_save_keeps_the_emails_page_settings(admin, store, runtime):
    me = admin(store)
    me.post("/admin/emails/first", data={"action": "save", "logo_url":
                                         "https://cdn.maple.example/logo.png"})
    form = {"timezone": "UTC", "from_email": "hello@maple.example", "first_wait_minutes": "240",
            "second_wait_hours": "24", "give_up_days": "7", "quiet_start": "21:00",
            "quiet_end": "08:00", "dnd_hours": "72", "cap_reminders": "1",
            "consent_policy": "all", "holdout_percent": "0", "attribution_days": "7",
            "first_offer": "none", "first_offer_value": "10", "second_offer": "none",
            "second_offer_value": "10", "offer_hours": "12", "offer_minimum": "0",
            "postal_address": POSTAL_ADDRESS, "polish": "on"}
    assert me.post("/admin/settings", data=form).status_code == 200
    assert settings_of(runtime, store)["logo_url"] == "https://cdn.maple.example/logo.png"


def test_emails_live_preview_follows_the_draft_and_saves_nothing(admin, store, runtime):
    before = settings_of(runtime, store)
    response = admin(store).post("/admin/emails/first/preview", data={
        "first_subject": "Psst {first_name}", "accent_color": "#5b21b6"})
    assert response.json["ok"] and response.json["subject"] == "Psst Ada"
    assert "#5b21b6" in response.json["html"]
    bad = admin(store).post("/admin/emails/first/preview", data={"first_subject": "{oops}"})
    assert bad.status_code == 400 and bad.json["problems"] == [
        "Subject: {oops} is not a placeholder we know; use {first_name}, {store_name}, "
        "{cart_total}, {item_count}, {first_item}"]
    assert settings_of(runtime, store) == before


def test_send_me_a_test_lands_in_the_outbox_and_is_no_reminder(admin, store, runtime, outbox,
                                                               post_custom, clock):
    post_custom(cart_body())
    me = admin(store)
    page = me.get("/admin/emails/first").get_data(as_text=True)
    assert 'id="test-to">hello@maple.example<' in page
    sends, activities = rows(runtime, Send), rows(runtime, Activity)
    response = me.post("/admin/emails/first/test", data={"first_subject": "Draft {first_name}"})
    assert response.status_code == 302
    assert "Test sent to hello@maple.example" in me.get(response.location).get_data(as_text=True)
    [message] = outbox()
    assert message["To"] == "hello@maple.example"
    assert message["Subject"] == "[Test] Draft Ada"  # the draft, as the preview showed it
    body = message.get_body(("html",)).get_content()
    assert "https://cartback.test/u/preview" in body and "Linen shirt" in body
    assert message["List-Unsubscribe"] == "<https://cartback.test/u/preview>"
    assert (rows(runtime, Send), rows(runtime, Activity)) == (sends, activities)
    stored = settings_of(runtime, store)
    assert datetime.fromisoformat(stored["test_email_sent_at"]) == clock()
    assert "first_subject" not in stored  # a test never saves the draft


def test_send_me_a_test_goes_to_the_reply_to_address_when_set(make_store, admin, outbox):
    store = make_store(settings={"reply_to": "owner@maple.example"})
    admin(store).post("/admin/emails/second/test", data={})
    [message] = outbox()
    assert message["To"] == "owner@maple.example"
    assert message["Subject"] == "[Test] Your cart at Maple & Co is still saved"


def test_send_me_a_test_is_limited_per_hour(admin, store, outbox, clock, runtime):
    me = admin(store)
    for _ in range(TESTS_PER_HOUR):
        assert me.post("/admin/emails/first/test", data={}).status_code == 302
    refused = me.post("/admin/emails/first/test", data={})
    assert refused.status_code == 429
    assert f"That is {TESTS_PER_HOUR} tests this hour; try again in 60 min." in html.unescape(
        refused.get_data(as_text=True))
    assert len(outbox()) == TESTS_PER_HOUR
    clock.set(clock() + timedelta(hours=1, minutes=1))
    assert me.post("/admin/emails/first/test", data={}).status_code == 302
    assert len(outbox()) == TESTS_PER_HOUR + 1


def test_send_me_a_test_without_any_address_says_where_to_add_one(make_store, admin, outbox,
                                                                  runtime):
    store = make_store(from_email=None)
    page = admin(store).get("/admin/emails/first").get_data(as_text=True)
    assert "Add a Reply-to or From address" in page
    response = admin(store).post("/admin/emails/first/test", data={})
    assert response.status_code == 400
    assert "Add a Reply-to or From address in Settings first" in response.get_data(as_text=True)
    assert outbox() == [] and "test_email_sent_at" not in settings_of(runtime, store)


def test_send_me_a_test_refuses_a_bad_draft_and_sends_nothing(admin, store, outbox):
    response = admin(store).post("/admin/emails/first/test", data={"first_body": "{nope}"})
    assert response.status_code == 400
    assert "Fix the fields below first" in response.get_data(as_text=True)
    assert outbox() == []


@pytest.mark.parametrize("name", ["nope", "layout"])
def test_emails_unknown_step_is_not_found(admin, store, name):
    assert admin(store).get(f"/admin/emails/{name}").status_code == 404
    assert admin(store).post(f"/admin/emails/{name}/test", data={}).status_code == 404
