"""Links in our emails: the return link (/r/) records a click and redirects;
the unsubscribe link (/u/) shows a choice on GET and unsubscribes on POST."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from app import integrations
from app.carts import offers
from app.db.models import Activity, Cart
from app.errors import BadToken
from app.mail.links import (
    RETURN,
    UNSUBSCRIBE,
    Links,
    host_of,
    on_hosts,
    vouched_hosts,
)
from app.privacy import suppressions
from app.web import runtime

log = logging.getLogger(__name__)

bp = Blueprint("shopper", __name__)

# What the unsubscribe pages call a store whose cart was erased with its data.
ERASED_STORE_NAME = "this store"


def return_target(cart: Cart, links: Links) -> tuple[str, dict[str, str]]:
    """Where the return link leads, and why when it is not the cart's own link.

    A link the store's platform builds for the cart (a WooCommerce
    storefront cart is rebuilt on any device), else the cart's own link when
    it is on a host the store's platform vouches for, else the store's cart
    page: said aloud in the log and on the click's timeline row, never silently.
    """
    store = cart.store
    integration = integrations.find(store.platform)
    if integration is not None and integration.return_link is not None:
        built = integration.return_link(cart, links)
        if built:
            return built, {}
    shared = integration.checkout_hosts if integration is not None else ()
    if cart.return_url and on_hosts(cart.return_url,
                                    vouched_hosts(store.domain, store.platform_state, shared)):
        return cart.return_url, {}
    detail = {"fallback": "unvouched_host" if cart.return_url else "no_link"}
    if cart.return_url:
        detail["host"] = host_of(cart.return_url)[:255]
    log.warning("return link falls back to the store", extra={
        "store_id": store.id, "cart_id": cart.id, **detail})
    base = store.domain if "://" in store.domain else f"https://{store.domain}"
    page = integration.cart_page if integration is not None else "/"
    return f"{base.rstrip('/')}{page}", detail


def with_live_offer(session: Session, cart: Cart, target: str,
                    now: datetime) -> tuple[str, str | None]:
    """The target with the cart's live recovery code applied on the way, where the
    platform can (Shopify's /discount/CODE link); else the target as it was."""
    integration = integrations.find(cart.store.platform)
    if integration is None or integration.offer_link is None:
        return target, None
    code = offers.live_code(session, cart.id, now)
    return (integration.offer_link(target, code), code) if code else (target, None)


def bad_link() -> ResponseReturnValue:
    return render_template("shopper/bad_link.html"), 400


def _cart_id(purpose: str, token: str) -> int | None:
    try:
        return runtime().links.cart_id(purpose, token)
    except BadToken:
        return None


@bp.get("/r/<token>")
def return_to_cart(token: str) -> ResponseReturnValue:
    rt = runtime()
    cart_id = _cart_id(RETURN, token)
    if cart_id is None:
        return bad_link()
    with rt.db.transaction() as session:
        cart = session.get(Cart, cart_id)
        if cart is None:
            return bad_link()
        now = rt.clock()
        target, detail = return_target(cart, rt.links)
        target, code = with_live_offer(session, cart, target, now)
        if code:
            detail = {**detail, "offer_code": code}
        session.add(Activity(cart_id=cart.id, kind="click", occurred_at=now, detail=detail))
    return redirect(target, code=302)


@bp.get("/u/<token>")
def unsubscribe_page(token: str) -> ResponseReturnValue:
    rt = runtime()
    cart_id = _cart_id(UNSUBSCRIBE, token)
    if cart_id is None:
        return bad_link()
    with rt.db.new_session() as session:
        cart = session.get(Cart, cart_id)
        # An erased cart's link still works: the shopper must always be able to opt out.
        store_name = cart.store.name if cart is not None else ERASED_STORE_NAME
    # A GET never unsubscribes: link scanners and prefetchers follow GETs.
    return render_template("shopper/unsubscribe.html", token=token, store_name=store_name)


@bp.post("/u/<token>")
def unsubscribe(token: str) -> ResponseReturnValue:
    """One-click (RFC 8058) or the page's own choice; the token is the credential.

    No session, cookie or CSRF token can be asked of a mail provider's POST,
    and none is needed: only the holder of the signed, per-cart token can
    make this request, and its only effect is to stop emails to that shopper.
    """
    rt = runtime()
    cart_id = _cart_id(UNSUBSCRIBE, token)
    if cart_id is None:
        return bad_link()
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    scope = "all" if one_click else request.form.get("scope", "all")
    if scope not in ("all", "cart"):
        scope = "all"
    with rt.db.transaction() as session:
        cart = session.get(Cart, cart_id)
        # An erased cart (privacy request) is gone and its shopper tombstoned; a
        # purged one (retention) has no address left and gets no more moves.
        # Either way the opt-out is honoured already: answer 200, as RFC 8058 asks.
        if cart is not None and cart.email:
            suppressions.add(session, cart.store_id, cart.email, scope=scope,
                             cart_id=cart.id if scope == "cart" else None,
                             source="one_click" if one_click else "shopper_link",
                             now=rt.clock())
        if cart is not None:
            session.add(Activity(cart_id=cart.id, kind="unsubscribed", occurred_at=rt.clock(),
                                 detail={"scope": scope, "one_click": one_click}))
        store_name = cart.store.name if cart is not None else ERASED_STORE_NAME
    log.info("shopper unsubscribed", extra={"cart_id": cart_id, "scope": scope,
                                             "one_click": one_click})
    if one_click:
        # RFC 8058: answer the POST itself; never redirect.
        return "Unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("shopper/unsubscribed.html", scope=scope, store_name=store_name)
