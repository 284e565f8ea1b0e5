"""Webhook endpoints: verify → parse → intake → answer, nothing more."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import BadRequest, NotFound, Unauthorized
from app.ingest import ingest
from app.models import Store
from app.web import runtime
from platforms import get_adapter
from platforms.base import BadPayload, BadSignature

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/custom/<int:store_id>")
def custom(store_id: int) -> ResponseReturnValue:
    rt = runtime()
    raw = request.get_data(cache=False)
    with rt.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None or store.platform != "custom" or not store.installed:
            raise NotFound(f"no custom store {store_id}")
        secret = store.webhook_secret
    adapter = get_adapter("custom")
    try:
        adapter.verify(raw, request.headers, secret)
        events = adapter.parse(raw, request.headers, store_id)
    except BadSignature as err:
        log.info("webhook refused: bad signature", extra={"store_id": store_id})
        raise Unauthorized(str(err)) from err
    except BadPayload as err:
        log.info("webhook refused: malformed", extra={"store_id": store_id, "field": err.field})
        raise BadRequest(f"{err.field}: {err.reason}") from err
    results = ingest(rt, store_id, events)
    return jsonify({
        "ok": True,
        "results": [{"cart_id": r.cart_id, "outcome": r.outcome, "status": r.status}
                    for r in results],
    })
