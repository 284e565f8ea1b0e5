"""One AWS send call with its failures mapped to `DeliveryError`: SES and SMS alike.

The service's own refusals (`ClientError`) go to the caller's `classify`;
transport failures are judged by when they happened: before the request
left (no connection) is transient and retried, after it was sent (a read
timeout, a dropped connection) is ambiguous, since AWS may already have
accepted the message and there is no idempotency token: recorded `unknown`,
never resent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from app.errors import DeliveryError


def send_or_raise(service: str, call: Callable[[], Any],
                  classify: Callable[[ClientError], DeliveryError]) -> Any:
    try:
        return call()
    except ClientError as err:
        raise classify(err) from err
    except (ConnectTimeoutError, EndpointConnectionError) as err:
        raise DeliveryError(f"{service} unreachable", transient=True) from err
    except (ReadTimeoutError, ConnectionClosedError) as err:
        raise DeliveryError(f"{service} gave no answer after the request was sent "
                            f"({type(err).__name__}); not retried", transient=False,
                            ambiguous=True) from err
    except BotoCoreError as err:
        raise DeliveryError(f"{service} client error: {type(err).__name__}",
                            transient=True) from err
