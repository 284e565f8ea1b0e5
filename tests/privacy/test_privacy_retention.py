"""Retention keeps the numbers and drops the person; privacy requests erase or
report one shopper; nightly jobs are registered and run on the clock."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import JSON, String, Text, inspect, select

from app.carts.wake import wake_due
from app.db.models import Base, Cart, Store, Suppression
from app.privacy import requests as privacy
from app.privacy import retention
from app.web.admin import dashboard
from app.worker import periodic as nightly
from tests.factories import T0, cart_body

EMAIL = "ada@example.com"


def everywhere(runtime, needle):
    """Every (table, column) whose text holds `needle`, case-insensitive."""
    hits = []
    with runtime.db.new_session() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, (String, Text, JSON)):
                    continue
                rows = session.execute(select(column).select_from(table)).scalars()
                if any(needle.lower() in json.dumps(v, default=str).lower() for v in rows
                       if v is not None):
                    hits.append(f"{table.name}.{column.name}")
    return hits


def shopper_story(post_custom, runtime, client):
    post_custom(cart_body(cart_id="a"))
    post_custom(cart_body(cart_id="b", email="bob@example.com", first_name="Bob"))
    wake_due(runtime, T0 + timedelta(hours=4))
    token = runtime.links.token("unsubscribe", 1)
    client.post(f"/u/{token}", data="List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded")
    post_custom(cart_body("order.placed", cart_id="b", occurred_at=T0 + timedelta(hours=6)))


def test_erase_shopper_leaves_the_email_nowhere_but_the_unsubscribe_list(
        post_custom, runtime, client, store):
    shopper_story(post_custom, runtime, client)
    assert "carts.email" in everywhere(runtime, EMAIL)
    with runtime.db.transaction() as session:
        erased = privacy.erase_shopper(session, store.id, " ADA@example.com ")
    assert len(erased) == 1
    assert everywhere(runtime, EMAIL) == ["suppressions.email"]
    assert "carts.email" in everywhere(runtime, "bob@example.com")  # others untouched


def test_erase_shopper_without_unsubscribe_leaves_nothing(post_custom, runtime, store):
    post_custom(cart_body())
    wake_due(runtime, T0 + timedelta(hours=4))
    with runtime.db.transaction() as session:
        privacy.erase_shopper(session, store.id, EMAIL)
    assert everywhere(runtime, EMAIL) == []


def test_report_shopper_lists_what_we_hold(post_custom, runtime, client, store):
    shopper_story(post_custom, runtime, client)
    with runtime.db.new_session() as session:
        report = privacy.report_shopper(session, store.id, EMAIL)
    assert report["email"] == EMAIL
    assert [c["cart_key"] for c in report["carts"]] == ["a"]
    assert report["reminders"][0]["result"] == "sent"
    assert report["unsubscribed"][0]["source"] == "one_click"
    assert "bob" not in json.dumps(report)


def test_privacy_cli_report_and_erase(post_custom, runtime, runner, store):
    post_custom(cart_body())
    result = runner.invoke(["privacy", "report", "--store", str(store.id), "--email", EMAIL])
    assert result.exit_code == 0 and json.loads(result.output)["carts"]
    result = runner.invoke(["privacy", "erase", "--store", str(store.id), "--email", EMAIL])
    assert json.loads(result.output) == {"carts_erased": 1}
    assert everywhere(runtime, EMAIL) == []


def numbers(runtime, store):
    period = dashboard.Period.last_days(30, T0 + timedelta(days=20), "UTC")
    with runtime.db.new_session() as session:
        result = dashboard.numbers(session, store.id, period, "UTC")
    return (result.abandoned, result.sent, dict(result.skipped), result.recovered,
            result.revenue, result.per_day, result.clicks)


def test_retention_erases_people_and_keeps_the_dashboard_numbers(post_custom, runtime, client,
                                                                 store):
    shopper_story(post_custom, runtime, client)
    post_custom(cart_body(cart_id="nomail", email=None))
    wake_due(runtime, T0 + timedelta(days=8))
    before = numbers(runtime, store)
    with runtime.db.new_session() as session:
        statuses_before = sorted(c.status for c in session.scalars(select(Cart)))
    with runtime.db.transaction() as session:
        erased = retention.purge(session, T0 + timedelta(days=40), days=30)
    assert erased == 3
    assert numbers(runtime, store) == before
    assert everywhere(runtime, "bob@example.com") == []
    assert everywhere(runtime, "Linen shirt") == []
    assert everywhere(runtime, EMAIL) == ["suppressions.email"]  # the opt-out is kept
    with runtime.db.new_session() as session:
        assert sorted(c.status for c in session.scalars(select(Cart))) == statuses_before


def test_retention_spares_recent_and_waiting_carts(post_custom, runtime, store):
    post_custom(cart_body(cart_id="old", occurred_at=T0 - timedelta(days=45)))
    post_custom(cart_body(cart_id="new", occurred_at=T0 - timedelta(days=2)))
    with runtime.db.transaction() as session:
        assert retention.purge(session, T0, days=30) == 0  # "old" is still active (waiting)
    wake_due(runtime, T0)
    with runtime.db.transaction() as session:
        assert retention.purge(session, T0, days=30) == 1
    with runtime.db.new_session() as session:
        carts = {c.cart_key: c for c in session.scalars(select(Cart))}
    assert carts["old"].email is None and carts["old"].erased_at == T0
    assert carts["new"].email == EMAIL


def test_retention_cli(runner, post_custom, store):
    post_custom(cart_body("order.placed", occurred_at=T0 - timedelta(days=40)))
    result = runner.invoke(["retention", "run", "--now", T0.isoformat()])
    assert json.loads(result.output) == {"carts_erased": 1, "older_than_days": 30}


class Recorder:
    def __init__(self):
        self.nightly, self.interval = {}, {}

    def add_nightly(self, job_id, func, *, hour, minute=0, timezone="UTC"):
        self.nightly[job_id] = (hour, minute, func)

    def add_interval(self, job_id, func, *, seconds):
        self.interval[job_id] = (seconds, func)


def test_nightly_jobs_are_registered_and_run_on_the_clock(runtime, make_store, clock):
    gone = make_store(domain="gone.example")
    with runtime.db.transaction() as session:
        store = session.get(Store, gone.id)
        store.installed = False
        store.uninstalled_at = T0 - timedelta(days=31)
        session.add(Suppression(store_id=gone.id, email="x@example.com", scope="all",
                                source="merchant", created_at=T0))
    recorder = Recorder()
    nightly.register(recorder, runtime)
    assert set(recorder.nightly) == {"retention", "store-redaction"}
    assert {"exports", "woocommerce-sync", "shopify-sync"} <= set(recorder.interval)
    assert recorder.nightly["retention"][:2] == (3, 0)
    recorder.nightly["store-redaction"][2]()
    with runtime.db.new_session() as session:
        assert session.get(Store, gone.id) is None
        assert session.scalars(select(Suppression)).all() == []


def test_every_table_is_covered_by_the_scan(runtime):
    # The privacy scan reads the model's tables: they must be all the database has
    # (apart from alembic's own), or an address could hide in a table it skips.
    with runtime.db.new_session() as session:
        names = set(inspect(session.get_bind()).get_table_names()) - {"alembic_version"}
    assert {t.name for t in Base.metadata.sorted_tables} == names


PHONE = "+12125550100"


def texted_story(post_custom, runtime, store):
    """Ada gave her number with SMS consent and her first reminder went by text."""
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**row.settings, "first_channel": "sms"}
    post_custom(cart_body(cart_id="a", phone=PHONE, accepts_sms_marketing=True,
                          timezone="America/New_York"))
    post_custom(cart_body(cart_id="b", email="bob@example.com"))
    assert "sent" in [r.result for r in wake_due(runtime, T0 + timedelta(hours=6))]
    assert "sends.address" in everywhere(runtime, PHONE)


def test_erasing_a_texted_shopper_by_address_leaves_their_number_nowhere(
        post_custom, runtime, store):
    texted_story(post_custom, runtime, store)
    with runtime.db.transaction() as session:
        privacy.erase_shopper(session, store.id, EMAIL)
    assert everywhere(runtime, PHONE) == []
    assert everywhere(runtime, EMAIL) == []


def test_retention_drops_the_number_with_the_person(post_custom, runtime, store):
    texted_story(post_custom, runtime, store)
    post_custom(cart_body("order.placed", cart_id="a", occurred_at=T0 + timedelta(hours=7)))
    with runtime.db.transaction() as session:
        retention.purge(session, T0 + timedelta(days=40), days=30)
    assert everywhere(runtime, PHONE) == []


def test_privacy_cli_by_phone(post_custom, runtime, runner, store):
    texted_story(post_custom, runtime, store)
    result = runner.invoke(["privacy", "report", "--store", str(store.id), "--phone",
                            "+1 212 555 0100"])
    report = json.loads(result.output)
    assert [c["cart_key"] for c in report["carts"]] == ["a"]
    assert [(r["channel"], r["to"]) for r in report["reminders"]] == [("sms", PHONE)]
    result = runner.invoke(["privacy", "erase", "--store", str(store.id), "--phone", PHONE])
    assert json.loads(result.output) == {"carts_erased": 1}
    assert everywhere(runtime, PHONE) == [] and everywhere(runtime, EMAIL) == []
    refused = runner.invoke(["privacy", "erase", "--store", str(store.id), "--phone", "0100"])
    assert refused.exit_code != 0 and "international form" in refused.output
    assert runner.invoke(["privacy", "erase", "--store", str(store.id)]).exit_code != 0
