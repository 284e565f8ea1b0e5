"""Operations endpoints: /healthz for load balancers, /metrics for Prometheus."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.web import runtime
from app.worker import leader

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

STALE_AFTER_S = 30


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the database answers. The scheduler's heartbeat is reported; with
    ?strict=1 a stale one is a 503 too (for the scheduler's own check, not the
    web load balancer, which should keep serving webhooks meanwhile)."""
    strict = request.args.get("strict", "0")
    if strict not in ("0", "1"):
        return jsonify({"error": "strict must be 0 or 1"}), 400
    rt = runtime()
    engine = rt.db.engine
    body: dict[str, object] = {}
    try:
        with engine.connect() as conn:  # type: ignore[union-attr]
            conn.execute(text("SELECT 1"))
        body["database"] = "ok"
    except SQLAlchemyError as err:
        log.error("health check: database unreachable", extra={"error": type(err).__name__})
        return jsonify({"database": "unreachable"}), 503
    beat = leader.last_beat(engine)  # type: ignore[arg-type]
    age = None if beat is None else (rt.clock() - beat[1]).total_seconds()
    in_process = getattr(rt.timers, "running", False)
    body["scheduler"] = {"holder": beat[0] if beat else None,
                         "heartbeat_age_s": None if age is None else round(age, 1),
                         "in_process": bool(in_process)}
    healthy_scheduler = in_process or (age is not None and age < STALE_AFTER_S)
    status = 503 if strict == "1" and not healthy_scheduler else 200
    body["status"] = "ok" if healthy_scheduler else "scheduler heartbeat stale"
    return jsonify(body), status


@bp.get("/metrics")
def prometheus() -> ResponseReturnValue:
    return Response(metrics.render(runtime()), mimetype="text/plain; version=0.0.4")
