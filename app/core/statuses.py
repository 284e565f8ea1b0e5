"""The words a cart's life is told in: cart statuses and send results.

Pure names, shared by the waiter, the sender and the database columns that
store them as plain strings.
"""

from __future__ import annotations

import enum


class CartStatus(str, enum.Enum):
    ACTIVE = "active"
    REMINDED = "reminded"
    EXPIRED = "expired"
    BOUGHT = "bought"
    RECOVERED = "recovered"
    STOPPED = "stopped"


# Only these hold a timer.
LIVE_STATUSES = (CartStatus.ACTIVE.value, CartStatus.REMINDED.value)
# An order is sticky: nothing revives these.
FINAL_STATUSES = (CartStatus.BOUGHT.value, CartStatus.RECOVERED.value, CartStatus.STOPPED.value)


class SendResult(str, enum.Enum):
    CLAIMED = "claimed"  # the send is in flight; see Send docstring
    SENT = "sent"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    FAILED = "failed"
    # Handed over, but the answer never came (connection dropped after the
    # request was sent): counted as done for its move, never resent.
    UNKNOWN = "unknown"
    # The shopper is in the store's holdout group: nothing was sent, on purpose.
    HELD_OUT = "held_out"
