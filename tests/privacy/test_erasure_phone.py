"""A shopper who was texted is erased, and reported, by their phone number too:
carts found by the number, the texts sent to it, a tombstone so a late cart
with the number is not stored again; and a report lists the number's rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.models import Cart, Send, Suppression
from app.privacy import requests as privacy
from app.privacy import suppressions
from tests.factories import T0, cart_body

PHONE = "+12125550100"
OTHER = "+442079460018"


@pytest.fixture
def texted(runtime, store, post_custom):
    """Ada: one cart by email with her number; one later cart with her number only,
    each texted; Bob's cart beside them; Ada's STOP on the list."""
    for body in (cart_body(cart_id="c-1", phone=PHONE, accepts_sms_marketing=True),
                 cart_body(cart_id="c-2", email=None, phone=PHONE, accepts_sms_marketing=True),
                 cart_body(cart_id="c-3", email="bob@example.com", phone=OTHER,
                           accepts_sms_marketing=True)):
        assert post_custom(body).status_code == 200
    with runtime.db.transaction() as session:
        for cart in session.scalars(select(Cart)):
            session.add(Send(store_id=store.id, cart_id=cart.id, move="first", channel="sms",
                             address=cart.phone, result="sent", message_id=f"m-{cart.id}",
                             created_at=T0 + timedelta(hours=1)))
        suppressions.add(session, store.id, PHONE, source="sms_stop", now=T0)
    return store


def keys(runtime):
    with runtime.db.new_session() as session:
        return sorted(session.scalars(select(Cart.cart_key)))


def texts_to(runtime):
    with runtime.db.new_session() as session:
        return sorted(session.scalars(select(Send.address)))


@pytest.mark.parametrize("email, phone", [("ada@example.com", None), (None, PHONE),
                                          ("ada@example.com", PHONE)])
def test_erasing_by_address_or_number_takes_every_cart_and_text_of_that_number(
        email, phone, runtime, texted, post_custom, outbox):
    with runtime.db.transaction() as session:
        erased = privacy.erase_shopper(session, texted.id, email, phone=phone)
    assert len(erased) == 2
    assert keys(runtime) == ["c-3"] and texts_to(runtime) == [OTHER]
    with runtime.db.new_session() as session:  # the STOP stays, to keep honouring it
        assert list(session.scalars(select(Suppression.email))) == [PHONE]
    # A new cart carrying the number, under any address, is not stored again.
    response = post_custom(cart_body(cart_id="c-9", email="new@example.com", phone=PHONE,
                                     accepts_sms_marketing=True,
                                     occurred_at=T0 + timedelta(hours=2)))
    assert [r["outcome"] for r in response.json["results"]] == ["erased"]
    assert keys(runtime) == ["c-3"]


def test_report_by_number_lists_its_carts_texts_and_stop(runtime, texted):
    with runtime.db.new_session() as session:
        report = privacy.report_shopper(session, texted.id, None, phone=PHONE)
    assert report["phones"] == [PHONE]
    assert sorted(c["cart_key"] for c in report["carts"]) == ["c-1", "c-2"]
    assert [(r["channel"], r["to"]) for r in report["reminders"]] == [("sms", PHONE)] * 2
    assert [(u["who"], u["source"]) for u in report["unsubscribed"]] == [(PHONE, "sms_stop")]


def test_report_by_address_includes_the_number_on_their_cart(runtime, texted):
    with runtime.db.new_session() as session:
        report = privacy.report_shopper(session, texted.id, "Ada@example.com")
    assert report["phones"] == [PHONE]
    assert sorted(c["cart_key"] for c in report["carts"]) == ["c-1", "c-2"]
    assert [u["who"] for u in report["unsubscribed"]] == [PHONE]


def test_admin_erases_by_number_after_the_confirmation_page(admin, runtime, texted):
    me = admin(texted)
    asked = me.post("/admin/privacy/erase", data={"phone": "+1 212-555-0100"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and f"Erase everything about {PHONE}?" in page
    assert "2 carts" in page and keys(runtime) == ["c-1", "c-2", "c-3"]
    done = me.post("/admin/privacy/erase", data={"phone": PHONE, "email": "",
                                                 "confirm": "yes"})
    notice = me.client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Erased everything about {PHONE} (2 carts)." in notice
    assert keys(runtime) == ["c-3"]


def test_admin_report_by_number_downloads_the_text_rows(admin, texted):
    response = admin(texted).post("/admin/privacy/report", data={"phone": PHONE})
    report = json.loads(response.get_data(as_text=True))
    assert sorted(c["cart_key"] for c in report["carts"]) == ["c-1", "c-2"]


@pytest.mark.parametrize("data", [{"phone": "555-0100"}, {"email": "", "phone": ""},
                                  {"email": "not-an-address", "phone": PHONE}])
def test_admin_privacy_tools_refuse_what_names_nobody(data, admin, runtime, texted):
    for path in ("/admin/privacy/erase", "/admin/privacy/report"):
        response = admin(texted).post(path, data=data)
        assert response.status_code == 302 and "error=" in response.headers["Location"]
    assert keys(runtime) == ["c-1", "c-2", "c-3"]

