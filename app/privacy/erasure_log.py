"""The record of erasures carried out, for the merchant's privacy page and as proof.

    record(session, store_id, kind, now, erased, customer_ref=None, kept=False)
        Notes one erasure: what was asked (kind, the platform's customer id),
        when, and how many of each thing went (`erased`, counts only); `kept`
        when the request was refused as stale (a shop that reinstalled).
    erasures(session, store_id, limit=100) -> list[PrivacyRequest]
        The store's erasures, newest first.

Never the shopper's address or anything read from their carts: a privacy
record that held the data it erased would undo the erasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PrivacyRequest


def record(session: Session, store_id: int, kind: str, now: datetime,
           erased: Mapping[str, int], customer_ref: str | None = None,
           kept: bool = False) -> None:
    session.add(PrivacyRequest(store_id=store_id, kind=kind, customer_ref=customer_ref,
                               received_at=now, status="kept" if kept else "erased",
                               counts=dict(erased)))


def erasures(session: Session, store_id: int, limit: int = 100) -> list[PrivacyRequest]:
    return list(session.scalars(
        select(PrivacyRequest).where(PrivacyRequest.store_id == store_id)
        .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc()).limit(limit)))
