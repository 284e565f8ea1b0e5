"""Links in our emails: the return link (/r/) records a click and redirects;
the unsubscribe link (/u/) shows a choice on GET and unsubscribes on POST."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue

from app.db.models import Activity, Cart
from app.mail.links import RETURN, UNSUBSCRIBE, BadToken
from app.privacy import suppressions
from app.web import runtime

log = logging.getLogger(__name__)

bp = Blueprint("shopper", __name__)

# What the unsubscribe pages call a store whose cart was erased with its data.
ERASED_STORE_NAME = "this store"


def _same_site(url: str, domain: str) -> bool:
    """True when `url` is http(s) on the store's own host or one of its subdomains.

    Browsers read a backslash as a slash and skip control characters, so
    `https://evil.example\\@store.example` would leave the store: anything
    with a backslash, a control or space character, credentials or an escaped host
    is refused.
    """
    if any(c == "\\" or ord(c) < 33 or ord(c) == 127 for c in url):
        return False
    parts = urlsplit(url)
    if "@" in parts.netloc or "%" in parts.netloc:
        return False
    host = (parts.hostname or "").lower()
    store_host = (urlsplit(domain).hostname if "://" in domain else domain).lower()
    return parts.scheme in ("http", "https") and bool(store_host) and (
        host == store_host or host.endswith("." + store_host)
    )


def safe_return_url(cart: Cart) -> str:
    store = cart.store
    home = store.domain if "://" in store.domain else f"https://{store.domain}/"
    if cart.return_url and _same_site(cart.return_url, store.domain):
        return cart.return_url
    return home


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
        session.add(Activity(cart_id=cart.id, kind="click", occurred_at=rt.clock(), detail={}))
        target = safe_return_url(cart)
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
