"""The WordPress plugin's WooCommerce → Cartback page, as PHP prints it, in headless
Chromium: its structure and labels pass axe-core at desktop and phone width.

WordPress's own stylesheet is absent (the page is printed by the PHP harness of
tests/integrations/woocommerce), so this checks markup, not WordPress's look.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.browser.audit import NEEDS_CHROMIUM, PHONE, check_page, shot
from tests.integrations.woocommerce.wordpress import PHP, run_plugin, webhooks_of

pytestmark = [
    *NEEDS_CHROMIUM,
    pytest.mark.skipif(PHP is None, reason="php-cli is not installed (.ci/run installs it)"),
]

# What wp-admin wraps around a plugin's page body, minus its styles and menus.
WP_ADMIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cartback ‹ Maple Woo — WordPress</title></head>
<body class="wp-admin"><div id="wpwrap"><main id="wpbody-content">{page}</main></div>
</body></html>"""


def settings_page(app, runtime, store) -> str:
    """The page of a connected store: first pass asks Cartback, second shows its answer."""
    asked = run_plugin({"run": "page", "can": True, "webhooks": webhooks_of(runtime, store)})
    [status_url] = [e["remote_get"] for e in asked["events"] if "remote_get" in e]
    parts = urlsplit(status_url)
    answer = app.test_client().get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 200
    return run_plugin({"run": "page", "can": True, "webhooks": webhooks_of(runtime, store),
                       "remote": {"code": 200, "body": answer.get_data(as_text=True)}})["html"]


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_browser_the_plugins_page_is_accessible(app, runtime, clock, make_store, new_page,
                                                tmp_path, viewport):
    clock.set(datetime.now(UTC))  # the plugin signs with PHP's own clock
    woo = make_store(platform="woocommerce", name="Maple Woo", domain="https://shop.example")
    connected = tmp_path / "connected.html"
    connected.write_text(WP_ADMIN.format(page=settings_page(app, runtime, woo)))
    unconnected = tmp_path / "unconnected.html"
    unconnected.write_text(WP_ADMIN.format(
        page=run_plugin({"run": "page", "can": True, "webhooks": {}})["html"]))

    page = new_page(viewport) if viewport else new_page()
    page.goto(connected.as_uri())
    assert page.locator("h1").inner_text() == "Cartback"
    assert page.get_by_role("button", name="Open Cartback").is_visible()
    beacon = page.get_by_role("checkbox", name="Report carts to Cartback from the storefront")
    assert beacon.is_checked()
    check_page(page)
    if viewport is None:
        shot(page, "woocommerce-plugin")
    page.goto(unconnected.as_uri())
    assert "Not connected" in page.inner_text("body")
    check_page(page)
