"""The polished line: one Bedrock Converse call rewrites the opening line.

Only the opening line is ever touched, and only if the answer passes every
check (`why_refused`): one sentence (Latin or CJK stops), at most 160
characters, no markup, URL or address, no price, percent or number the input
did not give (digits or English number words), no code (letters with digits,
or an all-caps run), and no offer word in English, German, French, Spanish
or Japanese that the input did not contain. A half-configured polisher (model
id without region or credentials) is switched off with a warning at start. Anything slow,
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

URL_RE = re.compile(r"(://|\bwww\.|\b[\w-]+\.[a-z]{2,}(?:/\S*)?(?=\s|$|[,;:!?)])|\bmailto:)",
                    re.I)
EMAIL_RE = re.compile(r"\S+@\S+|＠")
NUMBER_RE = re.compile(r"\d+")
MONEY_RE = re.compile(r"[$€£¥₹%％‰]")
MARKUP_RE = re.compile(r"[<>＜＞]|&[#\w]+;|\[[^\]]*\]\(")
# Codes: any token mixing letters and digits (SAVE10, x7y2, 8GB), or a run of
# four or more capitals (WELCOMEBACK, FREESHIP) that the input did not contain.
MIXED_CODE_RE = re.compile(r"\b(?=\w*\d)(?=\w*[^\W\d_])\w{3,}\b")
CAPS_CODE_RE = re.compile(r"\b[A-Z][A-Z_-]{3,}\b")
# Offer and number words, per language we ship templates for; matched as
# whole words (Latin scripts) or as substrings (Japanese). A word the input
# itself contains (a store called "Gift Box Co") does not count against the line.
OFFER_WORDS = {
    "en": ("free", "off", "gift", "gifts", "discount", "discounted", "save", "saving", "savings",
           "coupon", "promo", "promotion", "code", "voucher", "sale", "deal", "deals", "offer",
           "offers", "percent", "per cent", "percentage", "half price", "bonus", "cashback",
           "reward", "bogo"),
    "de": ("gratis", "kostenlos", "umsonst", "rabatt", "geschenk", "sparen", "sparst",
           "prozent", "angebot", "gutschein", "aktion", "reduziert", "versandkostenfrei"),
    "fr": ("gratuit", "gratuite", "offert", "offerte", "remise", "réduction", "cadeau",
           "économisez", "économiser", "pour cent", "soldes", "bon de réduction", "promotion"),
    "es": ("gratis", "descuento", "regalo", "ahorra", "ahorrar", "por ciento", "oferta",
           "cupón", "cupon", "rebaja", "rebajas", "promoción"),
    "ja": ("無料", "割引", "プレゼント", "クーポン", "オフ", "セール", "特典", "お得", "パーセント",
           "ギフト", "送料無料", "半額", "値引"),
}
CJK_LANGS = ("ja",)
NUMBER_WORDS = (
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety", "hundred", "thousand", "half", "double", "triple",
)
# More than one sentence: a stop followed by more text (Latin or CJK stops).
SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s+\S)|[。！？!?][^\s。！？!?]")


def _word_re(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I)


LATIN_OFFER_RE = _word_re(tuple(w for lang, ws in OFFER_WORDS.items() if lang not in CJK_LANGS
                                for w in ws))
NUMBER_WORD_RE = _word_re(NUMBER_WORDS)
CJK_OFFER_WORDS = tuple(w for lang in CJK_LANGS for w in OFFER_WORDS[lang])


def why_refused(line: str, source_text: str) -> str | None:
    """The first rule `line` breaks (a short name for the log), or None."""
    if not line or "\n" in line or "\r" in line:
        return "empty_or_multiline"
    if len(line) > MAX_CHARS:
        return "too_long"
    if SENTENCE_END_RE.search(line):
        return "several_sentences"
    if MARKUP_RE.search(line):
        return "markup"
    if URL_RE.search(line) or EMAIL_RE.search(line):
        return "url_or_email"
    if MONEY_RE.search(line):
        return "money_or_percent"
    source = source_text.casefold()
    source_words = set(re.findall(r"\w+", source_text))
    if any(number not in source_words for number in NUMBER_RE.findall(line)):
        return "number"  # a number the input never gave: invented price, count or code
    if any(code not in source_words for code in MIXED_CODE_RE.findall(line)):
        return "code"
    if any(code not in source_words for code in CAPS_CODE_RE.findall(line)):
        return "code"
    if any(w.casefold() not in source for w in NUMBER_WORD_RE.findall(line)):
        return "number"
    if any(w.casefold() not in source for w in LATIN_OFFER_RE.findall(line)):
        return "offer"
    if any(w in line and w not in source_text for w in CJK_OFFER_WORDS):
        return "offer"
    return None


def check_line(answer: str, source_text: str) -> str | None:
    """The cleaned line if it is acceptable, else None."""
    line = answer.strip().strip('"“”\'「」').strip()
    return None if why_refused(line, source_text) else line


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

        # A half-configured polisher must not stop the app from starting: the
        # plain line is always a correct email, so warn and run without it.
        session = boto3.Session(region_name=config.get("AWS_REGION") or None)
        if not session.region_name:
            log.warning("polisher off: CARTBACK_BEDROCK_MODEL_ID is set but no AWS region is "
                        "(set CARTBACK_AWS_REGION)", extra={"model": model_id})
            return None
        try:
            credentials = session.get_credentials()
        except BotoCoreError:
            credentials = None
        if credentials is None:
            log.warning("polisher off: CARTBACK_BEDROCK_MODEL_ID is set but no AWS credentials "
                        "were found", extra={"model": model_id})
            return None
        budget = config["POLISH_TIMEOUT_MS"] / 1000
        try:
            client = session.client(
                "bedrock-runtime",
                config=Config(connect_timeout=min(1.0, budget), read_timeout=budget,
                              retries={"total_max_attempts": 1, "mode": "standard"}),
            )
        except BotoCoreError as err:
            log.warning("polisher off: the Bedrock client could not be made",
                        extra={"model": model_id, "error": type(err).__name__})
            return None
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
        source = f"{plain_line} {store_name} {voice} {' '.join(items)}"
        line = answer.strip().strip('"“”\'「」').strip()
        refused = why_refused(line, source)
        if refused:
            log.info("polish fell back: answer failed the checks",
                     extra={"model": self.model_id, "rule": refused})
            return None
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
