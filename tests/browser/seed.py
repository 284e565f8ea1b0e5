"""What the admin's browser tests look at: a store with four days of shoppers,
and a signed-in browser."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from app.carts.wake import wake_due
from platforms.signing import sign_base64
from tests.factories import T0, cart_body

PEOPLE = [("Ada", "ada"), ("Ben", "ben"), ("Chloé", "chloe"), ("Dev", "dev"), ("Elif", "elif"),
          ("Femi", "femi"), ("Greta", "greta"), ("Hiro", "hiro"), (None, "ines"),
          ("Jonas", "jonas"), ("Kai", "kai"), ("Lena", "lena")]
PRODUCTS = [("Linen shirt", "49.00"), ("Canvas tote", "24.50"), ("Merino beanie", "32.00"),
            ("Ceramic mug", "18.00"), ("Desk lamp", "74.90")]


def seed(runtime: Any, client: Any, store: Any, clock: Any) -> None:
    """Twelve shoppers over four days: reminded (the two without an email by text),
    recovered, bought, skipped."""
    from app.db.models import Store

    with runtime.db.transaction() as session:
        row = session.get(Store, store.id)
        row.settings = {**row.settings, "first_channel": "sms_if_no_email"}

    def post(body):
        raw = json.dumps(body).encode()
        client.post(f"/webhooks/custom/{store.id}", data=raw,
                    headers={"X-Cartback-Hmac-Sha256": sign_base64(store.webhook_secret, raw)})

    # In time order, the clock following: an event from the future would be taken as now.
    timeline = []
    for n, (name, handle) in enumerate(PEOPLE):
        day = n % 4
        at = T0 + timedelta(days=day, hours=n % 5)
        title, price = PRODUCTS[n % len(PRODUCTS)]
        items = [{"title": title, "quantity": 1 + n % 2, "price": price}]
        total = f"{float(price) * (1 + n % 2):.2f}"
        texter = {"phone": f"+44 7911 {123000 + n}", "accepts_sms_marketing": True,
                  "timezone": "Europe/London"} if n in (3, 9) else {}
        email = None if texter else f"{handle}@example.com"
        timeline.append((at, cart_body(cart_id=f"cart-{n}", occurred_at=at, email=email,
                                       first_name=name, items=items, total=total,
                                       event_id=f"e{n}", **texter)))
        timeline.append((at + timedelta(hours=4), None))  # the first reminder falls due
        # A third come back after the reminder (recovered), some buy before it (bought).
        back = 6 if n % 3 == 0 else 1 if n % 4 == 1 else None
        if back:
            ordered_at = at + timedelta(hours=back)
            timeline.append((ordered_at, cart_body(
                "order.placed", cart_id=f"cart-{n}", items=items, total=total,
                occurred_at=ordered_at, event_id=f"o{n}")))
    for at, body in sorted(timeline, key=lambda step: (step[0], step[1] is None)):
        clock.set(at)
        if body is None:
            wake_due(runtime, at)
        else:
            post(body)
    clock.set(T0 + timedelta(days=4, hours=6))
    wake_due(runtime, clock.now)


def signed_in(page: Any, served: tuple[str, Any]) -> str:
    """Follow a one-time sign-in link: the browser keeps the session cookie, no URL has it."""
    base, login_path = served
    page.goto(f"{base}{login_path()}")
    assert page.url == f"{base}/admin/"
    [cookie] = [c for c in page.context.cookies() if c["name"] == "cartback_admin"]
    assert cookie["httpOnly"] and cookie["path"] == "/admin"
    return base
