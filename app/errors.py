"""One exception hierarchy for Cartback; the app factory maps it to answers."""

from __future__ import annotations


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
