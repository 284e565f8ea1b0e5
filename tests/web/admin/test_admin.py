"""The merchant admin: sign-in, scoping between stores, validation, CSRF, pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Store, Suppression, TemplateOverride
from tests.factories import POSTAL_ADDRESS, T0, cart_body, cart_id


@pytest.fixture
def two_stores(make_store, post_custom, store, client):
    other = make_store(name="Other shop", domain="other.example")
    post_custom(cart_body(cart_id="mine"))
    import json

    from platforms.signing import sign_base64

    raw = json.dumps(cart_body(cart_id="theirs", email="bob@example.com",
                               return_url="https://other.example/cart")).encode()
    client.post(f"/webhooks/custom/{other.id}", data=raw,
                headers={"X-Cartback-Hmac-Sha256": sign_base64(other.webhook_secret, raw)})
    return store, other


def test_admin_needs_a_session(client, store):
    assert client.get("/admin/").status_code == 401
    assert client.get("/admin/?s=forged.token").status_code == 401


def test_admin_login_link_works_once(runner, client, store):
    result = runner.invoke(["admin-link", "--store", str(store.id)])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    path = link.replace("https://cartback.test", "")
    first = client.get(path)
    assert first.status_code == 302 and first.headers["Location"] == "/admin/"
    assert client.get(first.headers["Location"]).status_code == 200
    assert client.get(path).status_code == 403  # used up


def test_admin_store_a_gets_404_for_store_b(admin, two_stores, runtime):
    mine, theirs = two_stores
    me = admin(mine)
    their_cart = cart_id(runtime, "theirs")
    assert me.get(f"/admin/carts/{their_cart}").status_code == 404
    assert me.post(f"/admin/carts/{their_cart}/stop").status_code == 404
    listing = me.get("/admin/carts").get_data(as_text=True)
    assert "ada@example.com" in listing and "bob@example.com" not in listing
    with runtime.db.transaction() as session:
        session.add(Suppression(store_id=theirs.id, email="bob@example.com", scope="all",
                                source="merchant", created_at=T0))
    with runtime.db.new_session() as session:
        entry_id = session.scalars(select(Suppression.id)).one()
    assert me.post(f"/admin/unsubscribes/{entry_id}/remove").status_code == 404
    assert "bob@example.com" not in me.get("/admin/unsubscribes").get_data(as_text=True)
    assert "bob@example.com" not in me.get("/admin/unsubscribes.csv").get_data(as_text=True)
    with runtime.db.new_session() as session:
        assert session.scalars(select(Suppression)).one().store_id == theirs.id


def test_admin_preview_of_another_stores_cart_is_404(admin, two_stores, runtime):
    mine, _ = two_stores
    response = admin(mine).post("/admin/templates/first/preview",
                                data={"cart_id": cart_id(runtime, "theirs")})
    assert response.status_code == 404


def test_admin_templates_are_per_store(admin, two_stores, runtime):
    mine, theirs = two_stores
    parts = {"subject.txt": "Mine only", "opening.txt": "Hello.", "txt": "{{ return_url }}",
             "html": "<p>{{ opening_line }}</p>"}
    assert admin(mine).post("/admin/templates/first", data=parts).status_code == 200
    page = admin(theirs).get("/admin/templates/first").get_data(as_text=True)
    assert "Mine only" not in page


def test_admin_post_without_csrf_is_refused(admin, store, runtime):
    response = admin(store).post("/admin/settings", data={"csrf": "nope", "quiet_start": "22:00"})
    assert response.status_code == 400
    with runtime.db.new_session() as session:
        assert "quiet_start" not in (session.get(Store, store.id).settings or {})


def settings_form(**changes):
    from app.core.rules import FIELDS

    form = {f.key: str(f.default) for f in FIELDS if f.kind != "bool"}
    form.update({"timezone": "UTC", "from_email": "hello@maple.example", "polish": "on",
                 "postal_address": POSTAL_ADDRESS})
    form.update(changes)
    return form


@pytest.mark.parametrize(("field", "value", "words"), [
    ("quiet_start", "25:00", "HH:MM"),
    ("first_wait_minutes", "5", "at least 15"),
    ("first_wait_minutes", "soon", "number"),
    ("timezone", "Mars/Base", "IANA"),
    ("reply_to", "not-an-email", "not an email"),
    ("consent_policy", "everyone", "choose one of"),
    ("cap_reminders", "1.5", "whole number"),
    ("cap_reminders", "0", "at least 1"),
])
def test_admin_settings_bad_values_show_field_errors_never_500(admin, store, field, value,
                                                               words, runtime):
    response = admin(store).post("/admin/settings", data=settings_form(**{field: value}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert words in page and 'aria-invalid="true"' in page
    with runtime.db.new_session() as session:
        assert session.get(Store, store.id).settings == {"postal_address": POSTAL_ADDRESS}


def test_admin_settings_save_and_pause_stops_sending(admin, store, runtime, post_custom, outbox):
    response = admin(store).post("/admin/settings", data=settings_form(
        quiet_start="22:30", paused="on", timezone="Europe/Berlin"))
    assert response.status_code == 200 and "Settings saved" in response.get_data(as_text=True)
    with runtime.db.new_session() as session:
        saved = session.get(Store, store.id)
    assert saved.settings["quiet_start"] == "22:30" and saved.settings["paused"] is True
    assert saved.timezone == "Europe/Berlin"
    post_custom(cart_body())
    [result] = wake_due(runtime, T0 + timedelta(hours=4))
    assert (result.result, result.reason) == ("skipped", "paused")
    assert outbox() == []


def test_admin_broken_template_is_refused_with_line_and_old_one_stays(admin, store, runtime):
    me = admin(store)
    good = {"subject.txt": "Still there, {{ first_name }}?", "opening.txt": "Hello.",
            "txt": "{{ return_url }}\n{{ unsubscribe_url }}", "html": "<p>{{ opening_line }}</p>"}
    assert me.post("/admin/templates/first", data=good).status_code == 200
    broken = dict(good, txt="line one\n{% for item in items %}\nno end")
    response = me.post("/admin/templates/first", data=broken)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Plain-text body, line" in page and "Not saved" in page
    sandboxed = dict(good, html="{{ ''.__class__.__mro__ }}")
    response = me.post("/admin/templates/first", data=sandboxed)
    assert response.status_code == 400 and "HTML body" in response.get_data(as_text=True)
    with runtime.db.new_session() as session:
        stored = {o.part: o.body for o in session.scalars(select(TemplateOverride))}
    assert stored["first.txt"] == good["txt"]


def test_admin_edited_template_is_what_the_shopper_gets(admin, store, runtime, post_custom,
                                                        outbox):
    parts = {"subject.txt": "Psst, {{ first_name }}", "opening.txt": "Your basket misses you.",
             "txt": "{{ greeting }}. {{ opening_line }} {{ return_url }} {{ unsubscribe_url }}",
             "html": "<p>{{ opening_line }} <a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>"}
    admin(store).post("/admin/templates/first", data=parts)
    post_custom(cart_body())
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    assert message["Subject"] == "Psst, Ada"
    assert "Your basket misses you." in message.get_body(("plain",)).get_content()


def test_admin_template_reset_to_default(admin, store, runtime):
    me = admin(store)
    me.post("/admin/templates/second", data={"subject.txt": "X", "opening.txt": "Y",
                                             "txt": "Z", "html": "<p>W</p>"})
    me.post("/admin/templates/second", data={"action": "reset"})
    with runtime.db.new_session() as session:
        assert session.scalars(select(TemplateOverride)).all() == []


def test_admin_live_preview_json(admin, store):
    response = admin(store).post("/admin/templates/first/preview", data={
        "subject.txt": "Hi {{ first_name }}", "opening.txt": "Hello.", "txt": "x",
        "html": "<p>{{ opening_line }}</p>"})
    assert response.json["ok"] and response.json["subject"] == "Hi Ada"
    bad = admin(store).post("/admin/templates/first/preview", data={
        "subject.txt": "{{ nope(", "opening.txt": "", "txt": "", "html": ""})
    assert bad.status_code == 400 and "Subject, line 1" in bad.json["problems"][0]


def test_admin_unsubscribe_add_remove_import_export(admin, store, runtime):
    me = admin(store)
    me.post("/admin/unsubscribes", data={"email": " Eve@Example.COM "})
    me.post("/admin/unsubscribes", data={"email": "eve@example.com"})  # idempotent
    csv_file = (io.BytesIO(b"email\nzed@example.com\nnot an email\nyan@example.com\n"), "u.csv")
    response = me.post("/admin/unsubscribes/import", data={"file": csv_file},
                       content_type="multipart/form-data")
    notice = me.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 addresses; skipped 2 lines." in notice
    exported = me.get("/admin/unsubscribes.csv").get_data(as_text=True).splitlines()
    assert exported[0] == "email,scope,source,created_at"
    assert sorted(line.split(",")[0] for line in exported[1:]) == [
        "eve@example.com", "yan@example.com", "zed@example.com"]
    with runtime.db.new_session() as session:
        entry = session.scalars(select(Suppression).where(
            Suppression.email == "eve@example.com")).one()
    assert entry.source == "merchant"
    asked = me.post(f"/admin/unsubscribes/{entry.id}/remove").get_data(as_text=True)
    assert "Let eve@example.com get reminders again?" in asked
    assert "eve@example.com" in me.get("/admin/unsubscribes").get_data(as_text=True)
    me.post(f"/admin/unsubscribes/{entry.id}/remove", data={"confirm": "yes"})
    assert "eve@example.com" not in me.get("/admin/unsubscribes").get_data(as_text=True)


def test_admin_stop_a_cart_cancels_its_reminders(admin, store, runtime, post_custom, outbox):
    post_custom(cart_body())
    cid = cart_id(runtime, "c-1")
    response = admin(store).post(f"/admin/carts/{cid}/stop")
    assert response.status_code == 302
    assert wake_due(runtime, T0 + timedelta(days=2)) == []
    assert outbox() == []
    page = admin(store).get(f"/admin/carts/{cid}").get_data(as_text=True)
    assert "Stopped by you" in page and "stopped" in page


def test_admin_pages_escape_hostile_input(admin, store, post_custom):
    hostile = "<script>alert(1)</script>"
    post_custom(cart_body(email="x@example.com", first_name=hostile))
    me = admin(store)
    for path, params in [("/admin/carts", {"q": hostile}), ("/admin/unsubscribes", {"q": hostile}),
                         ("/admin/", {}), ("/admin/settings", {})]:
        page = me.get(path, **params).get_data(as_text=True)
        assert hostile not in page


def test_admin_embedded_csp_allows_only_the_stores_admin(admin, make_store):
    shop = make_store(platform="shopify", domain="maple.myshopify.com")
    response = admin(shop).get("/admin/")
    assert response.headers["Content-Security-Policy"] == (
        "frame-ancestors https://maple.myshopify.com https://admin.shopify.com;")
    custom = make_store(domain="https://plain.example")
    assert admin(custom).get("/admin/").headers["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://plain.example;")


def test_admin_dashboard_counts_and_chart(admin, store, runtime, post_custom, clock):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email=None))
    wake_due(runtime, T0 + timedelta(hours=4))
    clock.set(T0 + timedelta(hours=6))
    post_custom(cart_body("order.placed", cart_id="a", occurred_at=T0 + timedelta(hours=6)))
    clock.set(T0 + timedelta(days=1))
    page = admin(store).get("/admin/", days="7").get_data(as_text=True)
    assert re.search(r"Carts recovered</h2><p class=\"big\">1<", page)
    assert re.search(r"Reminders sent</h2><p class=\"big\">1<", page)
    assert "Skipped: no email" in page
    assert "€98.00" in page
    assert page.count('class="bar bar-sent"') == 7
    assert "<svg" in page and "<title id=\"chart-title\">" in page


def test_admin_says_which_address_reminders_come_from_until_the_merchant_sets_one(
        admin, make_store, runtime):
    store = make_store(domain="nofrom.example", from_email=None)
    for path in ("/admin/", "/admin/settings"):
        page = admin(store).get(path).get_data(as_text=True)
        assert "no-from-address" in page and "no-reply@cartback.test" in page
    response = admin(store).post("/admin/settings",
                                 data=settings_form(from_email="hello@nofrom.example"))
    assert "Settings saved" in response.get_data(as_text=True)
    for path in ("/admin/", "/admin/settings"):
        assert "no-from-address" not in admin(store).get(path).get_data(as_text=True)
