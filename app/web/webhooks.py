"""Webhook endpoints: verify → parse → intake → answer, nothing more."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.carts.ingest import ingest_delivery
from app.errors import BadRequest, Unauthorized
from app.integrations import CUSTOM
from app.web import runtime
from platforms import get_adapter
from platforms.base import BadPayload, BadSignature

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/custom/<int:store_id>")
def custom(store_id: int) -> ResponseReturnValue:
    raw = request.get_data(cache=False)
    try:
        results = ingest_delivery(runtime(), store_id, get_adapter(CUSTOM), raw,
                                  request.headers)
    except BadSignature as err:
        log.info("webhook refused: bad signature", extra={"store_id": store_id})
        raise Unauthorized(str(err)) from err
    except BadPayload as err:
        log.info("webhook refused: malformed", extra={"store_id": store_id, "field": err.field})
        raise BadRequest(f"{err.field}: {err.reason}") from err
    return jsonify({
        "ok": True,
        "results": [{"cart_id": r.cart_id, "outcome": r.outcome, "status": r.status}
                    for r in results],
    })
