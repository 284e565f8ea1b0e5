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

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
