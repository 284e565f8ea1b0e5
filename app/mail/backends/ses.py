"""Amazon SES delivery: SESv2 SendEmail with the raw MIME message.

Credentials and region come the standard boto3 way (environment, profile,
instance role); CARTBACK_AWS_REGION overrides the region. Errors are
classified by code, not class (SES v1 and v2 model them differently; codes
from botocore's sesv2 and ses service models):

- account-level, open the mail circuit breaker (`MailPaused`, app.mail.breaker):
  the daily quota used up (any code whose message says "Daily message quota
  exceeded", and v2 `LimitExceededException`), sending paused or suspended
  (v2 `SendingPausedException`, `AccountSuspendedException`; v1
  `AccountSendingPausedException`, `ConfigurationSetSendingPausedException`),
  a configuration set that is gone (v1 `ConfigurationSetDoesNotExist`, v2
  `NotFoundException`), and per store an unverified MAIL FROM domain
  (`MailFromDomainNotVerifiedException`);
- transient: throttling ("Maximum sending rate exceeded"), 5xx, no connection;
- permanent: a rejected message or unverified sender (`MessageRejected`);
- ambiguous: a read timeout or a dropped connection after the request was
  sent. SES has no idempotency token and may already have queued the mail,
  so it is recorded `unknown` and never retried.

A configured configuration set is looked up at start (GetConfigurationSet):
a missing one fails fast instead of pausing every send later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.errors import ConfigError, DeliveryError, MailPaused
from app.mail.backends.aws_send import send_or_raise
from app.mail.message import wire_bytes
from app.mail.pacing import Pacer

log = logging.getLogger(__name__)

TRANSIENT_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException",
                   "ServiceUnavailable", "InternalFailure", "RequestTimeout"}
PAUSED_CODES = {"SendingPausedException", "AccountSendingPausedException",
                "ConfigurationSetSendingPausedException", "AccountSuspendedException"}
CONFIG_CODES = {"ConfigurationSetDoesNotExist", "NotFoundException"}
STORE_CONFIG_CODES = {"MailFromDomainNotVerifiedException"}
QUOTA_CODES = {"LimitExceededException"}
QUOTA_MESSAGE = "daily message quota exceeded"


def classify(err: ClientError) -> DeliveryError:
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    reason = f"SES {code}"
    if QUOTA_MESSAGE in message.lower() or code in QUOTA_CODES:
        return MailPaused(f"{reason}: daily sending quota used up", kind="quota")
    if code in PAUSED_CODES:
        return MailPaused(f"{reason}: sending paused by SES", kind="paused")
    if code in CONFIG_CODES:
        return MailPaused(f"{reason}: configuration set missing", kind="config")
    if code in STORE_CONFIG_CODES:
        return MailPaused(f"{reason}: MAIL FROM domain not verified", kind="config",
                          store_level=True)
    return DeliveryError(reason, transient=code in TRANSIENT_CODES or status >= 500)


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
        configuration_set = config.get("SES_CONFIGURATION_SET")
        if configuration_set:
            _check_configuration_set(client, configuration_set, region)
        rate = config.get("SES_MAX_SEND_RATE")
        if rate is None:
            rate = _account_rate(boto3.client("ses", region_name=region, config=boto_config))
        return cls(client, configuration_set=configuration_set, pacer=Pacer(float(rate)))

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        if self.pacer is not None:
            self.pacer.acquire()
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": wire_bytes(message)}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        response = send_or_raise("SES", lambda: self.client.send_email(**request), classify)
        return str(response["MessageId"])


    def sender_verified(self, address: str) -> bool | None:
        """Whether SES lets us send from `address` (the address itself or its domain
        verified); None when SES will not say (no permission, unreachable)."""
        domain = address.rpartition("@")[2]
        for identity in (address, domain):
            try:
                found = self.client.get_email_identity(EmailIdentity=identity)
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") == "NotFoundException":
                    continue
                return None
            except BotoCoreError:
                return None
            # Either field says it: the first is the sending verdict, the second the
            # identity's own verification (SES API v2 GetEmailIdentity).
            if (found.get("VerifiedForSendingStatus")
                    or found.get("VerificationStatus") == "SUCCESS"):
                return True
        return False


def _check_configuration_set(client: Any, name: str, region: str | None) -> None:
    try:
        client.get_configuration_set(ConfigurationSetName=name)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NotFoundException":
            raise ConfigError(
                f"CARTBACK_SES_CONFIGURATION_SET is {name!r}, but SES has no configuration set "
                f"of that name in {region or 'the default region'}: create it (with its "
                f"event destination) or unset the variable.") from err
        # No permission to look, say: the first send will tell.
        log.warning("could not check the SES configuration set",
                    extra={"configuration_set": name,
                           "error": err.response.get("Error", {}).get("Code")})
    except BotoCoreError as err:
        log.warning("could not check the SES configuration set",
                    extra={"configuration_set": name, "error": type(err).__name__})


def _account_rate(ses_v1: Any) -> float:
    """The account's MaxSendRate; 1/s (the sandbox rate) when it cannot be read."""
    try:
        return float(ses_v1.get_send_quota()["MaxSendRate"]) or 1.0
    except (ClientError, BotoCoreError, KeyError):
        return 1.0
