"""The `cartback` command: a Flask CLI group bound to the app factory."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app import create_app, integrations
from app.carts.wake import iter_wake_due
from app.clock import parse_now
from app.db.session import upgrade
from app.errors import ConfigError, StoreInputError
from app.integrations import CUSTOM, NewStore, StoreAdder
from app.stores import create_store, store_json


def _factory() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_factory, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def cli() -> None:
    """Cartback: wins back abandoned carts. Settings come from CARTBACK_* env vars."""


def main() -> None:
    try:
        cli.main(prog_name="cartback")
    except ConfigError as err:
        click.echo(f"Configuration problem: {err}", err=True)
        sys.exit(2)


@cli.command(with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app and the timers in one process (embedded default)."""
    overrides: dict[str, object] = {}
    import os

    if "CARTBACK_RUN_SCHEDULER" not in os.environ:
        overrides["RUN_SCHEDULER"] = True
    app = create_app(overrides)
    click.echo(f"Cartback listening on http://{host}:{port}  (timers "
               f"{'on' if app.config['RUN_SCHEDULER'] else 'off'}; "
               f"mail: {app.config['MAIL_BACKEND']})")
    # Flask's app.run() refuses to run under its own CLI; call werkzeug directly.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@cli.command(with_appcontext=False)
@click.option("--poll", default=2.0, show_default=True, help="Seconds between change polls.")
@click.option("--standby-retry", default=5.0, show_default=True,
              help="Seconds between a standby's tries to take over.")
def scheduler(poll: float, standby_retry: float) -> None:
    """Run the timers and nightly jobs (one leader; extra copies wait as standbys)."""
    import signal
    import threading

    from app.worker import process as scheduler_process

    app = create_app({"RUN_SCHEDULER": False})
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"Cartback scheduler started (database: "
               f"{app.extensions['db'].engine.dialect.name})")
    scheduler_process.run(app, stop, poll_s=poll, retry_s=standby_retry)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (production PostgreSQL runs this on deploy)."""
    engine = current_app.extensions["db"].engine
    upgrade(engine)
    click.echo("database is at the newest schema")


@cli.group()
def stores() -> None:
    """Connect and list stores."""


def _store_adders() -> dict[str, StoreAdder]:
    return {i.name: i.stores_add for i in integrations.every() if i.stores_add is not None}


def _hinted(text: str, hints: list[str]) -> str:
    return f"{text} ({'; '.join(hints)})." if hints else f"{text}."


def _stores_add_options(command: click.Command) -> click.Command:
    """Give `stores add` the options every platform shares, then each integration's own."""
    adders = _store_adders().values()
    domain_hints = [a.domain_hint for a in adders if a.domain_hint]
    timezone_defaults = [a.timezone_hint for a in adders if a.timezone_hint]
    timezone_default = ", else ".join([*timezone_defaults, "UTC"])
    common = [
        click.Option(["--platform"], type=click.Choice([CUSTOM, *_store_adders()]),
                     required=True),
        click.Option(["--name"], default="", help="Store name shown in emails."),
        click.Option(["--domain"], required=True,
                     help=_hinted("The storefront's host, e.g. shop.example.com", domain_hints)),
        click.Option(["--timezone", "timezone_name"], default=None,
                     help="IANA timezone for quiet hours when the shopper's is unknown "
                          f"(default: {timezone_default})."),
        click.Option(["--from-email"], default=None, help="Address reminders are sent from."),
    ]
    command.params = [*common, *(o for a in adders for o in a.options), *command.params]
    return command


@_stores_add_options
@stores.command("add")
def stores_add(platform: str, name: str, domain: str, timezone_name: str | None,
               from_email: str | None, **options: Any) -> None:
    """Register a store and print its JSON (id, webhook_secret, ...)."""
    runtime = current_app.extensions["cartback"]
    new = NewStore(name=name, domain=domain, timezone=timezone_name, from_email=from_email)
    adder = _store_adders().get(platform)
    if adder is not None:
        click.echo(json.dumps(adder.add(runtime, new, options), indent=2))
        return
    try:
        with runtime.db.transaction() as session:
            store = create_store(session, platform=platform, name=name or domain, domain=domain,
                                 timezone=timezone_name or "UTC", from_email=from_email)
            data = store_json(store, current_app.config["PUBLIC_URL"])
    except StoreInputError as err:
        raise click.BadParameter(str(err)) from err
    click.echo(json.dumps(data, indent=2))


@stores.command("list")
def stores_list() -> None:
    """Print every store as one JSON line."""
    from sqlalchemy import select

    from app.db.models import Store

    runtime = current_app.extensions["cartback"]
    with runtime.db.new_session() as session:
        for store in session.scalars(select(Store).order_by(Store.id)):
            data = store_json(store, current_app.config["PUBLIC_URL"])
            data.pop("webhook_secret")
            click.echo(json.dumps(data))


@cli.command("wake-due")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act as (default: now).")
def wake_due_command(now_text: str | None) -> None:
    """Run every wake due at NOW; print one JSON line per cart handled.

    Exits 1 when any wake failed (after running the rest), so cron or a
    deploy script notices; the failed carts keep their timers and run again.
    """
    runtime = current_app.extensions["cartback"]
    now = parse_now(now_text)
    failed = 0
    for result in iter_wake_due(runtime, now):
        failed += result.result == "error"
        click.echo(json.dumps({"cart_id": result.cart_id, "move": result.move,
                               "result": result.result, "reason": result.reason,
                               "wake_at": result.wake_at.isoformat() if result.wake_at else None}))
    if failed:
        raise click.ClickException(f"{failed} wake(s) failed; they stay due and run again")


@cli.command("dry-run")
@click.option("--store", "store_id", type=int, default=None, help="Only this store.")
@click.option("--hours", default=24.0, show_default=True, type=click.FloatRange(0, 24 * 14),
              help="How far ahead to look.")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act as (default: now).")
def dry_run_command(store_id: int | None, hours: float, now_text: str | None) -> None:
    """List what would be sent in the next HOURS, and why not; sends and writes nothing."""
    from app.carts.dry_run import describe, plan

    runtime = current_app.extensions["cartback"]
    now = parse_now(now_text)
    with runtime.db.new_session() as session:
        entries = plan(session, now, hours=hours, store_id=store_id,
                       mail_backend=runtime.mailer.name)
        session.rollback()
    for entry in entries:
        click.echo(f"{entry.at:%Y-%m-%d %H:%M} UTC  store {entry.store_id}  cart {entry.cart_id}"
                   f"  {entry.step:<7} {entry.channel:<6} {describe(entry)}")
    sends = sum(e.outcome == "send" for e in entries)
    click.echo(f"{sends} reminder(s) would be sent in the next {hours:g} hours; "
               f"{len(entries) - sends} other move(s). Nothing was sent or changed.")


@cli.command(with_appcontext=False)
@click.option("--outbox", default="cartback-demo-outbox", show_default=True,
              help="Folder the demo's emails are written to.")
@click.option("--carts", default=40, show_default=True, type=click.IntRange(10, 2000))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--holdout", default=10, show_default=True, type=click.IntRange(0, 50),
              help="Hold back this % of shoppers and show the holdout comparison (0: none).")
def demo(outbox: str, carts: int, seed: int, holdout: int) -> None:
    """Play a day of store traffic in accelerated time and summarise it."""
    from app.demo import run_demo

    run_demo(outbox_dir=outbox, cart_count=carts, seed=seed, holdout_percent=holdout)


@cli.command("admin-link")
@click.option("--store", "store_id", type=int, required=True)
def admin_link(store_id: int) -> None:
    """Print a one-time sign-in link to a store's admin pages (valid 15 minutes)."""
    from app.db.models import Store
    from app.web.admin.auth import mint_login_link

    runtime = current_app.extensions["cartback"]
    with runtime.db.new_session() as session:
        if session.get(Store, store_id) is None:
            raise click.ClickException(f"no store {store_id}")
    click.echo(mint_login_link(runtime, store_id, runtime.clock()))


@cli.group("export", invoke_without_command=True)
@click.option("--store", "store_id", type=int, help="Export this store...")
@click.option("--date", "day_text", help="...this day (YYYY-MM-DD, the store's calendar).")
@click.pass_context
@with_appcontext
def export_group(ctx: click.Context, store_id: int | None, day_text: str | None) -> None:
    """Export a day's carts to CSV and XLSX (and the store's Google Sheet, if set up)."""
    if ctx.invoked_subcommand is not None:
        return
    from datetime import date

    from app import export

    if store_id is None or day_text is None:
        raise click.UsageError("give --store ID and --date YYYY-MM-DD")
    try:
        day = date.fromisoformat(day_text)
    except ValueError as err:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from err
    runtime = current_app.extensions["cartback"]
    try:
        for written in export.export_day(runtime, store_id, day):
            click.echo(written)
    except LookupError as err:
        raise click.ClickException(str(err)) from err


@export_group.command("google-sheet")
@click.option("--store", "store_id", type=int, required=True)
@click.option("--service-account", "key_file", type=click.File("r"), required=True,
              help="The Google service account's JSON key file.")
@click.option("--spreadsheet", "spreadsheet_id", required=True,
              help="The spreadsheet's id (from its URL), shared with the service account.")
def export_google_sheet(store_id: int, key_file: object, spreadsheet_id: str) -> None:
    """Mirror this store's nightly export to a Google Sheet (one tab per day)."""
    from app.db.crypto import decrypt_json, encrypt_json
    from app.db.models import Store

    account = json.load(key_file)  # type: ignore[arg-type]
    if not isinstance(account, dict) or account.get("type") != "service_account":
        raise click.BadParameter("not a service account key file", param_hint="--service-account")
    runtime = current_app.extensions["cartback"]
    with runtime.db.transaction() as session:
        store = session.get(Store, store_id)
        if store is None:
            raise click.ClickException(f"no store {store_id}")
        secrets = decrypt_json(runtime.fernet(), store.credentials)
        secrets["google_service_account"] = account
        store.credentials = encrypt_json(runtime.fernet(), secrets)
        store.platform_state = {**(store.platform_state or {}),
                                "google_sheet": {"spreadsheet_id": spreadsheet_id}}
    click.echo(f"store {store_id} exports to spreadsheet {spreadsheet_id} "
               f"as {account.get('client_email')}")


@cli.group()
def retention() -> None:
    """Erase personal data the carts no longer need."""


@retention.command("run")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act as (default: now).")
def retention_run(now_text: str | None) -> None:
    """Erase email, name and items of carts idle for RETENTION_DAYS (default 30)."""
    from app.privacy import retention as retention_module

    runtime = current_app.extensions["cartback"]
    days = current_app.config["RETENTION_DAYS"]
    with runtime.db.transaction() as session:
        erased = retention_module.purge(session, parse_now(now_text), days)
    click.echo(json.dumps({"carts_erased": erased, "older_than_days": days}))


@cli.group()
def privacy() -> None:
    """Privacy requests about one shopper."""


def _shopper_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("--phone", help="their phone number, international form (+1...)")(
        command)
    command = click.option("--email")(command)
    return click.option("--store", "store_id", type=int, required=True)(command)


def _e164(phone: str | None) -> str | None:
    from platforms import fields

    if not phone:
        return None
    number = fields.or_none(fields.phone, phone)
    if number is None:
        raise click.BadParameter("not a phone number in international form", param_hint="--phone")
    return number


@privacy.command("report")
@_shopper_options
def privacy_report(store_id: int, email: str | None, phone: str | None) -> None:
    """Print everything held about an email address and/or phone number as JSON."""
    from app.privacy import requests as privacy_module

    if not (email or phone):
        raise click.UsageError("give --email, --phone or both")
    number = _e164(phone)
    runtime = current_app.extensions["cartback"]
    with runtime.db.new_session() as session:
        click.echo(json.dumps(privacy_module.report_shopper(
            session, store_id, email, phone=number), indent=2))


@privacy.command("erase")
@_shopper_options
def privacy_erase(store_id: int, email: str | None, phone: str | None) -> None:
    """Erase everything about an email address and/or phone number (an unsubscribe
    entry is kept)."""
    from app.privacy import erasure_log
    from app.privacy import requests as privacy_module

    if not (email or phone):
        raise click.UsageError("give --email, --phone or both")
    number = _e164(phone)
    runtime = current_app.extensions["cartback"]
    with runtime.db.transaction() as session:
        ids = privacy_module.erase_shopper(session, store_id, email, phone=number)
        erasure_log.record(session, store_id, "erase", runtime.clock(), {"carts": len(ids)})
    runtime.timers.cancel_many(ids)
    click.echo(json.dumps({"carts_erased": len(ids)}))


def _add_integration_commands() -> None:
    """`cartback <platform> ...`: each integration's own command group."""
    for integration in integrations.every():
        if integration.cli is not None:
            cli.add_command(integration.cli)


_add_integration_commands()


if __name__ == "__main__":
    main()
