"""POST /webhooks/ses: SES bounce and complaint notifications through Amazon SNS.

`receive_sns` is the one way an SNS delivery is taken in (inbound texts too,
app.web.sms_events).

Verify (signature, certificate host, topic) → dispatch on the SNS type →
answer. A subscription is confirmed by visiting its SubscribeURL (an SNS
https URL only); a notification carrying a hard bounce or a complaint goes
to app.mail.feedback. Anything malformed or unsigned is a 4xx, never a 5xx.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import SnsRefused
from app.mail import feedback, sns
from app.web import runtime

log = logging.getLogger(__name__)

bp = Blueprint("mail_events", __name__)


@dataclass
class SnsClient:
    """Outbound HTTP for SNS (certificates, subscription confirmation); injectable."""

    session: requests.Session
    fetch_cert: sns.CertFetcher

    @classmethod
    def default(cls) -> SnsClient:
        session = requests.Session()
        session.headers["User-Agent"] = "Cartback (SES notifications)"
        return cls(session, sns.requests_fetcher(session))


def sns_client() -> SnsClient:
    client = current_app.extensions.get("cartback_sns")
    if client is None:
        client = current_app.extensions["cartback_sns"] = SnsClient.default()
    return client  # type: ignore[no-any-return]


def refuse(status: int, reason: str) -> ResponseReturnValue:
    log.info("SNS message refused", extra={"reason": reason})
    return jsonify({"error": reason}), status


def receive_sns(topics_setting: str, what: str) -> tuple[Any, ResponseReturnValue | None]:
    """The decoded `Message` of a verified SNS notification from one of the topics
    in `topics_setting`, or (None, the answer to give instead): a refusal, a
    confirmed subscription, an ignored message type. SES events and inbound
    texts both come this way."""
    topics = [t.strip() for t in (runtime().config.get(topics_setting) or "").split(",")
              if t.strip()]
    if not topics:
        return None, refuse(404, f"{what} are not configured")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, RecursionError):
        return None, refuse(400, "body is not JSON")
    client = sns_client()
    try:
        message = sns.verify(body, topics=topics, fetch_cert=client.fetch_cert)
    except SnsRefused as err:
        return None, refuse(err.status, str(err))
    except requests.RequestException:
        return None, refuse(400, "signing certificate could not be fetched")
    if message["Type"] == "SubscriptionConfirmation":
        return None, _confirm(client, message)
    if message["Type"] != "Notification":
        return None, jsonify({"ok": True, "ignored": message["Type"]})
    try:
        return json.loads(message["Message"]), None
    except (ValueError, RecursionError):
        return None, refuse(400, "notification Message is not JSON")


@bp.post("/webhooks/ses")
def ses_events() -> ResponseReturnValue:
    event, answer = receive_sns("SES_SNS_TOPIC_ARNS", "SES notifications")
    if answer is not None:
        return answer
    rt = runtime()
    bounced = feedback.bounced_message_id(event)
    if bounced is not None:
        with rt.db.transaction() as session:
            feedback.mark_bounced(session, bounced, rt.clock())
    found = feedback.parse_ses_event(event)
    if found is None:
        return jsonify({"ok": True, "ignored": "not a hard bounce or complaint"})
    with rt.db.transaction() as session:
        stores = feedback.record(session, found, rt.clock(),
                                 feedback.Limits.from_config(rt.config))
    return jsonify({"ok": True, "source": found.source, "stores": len(stores)})


def _confirm(client: SnsClient, message: dict[str, Any]) -> ResponseReturnValue:
    url = message.get("SubscribeURL")
    if not isinstance(url, str) or not sns.is_sns_url(url):
        return refuse(400, "SubscribeURL is not an SNS https URL")
    try:
        client.session.get(url, timeout=5, allow_redirects=False).raise_for_status()
    except requests.RequestException:
        log.warning("SNS subscription confirmation failed", extra={"topic": message["TopicArn"]})
        return refuse(502, "could not confirm the subscription")
    log.warning("SNS subscription confirmed", extra={"topic": message["TopicArn"]})
    return jsonify({"ok": True, "confirmed": message["TopicArn"]})
