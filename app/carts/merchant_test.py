""""Send me a test": one step's email, as the store would send it, to the merchant.

It goes through the configured mail backend like a reminder but is none: no
Send row, no timeline entry, no cart touched, so no dashboard number moves.
Tests are rate limited per store (counted in the store's settings, so every
web process sees the same count), and the last success is kept as
`test_email_sent_at` for the setup checklist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.carts.preview import preview_context
from app.core.rules import effective
from app.db.models import Store
from app.errors import TestSendRefused, TooManyTests
from app.mail import compose
from app.mail.backends import Mailer
from app.mail.message import Envelope, build
from app.stores import from_address

log = logging.getLogger(__name__)

TESTS_PER_HOUR = 5
_RECENT_KEY = "test_email_attempts"
SENT_AT_KEY = "test_email_sent_at"


def merchant_address(store: Store) -> str | None:
    """Where a test goes: the Reply-to address (the inbox shopper replies land in, so one
    the merchant reads), else the store's own From address."""
    return effective(store.settings)["reply_to"] or store.from_email or None


def reserve(session: Session, store_id: int, now: datetime) -> str:
    """Count one test against the hour's allowance and return where it goes; raises
    TestSendRefused. Counted before sending, so failed attempts count too."""
    store = session.get(Store, store_id, with_for_update=True)
    assert store is not None
    to = merchant_address(store)
    if not to:
        raise TestSendRefused("Add a Reply-to or From address in Settings first: "
                              "that is where the test goes.")
    settings = store.settings or {}
    hour_ago = now - timedelta(hours=1)
    recent = sorted(t for t in settings.get(_RECENT_KEY, [])
                    if datetime.fromisoformat(t) > hour_ago)
    if len(recent) >= TESTS_PER_HOUR:
        again = datetime.fromisoformat(recent[0]) + timedelta(hours=1)
        minutes = max(1, round((again - now).total_seconds() / 60))
        raise TooManyTests(f"That is {TESTS_PER_HOUR} tests this hour; "
                              f"try again in {minutes} min.")
    store.settings = {**settings, _RECENT_KEY: [*recent, now.isoformat()]}
    return to


def send(session: Session, store: Store, name: str, to: str, now: datetime, *,
         mailer: Mailer, config: Any, overrides: dict[str, str] | None = None,
         draft: Mapping[str, Any] | None = None) -> str:
    """Render step `name` on the preview cart, with the `draft` brand and copy when given,
    and hand it to the mail backend; returns the message id. Raises TemplateFailed (the
    store's edited template) or DeliveryError."""
    ctx = preview_context(session, store, str(config.get("PUBLIC_URL") or ""), draft)
    # Data-URL pictures (the sample cart's) are blocked by most mail clients.
    ctx = replace(ctx, items=[{**item, "image_url": ""} if str(item.get("image_url", ""))
                              .startswith("data:") else item for item in ctx.items])
    composed = compose.render(name, ctx, overrides=overrides)
    composed = replace(composed, subject=f"[Test] {composed.subject}")
    settings = effective(store.settings)
    sender = from_address(store.from_email, config)
    envelope = Envelope(from_name=settings["sender_name"] or store.name, from_email=sender,
                        to_email=to, reply_to=settings["reply_to"] or None,
                        unsubscribe_url=ctx.unsubscribe_url)
    message_id = mailer.send(build(composed, envelope, now), sender=sender, recipient=to)
    log.info("test email sent", extra={"store_id": store.id, "template": name,
                                       "backend": mailer.name})
    return message_id


def record_sent(session: Session, store_id: int, now: datetime) -> None:
    store = session.get(Store, store_id, with_for_update=True)
    assert store is not None
    store.settings = {**(store.settings or {}), SENT_AT_KEY: now.isoformat()}
