"""Structured, private logs: ids on every line about a cart, never an address."""

from __future__ import annotations


def test_logs_carry_store_and_cart_ids_on_every_line(post_custom, runtime, capsys):
    import json as jsonlib
    import logging
    from datetime import timedelta

    from app.carts.wake import wake_due
    from app.logs import JsonFormatter
    from tests.factories import T0, cart_body

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    handler = Keep(level=logging.INFO)
    logging.getLogger("app").addHandler(handler)
    previous = logging.getLogger("app").level
    logging.getLogger("app").setLevel(logging.INFO)
    try:
        post_custom(cart_body())
        wake_due(runtime, T0 + timedelta(hours=4))
    finally:
        logging.getLogger("app").removeHandler(handler)
        logging.getLogger("app").setLevel(previous)
    lines = [jsonlib.loads(r) for r in records if "reminder" in r]
    assert lines and all(line["store_id"] and line["cart_id"] for line in lines)
    assert not any("ada@example.com" in r for r in records)
