"""The WordPress plugin, run for real by PHP: what it signs in wp-admin is what
Cartback accepts, and its settings page keeps WordPress's rules (capability,
nonces, escaping, translatable strings).

The plugin runs inside tests/integrations/woocommerce/wp_harness.php, which
stubs the WordPress and WooCommerce functions it calls. `.ci/run` installs
php-cli; without it these tests are skipped and say so.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.integrations.woocommerce.wordpress import PHP, PLUGIN, run_plugin, webhooks_of

pytestmark = pytest.mark.skipif(PHP is None,
                                reason="php-cli is not installed (.ci/run installs it)")


@pytest.fixture
def woo(make_store):
    return make_store(platform="woocommerce", name='Maple & "Woo"', domain="https://shop.example")


def events(result: dict, kind: str) -> list:
    return [event[kind] for event in result["events"] if kind in event]


def test_the_plugin_is_valid_php():
    lint = subprocess.run([PHP, "-l", str(PLUGIN)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_open_cartback_in_wp_admin_signs_the_merchant_in(app, runtime, clock, woo):
    # The plugin signs with PHP's own clock; Cartback's is set to the same moment.
    clock.set(datetime.now(UTC))
    result = run_plugin({"run": "admin_post_cartback_open", "can": True,
                         "post": {"_wpnonce": "nonce-for-cartback_open"},
                         "webhooks": webhooks_of(runtime, woo)})
    assert events(result, "nonce_checked") == ["cartback_open"]
    [link] = events(result, "redirect")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == runtime.config["PUBLIC_URL"]
    assert woo.webhook_secret not in link
    client = app.test_client()
    signed_in = client.get(f"{parts.path}?{parts.query}", base_url=runtime.config["PUBLIC_URL"])
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/"
    assert client.get("/admin/", base_url=runtime.config["PUBLIC_URL"]).status_code == 200
    replay = app.test_client().get(f"{parts.path}?{parts.query}")
    assert replay.status_code == 403


def test_open_cartback_needs_the_capability_and_the_forms_nonce(runtime, woo):
    hooks = webhooks_of(runtime, woo)
    no_right = run_plugin({"run": "admin_post_cartback_open", "can": False,
                           "post": {"_wpnonce": "nonce-for-cartback_open"}, "webhooks": hooks})
    assert events(no_right, "capability") == ["manage_woocommerce"]
    assert events(no_right, "status") == [403] and not events(no_right, "redirect")
    no_nonce = run_plugin({"run": "admin_post_cartback_open", "can": True,
                           "post": {"_wpnonce": "nonce-for-cartback_save"}, "webhooks": hooks})
    assert events(no_nonce, "status") == [403] and not events(no_nonce, "redirect")


def test_settings_page_shows_the_connection_cartback_reports(app, runtime, clock, woo):
    clock.set(datetime.now(UTC))
    # First pass: the page asks Cartback for its status; answer it from the real route.
    asked = run_plugin({"run": "page", "can": True, "webhooks": webhooks_of(runtime, woo)})
    [status_url] = events(asked, "remote_get")
    parts = urlsplit(status_url)
    answer = app.test_client().get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 200
    page = run_plugin({"run": "page", "can": True,
                       "webhooks": webhooks_of(runtime, woo, "disabled"),
                       "remote": {"code": 200, "body": answer.get_data(as_text=True)}})
    html = page["html"]
    assert "Maple &amp; &quot;Woo&quot;" in html and '"Woo"' not in html  # escaped
    assert runtime.config["PUBLIC_URL"] in html and "Disabled" in html
    assert "Last contact" in html and re.search(r"\d+ s ago", html)
    assert html.count('name="_wpnonce"') == 2  # both forms carry a nonce
    assert page["options"]["cartback_status"]["beacon_endpoint"] == (
        f"{runtime.config['PUBLIC_URL']}/collect/{woo.public_key}")
    assert woo.webhook_secret not in html


def test_settings_page_of_an_unconnected_store_says_how_to_connect():
    page = run_plugin({"run": "page", "can": True, "webhooks": {}})
    assert "Not connected" in page["html"] and "disabled" in page["html"]
    assert not events(page, "remote_get")


def test_the_beacon_switch_saves_sanitized_behind_capability_and_nonce():
    off = run_plugin({"run": "admin_post_cartback_save", "can": True,
                      "post": {"_wpnonce": "nonce-for-cartback_save"}})
    assert off["options"]["cartback_settings"] == {"beacon": False}
    on = run_plugin({"run": "admin_post_cartback_save", "can": True,
                     "post": {"_wpnonce": "nonce-for-cartback_save",
                              "cartback": {"beacon": "1", "injected": "<script>"}}})
    assert on["options"]["cartback_settings"] == {"beacon": True}
    forged = run_plugin({"run": "admin_post_cartback_save", "can": True,
                         "post": {"cartback": {"beacon": "1"}}})
    assert "cartback_settings" not in forged["options"]


GETTEXT = re.compile(r"\b(?:__|_e|esc_html__|esc_html_e|esc_attr__|esc_attr_e)\(")
WITH_DOMAIN = re.compile(
    r"\b(?:__|_e|esc_html__|esc_html_e|esc_attr__|esc_attr_e)\(\s*'(?:[^'\\]|\\.)*'\s*,\s*'cartback'\)")


def test_every_string_the_plugin_shows_is_translatable_in_its_text_domain():
    source = PLUGIN.read_text()
    assert "Text Domain:       cartback" in source and "Requires Plugins:  woocommerce" in source
    assert len(GETTEXT.findall(source)) == len(WITH_DOMAIN.findall(source)) > 15


def test_activation_picks_up_the_connection_and_keeps_it_fresh_daily(runtime, woo):
    answer = {"code": 200, "body": json.dumps({"name": "Maple", "beacon_endpoint":
                                               f"{runtime.config['PUBLIC_URL']}/collect/pk_x"})}
    activated = run_plugin({"run": "activate", "webhooks": webhooks_of(runtime, woo),
                            "remote": answer})
    assert events(activated, "scheduled") == [["daily", "cartback_refresh"]]
    assert activated["options"]["cartback_status"]["beacon_endpoint"].endswith("/collect/pk_x")
    daily = run_plugin({"run": "cartback_refresh", "webhooks": webhooks_of(runtime, woo),
                        "remote": answer})
    assert len(events(daily, "remote_get")) == 1
    assert events(run_plugin({"run": "deactivate"}), "unscheduled") == ["cartback_refresh"]


def test_the_beacon_switch_decides_whether_the_storefront_loads_the_beacon():
    status = {"url": "https://cartback.test",
              "beacon_endpoint": "https://cartback.test/collect/pk_abc"}
    on = run_plugin({"run": "wp_enqueue_scripts", "options": {"cartback_status": status}})
    [tag] = events(on, "script")
    assert 'data-endpoint="https://cartback.test/collect/pk_abc"' in tag
    assert 'src="https://cartback.test/static/cartback-beacon.js"' in tag
    off = run_plugin({"run": "wp_enqueue_scripts", "options": {
        "cartback_status": status, "cartback_settings": {"beacon": False}}})
    assert events(off, "script") == []
    never_told = run_plugin({"run": "wp_enqueue_scripts"})
    assert events(never_told, "script") == []
