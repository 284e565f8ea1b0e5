"""Every default email as a shopper's mail client gets it, parsed back from the
bytes we send: preheader, dark-mode care, sized images, the copy's language,
the store's brand, and a SpamAssassin score a brand can live with."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser

import pytest

from app.core.rules import validate
from app.mail.brand import brand_for
from app.mail.compose import TEMPLATE_NAMES, MailContext, render
from app.mail.message import Envelope, build, wire_bytes

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", None]
CURRENCY = {"en-US": "USD", "en-GB": "GBP", "ja-JP": "JPY", "pt-BR": "BRL"}
SPAMASSASSIN = shutil.which("spamassassin")


def context(locale="en-GB", **overrides):
    values = dict(
        store_name="Maple & Co", postal_address="1 Mill Lane, Leeds LS1 1AA", first_name="Ada",
        items=[{"title": "Linen shirt", "quantity": 2, "unit_price": "49.00",
                "image_url": "https://cdn.maple.example/linen-shirt.jpg"},
               {"title": "Canvas tote", "quantity": 1, "unit_price": "24.50",
                "image_url": "https://cdn.maple.example/canvas-tote.jpg"}],
        total=Decimal("122.50"), currency=CURRENCY.get(locale or "", "EUR"), locale=locale,
        return_url="https://cartback.example.com/r/RT",
        unsubscribe_url="https://cartback.example.com/u/UT", saved_link=False)
    values.update(overrides)
    return MailContext(**values)


def wire(composed):
    envelope = Envelope(from_name="Maple & Co", from_email="hello@maple.example",
                        to_email="ada@example.com", reply_to="help@maple.example",
                        unsubscribe_url="https://cartback.example.com/u/UT")
    return wire_bytes(build(composed, envelope, NOW))


def parsed(composed):
    msg = BytesParser(policy=policy.default).parsebytes(wire(composed))
    return msg, msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()


class Page(HTMLParser):
    """What a mail client reads from the HTML: tags and their attributes, in order."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]

    def after_body(self):
        names = [name for name, _ in self.tags]
        return self.tags[names.index("body") + 1:]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_default_email_is_english_copy_marked_en_with_preheader_and_dark_mode(name, locale):
    msg, html, text = parsed(render(name, context(locale)))
    page = Page(html)
    # The copy is English whatever the shopper's locale; only money follows the locale.
    [root] = page.all("html")
    assert root["lang"] == "en"
    metas = {m.get("name"): m.get("content") for m in page.all("meta")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    assert "@media (prefers-color-scheme: dark)" in html
    # The preheader is the first thing in the body, hidden, and is not the subject again.
    tag, attrs = page.after_body()[0]
    assert tag == "div" and "display:none" in attrs["style"].replace(" ", "")
    preheader = re.search(r'class="preheader"[^>]*>([^<]*)', html).group(1)
    assert preheader.split("\u2007")[0].strip() and preheader[:20] not in msg["Subject"]
    # Outlook sizes pictures from their attributes, not CSS.
    images = page.all("img")
    assert len(images) == 2
    for img in images:
        assert img["width"] == "56" and img["height"] == "56" and img["alt"]
    assert "Linen shirt" in text and "The Maple & Co team" in text


def test_shopper_locale_formats_money_but_not_the_language():
    msg, html, _ = parsed(render("first", context("de-DE")))
    assert 'lang="en"' in html
    assert "122,50\xa0€" in html.replace("&nbsp;", "\xa0")


def test_copy_written_in_another_language_is_marked_so():
    brand = brand_for({"email_language": "de", "first_subject": "Hallo {first_name}, dein "
                       "Warenkorb wartet", "first_body": "Deine Auswahl bei {store_name} "
                       "ist noch da."})
    msg, html, text = parsed(render("first", context("de-DE", brand=brand)))
    assert Page(html).all("html")[0]["lang"] == "de"
    assert msg["Subject"] == "Hallo Ada, dein Warenkorb wartet"
    assert "Deine Auswahl bei Maple & Co ist noch da." in text


def test_brand_logo_colour_sign_off_and_copy_reach_the_message():
    brand = brand_for({"logo_url": "https://cdn.maple.example/logo.png", "logo_width": 180,
                       "logo_height": 40, "accent_color": "#1a3d8f",
                       "sign_off": "Warmly, {store_name}",
                       "second_subject": "{item_count} things still in your cart",
                       "second_preheader": "Including {first_item}, for {cart_total}",
                       "second_body": "{first_name}, your picks are waiting."})
    msg, html, text = parsed(render("second", context("en-US", first_name=None, brand=brand)))
    assert msg["Subject"] == "3 things still in your cart"
    page = Page(html)
    [logo] = [img for img in page.all("img") if "logo" in img["src"]]
    assert (logo["width"], logo["height"], logo["alt"]) == ("180", "40", "Maple & Co")
    [button] = [a for a in page.all("a") if a.get("class") == "button"]
    assert "background-color: #1a3d8f" in button["style"]
    assert "Including Linen shirt, for $122.50" in html
    # No name: {first_name} reads "there", never a blank.
    assert "there, your picks are waiting." in text
    assert "Warmly, Maple & Co" in text and "Warmly, Maple &amp; Co" in html


@pytest.mark.parametrize(("settings", "plate"), [
    ({}, "#ffffff"),  # a dark logo on transparent: white behind it, in dark mode too
    ({"logo_background": "#1A1A1A"}, "#1a1a1a"),  # a white logo on transparent
])
def test_logo_sits_on_its_own_plate_that_dark_mode_leaves_alone(settings, plate):
    brand = brand_for({"logo_url": "https://cdn.maple.example/logo.png", **validate(settings)})
    _, html, _ = parsed(render("first", context(brand=brand)))
    style = re.search(r'<span class="plate" style="([^"]*)"', html).group(1)
    assert f"background-color: {plate}" in style
    dark_rules = html.split("@media (prefers-color-scheme: dark)")[1].split("</style>")[0]
    assert ".plate" not in dark_rules and "img" not in dark_rules


def test_items_without_pictures_have_no_img_tags():
    items = [{"title": "Gift card", "quantity": 1, "unit_price": "25"}]
    _, html, _ = parsed(render("first", context(items=items, total=Decimal("25"))))
    assert Page(html).all("img") == []


# -- SpamAssassin -------------------------------------------------------------------------------

def spam_report(raw):
    """`spamassassin -L -t` (local rules only: no network) on the message as sent."""
    result = subprocess.run([SPAMASSASSIN, "-L", "-t"], input=raw, capture_output=True,
                            timeout=120, check=False)
    report = result.stdout.decode("utf-8", "replace")
    score = float(re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report).group(1))
    rules = re.findall(r"^\s*-?[\d.]+ ([A-Z0-9_]+)\s", report.split("Content analysis details")
                       [-1], re.M)
    return score, rules


needs_spamassassin = pytest.mark.skipif(SPAMASSASSIN is None,
                                        reason="spamassassin not installed (apt-get install "
                                               "spamassassin)")

LOGO = {"logo_url": "https://cdn.maple.example/logo.png"}
MANY_PICTURES = [{"title": f"Print no. {n}", "quantity": 1, "unit_price": "12.00",
                  "image_url": f"https://cdn.maple.example/print-{n}.jpg"} for n in range(6)]


@needs_spamassassin
@pytest.mark.slow
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_spamassassin_scores_every_default_email_under_one(name, locale):
    score, rules = spam_report(wire(render(name, context(locale, brand=brand_for(LOGO)))))
    assert score < 1.0, rules


@needs_spamassassin
@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_spamassassin_html_to_image_ratio_is_fine_with_many_pictures(name):
    ctx = context("en-US", items=MANY_PICTURES, total=Decimal("72.00"), first_name=None,
                  brand=brand_for(LOGO))
    score, rules = spam_report(wire(render(name, ctx)))
    assert not [rule for rule in rules if rule.startswith(("HTML_IMAGE", "HTML_SHORT"))], rules
    assert score < 1.0, rules


@needs_spamassassin
def test_spamassassin_report_is_read_right():
    """The parser above must see a score and rules, or every check passes vacuously."""
    shouting = replace(render("first", context()),
                       subject="FREE!!! 100% FREE MONEY $$$ CLICK NOW",
                       html='<html><body><img src="https://x.example/a.jpg"></body></html>')
    score, rules = spam_report(wire(shouting))
    assert score >= 1.0 and rules
