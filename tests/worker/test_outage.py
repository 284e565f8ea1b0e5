"""No wake is lost to database trouble: a failed wake is re-armed with backoff,
one cart's failure never stops a `wake-due` run, and the scheduler process
outlives an outage (the engine pointed at a closed port) and catches up."""

from __future__ import annotations

import configparser
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from app.db.session import make_engine
from app.metrics import WAKE_FAILURES
from app.runtime import real_now
from app.worker import leader, process
from app.worker.start import WakeRunner
from tests.factories import T0, cart_body

DUE = T0 + timedelta(hours=4)
ROOT = Path(__file__).resolve().parents[2]


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Outage:
    """While on, every new connection of the engine goes to a closed port
    (PostgreSQL) or an unopenable path (SQLite); open ones are cut."""

    def __init__(self, engine, database_url):
        self.engine, self.database_url, self.on = engine, database_url, False
        self.port = closed_port()
        event.listen(engine, "do_connect", self._redirect)

    def _redirect(self, dialect, conn_rec, cargs, cparams):
        if not self.on:
            return None
        if self.database_url.startswith("sqlite"):
            cargs[:] = ["/nonexistent-cartback-dir/down.db"]
        else:
            cparams.update(host="127.0.0.1", port=self.port, connect_timeout=1)
        return None

    def start(self):
        self.on = True
        if self.database_url.startswith("sqlite"):
            self.engine.dispose()
        else:
            # Cut the connections on the server side, as an outage does; the
            # pool finds them dead (pre-ping) and reconnects to the closed port.
            # Disposing the pool here instead would orphan the connections the
            # worker holds, to be closed by the garbage collector at random.
            admin = make_engine(self.database_url)
            with admin.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()"))
            admin.dispose()

    def end(self):
        self.on = False


class RecordingTimers:
    def __init__(self):
        self.armed = {}

    def set(self, cart_id, when):
        self.armed[cart_id] = when

    def cancel_many(self, cart_ids):
        for cart_id in cart_ids:
            self.armed.pop(cart_id, None)


def the_cart(runtime):
    with runtime.db.new_session() as session:
        return session.scalars(select(Cart)).one()


def test_a_webhook_after_the_server_cut_the_pools_connections_is_applied(
        post_custom, runtime, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to cut a connection")
    assert post_custom(cart_body(cart_id="before")).status_code == 200
    # A restart, a failover or an idle timeout on the server: every pooled
    # connection is dead, and the next delivery must not be the one to find out.
    outage = Outage(runtime.db.engine, database_url)
    outage.start()
    outage.end()

    answer = post_custom(cart_body(cart_id="after"))

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["results"][0]["outcome"] == "created"
    with runtime.db.new_session() as session:
        assert sorted(session.scalars(select(Cart.cart_key))) == ["after", "before"]


def test_a_webhook_whose_connection_dies_unseen_at_checkout_is_still_applied(
        post_custom, runtime, database_url):
    """The checkout's socket check misses a connection whose goodbye is not on
    the wire yet; the transaction's first round trip finds it, and the delivery
    is applied on another connection instead of answered with a 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to cut a connection")
    from app.db import session as db_session

    assert post_custom(cart_body(cart_id="before")).status_code == 200
    # Blind the check, as a goodbye still in flight does, then cut every connection.
    event.remove(runtime.db.engine, "checkout", db_session._drop_if_closed_by_server)
    try:
        outage = Outage(runtime.db.engine, database_url)
        outage.start()
        outage.end()
        # Gone for sure (termination is asynchronous): the pooled connection is dead.
        admin = make_engine(database_url)
        try:
            assert wait_for(lambda: _other_backends(admin) == 0, seconds=10)
        finally:
            admin.dispose()
        answer = post_custom(cart_body(cart_id="after"))
    finally:
        event.listen(runtime.db.engine, "checkout", db_session._drop_if_closed_by_server)

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["results"][0]["outcome"] == "created"
    with runtime.db.new_session() as session:
        assert sorted(session.scalars(select(Cart.cart_key))) == ["after", "before"]


def _other_backends(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


def test_a_wake_that_fails_on_the_database_is_rearmed_with_backoff(
        post_custom, runtime, clock, database_url, outbox, caplog):
    post_custom(cart_body())
    cart_id = the_cart(runtime).id
    runtime.timers = RecordingTimers()
    fire = WakeRunner(runtime)
    outage = Outage(runtime.db.engine, database_url)
    clock.set(DUE)
    before = WAKE_FAILURES._value.get()

    outage.start()
    fire(cart_id)  # the timer fires while the database is unreachable
    first = runtime.timers.armed[cart_id] - DUE
    fire(cart_id)
    second = runtime.timers.armed[cart_id] - DUE
    outage.end()

    assert timedelta(seconds=5) <= first <= timedelta(seconds=7.5)
    assert timedelta(seconds=10) <= second <= timedelta(seconds=15)
    assert WAKE_FAILURES._value.get() == before + 2
    failures = [r for r in caplog.records if r.getMessage() == "wake failed, will retry"]
    assert [getattr(r, "cart_id", None) for r in failures] == [cart_id, cart_id]

    clock.set(DUE + second)
    fire(cart_id)  # the retry, once the database is back
    assert len(outbox()) == 1
    assert the_cart(runtime).status == "reminded"


class CrashingMailer:
    """A backend with a bug for one recipient (not a DeliveryError)."""

    def __init__(self, inner, bad):
        self.inner, self.bad, self.name = inner, bad, inner.name

    def send(self, message, *, sender, recipient):
        if recipient == self.bad:
            raise RuntimeError("backend bug")
        return self.inner.send(message, sender=sender, recipient=recipient)


def test_one_carts_failure_never_stops_a_wake_due_run(post_custom, runtime, outbox):
    for n, email in enumerate(["ada@example.com", "bob@example.com", "cy@example.com"]):
        post_custom(cart_body(cart_id=f"c-{n}", email=email))
    runtime.mailer = CrashingMailer(runtime.mailer, "ada@example.com")
    before = WAKE_FAILURES._value.get()
    results = wake_due(runtime, DUE)
    assert sorted(r.result for r in results) == ["error", "sent", "sent"]
    assert len(outbox()) == 2
    assert WAKE_FAILURES._value.get() == before + 1


def test_wake_due_command_exits_non_zero_when_a_wake_failed(post_custom, runtime, runner,
                                                            outbox):
    for n, email in enumerate(["ada@example.com", "bob@example.com"]):
        post_custom(cart_body(cart_id=f"c-{n}", email=email))
    runtime.mailer = CrashingMailer(runtime.mailer, "ada@example.com")
    result = runner.invoke(args=["wake-due", "--now", DUE.isoformat()])
    assert result.exit_code == 1
    assert "1 wake(s) failed" in result.output
    assert len(outbox()) == 1  # the other cart was still reminded


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling another thread, not a timer
    return bool(predicate())


def test_scheduler_survives_a_database_outage_and_catches_up(app, runtime, store,
                                                             database_url, caplog):
    with runtime.db.transaction() as session:
        found = session.get(Store, store.id)
        found.settings = {**found.settings, "quiet_start": "00:00", "quiet_end": "00:00"}
    runtime.clock = real_now
    app.config["RUN_NIGHTLY"] = False
    outage = Outage(runtime.db.engine, database_url)
    other = make_engine(database_url)  # a web process, still reaching the database
    stop = threading.Event()
    crashed = []

    def run():
        try:
            process.run(app, stop, poll_s=0.05, retry_s=0.05, heartbeat_s=0.05)
        except BaseException as err:  # noqa: BLE001
            crashed.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: leader.last_beat(other) is not None)
        caplog.set_level(logging.INFO)
        outage.start()
        assert wait_for(lambda: any("database unavailable" in r.getMessage()
                                    for r in caplog.records)), crashed
        # While it is down, a cart falls due (written by a web process).
        now = datetime.now(UTC)
        with other.begin() as conn:
            conn.execute(Cart.__table__.insert().values(
                store_id=store.id, cart_key="during", status="active",
                email="ada@example.com", items=[{"title": "Mug", "quantity": 1,
                                                 "unit_price": "18.00"}],
                currency="EUR", saved_link=False, stage=0, reminders_sent=0, attempts=0,
                last_activity_at=now - timedelta(hours=5),
                last_event_at=now - timedelta(hours=5), wake_at=now - timedelta(hours=1),
                created_at=now - timedelta(hours=5), updated_at=now - timedelta(hours=2)))
        assert thread.is_alive() and not crashed
        outage.end()

        def sent():
            with other.connect() as conn:
                return conn.execute(select(Send.result)).scalars().all() == ["sent"]

        assert wait_for(sent), crashed
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)
        other.dispose()
    assert crashed == []


def test_systemd_unit_restarts_the_scheduler_whatever_happens():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "deploy" / "cartback-scheduler.service")
    assert unit["Service"]["Restart"] == "always"
    assert float(unit["Service"]["RestartSec"]) > 0
    # Without this systemd stops restarting after 5 failures in 10 s.
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"


@pytest.fixture(autouse=True)
def _quiet_apscheduler():
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
