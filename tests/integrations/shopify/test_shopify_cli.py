"""`cartback stores add --platform shopify` (custom apps) and `cartback shopify reconcile`."""

from __future__ import annotations

import json

import pytest
import responses
from sqlalchemy import select

from app.cli import cli
from app.db.crypto import decrypt_json
from app.db.models import Store
from tests.shopify_payloads import GRAPHQL_URL, SHOP, fake_shopify


def add(runner, *extra):
    return runner.invoke(cli, ["stores", "add", "--platform", "shopify", "--domain", SHOP,
                               "--access-token", "shpat_custom_app", *extra])


def test_custom_app_store_is_registered_and_subscribed(runner, runtime, fake):
    fake_shopify(fake, exchange=False)
    result = add(runner, "--from-email", "hello@cool.example")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["platform"] == "shopify" and data["domain"] == SHOP
    assert data["timezone"] == "Europe/Paris"  # the shop's own
    assert data["from_email"] == "hello@cool.example"
    assert data["webhook_url"] == "https://cartback.test/webhooks/shopify"
    subscribed = [json.loads(c.request.body)["variables"].get("topic") for c in fake.calls]
    assert subscribed[1:] == ["CARTS_CREATE", "CARTS_UPDATE", "CHECKOUTS_CREATE",
                              "CHECKOUTS_UPDATE", "CHECKOUTS_DELETE", "ORDERS_CREATE",
                              "APP_UNINSTALLED"]
    assert {c.request.headers["X-Shopify-Access-Token"] for c in fake.calls} == {
        "shpat_custom_app"}
    with runtime.db.new_session() as session:
        store = session.scalars(select(Store)).one()
    creds = decrypt_json(runtime.fernet(), store.credentials)
    assert creds["access_token"] == "shpat_custom_app" and creds["expires_at"] is None
    assert store.platform_state["installed_via"] == "custom_app"


def test_custom_app_timezone_option_wins(runner, fake):
    fake_shopify(fake, exchange=False)
    result = add(runner, "--timezone", "America/Toronto")
    assert json.loads(result.output)["timezone"] == "America/Toronto"


@pytest.mark.parametrize("domain", ["evil.com", "x.myshopify.com.evil.com"])
def test_custom_app_with_a_non_shopify_domain_is_refused(runner, runtime, domain):
    result = runner.invoke(cli, ["stores", "add", "--platform", "shopify", "--domain", domain,
                                 "--access-token", "shpat_x"])
    assert result.exit_code != 0
    assert "myshopify.com" in result.output
    with runtime.db.new_session() as session:
        assert session.scalars(select(Store)).all() == []


def test_custom_app_needs_a_token(runner):
    result = runner.invoke(cli, ["stores", "add", "--platform", "shopify", "--domain", SHOP])
    assert result.exit_code != 0 and "--access-token" in result.output


def test_custom_app_with_a_rejected_token_stores_nothing(runner, runtime, fake):
    fake.post(GRAPHQL_URL, status=401, json={"errors": "Invalid API key or access token"})
    result = add(runner)
    assert result.exit_code != 0 and "refused the access token" in result.output
    with runtime.db.new_session() as session:
        assert session.scalars(select(Store)).all() == []


def test_custom_store_path_is_unchanged(runner):
    result = runner.invoke(cli, ["stores", "add", "--platform", "custom",
                                 "--domain", "maple.example"])
    assert result.exit_code == 0
    assert json.loads(result.output)["timezone"] == "UTC"


def test_reconcile_command_prints_one_line_per_store(runner, fake):
    fake_shopify(fake, exchange=False)
    assert add(runner).exit_code == 0

    def empty(request):
        field = "abandonedCheckouts" if "abandonedCheckouts" in request.body.decode() else "orders"
        return 200, {}, json.dumps({"data": {field: {
            "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}})

    fake.reset()
    fake.add_callback(responses.POST, GRAPHQL_URL, callback=empty)
    result = runner.invoke(cli, ["shopify", "reconcile", "--now", "2026-11-23T12:00:00Z"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output)
    assert line["ok"] is True and line["checkouts"] == 0 and line["orders"] == 0
