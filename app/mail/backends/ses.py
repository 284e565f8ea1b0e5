"""Amazon SES delivery: SESv2 SendEmail with the raw MIME message.

Credentials and region come the standard boto3 way (environment, profile,
instance role); CARTBACK_AWS_REGION overrides the region. Errors are
classified by code, not class (SES v1 and v2 model them differently):
throttling and 5xx are transient; a rejected message or unverified sender is
permanent; a paused account is transient (a human must act, the reminder can
wait). A read timeout after the request was sent is NOT retried: SES has no
idempotency token and may already have queued the mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from app.errors import DeliveryError
from app.mail.message import SERIALIZE_POLICY
from app.mail.pacing import Pacer

TRANSIENT_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException",
                   "LimitExceededException", "SendingPausedException",
                   "AccountSendingPausedException", "ServiceUnavailable", "InternalFailure",
                   "MailFromDomainNotVerifiedException"}


class SesMailer:
    name = "ses"

    def __init__(self, client: Any, *, configuration_set: str | None = None,
                 pacer: Pacer | None = None) -> None:
        self.client = client
        self.configuration_set = configuration_set
        self.pacer = pacer

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SesMailer:
        region = config.get("AWS_REGION")
        # No SDK retries: a retried send after a timeout could be a duplicate;
        # our own retry (moving the cart's timer) handles the clear cases.
        boto_config = Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                             read_timeout=15)
        client = boto3.client("sesv2", region_name=region, config=boto_config)
        rate = config.get("SES_MAX_SEND_RATE")
        if rate is None:
            rate = _account_rate(boto3.client("ses", region_name=region, config=boto_config))
        return cls(client, configuration_set=config.get("SES_CONFIGURATION_SET"),
                   pacer=Pacer(float(rate)))

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        if self.pacer is not None:
            self.pacer.acquire()
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": message.as_bytes(policy=SERIALIZE_POLICY)}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = self.client.send_email(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            code = error.get("Code", "")
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = code in TRANSIENT_CODES or status >= 500
            raise DeliveryError(f"SES {code}", transient=transient) from err
        except ConnectTimeoutError as err:
            raise DeliveryError("SES unreachable", transient=True) from err
        except ReadTimeoutError as err:
            raise DeliveryError("SES timed out after the request was sent; not retried",
                                transient=False) from err
        except BotoCoreError as err:
            raise DeliveryError(f"SES client error: {type(err).__name__}",
                                transient=True) from err
        return str(response["MessageId"])


def _account_rate(ses_v1: Any) -> float:
    """The account's MaxSendRate; 1/s (the sandbox rate) when it cannot be read."""
    try:
        return float(ses_v1.get_send_quota()["MaxSendRate"]) or 1.0
    except (ClientError, BotoCoreError, KeyError):
        return 1.0
