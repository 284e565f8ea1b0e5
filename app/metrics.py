"""Prometheus metrics: counters kept per process, the rest read at scrape time.

Counters (deliveries received and rejected, timer lateness) live in the
process that saw them; with several gunicorn workers set
PROMETHEUS_MULTIPROC_DIR and prometheus_client merges them. Numbers that the
database already knows (carts by status, sends by result and reason, time
since the last export) are read from it at scrape time, so every process
reports the same truth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db.models import Cart, Send, Store

EVENTS = Counter("cartback_events_received_total", "Webhook deliveries accepted",
                 ["platform", "topic"])
REJECTED = Counter("cartback_deliveries_rejected_total", "Webhook deliveries refused",
                   ["platform", "reason"])
LATENESS = Histogram("cartback_timer_lateness_seconds", "How late a cart's timer fired",
                     buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600))

WAKE_FAILURES = Counter("cartback_wake_failures_total",
                        "Cart wakes that raised (a database outage, a bug); each is retried")

REJECT_REASONS = {400: "malformed", 401: "bad_signature", 403: "forbidden",
                  404: "unknown_store", 413: "too_large", 429: "rate_limited"}


def delivery(platform: str, topic: str, status: int) -> None:
    if status < 300:
        EVENTS.labels(platform, topic or "-").inc()
    elif status in REJECT_REASONS:
        REJECTED.labels(platform, REJECT_REASONS[status]).inc()


class DatabaseCollector(Collector):
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        carts = GaugeMetricFamily("cartback_carts", "Carts by status", labels=["status"])
        sends = GaugeMetricFamily("cartback_sends", "Send outcomes by result and reason",
                                  labels=["result", "reason"])
        export_age = GaugeMetricFamily("cartback_seconds_since_last_export",
                                       "Seconds since the newest successful nightly export")
        with self.runtime.db.new_session() as session:
            for status, count in session.execute(
                    select(Cart.status, func.count()).group_by(Cart.status)):
                carts.add_metric([status], count)
            for result, reason, count in session.execute(
                    select(Send.result, Send.reason, func.count())
                    .group_by(Send.result, Send.reason)):
                sends.add_metric([result, (reason or "").split(":")[0]], count)
            newest = None
            for state in session.scalars(select(Store.platform_state)):
                export = (state or {}).get("export") or {}
                if export.get("ok") and export.get("at"):
                    at = datetime.fromisoformat(export["at"])
                    newest = at if newest is None or at > newest else newest
        yield carts
        yield sends
        if newest is not None:
            export_age.add_metric([], (self.runtime.clock() - newest).total_seconds())
            yield export_age


def render(runtime: Any) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (EVENTS, REJECTED, LATENESS, WAKE_FAILURES):
            registry.register(metric)
    registry.register(DatabaseCollector(runtime))
    return bytes(generate_latest(registry))
