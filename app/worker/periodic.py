"""The periodic and nightly jobs the timer process runs, registered in one place.

Any object with `add_nightly` and `add_interval` will do (the real timers, or a
recorder in tests). Every job takes the time from the runtime's clock and
never lets one store's failure stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from app import export, integrations
from app.privacy import requests as privacy
from app.privacy import retention
from app.runtime import Runtime

log = logging.getLogger(__name__)


class Registrar(Protocol):
    def add_nightly(self, job_id_text: str, func: Callable[[], Any], *, hour: int,
                    minute: int = 0, timezone: str = "UTC") -> None: ...

    def add_interval(self, job_id_text: str, func: Callable[[], Any], *,
                     seconds: float) -> None: ...


def run_retention(runtime: Runtime) -> int:
    days = runtime.config["RETENTION_DAYS"]
    with runtime.db.transaction() as session:
        erased = retention.purge(session, runtime.clock(), days)
    log.info("retention ran", extra={"carts_erased": erased})
    return erased


def run_store_redaction(runtime: Runtime) -> int:
    days = runtime.config["STORE_REDACT_DAYS"]
    with runtime.db.new_session() as session:
        due = privacy.uninstalled_before(session, runtime.clock(), days)
    for store_id in due:
        with runtime.db.transaction() as session:
            ids = privacy.erase_store(session, store_id)
        runtime.timers.cancel_many(ids)
        log.info("uninstalled store erased", extra={"store_id": store_id})
    return len(due)


def register(timers: Registrar, runtime: Runtime) -> None:
    timers.add_interval("exports", lambda: export.export_due(runtime, runtime.clock()),
                        seconds=300)
    timers.add_nightly("retention", lambda: run_retention(runtime), hour=3)
    timers.add_nightly("store-redaction", lambda: run_store_redaction(runtime), hour=3,
                       minute=30)

    # Each integration's own jobs (platforms that do not guarantee delivery
    # catch what their webhooks lost).
    for integration in integrations.every():
        for job in integration.jobs:
            timers.add_interval(job.id, partial(job.run, runtime), seconds=job.seconds)
