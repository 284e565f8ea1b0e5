"""A reminder as a text: brand first, the return link, "Reply STOP", one part where it can be."""

from __future__ import annotations

from app.sms.compose import OPT_OUT, compose
from app.sms.segments import GSM7

LINK = "https://cartback.test/r/MTIz.q7bY0fH3kq1xP0aR2-YsLw9dN4E"


def test_text_names_the_store_links_back_and_says_how_to_stop():
    text = compose(store_name="Maple & Co", move="first", saved_link=False, link=LINK)
    assert text.body == f"Maple & Co: you left something in your cart. {LINK} {OPT_OUT}"
    assert text.segments.single and text.segments.encoding == GSM7


def test_steps_and_saved_carts_have_their_own_words():
    second = compose(store_name="Maple", move="second", saved_link=False, link=LINK).body
    saved = compose(store_name="Maple", move="first", saved_link=True, link=LINK).body
    assert "still saved" in second and "still saving these?" in saved


def test_typographic_punctuation_is_made_plain_so_the_text_stays_gsm7():
    text = compose(store_name="Maple\u2019s \u201cFine\u201d Linen \u2013 Leeds", move="first",
                   saved_link=False, link=LINK, opening="don\u2019t miss out\u2026")
    assert text.body.startswith("Maple's \"Fine\" Linen - Leeds: don't miss out...")
    assert text.segments.encoding == GSM7 and text.segments.single


def test_a_long_merchant_line_gives_way_to_the_short_one_to_keep_one_part():
    opening = "we noticed you were looking at some truly wonderful things in our shop today"
    text = compose(store_name="Maple & Co", move="first", saved_link=False, link=LINK,
                   opening=opening)
    assert text.segments.single
    assert opening not in text.body and "you left something in your cart." in text.body
    assert text.body.endswith(f"{LINK} {OPT_OUT}")


def test_the_offer_code_is_in_the_text():
    text = compose(store_name="Maple", move="first", saved_link=False, link=LINK,
                   offer_code="CB-7QX2")
    assert "Code CB-7QX2." in text.body and text.segments.single


def test_brand_link_and_opt_out_survive_whatever_else_must_go():
    store = "The Extraordinarily Long Named Linen And Homeware Emporium of Leeds"
    text = compose(store_name=store, move="first", saved_link=False, link=LINK,
                   opening="x" * 200, offer_code="CB-7QX2")
    assert text.body.startswith("The Extraordinarily...:")
    assert LINK in text.body and text.body.endswith(OPT_OUT) and "Code CB-7QX2." in text.body
