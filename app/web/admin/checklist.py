"""The dashboard's setup checklist: what a new store still has to do. Flask-free.

Each item says whether it is done and where to fix it (an endpoint name and
anchor the view turns into a link). The list shows until every required item
is done; then the store's `platform_state["onboarded_at"]` remembers it, so a
finished store never asks the mail provider again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.core.statuses import SendResult
from app.db.models import Cart, Send, Store
from app.mail.backends import Mailer, sender_verified

# Set by the email page's "Send me a test" (issue 17, point 4) in Store.settings.
TEST_EMAIL_KEY = "test_email_sent_at"
DONE_KEY = "onboarded_at"

DONE, TODO, UNKNOWN = "done", "todo", "unknown"


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    state: str  # done | todo | unknown (the backend cannot tell)
    detail: str
    endpoint: str
    anchor: str = ""
    endpoint_args: tuple[tuple[str, str], ...] = ()
    optional: bool = False

    @property
    def settled(self) -> bool:
        """Nothing more the merchant can do here: done, optional, or beyond our sight."""
        return self.optional or self.state != TODO


def is_finished(store: Store) -> bool:
    return bool((store.platform_state or {}).get(DONE_KEY))


def items(session: Session, store: Store, mailer: Mailer) -> list[Item]:
    settings: dict[str, Any] = store.settings or {}
    postal = str(settings.get("postal_address") or "").strip()
    has_cart = bool(session.scalar(select(exists().where(Cart.store_id == store.id))))
    has_sent = bool(session.scalar(select(exists().where(
        Send.store_id == store.id, Send.result == SendResult.SENT.value))))
    return [
        Item("postal_address", "Add your postal address",
             DONE if postal else TODO,
             "Printed in every reminder's footer; nothing is sent without it.",
             "admin.settings", "postal_address"),
        _from_item(store, mailer),
        Item("first_webhook", "Receive your first cart",
             DONE if has_cart else TODO,
             "Carts arrive from your store's webhooks once a shopper starts a checkout."
             if not has_cart else "Your store's carts are arriving.",
             "admin.carts"),
        Item("first_reminder", "Send your first reminder",
             DONE if has_sent else TODO,
             "The dry run shows what would go out next, and why not."
             if not has_sent else "Reminders are going out.",
             "admin.dry_run_page"),
        Item("test_email", "Send yourself a test email",
             DONE if settings.get(TEST_EMAIL_KEY) else TODO,
             "Optional: see a reminder in your own inbox.",
             "admin.emails", endpoint_args=(("name", "first"),), optional=True),
    ]


def _from_item(store: Store, mailer: Mailer) -> Item:
    title = "Set a verified From address"
    if not store.from_email:
        return Item("from_address", title, TODO,
                    "Reminders go out from the default sender until you set your own.",
                    "admin.settings", "from_email")
    verified = sender_verified(mailer, store.from_email)
    if verified is None:
        return Item("from_address", title, UNKNOWN,
                    f"{store.from_email} is set; your mail provider can't tell us whether "
                    f"it is verified, so check it there.", "admin.settings", "from_email")
    if not verified:
        return Item("from_address", title, TODO,
                    f"{store.from_email} is not verified with your mail provider yet: "
                    f"reminders from it will be refused.", "admin.settings", "from_email")
    return Item("from_address", title, DONE, f"{store.from_email} is verified.",
                "admin.settings", "from_email")


def mark_finished(session: Session, store_id: int, now: datetime) -> None:
    row = session.get(Store, store_id)
    if row is not None:
        row.platform_state = {**(row.platform_state or {}), DONE_KEY: now.isoformat()}
