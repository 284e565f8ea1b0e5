"""The database answers to the gates' `History` questions, for one store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.core.addresses import normalize_email
from app.db.models import Send, SendResult, Suppression


class StoreHistory:
    def __init__(self, session: Session, store_id: int) -> None:
        self.session = session
        self.store_id = store_id

    def is_suppressed(self, email: str, cart_id: int) -> bool:
        address = normalize_email(email)
        query = select(
            exists().where(
                Suppression.store_id == self.store_id,
                Suppression.email == address,
                or_(Suppression.scope == "all", Suppression.cart_id == cart_id),
            )
        )
        return bool(self.session.scalar(query))

    def reminded_other_cart_since(self, email: str, cart_id: int, since: datetime) -> bool:
        address = normalize_email(email)
        query = select(
            exists().where(
                Send.store_id == self.store_id,
                func.lower(Send.address) == address,
                Send.cart_id != cart_id,
                Send.result.in_((SendResult.SENT.value, SendResult.CLAIMED.value,
                                 SendResult.UNKNOWN.value)),
                Send.created_at >= since,
            )
        )
        return bool(self.session.scalar(query))
