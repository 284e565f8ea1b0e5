"""POST /webhooks/sms: inbound texts (two-way SMS) through Amazon SNS; STOP unsubscribes.

The SNS envelope is verified and subscriptions confirmed exactly as for SES
events (app.web.mail_events.receive_sns); a STOP (or UNSUBSCRIBE, QUIT...)
puts the number on the unsubscribe list of every store that has it
(app.sms.optouts). Any other reply is logged and ignored: AWS answers HELP
itself unless self-managed opt-outs are on. Malformed 400, forged 401.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.errors import SnsRefused
from app.sms import inbound, optouts
from app.web import runtime
from app.web.mail_events import receive_sns, refuse

log = logging.getLogger(__name__)

bp = Blueprint("sms_events", __name__)


@bp.post("/webhooks/sms")
def inbound_sms() -> ResponseReturnValue:
    event, answer = receive_sns("SMS_SNS_TOPIC_ARNS", "inbound texts")
    if answer is not None:
        return answer
    try:
        text = inbound.parse(event)
    except SnsRefused as err:
        return refuse(err.status, str(err))
    if not text.is_stop:
        log.info("inbound text ignored: not an opt-out", extra={"keyword": text.keyword})
        return jsonify({"ok": True, "ignored": "not an opt-out"})
    rt = runtime()
    with rt.db.transaction() as session:
        stores = optouts.record_stop(session, text.phone, rt.clock())
    return jsonify({"ok": True, "unsubscribed": True, "stores": len(stores)})
