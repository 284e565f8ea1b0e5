"""Mail backends behind one small interface: hand over a built message.

`send` returns the provider's message id; it raises `DeliveryError` with
`transient=True` for failures worth retrying later, `False` for permanent ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol


class Mailer(Protocol):
    name: str

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str: ...


def sender_verified(mailer: Mailer, address: str) -> bool | None:
    """Whether the backend will send from `address`: True or False where the
    provider can tell (SES), None where it cannot (outbox, SMTP)."""
    check = getattr(mailer, "sender_verified", None)
    return check(address) if check is not None else None


def make_mailer(config: Mapping[str, Any]) -> Mailer:
    backend = config["MAIL_BACKEND"]
    if backend == "outbox":
        from app.mail.backends.outbox import OutboxMailer

        return OutboxMailer(config["OUTBOX_DIR"])
    if backend == "smtp":
        from app.mail.backends.smtp import SmtpMailer

        return SmtpMailer.from_config(config)
    if backend == "ses":
        from app.mail.backends.ses import SesMailer

        return SesMailer.from_config(config)
    raise ValueError(f"mail backend {backend!r} is not available")
