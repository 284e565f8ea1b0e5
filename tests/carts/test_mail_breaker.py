"""The mail circuit breaker end to end: SES refuses everything, reminders wait,
one probe reopens the tap, and every deferred reminder then goes out once."""

from __future__ import annotations

import logging
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, MailPause, Send
from app.errors import DeliveryError
from app.mail import breaker
from app.mail.backends.ses import SesMailer
from tests.factories import T0, cart_body

DUE = T0 + timedelta(hours=4)


@pytest.fixture
def ses(runtime):
    client = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    runtime.mailer = SesMailer(client)
    yield stub
    stub.deactivate()


def refuse(stub, code, message="", status=400, times=1):
    for _ in range(times):
        stub.add_client_error("send_email", service_error_code=code, service_message=message,
                              http_status_code=status)


def accept(stub, times):
    for n in range(times):
        stub.add_response("send_email", {"MessageId": f"ses-{n}"})


def ten_carts(post_custom):
    for n in range(10):
        post_custom(cart_body(cart_id=f"c-{n}", email=f"shopper{n}@example.com"))


def rows(runtime):
    with runtime.db.new_session() as session:
        return [(s.result, s.reason) for s in session.scalars(select(Send).order_by(Send.id))]


def wake_times(runtime):
    with runtime.db.new_session() as session:
        return {c.wake_at for c in session.scalars(select(Cart))}


def opened_count(scope="backend", kind="paused"):
    return breaker.OPENED.labels(scope, kind)._value.get()


@pytest.mark.parametrize("code", ["SendingPausedException", "AccountSuspendedException",
                                  "NotFoundException"])
def test_account_paused_defers_every_due_reminder_then_sends_each_once(
        code, ses, post_custom, runtime, caplog):
    ten_carts(post_custom)
    refuse(ses, code)
    kind = "config" if code == "NotFoundException" else "paused"
    before = opened_count(kind=kind)
    with caplog.at_level(logging.WARNING):
        results = wake_due(runtime, DUE)
    assert [r.reason for r in results] == ["mail_paused"] * 10
    assert [r.result for r in results] == ["deferred"] * 10
    assert rows(runtime) == [("deferred", "mail_paused")] * 10  # none failed, none burned
    assert wake_times(runtime) == {DUE + timedelta(minutes=15)}
    alerts = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(alerts) == 1 and "mail paused" in alerts[0].getMessage()
    assert opened_count(kind=kind) == before + 1

    # Fifteen minutes on, the account has resumed: one probe, then everyone, once.
    accept(ses, 10)
    results = wake_due(runtime, DUE + timedelta(minutes=15))
    assert sorted(r.result for r in results) == ["sent"] * 10
    ses.assert_no_pending_responses()
    assert rows(runtime).count(("sent", None)) == 10
    with runtime.db.new_session() as session:
        [pause] = session.scalars(select(MailPause)).all()
        assert pause.closed_at == DUE + timedelta(minutes=15)
    assert wake_due(runtime, DUE + timedelta(hours=1)) == []


def test_daily_quota_waits_an_hour_and_a_failed_probe_waits_again(ses, post_custom, runtime,
                                                                   caplog):
    ten_carts(post_custom)
    refuse(ses, "Throttling", "Daily message quota exceeded.")
    wake_due(runtime, DUE)
    assert wake_times(runtime) == {DUE + timedelta(hours=1)}

    refuse(ses, "LimitExceededException", "Daily message quota exceeded.")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        results = wake_due(runtime, DUE + timedelta(hours=1))
    # The probe was refused again: one attempt, nine others wait behind it; no new error alert.
    ses.assert_no_pending_responses()
    assert {r.result for r in results} == {"deferred"}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert "failed" not in {r for r, _ in rows(runtime)}

    accept(ses, 10)
    wake_due(runtime, DUE + timedelta(hours=2))
    wake_due(runtime, DUE + timedelta(hours=2, minutes=2))
    ses.assert_no_pending_responses()
    assert rows(runtime).count(("sent", None)) == 10


def test_throttling_alone_is_transient_not_a_pause(ses, post_custom, runtime):
    post_custom(cart_body())
    refuse(ses, "TooManyRequestsException", "Maximum sending rate exceeded.", status=429)
    [result] = wake_due(runtime, DUE)
    assert result.result == "failed" and result.reason.startswith("transient")
    with runtime.db.new_session() as session:
        assert session.scalars(select(MailPause)).all() == []


def test_unverified_mail_from_pauses_only_that_store(ses, post_custom, make_store, runtime,
                                                     client):
    import json

    from platforms.signing import sign_base64

    post_custom(cart_body(cart_id="a"))
    other = make_store(name="Other", domain="other.example", from_email="hi@other.example")
    raw = json.dumps(cart_body(cart_id="b", email="bob@example.com",
                               return_url="https://other.example/cart/b")).encode()
    client.post(f"/webhooks/custom/{other.id}", data=raw,
                headers={"X-Cartback-Hmac-Sha256": sign_base64(other.webhook_secret, raw)})
    refuse(ses, "MailFromDomainNotVerifiedException")
    accept(ses, 1)
    results = wake_due(runtime, DUE)
    assert [(r.result, r.reason) for r in results] == [("deferred", "mail_paused"),
                                                        ("sent", None)]
    with runtime.db.new_session() as session:
        [pause] = session.scalars(select(MailPause)).all()
        assert pause.scope.startswith("store:")


def test_jittered_retries_do_not_all_fire_in_the_same_second(post_custom, runtime):
    class Throttled:
        name = "throttled"

        def send(self, message, *, sender, recipient):
            raise DeliveryError("throttled", transient=True)

    runtime.mailer = Throttled()
    ten_carts(post_custom)
    results = wake_due(runtime, DUE)
    times = {r.wake_at for r in results}
    assert len(times) > 5
    assert all(DUE + timedelta(minutes=1) <= t <= DUE + timedelta(minutes=2) for t in times)


class Timeout:
    """A send_email that reaches SES and never hears back."""

    def __init__(self):
        self.calls = 0

    def send_email(self, **kwargs):
        self.calls += 1
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")


def test_ambiguous_send_is_unknown_and_never_resent(post_custom, runtime, admin_page):
    client = Timeout()
    runtime.mailer = SesMailer(client)
    post_custom(cart_body())
    [result] = wake_due(runtime, DUE)
    assert result.result == "unknown"
    for hours in (1, 5, 23):
        wake_due(runtime, DUE + timedelta(hours=hours))
    assert client.calls == 1  # not resent blindly
    [(result_name, reason)] = rows(runtime)
    assert result_name == "unknown" and "not resent" in reason
    with runtime.db.new_session() as session:
        cart = session.scalars(select(Cart)).one()
        assert cart.stage == 1 and cart.status == "reminded"
        page = admin_page(f"/admin/carts/{cart.id}")
    assert "First reminder unknown" in page and "not resent" in page


@pytest.fixture
def admin_page(app, store):
    from app.web.admin.auth import mint_session

    def _get(path):
        with app.test_request_context():
            token = mint_session(store.id)
        response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return _get


def test_dashboard_shows_the_pause_until_it_closes(ses, post_custom, runtime, admin_page):
    post_custom(cart_body())
    refuse(ses, "SendingPausedException")
    wake_due(runtime, DUE)
    page = admin_page("/admin/")
    assert "Sending is paused by the mail provider" in page
    assert "sending account is paused" in page
    accept(ses, 1)
    wake_due(runtime, DUE + timedelta(minutes=15))
    assert "Sending is paused" not in admin_page("/admin/")
