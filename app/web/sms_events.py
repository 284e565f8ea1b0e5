"""POST /webhooks/sms: texts' SNS topic: inbound replies (two-way SMS) and delivery events.

The SNS envelope is verified and subscriptions confirmed exactly as for SES
events (app.web.mail_events.receive_sns). One topic may carry both kinds:

- a delivery event (`eventType` TEXT_..., from the configuration set's event
  destination, app.sms.delivery_events): a text that was not delivered marks
  its send bounced, found by message id, for the per-step numbers;
- an inbound text (app.sms.inbound): STOP (or UNSUBSCRIBE, QUIT...) puts the
  number on the unsubscribe list of every store that has it and on AWS's
  opt-out list; START or UNSTOP takes the number's STOP entries off ours
  (AWS opts it back in itself where the keyword is configured); HELP and
  anything else is logged: AWS answers HELP itself unless self-managed
  opt-outs are on.

Malformed 400, forged 401; a redelivery changes nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.errors import SnsRefused
from app.mail import feedback
from app.sms import delivery_events, inbound, optouts
from app.web import runtime
from app.web.mail_events import receive_sns, refuse

log = logging.getLogger(__name__)

bp = Blueprint("sms_events", __name__)


@bp.post("/webhooks/sms")
def inbound_sms() -> ResponseReturnValue:
    event, answer = receive_sns("SMS_SNS_TOPIC_ARNS", "inbound texts")
    if answer is not None:
        return answer
    if delivery_events.is_text_event(event):
        return _delivery_event(event)
    try:
        text = inbound.parse(event)
    except SnsRefused as err:
        return refuse(err.status, str(err))
    rt = runtime()
    if text.is_start:
        with rt.db.transaction() as session:
            removed = optouts.record_start(session, text.phone)
        return jsonify({"ok": True, "resubscribed": removed > 0})
    if not text.is_stop:
        log.info("inbound text ignored: not an opt-out or opt-in",
                 extra={"keyword": text.keyword if text.is_help else None})
        return jsonify({"ok": True, "ignored": "help" if text.is_help else "not an opt-out"})
    with rt.db.transaction() as session:
        stores = optouts.record_stop(session, text.phone, rt.clock())
    optouts.share_with_provider(rt.texter, text.phone)
    return jsonify({"ok": True, "unsubscribed": True, "stores": len(stores)})


def _delivery_event(event: dict) -> ResponseReturnValue:  # type: ignore[type-arg]
    try:
        found = delivery_events.parse(event)
    except SnsRefused as err:
        return refuse(err.status, str(err))
    if not found.undelivered:
        return jsonify({"ok": True, "ignored": found.event_type})
    rt = runtime()
    with rt.db.transaction() as session:
        marked = feedback.mark_bounced(session, found.message_id, rt.clock())
    log.info("text not delivered", extra={"event": found.event_type, "sends": marked})
    return jsonify({"ok": True, "bounced": marked})
