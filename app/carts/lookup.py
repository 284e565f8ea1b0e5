"""Finding a cart by any key a platform gives it.

A platform may name one cart by several keys (a Shopify cart token, then its
checkout token; a WooCommerce beacon cart, then its order id). Every caller
that asks "which row is this?" asks here, so the answer and its cost are the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Cart


def find_by_keys(session: Session, store_id: int, keys: Sequence[str | None], *,
                 lock: bool = False) -> Cart | None:
    """The cart whose own key is `keys[0]`, else whose own key or checkout key is any of them.

    Separate indexed lookups rather than one OR query: SQLite cannot use two
    indexes for one OR and would scan the store's carts. `lock` takes the row
    lock intake needs to apply an event.
    """
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        return None
    base = select(Cart).where(Cart.store_id == store_id).limit(1)
    if lock:
        base = base.with_for_update()
    cart = session.scalars(base.where(Cart.cart_key == wanted[0])).first()
    if cart is None and len(wanted) > 1:
        cart = session.scalars(base.where(Cart.cart_key.in_(wanted[1:]))).first()
    if cart is None:
        cart = session.scalars(base.where(Cart.checkout_key.in_(wanted))).first()
    return cart
