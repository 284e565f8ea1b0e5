"""Delivery backends against real or faithful peers: a real aiosmtpd server,
SES through moto, and the pacer on an injected clock."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.parser import BytesParser

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from app.errors import DeliveryError, MailPaused
from app.mail.backends.ses import SesMailer
from app.mail.backends.smtp import SmtpMailer
from app.mail.compose import MailContext, render
from app.mail.message import Envelope, build
from app.mail.pacing import Pacer


def a_message():
    ctx = MailContext(store_name="Maple & Co", postal_address="1 Mill Lane", first_name="Ada",
                      items=[{"title": "Linen shirt", "quantity": 1, "unit_price": "49.00"}],
                      total=Decimal("49.00"), currency="GBP", locale="en-GB",
                      return_url="https://cb.example/r/x", unsubscribe_url="https://cb.example/u/y",
                      saved_link=False)
    env = Envelope(from_name="Maple & Co", from_email="hello@maple.example",
                   to_email="ada@example.com", reply_to=None,
                   unsubscribe_url="https://cb.example/u/y")
    return build(render("first", ctx), env, datetime(2026, 11, 23, 13, tzinfo=UTC))


# -- SMTP -------------------------------------------------------------------------------

class Sink:
    def __init__(self, reply: str | None = None) -> None:
        self.envelopes = []
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    started = []

    def _start(handler, **kwargs):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        started.append(controller)
        return controller

    yield _start
    for controller in started:
        controller.stop()


def test_smtp_delivers_the_exact_message(smtp_server):
    sink = Sink()
    server = smtp_server(sink)
    mailer = SmtpMailer("127.0.0.1", server.port, starttls=False)
    message = a_message()
    message_id = mailer.send(message, sender="hello@maple.example", recipient="ada@example.com")
    [envelope] = sink.envelopes
    assert envelope.mail_from == "hello@maple.example"
    assert envelope.rcpt_tos == ["ada@example.com"]
    received = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert received["Message-ID"] == message_id
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Linen shirt" in received.get_body(("plain",)).get_content()


def test_smtp_login_is_used_when_configured(smtp_server):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    sink = Sink()
    server = smtp_server(sink, authenticator=authenticator, auth_require_tls=False,
                         auth_exclude_mechanism=["LOGIN"])
    good = SmtpMailer("127.0.0.1", server.port, user="cartback", password="s3cret",
                      starttls=False)
    good.send(a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert seen == [(b"cartback", b"s3cret")] and len(sink.envelopes) == 1


def test_smtp_refused_login_pauses_all_sending(smtp_server, monkeypatch):
    import smtplib

    def refuse(self, user, password, **kwargs):
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 credentials invalid")

    sink = Sink()
    server = smtp_server(sink)
    monkeypatch.setattr(smtplib.SMTP, "login", refuse)
    bad = SmtpMailer("127.0.0.1", server.port, user="cartback", password="nope", starttls=False)
    with pytest.raises(DeliveryError) as err:
        bad.send(a_message(), sender="hello@maple.example", recipient="ada@example.com")
    # A wrong password fails every store's mail alike: pause (breaker), never burn reminders.
    assert isinstance(err.value, MailPaused) and err.value.kind == "config"
    assert sink.envelopes == []


@pytest.mark.parametrize(("reply", "transient"), [
    ("451 4.3.0 try again later", True),
    ("554 5.7.1 message rejected", False),
])
def test_smtp_reply_codes_decide_transient_or_permanent(smtp_server, reply, transient):
    server = smtp_server(Sink(reply=reply))
    mailer = SmtpMailer("127.0.0.1", server.port, starttls=False)
    with pytest.raises(DeliveryError) as err:
        mailer.send(a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.transient is transient


def test_smtp_unreachable_server_is_transient():
    mailer = SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=2)
    with pytest.raises(DeliveryError) as err:
        mailer.send(a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.transient is True


def test_smtp_starttls_required_but_not_offered_is_permanent(smtp_server):
    server = smtp_server(Sink())
    mailer = SmtpMailer("127.0.0.1", server.port, starttls=True)
    with pytest.raises(DeliveryError) as err:
        mailer.send(a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.transient is False


# -- SES ---------------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def sent_through_moto(region="eu-west-1"):
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages


def test_ses_sends_the_raw_message(aws):
    boto3.client("ses", region_name="eu-west-1").verify_domain_identity(Domain="maple.example")
    mailer = SesMailer.from_config({"AWS_REGION": "eu-west-1"})
    message_id = mailer.send(a_message(), sender="hello@maple.example",
                             recipient="ada@example.com")
    [sent] = sent_through_moto()
    assert message_id == sent.id
    parsed = BytesParser(policy=policy.default).parsebytes(
        sent.raw_data.encode() if isinstance(sent.raw_data, str) else sent.raw_data)
    assert parsed["List-Unsubscribe"] == "<https://cb.example/u/y>"
    assert "Linen shirt" in parsed.get_body(("plain",)).get_content()
    # The pacer was sized from the account's send rate (moto reports 1/s).
    assert mailer.pacer is not None and mailer.pacer.rate == 1.0


def test_ses_unverified_sender_is_permanent(aws):
    mailer = SesMailer.from_config({"AWS_REGION": "eu-west-1", "SES_MAX_SEND_RATE": 14.0})
    with pytest.raises(DeliveryError) as err:
        mailer.send(a_message(), sender="hello@unverified.example", recipient="ada@example.com")
    assert err.value.transient is False
    assert "MessageRejected" in err.value.reason


def test_ses_throttling_is_transient():
    from botocore.exceptions import ClientError

    class Throttled:
        def send_email(self, **kwargs):
            raise ClientError({"Error": {"Code": "TooManyRequestsException",
                                         "Message": "Maximum sending rate exceeded."},
                               "ResponseMetadata": {"HTTPStatusCode": 429}}, "SendEmail")

    with pytest.raises(DeliveryError) as err:
        SesMailer(Throttled()).send(a_message(), sender="a@maple.example", recipient="b@x.example")
    assert err.value.transient is True


def test_ses_read_timeout_after_sending_is_not_retried():
    from botocore.exceptions import ReadTimeoutError

    class Slow:
        def send_email(self, **kwargs):
            raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    with pytest.raises(DeliveryError) as err:
        SesMailer(Slow()).send(a_message(), sender="a@maple.example", recipient="b@x.example")
    assert err.value.transient is False


# -- pacing -------------------------------------------------------------------------------

class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spreads_a_burst_to_the_rate():
    fake = FakeTime()
    pacer = Pacer(2.0, clock=fake.clock, sleep=fake.sleep)
    waits = [pacer.acquire() for _ in range(6)]
    assert waits[:2] == [0.0, 0.0]  # the burst allowance
    assert fake.now == pytest.approx(2.0)  # 4 more at 2/s
    assert all(w == pytest.approx(0.5) for w in waits[2:])


def test_pacer_refills_while_idle():
    fake = FakeTime()
    pacer = Pacer(1.0, clock=fake.clock, sleep=fake.sleep)
    pacer.acquire()
    fake.now += 10
    assert pacer.acquire() == 0.0


def test_ses_missing_configuration_set_fails_fast_at_start(aws):
    from app.errors import ConfigError

    config = {"AWS_REGION": "eu-west-1", "SES_MAX_SEND_RATE": 14.0,
              "SES_CONFIGURATION_SET": "cartback-events"}
    with pytest.raises(ConfigError, match="no configuration set of that name"):
        SesMailer.from_config(config)
    boto3.client("sesv2", region_name="eu-west-1").create_configuration_set(
        ConfigurationSetName="cartback-events")
    assert SesMailer.from_config(config).configuration_set == "cartback-events"


@pytest.mark.parametrize("error", ["ReadTimeoutError", "ConnectionClosedError"])
def test_ses_no_answer_after_sending_is_ambiguous(error):
    from botocore import exceptions

    class Dropped:
        def send_email(self, **kwargs):
            raise getattr(exceptions, error)(endpoint_url="https://email.eu-west-1.amazonaws.com")

    with pytest.raises(DeliveryError) as err:
        SesMailer(Dropped()).send(a_message(), sender="a@maple.example", recipient="b@x.example")
    assert err.value.ambiguous is True and err.value.transient is False


@pytest.mark.parametrize("reply, kind", [
    ("454 4.7.0 Throttling failure: Daily message quota exceeded.", "quota"),
    ("554 5.7.1 Account sending paused", "paused"),
])
def test_smtp_account_replies_pause_sending(smtp_server, reply, kind):
    server = smtp_server(Sink(reply=reply))
    with pytest.raises(MailPaused) as err:
        SmtpMailer("127.0.0.1", server.port, starttls=False).send(
            a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.kind == kind


def test_smtp_disconnect_after_data_is_ambiguous(smtp_server, monkeypatch):
    import smtplib

    sink = Sink()
    server = smtp_server(sink)

    def dropped(self, msg):
        self.sock.sendall(b"DATA\r\n")  # the message goes out, the answer never comes
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(smtplib.SMTP, "data", dropped)
    with pytest.raises(DeliveryError) as err:
        SmtpMailer("127.0.0.1", server.port, starttls=False).send(
            a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.ambiguous is True


def test_smtp_disconnect_before_data_is_transient(smtp_server, monkeypatch):
    import smtplib

    server = smtp_server(Sink())

    def dropped(self, recip, options=()):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(smtplib.SMTP, "rcpt", dropped)
    with pytest.raises(DeliveryError) as err:
        SmtpMailer("127.0.0.1", server.port, starttls=False).send(
            a_message(), sender="hello@maple.example", recipient="ada@example.com")
    assert err.value.transient is True and err.value.ambiguous is False
