"""Database tables: the one-row-per-cart list and what hangs off it.

The Cart row is the source of truth: `wake_at` says when its timer fires and
timers are rebuilt from rows after any restart. Money is stored as Numeric
with its ISO currency; datetimes are stored as UTC and always read back
timezone-aware.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.core.statuses import FINAL_STATUSES, LIVE_STATUSES, CartStatus, SendResult

__all__ = ["FINAL_STATUSES", "LIVE_STATUSES", "CartStatus", "SendResult"]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # Shopify: NAME.myshopify.com; WooCommerce: https://store.example; custom: any host.
    domain: Mapped[str] = mapped_column(String(255), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    from_email: Mapped[str | None] = mapped_column(String(320))
    webhook_secret: Mapped[str] = mapped_column(String(128))
    # Public id for the storefront beacon (safe to show in page source).
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Platform credentials (tokens, consumer keys) as Fernet-encrypted JSON.
    credentials: Mapped[str | None] = mapped_column(Text)
    # Per-store rules and sender details; schema in app.core.rules.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Platform bookkeeping: webhook ids, last reconciliation, granted scopes.
    platform_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Key of the store's erasure tombstones (app.privacy.tombstones); never rotated,
    # or the erased would come back.
    privacy_key: Mapped[str | None] = mapped_column(
        String(64), default=lambda: secrets.token_hex(32))
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("platform", "domain"),)


class Cart(Base):
    """Exactly one row per (store, cart key)."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    cart_key: Mapped[str] = mapped_column(String(255))
    # A second key the platform may use for the same cart (Shopify checkout
    # token, WooCommerce order id): lets a checkout or order find its cart.
    checkout_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=CartStatus.ACTIVE.value)
    ended_reason: Mapped[str | None] = mapped_column(String(40))

    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    country: Mapped[str | None] = mapped_column(String(2))
    marketing_consent: Mapped[bool | None] = mapped_column(Boolean)
    # The number the shopper agreed to be texted at (E.164), and that explicit
    # SMS marketing consent: email consent never covers SMS.
    phone: Mapped[str | None] = mapped_column(String(20))
    sms_consent: Mapped[bool | None] = mapped_column(Boolean)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    return_url: Mapped[str | None] = mapped_column(Text)
    saved_link: Mapped[bool] = mapped_column(Boolean, default=False)

    # The moment the shopper last changed the cart (the event's occurred_at):
    # every wait runs from here.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Newest occurred_at applied so far: an older event never overwrites it.
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How far the reminder sequence got: 0 none, 1 first handled, 2 second handled.
    stage: Mapped[int] = mapped_column(Integer, default=0)
    stage_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consecutive transient delivery failures of the current move.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_ref: Mapped[str | None] = mapped_column(String(255))
    order_total: Mapped[Decimal | None] = mapped_column(MONEY)

    # When retention erased this cart's personal data (numbers are kept).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()

    __table_args__ = (
        UniqueConstraint("store_id", "cart_key"),
        Index("ix_carts_wake_at", "wake_at"),
        Index("ix_carts_store_status", "store_id", "status"),
        Index("ix_carts_store_email", "store_id", "email"),
        Index("ix_carts_store_checkout_key", "store_id", "checkout_key"),
        # An inbound STOP names only the number: it finds the shopper's carts by it.
        Index("ix_carts_phone", "phone"),
        # The scheduler follows changes made by web processes through this.
        Index("ix_carts_updated_at", "updated_at"),
    )


class Send(Base):
    """One row per attempt outcome.

    A send first writes a `claimed` row and commits, then hands the message to
    the backend, then marks it `sent`. The partial unique index allows at most
    one claimed-or-sent row per (cart, move), so two racing wakes cannot both
    send; a crash after the claim leaves a `claimed` row (one missing email,
    visible) and never a second email.
    """

    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    move: Mapped[str] = mapped_column(String(10))
    # email | sms; `address` is the email address or the E.164 number it went to.
    channel: Mapped[str] = mapped_column(String(5), default="email", server_default="email")
    address: Mapped[str | None] = mapped_column(String(320))
    result: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(255))
    polished: Mapped[bool] = mapped_column(Boolean, default=False)
    template: Mapped[str | None] = mapped_column(String(20))
    # The single-use recovery code this reminder carried, and its platform id
    # (Shopify DiscountCodeNode gid, WooCommerce coupon id).
    offer_code: Mapped[str | None] = mapped_column(String(64))
    offer_ref: Mapped[str | None] = mapped_column(String(255))
    # When the code stops working; when an order used it; when the periodic
    # sync deleted it from the platform (expired and unused).
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the mail provider reported this message bounced (any bounce type).
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index(
            "uq_sends_one_per_move",
            "cart_id",
            "move",
            unique=True,
            sqlite_where=text("result IN ('claimed', 'sent')"),
            postgresql_where=text("result IN ('claimed', 'sent')"),
        ),
        Index("ix_sends_store_address_created", "store_id", "address", "created_at"),
        Index("ix_sends_offer_expires_at", "offer_expires_at"),
        # Gate 3 compares addresses case-folded: without this it scans the store's sends.
        Index("ix_sends_store_lower_address", "store_id", func.lower(text("address")),
              "created_at"),
    )


class OfferCode(Base):
    """A custom storefront's own recovery code, uploaded by the merchant: one
    is taken per reminder that offers something (app.carts.offer_pool)."""

    __tablename__ = "offer_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("store_id", "code"),
                      Index("ix_offer_codes_store_taken", "store_id", "taken_at"))


class Suppression(Base):
    """The unsubscribe list: one normalized address, for one cart or for all.

    `email` holds the normalized email address, or for an SMS opt-out (STOP)
    the E.164 number: one list, so either stops both channels for the shopper.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # 'all' or 'cart' (then cart_id says which)
    scope: Mapped[str] = mapped_column(String(8), default="all")
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    # shopper_link | one_click | merchant | import | bounce | complaint | sms_stop
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_suppressions_store_email", "store_id", "email"),)


class Delivery(Base):
    """Delivery/event ids already processed, so a redelivery is a no-op."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("store_id", "delivery_id"),)


class Activity(Base):
    """A cart's timeline: events applied or ignored, clicks, manual stops."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    # updated | checkout_started | ordered | deleted | stale | click | stopped | unsubscribed
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Tombstone(Base):
    """An erased shopper (kind `email`) or cart key (kind `cart`), as a keyed hash.

    Nothing readable is kept: `digest` is HMAC-SHA256 under the store's
    `privacy_key`. Intake refuses any event that matches one, so a late or
    retried delivery can never recreate an erased shopper's data.
    """

    __tablename__ = "tombstones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("store_id", "kind", "digest"),)


class PrivacyRequest(Base):
    """An erasure carried out (a platform's redact request or the merchant's own): what was
    asked, when, what became of it and how much went.

    Counts only, never the personal data itself. No foreign key: the record
    of a store's own erasure (shop/redact) outlives the store, as proof.
    """

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    # customers/redact | shop/redact (from the platform) | erase (the merchant, in the admin)
    kind: Mapped[str] = mapped_column(String(32))
    customer_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # erased | kept
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_privacy_requests_store_received", "store_id", "received_at"),)


class ShopperLock(Base):
    """One row per shopper of a store, locked while a reminder to them is claimed.

    Gate 3 (one reminder per shopper per window, across carts) reads the
    shopper's recent sends, then the claim writes one: two wakes for two
    carts of one shopper must not both read before either writes. Each claim
    first upserts this row, which PostgreSQL row-locks and SQLite
    write-locks until the claim commits, so the second wake's gate sees the
    first one's claim. `shopper` is a keyed hash (app.privacy.tombstones).
    """

    __tablename__ = "shopper_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    shopper: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("store_id", "shopper"),)


class TemplateOverride(Base):
    """A merchant's edited template part (e.g. `first.subject.txt`), last good one."""

    __tablename__ = "template_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    part: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("store_id", "part"),)


class OAuthState(Base):
    """A single-use OAuth `state` nonce: issued at install, consumed once at the callback."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    shop: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SchedulerHeartbeat(Base):
    """One row: which scheduler process leads, and when it last said so."""

    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailPause(Base):
    """The mail circuit breaker: one row per scope while the provider refuses mail.

    `scope` is `backend:<name>` (the whole account) or `store:<id>` (one
    store's sending identity). Open while `closed_at` is null; the next probe
    may go at `retry_at`. See app.mail.breaker.
    """

    __tablename__ = "mail_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # quota | paused | config
    reason: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_probes: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # At most one open pause per scope.
        Index("uq_mail_pauses_open_scope", "scope", unique=True,
              sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
    )
