"""`cartback shopify ...` and `cartback stores add --platform shopify` (custom apps)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.clock import parse_now
from app.db.models import Store
from app.errors import InstallError, StoreInputError
from app.integrations import NewStore, StoreAdder
from app.integrations.shopify import install
from app.integrations.shopify.sync import reconcile, reconcile_all
from app.runtime import Runtime
from app.stores import store_json


@click.group(cls=AppGroup)
def shopify() -> None:
    """Shopify stores."""


@shopify.command("reconcile")
@click.option("--store", "store_id", type=int, default=None, help="One store id (default: all).")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act as (default: now).")
def shopify_reconcile(store_id: int | None, now_text: str | None) -> None:
    """Fetch checkouts and orders changed since the last sync; print one JSON line per store."""
    runtime = current_app.extensions["cartback"]
    now = parse_now(now_text)
    results = [reconcile(runtime, store_id, now)] if store_id else reconcile_all(runtime, now)
    for result in results:
        click.echo(json.dumps(result.to_json()))
    if any(not r.ok for r in results):
        sys.exit(1)


def add_store(runtime: Runtime, new: NewStore, options: Mapping[str, Any]) -> dict[str, Any]:
    """A merchant-made custom app: its admin-issued token, no OAuth."""
    access_token = options.get("access_token")
    if not access_token:
        raise click.BadParameter("a Shopify custom app store needs --access-token")
    try:
        store_id = install.add_custom_app_store(
            runtime, new.domain, access_token, runtime.clock(), timezone=new.timezone,
            from_email=new.from_email, name=new.name or None)
    except (InstallError, StoreInputError) as err:
        raise click.ClickException(str(err)) from err
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        assert store is not None
        data = store_json(store, runtime.config["PUBLIC_URL"])
    # Shopify signs with the app secret and posts every shop to one endpoint.
    data["webhook_url"] = f"{runtime.config['PUBLIC_URL'].rstrip('/')}/webhooks/shopify"
    return data


STORES_ADD = StoreAdder(
    add=add_store,
    options=(click.Option(["--access-token"], default=None,
                          help="Shopify custom app: the Admin API access token from the "
                               "store's admin."),),
    domain_hint="Shopify: NAME.myshopify.com",
    timezone_hint="the Shopify shop's own",
)
