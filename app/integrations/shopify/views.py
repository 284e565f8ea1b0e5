"""Shopify routes: install + OAuth callback, the webhook endpoint, embedded sign-in.

Thin views: each checks what it must (shop domain, HMAC, state, session
token), hands the rest to `app.integrations.shopify.install` / intake, and answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import escape

from app.carts.ingest import ingest
from app.errors import BadRequest, Forbidden, InstallError, Unauthorized, UpstreamError
from app.integrations.shopify import install as shopify_store
from app.integrations.shopify.config import ShopifyConfig
from app.web import runtime
from platforms.base import BadPayload, CartEvent
from platforms.shopify import adapter as shopify
from platforms.shopify.api import ShopifyApiError
from platforms.shopify.auth import (
    AuthError,
    clean_shop,
    frame_ancestors,
    permission_url,
    verify_query,
    verify_session_token,
)
from platforms.shopify.large import order_stop_events
from platforms.signing import StreamedBody, read_signed_base64

log = logging.getLogger(__name__)

bp = Blueprint("shopify", __name__)

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])




def _config() -> ShopifyConfig:
    return ShopifyConfig.from_config(runtime().config)


def _query_params() -> dict[str, str | list[str]]:
    """Repeated `key[]` params keep every value; every other key keeps one string."""
    return {key: (request.args.getlist(key) if key.endswith("[]") else request.args[key])
            for key in request.args}


# --- install -------------------------------------------------------------

@bp.get("/shopify/install")
def install() -> ResponseReturnValue:
    cfg = _config()
    rt = runtime()
    shop = clean_shop(request.args.get("shop"))
    if shop is None:
        raise BadRequest("shop must be a NAME.myshopify.com domain")
    if "hmac" in request.args:  # an install started from Shopify is signed; check it
        try:
            verify_query(_query_params(), cfg.secrets, rt.clock())
        except AuthError as err:
            raise Unauthorized(str(err)) from err
    state = shopify_store.issue_state(rt, shop, rt.clock())
    return redirect(permission_url(shop, cfg.api_key, cfg.scopes, cfg.callback_uri, state))


@bp.get("/shopify/callback")
def callback() -> ResponseReturnValue:
    cfg = _config()
    rt = runtime()
    now = rt.clock()
    try:
        verify_query(_query_params(), cfg.secrets, now)
    except AuthError as err:
        log.info("shopify callback refused", extra={"reason": str(err)})
        raise Unauthorized(str(err)) from err
    shop = clean_shop(request.args.get("shop"))
    if shop is None:
        raise BadRequest("shop must be a NAME.myshopify.com domain")
    if not shopify_store.consume_state(rt, request.args.get("state"), shop, now):
        log.info("shopify callback refused", extra={"reason": "state"})
        raise Forbidden("this install link was already used or has expired; start again")
    code = request.args.get("code") or ""
    if not code:
        raise BadRequest("code is required")
    try:
        shopify_store.complete_oauth(rt, shop, code, now)
    except InstallError as err:
        raise Forbidden(str(err)) from err
    except ShopifyApiError as err:
        log.warning("shopify code exchange failed", extra={"error": str(err)})
        raise UpstreamError(str(err)) from err
    return redirect(f"https://{shop}/admin/apps/{cfg.api_key}")


# --- webhooks ------------------------------------------------------------

def _ok(outcome: str, **extra: Any) -> ResponseReturnValue:
    return jsonify({"ok": True, "outcome": outcome, **extra})


@bp.post("/webhooks/shopify")
@bp.post("/webhooks/shopify/compliance")
def webhook() -> ResponseReturnValue:
    cfg = _config()
    rt = runtime()
    body = _read_signed(cfg.secrets, rt.config["PLATFORM_BODY_BYTES"])
    if not body.signed:
        log.info("shopify webhook refused: bad signature")
        raise Unauthorized(f"missing or wrong {shopify.HMAC_HEADER}")
    raw = body.raw if body.raw is not None else b""
    topic = shopify.topic_of(request.headers)
    shop = clean_shop(shopify.shop_of(request.headers))
    ref = shopify_store.store_for_shop(rt, shop) if shop else None
    if ref is None:
        log.info("shopify webhook dropped: unknown shop", extra={"topic": topic})
        return _ok("unknown_shop")
    delivery_id = shopify.delivery_id_of(request.headers)
    extra = {"store_id": ref.store_id, "topic": topic}
    try:
        if topic in shopify.COMPLIANCE_TOPICS:
            return _compliance(ref.store_id, topic, shopify.load_json(raw), delivery_id)
        if not ref.installed:
            log.info("shopify webhook dropped: uninstalled", extra=extra)
            return _ok("uninstalled")
        if topic == shopify.UNINSTALLED:
            stopped = shopify_store.uninstall(rt, ref.store_id, rt.clock(), delivery_id)
            return _ok("uninstalled", stopped=len(stopped))
        if body.raw is None:
            events = _too_large(body, topic, ref.store_id, delivery_id, extra)
            if events is None:
                return _ok("too_large")
        else:
            events = shopify.adapter.parse(raw, request.headers, ref.store_id, rt.clock())
    except BadPayload as err:
        log.info("shopify webhook refused: malformed", extra={**extra, "field": err.field})
        raise BadRequest(f"{err.field}: {err.reason}") from err
    events = shopify_store.drop_unmatched_deletes(rt, ref.store_id, events)
    if not events:
        log.info("shopify webhook ignored", extra=extra)
        return _ok("ignored")
    results = ingest(rt, ref.store_id, events)
    return jsonify({"ok": True, "results": [
        {"cart_id": r.cart_id, "outcome": r.outcome, "status": r.status} for r in results]})


# Read (and HMAC-checked) in chunks, never held whole past PLATFORM_BODY_BYTES;
# this only bounds how long one request may stream.
STREAM_LIMIT = 256 * 1024 * 1024


def _read_signed(secrets: tuple[str, ...], keep: int) -> StreamedBody:
    """The body, verified over every byte whatever its size; an order with
    hundreds of lines is a few hundred KB to a few MB, past the limit for
    other routes."""
    request.max_content_length = STREAM_LIMIT
    stream = request.stream
    return read_signed_base64(iter(lambda: stream.read(64 * 1024), b""), secrets,
                              shopify.hmac_of(request.headers), keep=keep)


def _too_large(body: StreamedBody, topic: str, store_id: int, delivery_id: str | None,
               extra: dict[str, Any]) -> list[CartEvent] | None:
    """A body larger than Cartback keeps: an order still stops its cart from the
    fields that identify it; anything else is acknowledged and left."""
    log.warning("shopify webhook larger than kept", extra={**extra, "bytes": body.size})
    if topic not in shopify.ORDER_TOPICS:
        return None
    return shopify.with_event_id(order_stop_events(body.head, store_id, delivery_id),
                                 shopify.event_id_of(request.headers))


def _compliance(store_id: int, topic: str, body: dict[str, Any],
                delivery_id: str | None) -> ResponseReturnValue:
    rt = runtime()
    request_ = shopify.parse_redact(topic, body)
    if topic == "customers/redact":
        deleted = shopify_store.redact_customer(rt, store_id, request_.email,
                                                request_.order_ids, delivery_id,
                                                phone=request_.phone,
                                                customer_id=request_.customer_id)
        return _ok("redacted", carts=deleted)
    if topic == "shop/redact":
        erased = shopify_store.redact_shop(rt, store_id, delivery_id)
        return _ok("redacted" if erased else "kept")
    held = shopify_store.record_data_request(rt, store_id, request_.request_id,
                                             request_.customer_id, request_.email, rt.clock())
    return _ok("recorded", carts=held)


# --- embedded admin sign-in ----------------------------------------------

# App Bridge fetches a fresh session token and retries on this header.
RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


def _refuse_session() -> Response:
    response = make_response(jsonify({"error": "invalid session token"}), 401)
    response.headers[RETRY_HEADER] = "1"
    return response


def embedded(view: F) -> F:
    """Sign the admin in from its App Bridge session token; sets `g.store_id`, `g.shop`.

    The token comes as `Authorization: Bearer …` (fetches) or `id_token`
    (the embedded document load). The shop is the token's `dest`; a shop we
    do not hold a token for yet (Shopify-managed install) is connected by
    token exchange. HTML answers carry this shop's `frame-ancestors` CSP.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        cfg = _config()
        rt = runtime()
        authorization = request.headers.get("Authorization", "")
        if not authorization and request.args.get("id_token"):
            authorization = f"Bearer {request.args['id_token']}"
        try:
            shop = verify_session_token(authorization, cfg.api_key, cfg.secrets)
        except AuthError as err:
            log.info("shopify session refused", extra={"reason": str(err)[:200]})
            return _refuse_session()
        ref = shopify_store.store_for_shop(rt, shop)
        if ref is None or not ref.installed:
            try:
                store_id = shopify_store.complete_token_exchange(
                    rt, shop, authorization.removeprefix("Bearer ").strip(), rt.clock())
            except InstallError as err:
                raise Forbidden(str(err)) from err
            except ShopifyApiError as err:
                log.warning("shopify token exchange failed", extra={"error": str(err)})
                raise UpstreamError(str(err)) from err
        else:
            store_id = ref.store_id
        g.shop = shop
        g.store_id = store_id
        response = make_response(view(*args, **kwargs))
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = frame_ancestors(shop)
        return response

    return cast(F, wrapper)


def admin_sign_in(token: str) -> int | None:
    """The installed store an App Bridge session token (from `shopify.idToken()`)
    speaks for, verified as `embedded` does (signature, aud, exp/nbf, dest);
    None for a token that does not verify, or when Shopify is not configured."""
    config = runtime().config
    if not config.get("SHOPIFY_API_KEY") or not config.get("SHOPIFY_API_SECRET"):
        return None
    cfg = _config()
    try:
        shop = verify_session_token(f"Bearer {token}", cfg.api_key, cfg.secrets)
    except AuthError as err:
        log.info("shopify session refused", extra={"reason": str(err)[:200]})
        return None
    ref = shopify_store.store_for_shop(runtime(), shop)
    return ref.store_id if ref is not None and ref.installed else None


def signed_in_store_id() -> int:
    """The store the embedded admin signed in as (only inside an `@embedded` view)."""
    return int(g.store_id)


@bp.get("/shopify/app")
@embedded
def app_home() -> ResponseReturnValue:
    """The embedded entry: hands the verified shop an admin session and opens it.

    The admin session goes into a partitioned cookie (the one kind a page
    framed by the store admin still gets), never into the URL; this page
    then forwards to the dashboard.
    """
    from app.web.admin.auth import mint_session, set_session_cookie

    cfg = _config()
    shop = escape(g.shop)
    target = escape(url_for("admin.home"))
    html = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"shopify-api-key\" content=\"{escape(cfg.api_key)}\">"
        "<script src=\"https://cdn.shopify.com/shopifycloud/app-bridge.js\"></script>"
        f"<meta http-equiv=\"refresh\" content=\"0;url={target}\">"
        "<title>Cartback</title></head><body>"
        f"<h1>Cartback is connected to {shop}</h1>"
        f"<p><a href=\"{target}\">Open your Cartback dashboard</a></p></body></html>"
    )
    return set_session_cookie(Response(html, mimetype="text/html"),
                              mint_session(signed_in_store_id()), framed=True)
