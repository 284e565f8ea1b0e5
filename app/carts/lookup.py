"""Finding a cart by any key a platform gives it.

A platform may name one cart by several keys (a Shopify cart token, then its
checkout token; a WooCommerce beacon cart, then its order id). Every caller
that asks "which row is this?" asks here, so the answer and its cost are the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, bindparam, select
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
    by_key, by_keys, by_checkout = _LOCKED if lock else _PLAIN
    params: dict[str, object] = {"store_id": store_id}
    cart = session.scalars(by_key, {**params, "key": wanted[0]}).first()
    if cart is None and len(wanted) > 1:
        cart = session.scalars(by_keys, {**params, "keys": wanted[1:]}).first()
    if cart is None:
        cart = session.scalars(by_checkout, {**params, "keys": wanted}).first()
    return cart


def _statements(lock: bool) -> tuple[Select[tuple[Cart]], ...]:
    """Built once (every webhook asks): by own key, by any own key, by checkout key."""
    base = select(Cart).where(Cart.store_id == bindparam("store_id")).limit(1)
    if lock:
        base = base.with_for_update()
    keys = bindparam("keys", expanding=True)
    return (base.where(Cart.cart_key == bindparam("key")), base.where(Cart.cart_key.in_(keys)),
            base.where(Cart.checkout_key.in_(keys)))


_PLAIN = _statements(lock=False)
_LOCKED = _statements(lock=True)
