"""Links in our emails: the return link (/r/) records a click and redirects."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template
from flask.typing import ResponseReturnValue

from app.links import RETURN, BadToken
from app.models import Activity, Cart
from app.web import runtime

log = logging.getLogger(__name__)

bp = Blueprint("shopper", __name__)


def _same_site(url: str, domain: str) -> bool:
    """True when `url` is http(s) on the store's own host or one of its subdomains."""
    parts = urlsplit(url)
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


@bp.get("/r/<token>")
def return_to_cart(token: str) -> ResponseReturnValue:
    rt = runtime()
    try:
        cart_id = rt.links.cart_id(RETURN, token)
    except BadToken:
        return bad_link()
    with rt.db.transaction() as session:
        cart = session.get(Cart, cart_id)
        if cart is None:
            return bad_link()
        session.add(Activity(cart_id=cart.id, kind="click", occurred_at=rt.clock(), detail={}))
        target = safe_return_url(cart)
    return redirect(target, code=302)
