"""`cartback demo`: a temporary store plays two days of traffic in fast time.

Everything goes through the real paths: signed JSON posted to the custom
webhook endpoint, the waiter and the sender on a simulated clock, emails
written to an outbox folder. Nothing here is special-cased for the demo
except the clock.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from app import create_app
from app.carts import offer_pool
from app.carts.wake import wake_due
from app.db.models import Cart, Send, Store
from app.stores import create_store
from platforms.signing import sign_base64

STEP = timedelta(minutes=10)
DURATION = timedelta(hours=48)

PRODUCTS = [
    ("Linen shirt", "49.00"), ("Canvas tote", "24.50"), ("Merino beanie", "32.00"),
    ("Leather wallet", "65.00"), ("Ceramic mug", "18.00"), ("Wool socks (3 pairs)", "21.00"),
    ("Denim jacket", "119.00"), ("Silk scarf", "58.00"), ("Desk lamp", "74.90"),
]
NAMES = ["Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Inès", "Jonas", None]
TIMEZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", None]


KINDS = ["bought", "abandoned", "no_email", "saved", "reset", "recovered", "twice",
         "unsubscribes"]
WEIGHTS = [28, 26, 13, 7, 7, 9, 5, 5]


@dataclass(order=True)
class Step:
    at: datetime
    order: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class Scenario:
    """The demo's script: timed actions plus a label per cart for the summary."""

    steps: list[Step] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, at: datetime, action: Callable[[], None]) -> None:
        self.steps.append(Step(at, len(self.steps), action))


def _cart_body(cart_id: str, event: str, at: datetime, rng: random.Random, *,
               email: str | None, saved: bool = False, items: list[dict[str, Any]] | None = None,
               name: str | None = None, tz: str | None = None) -> dict[str, Any]:
    if items is None:
        chosen = rng.sample(PRODUCTS, rng.randint(1, 3))
        items = [{"title": t, "quantity": rng.randint(1, 2), "price": p, "sku": t[:3].upper()}
                 for t, p in chosen]
    total = sum(float(i["price"]) * i["quantity"] for i in items)
    body: dict[str, Any] = {
        "event": event, "cart_id": cart_id, "occurred_at": at.isoformat(), "items": items,
        "total": f"{total:.2f}", "currency": "EUR", "locale": "en-GB",
        "return_url": f"https://demo-shop.example/cart/{cart_id}", "saved_link": saved,
        "event_id": f"{cart_id}-{event}-{at.timestamp():.0f}",
    }
    if email:
        body["email"] = email
    if name:
        body["first_name"] = name
    if tz:
        body["timezone"] = tz
    return body


def _ascii(text: str) -> str:
    """Zoë types zoe@...: non-ASCII local parts are refused by the address gate."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def build_scenario(start: datetime, count: int, rng: random.Random,
                   post: Callable[[dict[str, Any]], None],
                   unsubscribe: Callable[[str], None]) -> Scenario:
    scenario = Scenario()
    for n in range(count):
        cart_id = f"demo-{n:04d}"
        # Traffic over the first day, busiest in the afternoon and evening.
        at = start + timedelta(minutes=rng.triangular(0, 24 * 60, 15 * 60))
        name = rng.choice(NAMES)
        email = f"{_ascii((name or 'shopper').lower())}.{n}@example.com"
        tz = rng.choice(TIMEZONES)
        # Every story appears at least once; the rest follow realistic weights.
        kind = KINDS[n] if n < len(KINDS) else rng.choices(KINDS, weights=WEIGHTS)[0]
        scenario.kinds[kind] += 1
        updated = _cart_body(cart_id, "cart.updated", at, rng, email=None, tz=tz)
        scenario.add(at, lambda b=updated: post(b))
        if kind == "no_email":
            continue
        saved = kind == "saved"
        # A third of the abandoned carts (decided without a random draw, so the
        # other stories play as before) leave no email, but a mobile number with
        # SMS consent: the store texts when email cannot be used.
        texted = kind == "abandoned" and n % 3 == 1
        checkout_at = at + timedelta(minutes=rng.randint(2, 20))
        checkout = _cart_body(cart_id, "checkout.started", checkout_at, rng,
                              email=None if texted else email,
                              saved=saved, items=updated["items"], name=name, tz=tz)
        if texted:
            checkout.update(phone=f"+44 7911 {123000 + n}", accepts_sms_marketing=True,
                            timezone="Europe/London")
        scenario.add(checkout_at, lambda b=checkout: post(b))
        if kind == "bought":
            paid_at = checkout_at + timedelta(minutes=rng.randint(3, 90))
            order = dict(checkout, event="order.placed", occurred_at=paid_at.isoformat(),
                         event_id=f"{cart_id}-order")
            scenario.add(paid_at, lambda b=order: post(b))
        elif kind == "reset":
            # The shopper comes back three hours later and adds something:
            # the clock starts again from that change.
            later = checkout_at + timedelta(hours=3)
            items = updated["items"] + [{"title": "Gift wrap", "quantity": 1, "price": "4.00"}]
            again = _cart_body(cart_id, "cart.updated", later, rng, email=email, items=items,
                               name=name, tz=tz)
            scenario.add(later, lambda b=again: post(b))
        elif kind == "twice":
            # The same shopper leaves a second cart the next morning: one
            # gentle nudge per shopper, so the second cart is not emailed.
            again_at = checkout_at + timedelta(hours=18)
            second = _cart_body(f"{cart_id}-b", "checkout.started", again_at, rng, email=email,
                                name=name, tz=tz)
            scenario.add(again_at, lambda b=second: post(b))
        elif kind == "unsubscribes":
            # After the first reminder the shopper presses the mail client's
            # one-click unsubscribe; the second reminder is then skipped.
            later = checkout_at + timedelta(hours=14)
            scenario.add(later, lambda key=cart_id: unsubscribe(key))
        elif kind == "recovered":
            # Comes back a few hours after the first reminder (4 h) and buys.
            back_at = checkout_at + timedelta(hours=rng.uniform(5, 20))
            order = dict(checkout, event="order.placed", occurred_at=back_at.isoformat(),
                         event_id=f"{cart_id}-order")
            scenario.add(back_at, lambda b=order: post(b))
    scenario.steps.sort()
    return scenario


def run_demo(outbox_dir: str, cart_count: int, seed: int, holdout_percent: int = 0) -> None:
    outbox = Path(outbox_dir).resolve()
    if outbox.exists():
        shutil.rmtree(outbox)
    workdir = Path(tempfile.mkdtemp(prefix="cartback-demo-"))
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    clock = {"now": start}

    app = create_app({
        "INSTANCE_PATH": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "OUTBOX_DIR": str(outbox),
        "SMS_OUTBOX_DIR": str(outbox / "sms"),
        "PUBLIC_URL": "http://localhost:5000",
        "RUN_SCHEDULER": False,
        "LOG_LEVEL": "WARNING",
    })
    runtime = app.extensions["cartback"]
    runtime.clock = lambda: clock["now"]
    with runtime.db.transaction() as session:
        store = create_store(session, platform="custom", name="Demo Shop",
                             domain="demo-shop.example", timezone="Europe/London",
                             from_email="hello@demo-shop.example")
        # The second reminder offers 10 % off for 12 hours: a custom storefront's
        # codes come from the merchant's own pool (app.carts.offer_pool).
        store.settings = {"postal_address": "1 Demo Street, London",
                          "holdout_percent": holdout_percent,
                          "first_channel": "sms_if_no_email",
                          "second_channel": "sms_if_no_email", "second_offer": "percent",
                          "second_offer_value": 10, "offer_hours": 12}
        # The holdout groups hang on the store's privacy key: drawn from the
        # seed, so the same --seed plays the same story every time.
        store.privacy_key = f"{rng.getrandbits(256):064x}"
        store_id, secret = store.id, store.webhook_secret
        offer_pool.add(session, store_id, [f"DEMO-{n:04d}" for n in range(cart_count)], start)
    client = app.test_client()
    answers: Counter[int] = Counter()

    def post(body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        response = client.post(f"/webhooks/custom/{store_id}", data=raw,
                               headers={"X-Cartback-Hmac-Sha256": sign_base64(secret, raw),
                                        "Content-Type": "application/json"})
        answers[response.status_code] += 1

    def unsubscribe(cart_key: str) -> None:
        with runtime.db.new_session() as session:
            cart_id = session.scalars(select(Cart.id).where(Cart.cart_key == cart_key)).first()
        if cart_id is None:
            return
        token = runtime.links.token("unsubscribe", cart_id)
        response = client.post(f"/u/{token}", data="List-Unsubscribe=One-Click",
                               content_type="application/x-www-form-urlencoded")
        answers[response.status_code] += 1

    scenario = build_scenario(start, cart_count, rng, post, unsubscribe)
    steps = list(scenario.steps)
    click.echo(f"Demo Shop: {cart_count} shoppers over two simulated days "
               f"(first reminder 4 h after the last change, second 24 h later, "
               f"never during quiet hours 21:00-08:00 in the shopper's timezone).")
    ticks = int(DURATION / STEP)
    with click.progressbar(range(ticks), label="Simulating", width=36) as bar:
        for tick in bar:
            clock["now"] = start + STEP * (tick + 1)
            while steps and steps[0].at <= clock["now"]:
                steps.pop(0).action()
            wake_due(runtime, clock["now"])

    _summary(runtime, store_id, answers, outbox)
    _offer_summary(runtime, store_id, outbox)
    if holdout_percent:
        _holdout_summary(runtime, store_id, start, clock["now"])


def _offer_summary(runtime: Any, store_id: int, outbox: Path) -> None:
    with runtime.db.new_session() as session:
        sent = session.execute(select(Send.offer_code, Send.channel).where(
            Send.store_id == store_id, Send.result == "sent",
            Send.offer_code.is_not(None)).order_by(Send.id)).all()
    click.echo("")
    if not sent:
        click.echo("Offers: no second reminder went out in these two days.")
        return
    texts = sum(channel == "sms" for _, channel in sent)
    click.echo(f"Offers: {len(sent)} second reminders ({texts} of them texts) carried a "
               f"single-use code for 10 % off (12 hours), each taken from the store's code pool")
    # An email to open: the code shows in its body.
    emailed = [code for code, channel in sent if channel != "sms"]
    example = next(((code, path) for code in emailed[:1] for path in sorted(outbox.glob("*.eml"))
                    if code.encode() in path.read_bytes()), None)
    if example is not None:
        click.echo(f"  e.g. {example[0]} in {example[1]}")


def _holdout_summary(runtime: Any, store_id: int, start: datetime, end: datetime) -> None:
    from app.core.rules import Rules
    from app.performance import holdout_report

    with runtime.db.new_session() as session:
        store = session.get(Store, store_id)
        assert store is not None
        rules = Rules.for_store(store.settings, store.timezone)
        report = holdout_report(session, store_id, start, end, rules.attribution_window)
    c = report.comparison
    click.echo("")
    click.echo(f"Holdout ({rules.holdout_percent:g} % held back): messaged "
               f"{c.messaged_recovered}/{c.messaged} recovered, held back "
               f"{c.held_recovered}/{c.held} recovered")
    extra = report.incremental_revenue
    if extra is not None:
        click.echo("Revenue the reminders added: " + ", ".join(
            f"{amount} {currency}" for currency, amount in extra.items()))
    click.echo(f"Verdict: {c.verdict()}")


def _summary(runtime: Any, store_id: int, answers: Counter[int], outbox: Path) -> None:
    with runtime.db.new_session() as session:
        statuses = dict(session.execute(
            select(Cart.status, func.count()).where(Cart.store_id == store_id)
            .group_by(Cart.status)).all())
        sends = session.execute(
            select(Send.move, Send.channel, Send.result, Send.reason, func.count())
            .where(Send.store_id == store_id)
            .group_by(Send.move, Send.channel, Send.result, Send.reason)).all()
    rows: list[tuple[str, str]] = [
        ("Carts seen", str(sum(statuses.values()))),
        ("Webhook answers", ", ".join(f"{code}: {n}" for code, n in sorted(answers.items()))),
    ]
    for status in ("active", "reminded", "recovered", "bought", "expired", "stopped"):
        if statuses.get(status):
            rows.append((f"  carts {status}", str(statuses[status])))
    for move, channel, result, reason, count in sorted(
            sends, key=lambda r: (r[0], r[1], r[2], r[3] or "")):
        by = " by SMS" if channel == "sms" else ""
        label = f"{move} reminder{by} {result}" + (f" ({reason})" if reason else "")
        rows.append((label, str(count)))
    width = max(len(label) for label, _ in rows)
    click.echo("")
    click.echo("Summary".ljust(width) + "  count")
    click.echo("-" * (width + 7))
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
    emails = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    click.echo("")
    click.echo(f"{len(emails)} emails written to {outbox}")
    if emails:
        click.echo(f"Open one in any mail client, e.g. {emails[0]}")
    texts = sorted((outbox / "sms").glob("*.json")) if (outbox / "sms").exists() else []
    if texts:
        click.echo(f"{len(texts)} texts written to {outbox / 'sms'}, e.g. {texts[0]}")
