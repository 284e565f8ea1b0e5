"""What a merchant reads for each cart status and send result (app.core.statuses).

The database keeps the short codes; the admin shows these words, with a hint
for what each status means.
"""

from __future__ import annotations

from app.core.statuses import CartStatus, SendResult

CART_STATUS_LABELS: dict[str, str] = {
    CartStatus.ACTIVE.value: "Waiting",
    CartStatus.REMINDED.value: "Reminded",
    CartStatus.EXPIRED.value: "Gave up",
    CartStatus.BOUGHT.value: "Bought",
    CartStatus.RECOVERED.value: "Recovered",
    CartStatus.STOPPED.value: "Stopped",
}

CART_STATUS_HINTS: dict[str, str] = {
    CartStatus.ACTIVE.value: "waiting for the first reminder",
    CartStatus.REMINDED.value: "got a reminder, no order yet",
    CartStatus.EXPIRED.value: "no order after the reminders; nothing more is sent",
    CartStatus.BOUGHT.value: "ordered before any reminder",
    CartStatus.RECOVERED.value: "ordered after a reminder",
    CartStatus.STOPPED.value: "stopped by hand, an unsubscribe or an erasure",
}

SEND_RESULT_LABELS: dict[str, str] = {
    SendResult.CLAIMED.value: "Sending",
    SendResult.SENT.value: "Sent",
    SendResult.SKIPPED.value: "Skipped",
    SendResult.DEFERRED.value: "Deferred",
    SendResult.FAILED.value: "Failed",
    SendResult.UNKNOWN.value: "Unknown outcome",
    SendResult.HELD_OUT.value: "Held out",
}


def status_label(code: str | None) -> str:
    """The merchant's word for a cart status or send result; an unknown code, tidied."""
    if not code:
        return ""
    return (CART_STATUS_LABELS.get(code) or SEND_RESULT_LABELS.get(code)
            or code.replace("_", " ").capitalize())
