"""Tombstones: an erased shopper stays erased.

After a shopper's erasure we keep one keyed hash of their address, of
their phone number and of each erased cart's keys, under the store's own `privacy_key`: enough to
recognise a late or retried delivery (and refuse it), too little to recover
who it was. Addresses are passed normalized (app.carts.intake.normalize_email),
numbers in E.164. A number is kept under the `email` kind, as the unsubscribe
list keeps it in its `email` column: both hold a shopper's identities
(app.core.addresses.identities), so the batch gate's one lookup covers both.
Flask-free.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from app.db.models import Store, Tombstone
from app.db.session import dialect_insert

EMAIL = "email"
CART = "cart"


def _key(store: Store) -> bytes:
    if not store.privacy_key:  # a row made before the key existed and not migrated
        store.privacy_key = secrets.token_hex(32)
    return store.privacy_key.encode()


def digest(store: Store, kind: str, value: str) -> str:
    return hmac.new(_key(store), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _wanted(store: Store, email: str | None, cart_keys: Iterable[str | None],
            phones: Iterable[str | None] = ()) -> list[tuple[str, str]]:
    wanted = [(CART, digest(store, CART, key)) for key in dict.fromkeys(cart_keys) if key]
    wanted += [(EMAIL, digest(store, EMAIL, who))
               for who in dict.fromkeys((email, *phones)) if who]
    return wanted


def bury(session: Session, store: Store, email: str | None, cart_keys: Iterable[str | None],
         now: datetime, phones: Iterable[str | None] = ()) -> None:
    """Remember that this address, these numbers and these cart keys were erased
    (idempotent)."""
    rows = [{"store_id": store.id, "kind": kind, "digest": value, "created_at": now}
            for kind, value in _wanted(store, email, cart_keys, phones)]
    if not rows:
        return
    insert: Any = dialect_insert(session)
    session.execute(insert(Tombstone).values(rows).on_conflict_do_nothing(
        index_elements=["store_id", "kind", "digest"]))


# Built once: the intake hot path asks this for every event. A digest is
# HMAC("kind:value"), so it names its kind; the kind is matched as well.
_ANY_ERASED = select(exists().where(
    Tombstone.__table__.c.store_id == bindparam("store_id"),
    Tombstone.__table__.c.kind.in_(bindparam("kinds", expanding=True)),
    Tombstone.__table__.c.digest.in_(bindparam("digests", expanding=True))))


def is_erased(session: Session, store: Store, email: str | None = None,
              cart_keys: Iterable[str | None] = (), phone: str | None = None) -> bool:
    """True when the address, the number or any of the keys belongs to an erased shopper."""
    wanted = _wanted(store, email, cart_keys, (phone,))
    if not wanted:
        return False
    return bool(session.connection().execute(_ANY_ERASED, {
        "store_id": store.id, "kinds": sorted({kind for kind, _ in wanted}),
        "digests": [value for _, value in wanted]}).scalar())
