"""A merchant's own SMS opt-outs: a phone number added to (and removed from) the
unsubscribe list on the admin page; and every opt-out we learn first (the
merchant's, a STOP through our endpoint) copied to AWS's opt-out list
(botocore Stubber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from botocore.stub import Stubber
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart, Store, Suppression
from app.privacy import suppressions
from app.web.mail_events import SnsClient
from tests.factories import T0, cart_body, sns_signed, sns_signer

PHONE = "+12125550100"
TOPIC = "arn:aws:sns:us-east-1:123456789012:cartback-inbound-sms"


def entries(runtime):
    with runtime.db.new_session() as session:
        return [(s.email, s.source) for s in session.scalars(select(Suppression)
                                                             .order_by(Suppression.id))]


def notice_of(me, response):
    return me.client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("typed", ["+1 (212) 555-0100", "+12125550100", " +1 212 555 0100 "])
def test_merchant_adds_a_number_and_no_text_goes_to_it(typed, admin, store, runtime,
                                                       post_custom):
    me = admin(store)
    page = notice_of(me, me.post("/admin/unsubscribes", data={"email": typed}))
    assert f"{PHONE} will get no more reminders." in page
    assert entries(runtime) == [(PHONE, "merchant")]
    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**row.settings, "first_channel": "sms"}
    post_custom(cart_body(phone=PHONE, accepts_sms_marketing=True, email=None,
                          timezone="America/New_York"))
    [first] = wake_due(runtime, T0 + timedelta(hours=6))
    assert (first.result, first.reason) == ("skipped", "unsubscribed")


@pytest.mark.parametrize("typed", ["212 555 0100", "+1 555", "call me", "+99 123"])
def test_what_is_neither_an_address_nor_a_full_number_is_refused(typed, admin, store, runtime):
    me = admin(store)
    page = notice_of(me, me.post("/admin/unsubscribes", data={"email": typed}))
    assert "not an email address, or a phone number in international form" in page
    assert entries(runtime) == []


def test_merchant_removes_a_number_through_the_confirmation_page(admin, store, runtime):
    me = admin(store)
    me.post("/admin/unsubscribes", data={"email": PHONE})
    listing = me.get("/admin/unsubscribes").get_data(as_text=True)
    assert PHONE in listing
    with runtime.db.new_session() as session:
        entry_id = session.scalars(select(Suppression.id)).one()
    asked = me.get(f"/admin/unsubscribes/{entry_id}/remove").get_data(as_text=True)
    assert PHONE in asked and entries(runtime) == [(PHONE, "merchant")]  # a GET removes nothing
    done = notice_of(me, me.post(f"/admin/unsubscribes/{entry_id}/remove",
                                 data={"confirm": "yes"}))
    assert f"{PHONE} can get reminders again." in done
    assert entries(runtime) == []


class TestCopiedToAws:
    @pytest.fixture
    def app_overrides(self):
        return {"SMS_BACKEND": "aws", "SMS_ORIGINATION_IDENTITY": "+18005550199",
                "AWS_REGION": "us-east-1", "SMS_SNS_TOPIC_ARNS": TOPIC,
                "SMS_OPT_OUT_LIST": "cartback-optouts"}

    @pytest.fixture
    def stub(self, runtime):
        with Stubber(runtime.texter.client) as stubber:
            yield stubber
            stubber.assert_no_pending_responses()

    @staticmethod
    def expect_put(stub, phone=PHONE):
        stub.add_response(
            "put_opted_out_number",
            {"OptOutListName": "cartback-optouts", "OptedOutNumber": phone,
             "OptedOutTimestamp": datetime(2026, 11, 2, tzinfo=UTC), "EndUserOptedOut": False},
            {"OptOutListName": "cartback-optouts", "OptedOutNumber": phone})

    @pytest.fixture
    def signer(self, app):
        signer = sns_signer()
        app.extensions["cartback_sns"] = SnsClient(requests.Session(), lambda url: signer[1])
        return signer

    def stop(self, client, signer, body="STOP"):
        event = {"originationNumber": PHONE, "destinationNumber": "+18005550199",
                 "messageBody": body, "inboundMessageId": "in-1"}
        message = sns_signed(signer, {"Type": "Notification", "Message": json.dumps(event)},
                             topic=TOPIC)
        return client.post("/webhooks/sms", data=json.dumps(message).encode(),
                           headers={"Content-Type": "text/plain"})

    def test_a_number_the_merchant_adds_goes_on_the_aws_list(self, admin, store, runtime,
                                                             stub):
        self.expect_put(stub)
        admin(store).post("/admin/unsubscribes", data={"email": "+1 212 555 0100"})
        assert entries(runtime) == [(PHONE, "merchant")]

    @pytest.mark.parametrize("address", ["eve@example.com", "+12125550100@example.com"])
    def test_an_address_the_merchant_adds_is_not_sent_to_aws(self, address, admin, store,
                                                             runtime, stub):
        admin(store).post("/admin/unsubscribes", data={"email": address})
        assert entries(runtime) == [(address, "merchant")]

    def test_a_stop_through_our_endpoint_goes_on_the_aws_list(self, client, runtime, store,
                                                              stub, signer):
        with runtime.db.transaction() as session:
            session.add(Cart(store_id=store.id, cart_key="a", phone=PHONE, sms_consent=True,
                             last_activity_at=T0, last_event_at=T0))
        self.expect_put(stub)
        assert self.stop(client, signer).json["stores"] == 1

    def test_aws_refusing_the_copy_never_loses_our_opt_out(self, client, runtime, store, stub,
                                                           signer):
        with runtime.db.transaction() as session:
            session.add(Cart(store_id=store.id, cart_key="a", phone=PHONE, sms_consent=True,
                             last_activity_at=T0, last_event_at=T0))
        stub.add_client_error("put_opted_out_number",
                              service_error_code="ResourceNotFoundException",
                              http_status_code=404)
        response = self.stop(client, signer)
        assert response.status_code == 200 and response.json["stores"] == 1
        assert entries(runtime) == [(PHONE, "sms_stop")]


def test_removing_a_shoppers_stop_warns_first(admin, store, runtime):
    with runtime.db.transaction() as session:
        entry = suppressions.add(session, store.id, PHONE, source="sms_stop", now=T0)
        entry_id = entry.id
    page = admin(store).get(f"/admin/unsubscribes/{entry_id}/remove").get_data(as_text=True)
    assert "They unsubscribed themselves by replying STOP to a text." in page
    assert "until the shopper texts START" in page
    assert entries(runtime) == [(PHONE, "sms_stop")]
