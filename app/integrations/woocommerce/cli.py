"""`cartback woocommerce ...` and `cartback stores add --platform woocommerce` (REST keys)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.clock import parse_now
from app.db.models import Store
from app.errors import ConnectError, StoreInputError
from app.integrations import NewStore, StoreAdder
from app.integrations.woocommerce import connect, sync
from app.runtime import Runtime
from app.stores import store_json


@click.group(cls=AppGroup)
def woocommerce() -> None:
    """WooCommerce stores."""


@woocommerce.command("reconcile")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act as (default: now).")
def woocommerce_reconcile(now_text: str | None) -> None:
    """Re-activate disabled webhooks and pull orders changed since the last sync."""
    runtime = current_app.extensions["cartback"]
    for store_id, outcome in sync.run_periodic(runtime, parse_now(now_text)).items():
        click.echo(json.dumps({"store_id": store_id, "result": outcome}))


def add_store(runtime: Runtime, new: NewStore, options: Mapping[str, Any]) -> dict[str, Any]:
    """Connect with REST keys made by hand in the store's admin."""
    consumer_key, consumer_secret = options.get("consumer_key"), options.get("consumer_secret")
    if not consumer_key or not consumer_secret:
        raise click.BadParameter("a WooCommerce store needs --consumer-key and --consumer-secret "
                                 "(WooCommerce > Settings > Advanced > REST API, read/write)")
    try:
        store_id = connect.connect_by_keys(
            runtime, new.domain, consumer_key, consumer_secret, name=new.name or None,
            timezone=new.timezone, from_email=new.from_email)
    except (ConnectError, StoreInputError) as err:
        raise click.ClickException(str(err)) from err
    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        assert store is not None
        return store_json(store, runtime.config["PUBLIC_URL"])


STORES_ADD = StoreAdder(
    add=add_store,
    options=(
        click.Option(["--consumer-key"], default=None,
                     help="WooCommerce: REST API consumer key (ck_...), read/write."),
        click.Option(["--consumer-secret"], default=None,
                     help="WooCommerce: REST API consumer secret (cs_...)."),
    ),
)
