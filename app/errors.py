"""One exception hierarchy for Cartback; the app factory maps it to answers.

Every error Cartback raises on purpose is a `CartbackError` with the HTTP
status it means and a message safe to show. Input errors are also
`ValueError`s, so code that parses can catch them the ordinary way. The wire
layer (`platforms/`) keeps its own two errors (`BadSignature`, `BadPayload`)
because it imports nothing of the app; views translate them to `Unauthorized`
and `BadRequest` here.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError


class CartbackError(Exception):
    """Base of every error Cartback raises on purpose."""

    status = 500
    public_message = "internal error"


class ConfigError(CartbackError):
    """A setting is missing or wrong; the message tells the operator what to fix."""


class NotFound(CartbackError):
    status = 404
    public_message = "not found"


class Unauthorized(CartbackError):
    status = 401
    public_message = "invalid signature"


class BadRequest(CartbackError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.public_message = message


class Forbidden(CartbackError):
    status = 403

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.public_message = message


class UpstreamError(CartbackError):
    """A platform's API did not answer as expected."""

    status = 502
    public_message = "the store platform did not answer as expected; please try again"


class NotSignedIn(CartbackError):
    status = 401
    public_message = "sign in again from your store admin"


class BadCsrf(CartbackError):
    status = 400
    public_message = "this form has expired; reload the page and try again"


class BadToken(CartbackError, ValueError):
    """A shopper link whose signature or contents do not check out."""

    status = 400
    public_message = "this link is not valid"


class SettingsError(BadRequest, ValueError):
    """Store settings refused, field by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StoreInputError(BadRequest, ValueError):
    """A store cannot be created or changed as asked; the message says why."""


class TemplateRefused(BadRequest, ValueError):
    """A merchant template that does not pass the checks; `problems` lists each."""

    def __init__(self, problems: list[Any]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class TestSendRefused(BadRequest):
    """A merchant's "Send me a test" that we will not send (no address, too many tests)."""

    __test__ = False  # not a pytest class, whatever its name


class TooManyTests(TestSendRefused):
    """The store used its allowance of test emails for now."""

    status = 429


class ConnectError(BadRequest):
    """Connecting a store failed; the message is for the merchant."""


class InstallError(BadRequest):
    """An install cannot complete; the message is safe to show the merchant."""


class Busy(CartbackError):
    """The database could not apply the change in time; nothing was written.

    Answered 503 so the platform retries the delivery later (and the retry is
    applied once: the delivery id was rolled back with everything else).
    """

    status = 503
    public_message = "busy, retry later"


class DeliveryError(CartbackError):
    """A mail backend could not hand the message over.

    `transient` errors (throttling, a 5xx, a dropped connection before the
    message was accepted) are retried later; permanent ones are not.
    """

    def __init__(self, reason: str, *, transient: bool, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        # The whole request reached the provider and the answer never came:
        # the mail may have gone out. Recorded `unknown`, never resent blindly.
        self.ambiguous = ambiguous


class MailPaused(DeliveryError):
    """The provider refuses every message for now: quota used up, sending
    paused or suspended, or a broken setup (configuration set, MAIL FROM).

    Not about this reminder: the mail circuit breaker (app.mail.breaker) opens
    and every due reminder is deferred, never failed. `kind` is `quota`,
    `paused` or `config`; `store_level` when only this store's sending
    identity is affected (its MAIL FROM domain), else the whole account.
    """

    KINDS = ("quota", "paused", "config")

    def __init__(self, reason: str, *, kind: str, store_level: bool = False) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind is one of {self.KINDS}")
        super().__init__(reason, transient=True)
        self.kind = kind
        self.store_level = store_level


class SmsOptedOut(DeliveryError):
    """The SMS provider holds the number as opted out (a STOP it saw, or one pushed
    to its list): a permanent refusal, and the number joins our unsubscribe list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, transient=False)


class UnsafeMessage(DeliveryError):
    """The built message failed the header check; it is never handed to a backend."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsafe message: {reason}", transient=False)


class SnsRefused(CartbackError, ValueError):
    """An SNS message that is malformed (400), badly signed (401) or from another topic (403)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status
        self.public_message = reason


class Overtaken(CartbackError):
    """The cart changed between the claim and the hand-over: nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemplateFailed(CartbackError, TemplateError):
    """A merchant template that would not render, or not within its budget (time,
    memory, output size). `part` names the template file part, `line` its line
    when known. A Jinja `TemplateError` too, so anything that falls back on a
    failing template catches this the same way.
    """

    status = 400

    def __init__(self, reason: str, *, part: str | None = None,
                 line: int | None = None) -> None:
        TemplateError.__init__(self, reason)
        self.reason, self.part, self.line = reason, part, line
        self.public_message = reason


class OfferError(UpstreamError):
    """The platform would not make a reminder's recovery code: the reminder goes without it."""
