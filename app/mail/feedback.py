"""Bounces and complaints from SES: the unsubscribe list, an auto-pause, and
each bounced message marked on its send (the per-step "bounced" numbers).

A permanent bounce or a complaint puts the address on the unsubscribe list
(source `bounce` / `complaint`) of every store that emailed it: the stores
whose Send rows carry the SES message id, else every store that sent to the
address. Then each such store's recent rate is checked: over its last
`window` sends (counted only once it has `min_sends`), more than
`bounce_limit` hard bounces or `complaint_limit` complaints pauses the
store's sending and leaves a note the dashboard shows.

Default limits, near what providers publish: Gmail and Yahoo ask bulk
senders to keep the spam-complaint rate below 0.3% (Google "Email sender
guidelines", support.google.com/mail/answer/81126); Amazon SES reviews an
account whose bounce rate passes 5% (SES developer guide, "Sending review
process FAQs"). Pausing one store there keeps the shared account healthy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.carts.intake import normalize_email
from app.db.models import Activity, Send, SendResult, Store, Suppression
from app.privacy import suppressions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    bounce_limit: float = 0.05
    complaint_limit: float = 0.003
    min_sends: int = 200
    window: int = 1000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(float(config["BOUNCE_RATE_LIMIT"]), float(config["COMPLAINT_RATE_LIMIT"]),
                   int(config["RATE_MIN_SENDS"]), int(config["RATE_WINDOW_SENDS"]))


@dataclass(frozen=True)
class Feedback:
    source: str  # bounce | complaint
    message_id: str | None
    addresses: tuple[str, ...]


def parse_ses_event(event: Any) -> Feedback | None:
    """A hard bounce or complaint from an SES event (event publishing or identity
    notification); None for anything else (deliveries, soft bounces)."""
    if not isinstance(event, dict):
        return None
    kind = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    message_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None
    if kind == "Bounce":
        bounce = event.get("bounce") if isinstance(event.get("bounce"), dict) else {}
        if bounce.get("bounceType") != "Permanent":
            return None
        people = bounce.get("bouncedRecipients")
        source = "bounce"
    elif kind == "Complaint":
        complaint = event.get("complaint") if isinstance(event.get("complaint"), dict) else {}
        people = complaint.get("complainedRecipients")
        source = "complaint"
    else:
        return None
    addresses = tuple(str(p["emailAddress"]) for p in (people or [])
                      if isinstance(p, dict) and isinstance(p.get("emailAddress"), str))
    return Feedback(source, message_id, addresses) if addresses else None


def bounced_message_id(event: Any) -> str | None:
    """The SES message id of any bounce (permanent, transient or undetermined: the
    message did not arrive either way); None for anything else."""
    if not isinstance(event, dict) or (event.get("eventType")
                                       or event.get("notificationType")) != "Bounce":
        return None
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    message_id = mail.get("messageId")
    return message_id if isinstance(message_id, str) and message_id else None


def mark_bounced(session: Session, message_id: str, now: datetime) -> int:
    """Mark the sends of this message bounced, once (SNS redelivers), with a line on
    the cart's timeline; returns how many were newly marked."""
    sends = session.scalars(select(Send).where(Send.message_id == message_id,
                                               Send.bounced_at.is_(None))).all()
    for send in sends:
        send.bounced_at = now
        session.add(Activity(cart_id=send.cart_id, kind="bounced", occurred_at=now,
                             recorded_at=now, detail={"move": send.move}))
    return len(sends)


def _stores_for(session: Session, feedback: Feedback, address: str) -> set[int]:
    if feedback.message_id:
        by_id = set(session.scalars(select(Send.store_id).where(
            Send.message_id == feedback.message_id)))
        if by_id:
            return by_id
    return set(session.scalars(select(Send.store_id).where(
        func.lower(Send.address) == address).distinct()))


def record(session: Session, feedback: Feedback, now: datetime, limits: Limits) -> set[int]:
    """Suppress the addresses; pause stores over a limit; returns the stores touched."""
    touched: set[int] = set()
    for raw in feedback.addresses:
        address = normalize_email(raw)
        if not address:
            continue
        for store_id in _stores_for(session, feedback, address):
            suppressions.add(session, store_id, address, source=feedback.source, now=now)
            touched.add(store_id)
    for store_id in touched:
        check_rate(session, store_id, now, limits)
    log.info("mail feedback recorded", extra={"source": feedback.source,
                                              "stores": sorted(touched)})
    return touched


def check_rate(session: Session, store_id: int, now: datetime, limits: Limits) -> bool:
    recent = list(session.scalars(
        select(Send.created_at).where(Send.store_id == store_id,
                                      Send.result == SendResult.SENT.value)
        .order_by(Send.created_at.desc()).limit(limits.window)))
    if len(recent) < limits.min_sends:
        return False
    since = recent[-1]
    counts = dict(session.execute(
        select(Suppression.source, func.count()).where(
            Suppression.store_id == store_id, Suppression.created_at >= since,
            Suppression.source.in_(("bounce", "complaint")))
        .group_by(Suppression.source)).all())
    rates = {"bounce": counts.get("bounce", 0) / len(recent),
             "complaint": counts.get("complaint", 0) / len(recent)}
    over = [k for k, limit in (("bounce", limits.bounce_limit),
                               ("complaint", limits.complaint_limit)) if rates[k] > limit]
    if not over:
        return False
    store = session.get(Store, store_id)
    if store is None or (store.settings or {}).get("paused"):
        return False
    kind = over[0]
    store.settings = {**(store.settings or {}), "paused": True}
    store.platform_state = {**(store.platform_state or {}), "auto_paused": {
        "kind": kind, "rate": round(rates[kind], 4), "sends": len(recent),
        "at": now.isoformat()}}
    log.error("store paused: too many %ss", kind, extra={
        "store_id": store_id, "rate": rates[kind], "sends": len(recent)})
    return True
