"""The admin inside Shopify's admin, in headless Chromium, offline.

Shopify's CDN is out of reach here, as it is for the tests: one test stands in
for it with a stub App Bridge (`window.shopify` with `idToken()` and
`toast.show()`), the other lets it fail and expects our own nav and plain
form posts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from app.db.models import Store
from app.integrations.shopify.install import save_install
from platforms.shopify.api import Grant
from tests.browser.audit import NEEDS_CHROMIUM, PHONE, check_page, shot
from tests.factories import with_postal_address
from tests.shopify_payloads import OVERRIDES, SHOP, session_token

pytestmark = NEEDS_CHROMIUM

CDN = "https://cdn.shopify.com/**"
STUB = """
window.__cartback = {tokens: 0, toasts: []};
window.shopify = {
  idToken: function () { window.__cartback.tokens += 1; return Promise.resolve(%s); },
  toast: {show: function (message, options) {
    window.__cartback.toasts.push({message: message, isError: !!(options && options.isError)});
  }}
};
"""


@pytest.fixture
def app_overrides():
    return dict(OVERRIDES)


@pytest.fixture
def shop(app, runtime, clock, live_server):
    """A signed-in Shopify store: the login link's cookie, as the embedded entry hands over."""
    store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test", scope="read_orders"),
                            clock(), via="oauth")
    with_postal_address(runtime, store_id)
    from app.web.admin.auth import mint_login_link

    with app.app_context():
        link = mint_login_link(runtime, store_id, clock())
    return store_id, f"{live_server}{link.removeprefix(app.config['PUBLIC_URL'])}"


def with_app_bridge_stub(page):
    token = session_token(datetime.now(UTC), exp_in=600)  # PyJWT checks the real clock

    def fulfil(route):
        if route.request.url.endswith("/app-bridge.js"):
            route.fulfill(content_type="text/javascript", body=STUB % json.dumps(token))
        else:
            route.fulfill(content_type="text/javascript", body="")  # Polaris: not needed here

    page.route(CDN, fulfil)
    authorizations = []
    page.on("request", lambda r: authorizations.append(
        (r.method, r.url, r.headers.get("authorization", ""))) if "/admin/" in r.url else None)
    return authorizations


def toasts(page):
    return page.evaluate("() => window.__cartback.toasts")


def test_browser_embedded_admin_uses_app_bridge_tokens_save_bar_and_toasts(shop, new_page,
                                                                          runtime):
    store_id, login = shop
    page = new_page()
    sent = with_app_bridge_stub(page)
    page.goto(login)
    base = page.url.removesuffix("/admin/")
    # The admin's own sidebar and title bar take over from ours.
    assert page.evaluate("() => document.documentElement.classList.contains('in-shopify')")
    assert not page.locator("header.topbar").is_visible()
    assert page.locator("s-app-nav s-link[rel='home']").get_attribute("href") == "/admin/"
    assert page.locator("s-page[heading='Dashboard']").count() == 1
    # Every card is Polaris's section: the chart, the per-step table, the key numbers.
    assert page.locator("s-section > .card").count() == page.locator(".card").count() >= 7
    check_page(page)

    page.goto(f"{base}/admin/unsubscribes")
    page.fill("#add-email", "zoe@example.com")
    page.click("button:has-text('Add to list')")
    page.wait_for_function("() => window.__cartback.toasts.length > 0")
    assert toasts(page)[-1] == {"message": "zoe@example.com will get no more reminders.",
                                "isError": False}
    # The message became a toast: the address bar keeps no one-off notice.
    assert page.url == f"{base}/admin/unsubscribes"
    assert page.locator("tr", has_text="zoe@example.com").count() == 1
    assert [s[2][:9] for s in sent if s[0] == "POST"] == ["Bearer ey"]
    sent.clear()

    page.goto(f"{base}/admin/settings")
    form = page.locator("form[data-save-bar]")
    assert form.count() == 1
    # From here on only the session token can sign the requests in.
    page.context.clear_cookies()
    page.fill("#quiet_start", "22:15")
    form.evaluate("f => f.requestSubmit()")  # what App Bridge's Save button does
    page.wait_for_function("() => window.__cartback.toasts.length > 0")  # a new page, new stub
    assert toasts(page) == [{"message": "Settings saved.", "isError": False}]
    [(_, url, authorization)] = [s for s in sent if s[0] == "POST"]
    assert authorization.startswith("Bearer ey") and "token" not in url
    with runtime.db.new_session() as session:
        assert session.get(Store, store_id).settings["quiet_start"] == "22:15"

    page.fill("#quiet_end", "7:75")
    page.locator("form[data-save-bar]").evaluate("f => f.requestSubmit()")
    page.wait_for_function("() => window.__cartback.toasts.length > 1")
    assert toasts(page)[-1]["isError"] is True
    assert page.locator(".field.has-error #quiet_end").count() == 1
    check_page(page)
    shot(page, "settings-embedded")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_browser_embedded_admin_without_shopifys_cdn_keeps_our_own_nav(shop, new_page,
                                                                       viewport):
    _, login = shop
    page = new_page(viewport) if viewport else new_page()
    page.route(CDN, lambda route: route.abort("internetdisconnected"))
    page.goto(login)
    assert page.evaluate("() => typeof window.shopify") == "undefined"
    expect(page.locator("header.topbar nav a", has_text="Settings")).to_be_visible()
    expect(page.locator("h1", has_text="Dashboard")).to_be_visible()
    # Polaris never arrived: its sections still look like our cards (white, rounded), once.
    card = page.locator("s-section", has=page.locator("h2", has_text="How each reminder performs"))
    look = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderRadius]"
    assert card.evaluate(look) == ["rgb(255, 255, 255)", "12px"]
    assert card.locator(".card").evaluate("e => getComputedStyle(e).boxShadow") == "none"
    check_page(page)
    page.click("header.topbar nav a:has-text('Settings')")
    page.fill("#quiet_start", "22:30")
    page.click("text=Save settings")
    page.locator("text=Settings saved.").wait_for()  # the POST answers with a new page
    check_page(page)
