"""The reminder as a shopper's mail client sees it: parsed back from bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr

import pytest

from app.mail.compose import MailContext, render, template_for
from app.mail.message import SERIALIZE_POLICY, Envelope, build

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
LONG_URL = "https://cartback.example.com/u/" + "A" * 60


def context(**overrides):
    values = dict(store_name="Maple & Co", postal_address="1 Mill Lane, Leeds LS1 1AA",
                  first_name="Ada", items=[{"title": "Linen shirt", "quantity": 2,
                                            "unit_price": "49.00",
                                            "image_url": "https://maple.example/ls.jpg"}],
                  total=Decimal("98.00"), currency="EUR", locale="de-DE",
                  return_url="https://cartback.example.com/r/RT", unsubscribe_url=LONG_URL,
                  saved_link=False)
    values.update(overrides)
    return MailContext(**values)


def parsed(composed, **envelope):
    values = dict(from_name="Maple & Co", from_email="hello@maple.example",
                  to_email="ada@example.com", reply_to="help@maple.example",
                  unsubscribe_url=LONG_URL)
    values.update(envelope)
    raw = build(composed, Envelope(**values), NOW).as_bytes(policy=SERIALIZE_POLICY)
    return raw, BytesParser(policy=policy.default).parsebytes(raw)


def test_message_has_text_and_html_with_items_total_and_links():
    raw, msg = parsed(render("first", context()))
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html.replace("&nbsp;", "\xa0")):
        assert "Linen shirt" in part
        assert "98,00\xa0€" in part  # German locale formatting via Babel
        assert "https://cartback.example.com/r/RT" in part
        assert LONG_URL in part
        assert "1 Mill Lane" in part
    assert "Hi Ada" in text
    assert 'style="' in html  # CSS inlined for mail clients
    assert "<style>" not in html


def test_message_headers_for_one_click_unsubscribe():
    raw, msg = parsed(render("first", context()), unsubscribe_url=LONG_URL)
    assert msg["List-Unsubscribe"] == f"<{LONG_URL}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header_line = [line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")]
    assert header_line == [f"List-Unsubscribe: <{LONG_URL}>".encode()]
    assert msg["Reply-To"] == "help@maple.example"
    assert msg["Message-ID"].endswith("@maple.example>")
    assert msg["Date"]


def test_message_mailto_unsubscribe_when_configured():
    _, msg = parsed(render("first", context()), unsubscribe_mailto="unsub@maple.example")
    assert msg["List-Unsubscribe"] == (
        f"<{LONG_URL}>, <mailto:unsub@maple.example?subject=unsubscribe>")


def test_message_non_ascii_store_name_is_encoded_and_reads_back():
    raw, msg = parsed(render("first", context(store_name="Café Über")), from_name="Café Über")
    assert msg["From"].addresses[0].display_name == "Café Über"
    assert b"Caf\xc3\xa9" not in raw.split(b"\r\n\r\n")[0]  # headers stay 7-bit


@pytest.mark.parametrize("hostile", ["Maple\r\nBcc: victim@example.com",
                                     "Maple\nBcc: victim@example.com"])
def test_message_header_injection_is_impossible(hostile):
    composed = render("first", context(store_name=hostile, first_name=hostile))
    raw, msg = parsed(composed, from_name=hostile)
    assert msg["Bcc"] is None
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n")[0]


def test_message_without_a_name_says_hi_there():
    _, msg = parsed(render("first", context(first_name=None)))
    assert msg.get_body(("plain",)).get_content().startswith("Hi there,")


def test_message_html_escapes_cart_content():
    composed = render("first", context(items=[{"title": "<script>x</script>", "quantity": 1,
                                               "unit_price": "1"}]))
    assert "<script>x</script>" not in composed.html
    assert "&lt;script&gt;" in composed.html


def test_second_reminder_says_still_saved_never_ignored():
    composed = render("second", context())
    assert "still saved" in composed.subject.lower()
    for part in (composed.subject, composed.text, composed.html):
        assert "ignored" not in part.lower()


def test_saved_cart_variant_for_a_saved_link():
    assert template_for("first", saved_link=True) == "saved"
    composed = render("saved", context(saved_link=True))
    assert "still saving these" in composed.subject.lower()


@pytest.mark.parametrize("from_name", ["Maple & Co", 'Maple "Mill", Leeds', "Café Über", ""])
def test_message_written_directly_reads_as_the_email_package_writes_it(from_name):
    """Plain addresses take the direct writer, others the email package: a mail
    client reads the same headers and parts from both."""
    composed = render("first", context(first_name="Zoë"))
    read = {}
    for to in ("ada@example.com", "ada@bücher.example"):
        raw, msg = parsed(composed, from_name=from_name, to_email=to,
                          unsubscribe_mailto="unsub@maple.example")
        head = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
        # Folded within 78 columns, but for the URLs, which are written unfolded.
        assert max(len(line) for line in head if b"List-Unsubscribe" not in line) <= 78
        read[to] = ({k: str(v) for k, v in msg.items() if k not in ("To", "Message-ID",
                                                                   "Content-Type")},
                    msg.get_content_type(),
                    [(part.get_content_type(), part.get_content())
                     for part in msg.iter_parts()])
    assert read["ada@example.com"] == read["ada@bücher.example"]
    headers, _, parts = read["ada@example.com"]
    assert "Zoë" in headers["Subject"]  # a non-ASCII subject reads back intact
    assert parseaddr(headers["From"]) == (from_name, "hello@maple.example")
    assert [kind for kind, _ in parts] == ["text/plain", "text/html"]
