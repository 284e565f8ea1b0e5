"""Single-use nonces on the `oauth_states` table: issue one, consume it once.

Every handshake that hands a secret out and expects it back exactly once
uses these: Shopify's OAuth `state`, WooCommerce's wc-auth `user_id`, the
admin's one-time sign-in links; and, the other way round, the nonces the
WooCommerce plugin makes for its "Open Cartback" links (`claim`). A nonce
has a `purpose` (kept in the `platform` column: "shopify", "woocommerce",
"admin", "woocommerce-admin") so one purpose's token never opens another's
door, and a `subject` (kept in `shop`: the shop, the store URL, the store id)
it was issued for.

Consuming is one conditional UPDATE ... RETURNING: of two racing callers only
one sees the row, on SQLite and PostgreSQL alike. The caller owns the
transaction, so consuming a nonce and acting on it can commit together.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from app.db.models import OAuthState
from app.db.session import dialect_insert

# Used or expired rows stay a day (a late "already used" is then still
# explainable from the table), and are swept whenever a new one is issued.
KEEP_STALE = timedelta(days=1)
# The column's width; anything longer was never issued here.
MAX_TOKEN_LENGTH = 64
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")


def _prune(session: Session, now: datetime) -> None:
    session.execute(delete(OAuthState).where(OAuthState.expires_at < now - KEEP_STALE))


def issue(session: Session, purpose: str, subject: str, now: datetime,
          ttl: timedelta) -> str:
    """A fresh token for `subject`, good once until `now + ttl`; prunes stale rows."""
    _prune(session, now)
    token = secrets.token_urlsafe(24)
    session.add(OAuthState(state=token, platform=purpose, shop=subject, created_at=now,
                           expires_at=now + ttl))
    session.flush()
    return token


def consume(session: Session, purpose: str, token: str | None, now: datetime,
            subject: str | None = None) -> str | None:
    """The subject the token was issued for, exactly once and before it expires.

    None for an unknown, used, expired or other-purpose token, and, when
    `subject` is given, for a token issued for another subject.
    """
    # Only what `issue` can have made reaches the database: a NUL byte or any other
    # character outside the URL-safe alphabet is refused by PostgreSQL with an error.
    if not token or len(token) > MAX_TOKEN_LENGTH or not TOKEN_RE.fullmatch(token):
        return None
    conditions = [OAuthState.state == token, OAuthState.platform == purpose,
                  OAuthState.used_at.is_(None), OAuthState.expires_at > now]
    if subject is not None:
        conditions.append(OAuthState.shop == subject)
    row = session.execute(
        update(OAuthState).where(*conditions).values(used_at=now).returning(OAuthState.shop)
    ).first()
    return None if row is None else str(row[0])


def claim(session: Session, purpose: str, token: str, subject: str, now: datetime,
          ttl: timedelta) -> bool:
    """Spend a token someone else made (the WooCommerce plugin's hand-over nonce): True
    the first time, False for every later try, whoever races whom.

    The row is written already used; the unique `state` column makes the second
    insert a no-op. Keep `ttl` at least as long as the token is accepted, so a
    replay is refused by this row rather than by luck.
    """
    if len(token) > MAX_TOKEN_LENGTH or not TOKEN_RE.fullmatch(token):
        return False
    _prune(session, now)
    insert = dialect_insert(session)
    row = session.execute(
        insert(OAuthState).values(state=token, platform=purpose, shop=subject, created_at=now,
                                  expires_at=now + ttl, used_at=now)
        .on_conflict_do_nothing(index_elements=["state"]).returning(OAuthState.id)
    ).first()
    return row is not None
