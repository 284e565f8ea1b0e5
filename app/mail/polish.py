"""The polished line: one Bedrock Converse call rewrites the opening line.

Only the opening line is ever touched, and only if the answer passes every
check (one sentence, at most 160 characters, nothing the input did not
contain: no URL, address, number, price, discount or code). Anything slow,
failing, throttled or odd returns None and the plain line ships instead.

The time budget is a wall-clock deadline around the whole call (botocore's
read timeout is per socket read, not a total), with connect/read timeouts
and no SDK retries underneath.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MAX_CHARS = 160

SYSTEM_PROMPT = (
    "You rewrite the first line of a shop's cart-reminder email in the shop's own voice. "
    "Answer with exactly one warm sentence of at most 160 characters and nothing else. "
    "Never mention prices, numbers, discounts, codes, links or email addresses, never "
    "pressure or guilt the reader, and never say they ignored anything."
)

URL_RE = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|net|org|io|shop|store|co)\b)", re.I)
EMAIL_RE = re.compile(r"\S+@\S+")
NUMBER_RE = re.compile(r"\d+")
MONEY_RE = re.compile(r"[$€£¥₹%]")
OFFER_WORDS = ("discount", "coupon", "promo", "code", "% off", "free shipping", "voucher",
               "sale", "deal", "offer")
SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s+\S)")


def check_line(answer: str, source_text: str) -> str | None:
    """The cleaned line if it is acceptable, else None."""
    line = answer.strip().strip('"“”\'').strip()
    if not line or "\n" in line or len(line) > MAX_CHARS:
        return None
    if SENTENCE_END_RE.search(line):
        return None  # more than one sentence
    if URL_RE.search(line) or EMAIL_RE.search(line) or MONEY_RE.search(line):
        return None
    source = source_text.lower()
    if any(number not in source_text for number in NUMBER_RE.findall(line)):
        return None  # a number the input never gave: invented price, count or code
    lowered = line.lower()
    if any(word in lowered and word not in source for word in OFFER_WORDS):
        return None
    return line


class BedrockPolisher:
    def __init__(self, client: Any, model_id: str = DEFAULT_MODEL_ID, *,
                 budget_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.model_id = model_id
        self.budget_s = budget_s
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="polish")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BedrockPolisher | None:
        model_id = config.get("BEDROCK_MODEL_ID")
        if not model_id:
            return None  # off unless Bedrock is configured
        import boto3
        from botocore.config import Config

        budget = config["POLISH_TIMEOUT_MS"] / 1000
        client = boto3.client(
            "bedrock-runtime", region_name=config.get("AWS_REGION"),
            config=Config(connect_timeout=min(1.0, budget), read_timeout=budget,
                          retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        return cls(client, model_id, budget_s=budget)

    def polish(self, plain_line: str, *, voice: str, items: list[str], saved_link: bool,
               store_name: str) -> str | None:
        prompt = "\n".join([
            f"Shop: {store_name}",
            f"Shop's voice: {voice or 'friendly and plain'}",
            f"Items in the cart: {', '.join(items) or 'a few things'}",
            f"The shopper saved this cart on purpose: {'yes' if saved_link else 'no'}",
            f"Plain line to rewrite: {plain_line}",
        ])
        started = self.clock()
        future = self._pool.submit(self._call, prompt)
        try:
            answer = future.result(timeout=self.budget_s)
        except FutureTimeout:
            log.warning("polish fell back: over the time budget", extra={"model": self.model_id})
            return None
        except (ClientError, BotoCoreError) as err:
            code = err.response["Error"].get("Code") if isinstance(err, ClientError) else ""
            log.warning("polish fell back: Bedrock error",
                        extra={"model": self.model_id, "error": code or type(err).__name__})
            return None
        if answer is None or self.clock() - started > self.budget_s:
            log.info("polish fell back: no usable answer in time", extra={"model": self.model_id})
            return None
        line = check_line(answer, f"{plain_line} {store_name} {voice} {' '.join(items)}")
        if line is None:
            log.info("polish fell back: answer failed the checks", extra={"model": self.model_id})
        return line

    def _call(self, prompt: str) -> str | None:
        response = self.client.converse(
            modelId=self.model_id,
            system=[{"text": SYSTEM_PROMPT}],
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            # Temperature only: Haiku 4.5 refuses temperature and topP together.
            inferenceConfig={"maxTokens": 80, "temperature": 0.7},
        )
        if response.get("stopReason") != "end_turn":
            return None
        for block in response.get("output", {}).get("message", {}).get("content", []):
            if "text" in block:
                return str(block["text"])
        return None
