"""A shopper's STOP: their number joins the unsubscribe list of every store that has it;
their START takes it off again; AWS's own opt-out list hears of ours.

Texts go from one origination identity for every store (CARTBACK_SMS_
ORIGINATION_IDENTITY), and AWS keeps one opt-out list for it, so a STOP
stops every store's texts there: it does the same here, on each store
whose carts carry the number. Idempotent: a store that already lists the
number is left as it is (SNS redelivers; order is not guaranteed).

START (or UNSTOP) undoes only what a STOP did: the number's `sms_stop`
entries go; a merchant's entry, an import, or an unsubscribe by email stay.

AWS keeps its own opt-out list per number or pool (reference C2, pitfall 2):
an opt-out we learn first (a merchant adds the number, a STOP handled by us)
is pushed there too (`PutOptedOutNumber`), so AWS refuses a send even if ours
slipped. Best effort: a failure is logged, our list is the one we obey.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.carts.history import StoreHistory
from app.db.models import Activity, Cart, Suppression
from app.errors import DeliveryError
from app.privacy import suppressions
from app.sms.backends import Texter

log = logging.getLogger(__name__)

SOURCE = "sms_stop"


def record_stop(session: Session, phone: str, now: datetime) -> list[int]:
    """Ids of the stores whose list the number joined now."""
    carts = session.execute(select(Cart.id, Cart.store_id).where(Cart.phone == phone)
                            .order_by(Cart.store_id, Cart.id)).all()
    joined: list[int] = []
    for store_id in dict.fromkeys(store_id for _, store_id in carts):
        if StoreHistory(session, store_id).is_suppressed(phone, cart_id=0):
            continue
        suppressions.add(session, store_id, phone, source=SOURCE, now=now)
        joined.append(store_id)
        # On each of the store's carts with the number: the per-step numbers
        # count it against the text it answered.
        session.add_all(Activity(cart_id=cart_id, kind="unsubscribed", occurred_at=now,
                                 recorded_at=now, detail={"scope": "all", "source": SOURCE})
                        for cart_id, sid in carts if sid == store_id)
    log.info("SMS opt-out recorded", extra={"stores": len(joined)})
    return joined


def record_start(session: Session, phone: str) -> int:
    """Remove the number's STOP entries, every store's; returns how many went."""
    removed = session.execute(delete(Suppression).where(
        Suppression.email == phone, Suppression.source == SOURCE)).rowcount
    log.info("SMS re-subscribe recorded", extra={"entries": removed})
    return int(removed or 0)


def share_with_provider(texter: Texter | None, phone: str) -> bool:
    """Put the number on the provider's opt-out list; False when there is none or it failed."""
    put = getattr(texter, "put_opted_out", None)
    if put is None:
        return False
    try:
        put(phone)
    except DeliveryError as err:
        log.warning("SMS opt-out not shared with the provider", extra={"reason": str(err)})
        return False
    return True
