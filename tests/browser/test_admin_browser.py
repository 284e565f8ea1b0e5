"""The merchant admin in a real headless Chromium, served for real, offline.

Every page at a desktop (1280×900) and a phone (390×844) width: axe-core finds
no violation and nothing scrolls sideways. Set CARTBACK_SCREENSHOTS=docs/screenshots
to also save the pictures the README shows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.audit import NEEDS_CHROMIUM, PHONE, check_page, shot
from tests.browser.seed import signed_in

pytestmark = NEEDS_CHROMIUM

def test_browser_dashboard_chart_renders(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/?days=7")
    expect(page.locator("svg.chart")).to_be_visible()
    assert page.locator("svg.chart rect.bar-sent").count() == 7
    heights = page.eval_on_selector_all("svg.chart rect.bar-sent",
                                        "els => els.map(e => parseFloat(e.getAttribute('height')))")
    assert max(heights) > 0
    assert "Carts recovered" in page.inner_text("main")
    # The per-step table: texts to the shoppers without an email get their own row.
    channels = page.eval_on_selector_all("section.steps tbody tr td:nth-child(2)",
                                         "tds => tds.map(td => td.textContent.trim())")
    assert {"sms", "email"} <= {c.lower() for c in channels}
    shot(page, "dashboard")


def test_browser_quiet_hours_change_sticks(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/settings")
    page.fill("#quiet_start", "22:30")
    page.click("text=Save settings")
    expect(page.locator("text=Settings saved.")).to_be_visible()
    page.goto(f"{base}/admin/settings")
    assert page.input_value("#quiet_start") == "22:30"
    page.fill("#quiet_end", "7:75")
    page.click("text=Save settings")
    assert page.locator(".field.has-error #quiet_end").count() == 1
    shot(page, "settings")


def test_browser_template_preview_and_broken_template(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/templates/first")
    page.fill("textarea[name='subject.txt']", "Psst {{ first_name }}, your cart misses you")
    # The preview shows the store's most recent cart: Dev's, the seeded shopper active last.
    page.wait_for_function(
        "document.getElementById('preview-subject').textContent.startsWith('Psst Dev')")
    page.fill("textarea[name='txt']", "Hello\n{% if items %}\nno end here")
    page.click("button:has-text('Save template')")
    banner = page.locator("#template-errors")
    expect(banner).to_be_visible()
    assert "Plain-text body, line" in banner.inner_text()


def test_browser_unsubscribe_add_and_remove(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/unsubscribes")
    page.fill("#add-email", "Zoe@Example.com")
    page.click("button:has-text('Add to list')")
    row = page.locator("tr", has_text="zoe@example.com")
    assert row.count() == 1
    shot(page, "unsubscribes")
    page.click("a[aria-label='Remove zoe@example.com…']")
    # A page says what will happen; Cancel changes nothing.
    assert page.locator("h1").inner_text() == "Let zoe@example.com get reminders again?"
    check_page(page)
    page.click("text=Cancel")
    assert page.locator("tr", has_text="zoe@example.com").count() == 1
    page.click("a[aria-label='Remove zoe@example.com…']")
    page.click("button:has-text('Remove zoe@example.com from the list')")
    expect(page.locator("text=zoe@example.com can get reminders again.")).to_be_visible()
    assert page.locator("tr", has_text="zoe@example.com").count() == 0


def test_browser_stop_a_cart(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/carts?status=reminded")
    page.locator("table a").first.click()
    page.click("button:has-text('Stop this cart')")
    expect(page.locator("text=This cart gets no more reminders.")).to_be_visible()
    expect(page.locator(".details .badge.stopped")).to_be_visible()
    assert "Stopped by you" in page.inner_text(".timeline")
    shot(page, "cart-timeline")


ADMIN_PAGES = ["/admin/?days=7", "/admin/carts", "/admin/carts?status=reminded",
               "/admin/emails/first", "/admin/templates/first", "/admin/unsubscribes",
               "/admin/privacy",
               "/admin/settings", "/admin/dry-run"]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_browser_every_page_is_accessible_and_fits(served, new_page, width):
    page = new_page(PHONE) if width == "phone" else new_page()
    base = signed_in(page, served)
    page.goto(f"{base}/admin/carts")
    cart_path = page.locator("table a").first.get_attribute("href")
    for path in ADMIN_PAGES + [cart_path]:
        page.goto(f"{base}{path}")
        check_page(page)
    if width == "phone":
        page.goto(f"{base}/admin/carts")
        # Each cart is one stacked block, its cells labelled by their column.
        first = page.locator("table.carts tbody tr").first
        assert first.evaluate("tr => getComputedStyle(tr).display") == "block"
        assert "Total" in first.locator("td[data-label='Total']").evaluate(
            "td => getComputedStyle(td, '::before').content")
        shot(page, "carts-phone")
        page.goto(f"{base}/admin/?days=30")
        # The chart scrolls inside its card and its labels stay readable.
        sizes = page.eval_on_selector_all(
            "svg.chart text", "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(sizes) >= 10


def test_browser_money_times_and_status_in_store_formats(served, page, runtime, store):
    from app.db.models import Store

    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.timezone = "Europe/Berlin"
        row.settings = {**row.settings, "locale": "de_DE"}
    base = signed_in(page, served)
    page.goto(f"{base}/admin/carts")
    table = page.inner_text("table.carts")
    assert "Erinnert" not in table  # labels are ours, in English; formats are the store's
    assert "Reminded" in table and "reminded" not in table.split()
    assert "49,00\xa0€" in table and "49.00 EUR" not in table
    # Ada's cart: 09:00 UTC on 23 November is 10:00 in Berlin, four days before "now".
    assert "23.11.2026, 10:00 vor 4 Tagen" in table


def test_browser_setup_checklist_leads_to_each_fix(live_server, new_page, make_store, app,
                                                   runtime, clock):
    from app.web.admin.auth import mint_login_link

    fresh = make_store(name="New shop", domain="new.example", from_email=None,
                       settings={"postal_address": ""})
    with app.app_context():
        link = mint_login_link(runtime, fresh.id, clock())
    page = new_page()
    page.goto(f"{live_server}{link.removeprefix(app.config['PUBLIC_URL'])}")
    checklist = page.locator("section.checklist")
    assert "0 of 5 done" in checklist.inner_text()
    check_page(page)
    shot(page, "checklist")
    checklist.locator("a", has_text="Add your postal address").click()
    assert page.url.endswith("/admin/settings#postal_address")
    page.fill("#postal_address", "New shop, 2 Mill Lane, Leeds LS1 1AA")
    page.click("text=Save settings")
    page.goto(f"{live_server}/admin/")
    item = page.locator("li[data-item='postal_address']")
    assert "done" in item.get_attribute("class") and "Done" in item.inner_text()
    assert "1 of 5 done" in page.inner_text("section.checklist")


def test_browser_erase_a_shopper_after_seeing_what_goes(served, page):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/privacy")
    page.fill("#privacy-email", "ada@example.com")
    page.click("button:has-text('Erase everything about them')")
    assert page.locator("h1").inner_text() == "Erase everything about ada@example.com?"
    carts = int(page.inner_text(".consequences li strong >> nth=0").split()[0])
    assert carts >= 1
    check_page(page)
    page.click("button:has-text('Erase everything about ada@example.com')")
    notice = f"text=Erased everything about ada@example.com ({carts} carts)."
    expect(page.locator(notice)).to_be_visible()
    page.goto(f"{base}/admin/carts?q=ada")
    expect(page.locator("text=No carts match.")).to_be_visible()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_browser_error_pages_in_the_admins_look(served, new_page, width):
    page = new_page(PHONE) if width == "phone" else new_page()
    base, _ = served
    response = page.goto(f"{base}/admin/carts")
    assert response.status == 401
    assert page.locator("h1").inner_text() == "Your session has ended"
    check_page(page)
    signed_in(page, served)
    response = page.goto(f"{base}/admin/carts/999999")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "We could not find that"
    expect(page.locator("nav[aria-label='Cartback'] a", has_text="Carts")).to_be_visible()
    check_page(page)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_browser_refused_sign_in_links_in_the_admins_look(live_server, new_page, make_store,
                                                          clock, width):
    from urllib.parse import urlencode

    from platforms.woocommerce.handover import sign

    woo = make_store(platform="woocommerce", name="Maple Woo", domain="https://maple.example")
    page = new_page(PHONE) if width == "phone" else new_page()
    refusals = [
        ("/admin/login/spent-or-made-up", 403, "This sign-in link has expired"),
        ("/woocommerce/admin?" + urlencode(sign("not-the-secret", woo.id, clock(), "n" * 32)),
         401, "This link is not from your store"),
        ("/woocommerce/admin?" + urlencode(sign(woo.webhook_secret, woo.id,
                                                clock() - timedelta(minutes=5), "m" * 32)),
         403, "This sign-in link has expired"),
    ]
    for path, status, heading in refusals:
        response = page.goto(f"{live_server}{path}")
        assert response.status == status
        # The admin's look without a signed-in store: our bar, no nav, the message in a card.
        assert page.locator("h1").inner_text() == heading
        expect(page.locator("header.topbar .brand")).to_be_visible()
        assert page.locator("header.topbar nav").count() == 0
        expect(page.locator("section.card.error-page")).to_be_visible()
        assert page.locator("link[href$='admin/admin.css']").count() == 1
        check_page(page)
