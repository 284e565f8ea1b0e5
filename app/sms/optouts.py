"""A shopper's STOP: their number joins the unsubscribe list of every store that has it.

Texts go from one origination identity for every store (CARTBACK_SMS_
ORIGINATION_IDENTITY), and AWS keeps one opt-out list for it, so a STOP
stops every store's texts there: it does the same here, on each store
whose carts carry the number. Idempotent: a store that already lists the
number is left as it is (SNS redelivers; order is not guaranteed).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.carts.history import StoreHistory
from app.db.models import Activity, Cart
from app.privacy import suppressions

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
