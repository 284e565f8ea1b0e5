"""The Emails page's checks, as a merchant meets them on save: placeholders we
cannot fill are named, a too-light accent is refused with its contrast, only
https logos are taken."""

from __future__ import annotations

import pytest

from app.core.brand import contrast_ratio, fill
from app.core.rules import validate
from app.errors import SettingsError


def refused(**changes):
    with pytest.raises(SettingsError) as caught:
        validate(changes)
    return caught.value.errors


def test_copy_with_known_placeholders_is_kept_on_one_line():
    cleaned = validate({"first_subject": "Hi {first_name},\n your {item_count} picks at "
                                         "{store_name} ({cart_total})"})
    assert cleaned["first_subject"] == ("Hi {first_name}, your {item_count} picks at "
                                        "{store_name} ({cart_total})")


@pytest.mark.parametrize(("text", "named"), [
    ("Hi {firstname}", "{firstname}"),
    ("Your {coupon} is ready, {first_name}", "{coupon}"),
    ("Hi {{ first_name }}", "{ first_name } is not"),  # template-code braces, not ours
])
def test_unknown_placeholder_is_named_with_the_ones_we_know(text, named):
    error = refused(second_body=text)["second_body"]
    assert named in error
    assert "{first_name}" in error and "{cart_total}" in error


def test_a_lone_brace_is_refused():
    assert "{ or }" in refused(first_preheader="Your cart } is here")["first_preheader"]


def test_empty_copy_points_to_reset():
    assert "Reset to default" in refused(saved_subject="  ")["saved_subject"]


def test_fill_replaces_every_placeholder():
    values = {"first_name": "Ada", "store_name": "Maple & Co", "cart_total": "€98.00",
              "item_count": "2", "first_item": "Linen shirt"}
    assert fill("{first_name}: {first_item} and more ({item_count}, {cart_total}) at "
                "{store_name}", values) == (
        "Ada: Linen shirt and more (2, €98.00) at Maple & Co")


@pytest.mark.parametrize("light", ["#ffcc00", "#7fd1ae", "#ffffff", "#999"])
def test_accent_too_light_for_white_button_text_is_refused_with_its_contrast(light):
    error = refused(accent_color=light)["accent_color"]
    assert "too light" in error and ":1" in error


@pytest.mark.parametrize(("given", "kept"), [("#008060", "#008060"), ("1A3D8F", "#1a3d8f"),
                                             ("#036", "#003366")])
def test_accent_dark_enough_is_kept_as_lower_case_hex(given, kept):
    assert validate({"accent_color": given})["accent_color"] == kept
    assert contrast_ratio(kept, "#ffffff") >= 4.5


@pytest.mark.parametrize("bad", ["red", "#12345", "#ggg000", "rgb(0,0,0)"])
def test_accent_that_is_not_hex_is_refused(bad):
    assert "hex" in refused(accent_color=bad)["accent_color"]


@pytest.mark.parametrize("url", ["http://maple.example/logo.png", "javascript:alert(1)",
                                 "//maple.example/logo.png", "https://a@evil.example/x.png",
                                 'https://maple.example/x.png" onerror="x'])
def test_logo_must_be_a_plain_https_address(url):
    assert refused(logo_url=url)["logo_url"]


def test_logo_https_or_none():
    assert validate({"logo_url": " https://cdn.maple.example/logo.png "}) == {
        "logo_url": "https://cdn.maple.example/logo.png"}
    assert validate({"logo_url": ""}) == {"logo_url": ""}


@pytest.mark.parametrize(("tag", "ok"), [("en", True), ("pt-BR", True), ("de", True),
                                         ("english", False), ("e", False), ("en_US", False)])
def test_email_language_is_a_language_tag(tag, ok):
    if ok:
        assert validate({"email_language": tag}) == {"email_language": tag}
    else:
        assert "language code" in refused(email_language=tag)["email_language"]


def test_logo_plate_takes_any_hex_colour_even_white_but_nothing_else():
    assert validate({"logo_background": "#FFF"}) == {"logo_background": "#ffffff"}
    assert "hex" in refused(logo_background="white")["logo_background"]
