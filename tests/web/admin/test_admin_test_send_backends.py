""""Send me a test" through each real backend the store may be configured with: a
real SMTP server (aiosmtpd) and Amazon SES (moto). The message is parsed back as
the merchant's mail client would read it."""

from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from app.db.models import Store


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("ses", region_name="eu-west-1").verify_domain_identity(
            Domain="maple.example")
        yield


@pytest.fixture
def backend():
    return "ses"  # the SMTP tests say `backend="smtp"` by parametrizing it


@pytest.fixture
def app_overrides(request, backend):
    if backend == "smtp":
        _, port = request.getfixturevalue("smtp_sink")
        return {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port,
                "SMTP_STARTTLS": False}
    request.getfixturevalue("aws")
    return {"MAIL_BACKEND": "ses", "AWS_REGION": "eu-west-1", "SES_MAX_SEND_RATE": 50.0}


def sent_at(runtime, store):
    with runtime.db.new_session() as session:
        return session.get(Store, store.id).settings.get("test_email_sent_at")


@pytest.mark.parametrize("backend", ["smtp"])
def test_send_me_a_test_through_smtp(admin, store, runtime, smtp_sink, backend):
    sink, _ = smtp_sink
    response = admin(store).post("/admin/emails/first/test", data={})
    assert response.status_code == 302
    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["hello@maple.example"]
    assert envelope.mail_from == "hello@maple.example"
    message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert message["Subject"] == "[Test] Hi Ada, your cart at Maple & Co is waiting"
    assert "1 Mill Lane" in message.get_body(("plain",)).get_content()
    assert sent_at(runtime, store)


@pytest.mark.parametrize("backend", ["smtp"])
def test_send_me_a_test_smtp_refusal_is_said_and_not_recorded(admin, store, runtime,
                                                             smtp_sink, backend):
    sink, _ = smtp_sink

    async def refuse(server, session, envelope):
        return "550 5.7.1 sender not allowed"

    sink.handle_DATA = refuse
    response = admin(store).post("/admin/emails/first/test", data={})
    assert response.status_code == 502
    assert "Your mail service did not take the test" in response.get_data(as_text=True)
    assert sent_at(runtime, store) is None


def test_send_me_a_test_through_ses(admin, store, runtime):
    from moto.ses.models import ses_backends

    response = admin(store).post("/admin/emails/saved/test", data={})
    assert response.status_code == 302
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    raw = sent.raw_data.encode() if isinstance(sent.raw_data, str) else sent.raw_data
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert message["To"] == "hello@maple.example"
    assert message["Subject"].startswith("[Test] Still saving these?")
    assert sent_at(runtime, store)
