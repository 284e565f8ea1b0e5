"""Amazon End User Messaging SMS: `pinpoint-sms-voice-v2` SendTextMessage.

Wire facts: shared/reference/flow-offers-sms-holdout.md C1-C2. botocore
checks none of the service's limits, so the body is checked here (1-1600
characters). Errors are classified by code and `Reason`:

- transient (retried by moving the cart's timer): `ThrottlingException`,
  `InternalServerException`, `ServiceQuotaExceededException` (a monthly
  spend limit: a later try may pass once it is raised);
- opted out (`ConflictException` / `DESTINATION_PHONE_NUMBER_OPTED_OUT`):
  `SmsOptedOut`, permanent, and the number joins our unsubscribe list;
- anything else (validation, a sandbox number not verified, a wrong
  origination identity or configuration set, access): permanent.

No SDK retries, as for SES: a retried send after a timeout could be a second text.

`put_opted_out` adds a number to the opt-out list (`PutOptedOutNumber`,
reference C2) when the opt-out reached us first; it raises DeliveryError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.errors import DeliveryError, SmsOptedOut
from app.mail.backends.aws_send import send_or_raise
from app.sms.backends import TextMessage

log = logging.getLogger(__name__)

MAX_BODY = 1600
TRANSIENT_CODES = {"ThrottlingException", "InternalServerException",
                   "ServiceQuotaExceededException"}
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
# A reminder held back by a carrier for days could land at any hour: let it lapse.
TIME_TO_LIVE_S = 3600


def classify(err: ClientError) -> DeliveryError:
    code = str(err.response.get("Error", {}).get("Code", ""))
    why = str(err.response.get("Reason") or "")
    reason = f"SMS {code}" + (f" {why}" if why else "")
    if code == "ConflictException" and why == OPTED_OUT:
        return SmsOptedOut(reason)
    if code in TRANSIENT_CODES:
        if code == "ServiceQuotaExceededException":
            log.error("SMS spending or sending quota reached", extra={"reason": why})
        return DeliveryError(reason, transient=True)
    return DeliveryError(reason, transient=False)


class AwsTexter:
    name = "aws"

    def __init__(self, client: Any, *, origination_identity: str,
                 configuration_set: str | None = None, max_price: str | None = None,
                 opt_out_list: str = "Default") -> None:
        self.client = client
        self.origination_identity = origination_identity
        self.configuration_set = configuration_set
        self.max_price = max_price
        self.opt_out_list = opt_out_list

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AwsTexter:
        boto_config = Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                             read_timeout=15)
        client = boto3.client("pinpoint-sms-voice-v2", region_name=config.get("AWS_REGION"),
                              config=boto_config)
        return cls(client, origination_identity=config["SMS_ORIGINATION_IDENTITY"],
                   configuration_set=config.get("SMS_CONFIGURATION_SET"),
                   max_price=config.get("SMS_MAX_PRICE"),
                   opt_out_list=config.get("SMS_OPT_OUT_LIST") or "Default")

    def send(self, message: TextMessage) -> str:
        if not 1 <= len(message.body) <= MAX_BODY:
            raise DeliveryError(f"SMS body of {len(message.body)} characters", transient=False)
        request: dict[str, Any] = {
            "DestinationPhoneNumber": message.to,
            "OriginationIdentity": self.origination_identity,
            "MessageBody": message.body,
            "MessageType": "PROMOTIONAL",  # a cart reminder is marketing, never transactional
            "TimeToLive": TIME_TO_LIVE_S,
            # At most 5 entries, values 1-800 characters (reference C1).
            "Context": {k: v[:800] for k, v in list(message.context.items())[:5] if v},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if self.max_price:
            request["MaxPrice"] = self.max_price
        response = send_or_raise("SMS", lambda: self.client.send_text_message(**request),
                                 classify)
        return str(response["MessageId"])

    def put_opted_out(self, phone: str) -> None:
        try:
            self.client.put_opted_out_number(OptOutListName=self.opt_out_list,
                                             OptedOutNumber=phone)
        except ClientError as err:
            raise classify(err) from err
        except BotoCoreError as err:
            raise DeliveryError(f"SMS opt-out list: {type(err).__name__}", transient=True) from err
