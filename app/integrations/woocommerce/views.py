"""WooCommerce routes: connect (wc-auth), the plugin's way into the admin, order
webhooks, restore links, the storefront beacon."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.carts import offers
from app.carts.ingest import ingest, ingest_delivery
from app.db.models import Cart, Store
from app.errors import BadRequest, BadToken, ConnectError, NotFound, StoreInputError, Unauthorized
from app.integrations.woocommerce import connect as woocommerce_store
from app.integrations.woocommerce import handover
from app.integrations.woocommerce.restore import restore_payload
from app.mail.links import RESTORE
from app.runtime import Runtime
from app.web import runtime
from app.web.ratelimit import SlidingWindow
from platforms.base import BadPayload, BadSignature, header, load_json_object
from platforms.woocommerce.adapter import SOURCE, adapter, is_ping, origin_of, same_site
from platforms.woocommerce.beacon import parse_beacon

log = logging.getLogger(__name__)

bp = Blueprint("woocommerce", __name__)

PLUGIN_FILE = "cartback-woocommerce.php"
BEACON_MAX_BYTES = 16 * 1024
PER_IP = SlidingWindow(limit=30, window_s=60)
PER_KEY = SlidingWindow(limit=1200, window_s=60)
BOT_RE = re.compile(r"bot|crawl|spider|slurp|preview|facebookexternalhit|python-requests|"
                    r"curl/|wget/", re.I)


# --- connect ------------------------------------------------------------------------------

@bp.get("/woocommerce/connect")
def connect() -> ResponseReturnValue:
    store_url = request.args.get("store", "").strip()
    if not store_url:
        return render_template("woocommerce/connect.html")
    rt = runtime()
    try:
        return redirect(woocommerce_store.start_connect(rt, store_url, rt.clock()), code=302)
    except (StoreInputError, ValueError) as err:
        return render_template("woocommerce/connect.html", error=str(err), store=store_url), 400


@bp.post("/woocommerce/callback")
def callback() -> ResponseReturnValue:
    rt = runtime()
    try:
        payload = load_json_object(request.get_data(cache=False))
    except BadPayload as err:  # not JSON, not an object, or nested past the parser's depth
        raise BadRequest("body: must be the JSON WooCommerce sends") from err
    store_id = woocommerce_store.finish_connect(rt, payload, rt.clock())
    if store_id is None:
        log.warning("woocommerce callback refused: bad or used state")
        return jsonify({"error": "unknown or already used state"}), 403
    # WooCommerce waits for exactly 200 before keeping the keys, and may be
    # serving this very callback with its only worker: create the webhooks
    # once our answer has gone out.
    response = Response(status=200)
    response.call_on_close(lambda: _register_quietly(rt, store_id))
    return response


def _register_quietly(rt: Runtime, store_id: int) -> None:
    try:
        woocommerce_store.register_after_connect(rt, store_id)
    except ConnectError as err:
        log.error("webhook registration failed", extra={"store_id": store_id, "error": str(err)})


@bp.get("/woocommerce/connected")
def connected() -> ResponseReturnValue:
    ok = request.args.get("success") == "1"
    return render_template("woocommerce/connected.html", ok=ok), 200 if ok else 400


@bp.get("/woocommerce/plugin.zip")
def plugin_zip() -> ResponseReturnValue:
    """The companion plugin as WordPress's "Upload Plugin" takes it: a zip holding one folder."""
    source = Path(current_app.static_folder or "static") / PLUGIN_FILE
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"cartback-woocommerce/{PLUGIN_FILE}", source.read_bytes())
    return Response(packed.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": "attachment; filename=cartback-woocommerce.zip"})


# --- from wp-admin: the plugin's "Open Cartback" ---------------------------------------------

def _refused(reason: str, status: int) -> ResponseReturnValue:
    page = render_template("woocommerce/handover_refused.html", reason=reason)
    # The refused link stays out of any page the merchant opens next.
    return page, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@bp.get("/woocommerce/admin")
def open_admin() -> ResponseReturnValue:
    """Sign in the merchant the plugin vouches for, then show a clean /admin/."""
    from app.web.admin.auth import mint_session, set_session_cookie

    rt = runtime()
    try:
        store_id = handover.redeem(rt, request.args, rt.clock())
    except BadPayload as err:
        return _refused(f"{err.field}: {err.reason}", 400)
    except BadSignature:
        log.info("admin hand-over refused: bad signature")
        return _refused("forged", 401)
    if store_id is None:
        return _refused("expired", 403)
    response = set_session_cookie(redirect(url_for("admin.home")), mint_session(store_id))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/woocommerce/plugin/status")
def plugin_status() -> ResponseReturnValue:
    """For the plugin's settings page, server to server: which store, the beacon's key."""
    rt = runtime()
    try:
        found = handover.status(rt, request.args, rt.clock())
    except BadPayload as err:
        return jsonify({"error": f"{err.field}: {err.reason}"}), 400
    except BadSignature:
        return jsonify({"error": "not signed by this store's plugin"}), 401
    if found is None:
        return jsonify({"error": "signed too long ago; check the store's clock"}), 403
    return jsonify(found)


# --- order webhooks ---------------------------------------------------------------------

@bp.post("/webhooks/woocommerce/<int:store_id>")
def webhook(store_id: int) -> ResponseReturnValue:
    rt = runtime()
    # A WooCommerce order with many lines is larger than other routes allow.
    request.max_content_length = rt.config["PLATFORM_BODY_BYTES"]
    raw = request.get_data(cache=False)
    if is_ping(raw, request.headers):
        return jsonify({"ok": True, "ping": True})
    with rt.db.new_session() as session:
        store = session.get(Store, store_id)
        if store is None or store.platform != "woocommerce":
            raise NotFound(f"no woocommerce store {store_id}")
        domain = store.domain
    source = header(request.headers, SOURCE) or ""
    if not same_site(source, domain):
        log.warning("webhook refused: X-WC-Webhook-Source names another site than the one "
                    "connected", extra={"store_id": store_id, "source": source[:200],
                                        "connected": domain})
        raise Unauthorized(f"X-WC-Webhook-Source {source[:200]!r} is not this store ({domain})")
    if origin_of(source) != origin_of(domain):
        log.info("webhook source differs from the connected URL only by scheme or www",
                 extra={"store_id": store_id, "source": source[:200], "connected": domain})
    try:
        results = ingest_delivery(rt, store_id, adapter, raw, request.headers)
    except BadSignature as err:
        log.info("webhook refused: bad signature", extra={"store_id": store_id})
        raise Unauthorized(str(err)) from err
    except BadPayload as err:
        raise BadRequest(f"{err.field}: {err.reason}") from err
    return jsonify({"ok": True, "results": [
        {"cart_id": r.cart_id, "outcome": r.outcome, "status": r.status} for r in results]})


# --- restore links ---------------------------------------------------------------------------

@bp.get("/restore/<token>")
def restore(token: str) -> ResponseReturnValue:
    """What the store's plugin needs to rebuild a storefront cart (see restore.py)."""
    rt = runtime()
    try:
        cart_id = rt.links.cart_id(RESTORE, token)
    except BadToken:
        return jsonify({"error": "unknown or tampered link"}), 404
    with rt.db.new_session() as session:
        cart = session.get(Cart, cart_id)
        payload = (restore_payload(cart, offers.live_code(session, cart.id, rt.clock()))
                   if cart is not None else None)
    if payload is None:
        return jsonify({"error": "no cart to restore"}), 404
    return jsonify(payload)


# --- the storefront beacon ------------------------------------------------------------------

def _cors(response: Response, origin: str) -> Response:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    return response


def _store_for_key(public_key: str) -> Store | None:
    rt = runtime()
    if not re.fullmatch(r"pk_[A-Za-z0-9_-]{10,60}", public_key):
        return None
    from sqlalchemy import select

    with rt.db.new_session() as session:
        return session.scalars(select(Store).where(Store.public_key == public_key)).first()


def _caller_origin() -> str:
    origin = request.headers.get("Origin")
    if origin:
        return origin_of(origin)
    return origin_of(request.headers.get("Referer", ""))


@bp.route("/collect/<public_key>", methods=["OPTIONS"])
def collect_preflight(public_key: str) -> ResponseReturnValue:
    store = _store_for_key(public_key)
    origin = _caller_origin()
    if store is None or not store.installed or origin != origin_of(store.domain):
        return Response(status=403)
    return _cors(Response(status=204), origin)


@bp.post("/collect/<public_key>")
def collect(public_key: str) -> ResponseReturnValue:
    """A cart snapshot from the store's own pages. Creates or updates; reads nothing back."""
    rt = runtime()
    # The client's address as ProxyFix left it (CARTBACK_TRUSTED_PROXIES); never a raw header.
    ip = request.remote_addr or "-"
    if not PER_IP.allow(ip) or not PER_KEY.allow(public_key):
        return jsonify({"error": "too many requests"}), 429, {"Retry-After": "60"}
    if (request.content_length or 0) > BEACON_MAX_BYTES:
        return jsonify({"error": "body is larger than the limit"}), 413
    store = _store_for_key(public_key)
    if store is None or not store.installed:
        return jsonify({"error": "not found"}), 404
    origin = _caller_origin()
    if origin != origin_of(store.domain):
        log.info("beacon refused: foreign origin", extra={"store_id": store.id})
        return jsonify({"error": "origin not allowed"}), 403
    if BOT_RE.search(request.headers.get("User-Agent", "") or "bot"):
        return _cors(Response(status=204), origin)  # dropped quietly
    raw = request.get_data(cache=False)
    if len(raw) > BEACON_MAX_BYTES:
        return jsonify({"error": "body is larger than the limit"}), 413
    try:
        event = parse_beacon(raw, store.id, rt.clock())
    except BadPayload as err:
        return _cors(jsonify({"error": f"{err.field}: {err.reason}"}), origin), 400
    ingest(rt, store.id, [event])
    return _cors(Response(status=204), origin)
