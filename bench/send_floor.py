"""The send floor: what one reminder costs with no database at all.

Renders one Jinja text+HTML template pair (compiled once), builds the MIME
message with its List-Unsubscribe headers and writes the .eml, N times: what
any reminder sender must do at the least. Used by
bench/send_bench.py as the floor of the same run; runnable alone:

    .venv/bin/python bench/send_floor.py --count 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



TEXT = """Hi {{ first_name or "there" }},

You left these in your cart at {{ store }}:
{% for item in items %}- {{ item.quantity }} x {{ item.title }}  {{ item.unit_price }}
{% endfor %}
Total: {{ total }} {{ currency }}
Back to your cart: {{ return_url }}

Unsubscribe: {{ unsubscribe_url }}
{{ postal_address }}
"""
HTML = """<html><body><p>Hi {{ first_name or "there" }},</p>
<p>You left these in your cart at {{ store }}:</p><ul>
{% for item in items %}<li>{{ item.quantity }} &times; {{ item.title }} {{ item.unit_price }}</li>
{% endfor %}</ul><p>Total: {{ total }} {{ currency }}</p>
<p><a href="{{ return_url }}">Back to your cart</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a><br>{{ postal_address }}</p></body></html>
"""


def floor(count: int, outbox: Path) -> float:
    """Emails per second: one Jinja text+HTML pair rendered, the MIME message
    built with its List-Unsubscribe headers, the .eml written. No database."""
    outbox.mkdir(parents=True, exist_ok=True)
    text = Environment(autoescape=False).from_string(TEXT)  # noqa: S701 - plain text
    html = Environment(autoescape=True).from_string(HTML)
    now = format_datetime(datetime.now(UTC))
    items = [{"title": "Mug", "quantity": 1, "unit_price": "18.00"}]
    start = time.perf_counter()
    for n in range(count):
        values = {"first_name": "Ada", "store": "Bench", "items": items, "total": "18.00",
                  "currency": "EUR", "return_url": f"https://cartback.test/r/{n}",
                  "unsubscribe_url": f"https://cartback.test/u/{n}",
                  "postal_address": "1 Bench Street, Berlin"}
        msg = EmailMessage(policy=SMTP)
        msg["From"] = "Bench <hello@bench.example>"
        msg["To"] = f"shopper{n}@example.com"
        msg["Subject"] = "You left something in your cart"
        msg["Date"] = now
        msg["Message-ID"] = make_msgid(domain="bench.example")
        msg["List-Unsubscribe"] = f"<{values['unsubscribe_url']}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(text.render(values))
        msg.add_alternative(html.render(values), subtype="html")
        (outbox / f"{n}.eml").write_bytes(msg.as_bytes())
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({"floor_emails_per_s": round(floor(args.count, Path(tmp)))}))


if __name__ == "__main__":
    main()
