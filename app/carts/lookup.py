"""Finding a cart by any key a platform gives it.

A platform may name one cart by several keys (a Shopify cart token, then its
checkout token; a WooCommerce beacon cart, then its order id). Every caller
that asks "which row is this?" asks here, so the answer and its cost are the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from app.db.models import Cart


def find_by_keys(session: Session, store_id: int, keys: Sequence[str | None], *,
                 lock: bool = False) -> Cart | None:
    """The cart whose own key is `keys[0]`, else whose own key or checkout key is any of them.

    Separate indexed lookups rather than one OR query: SQLite cannot use two
    indexes for one OR and would scan the store's carts. `lock` takes the row
    lock intake needs to apply an event.
    """
    return _first(lambda statement, params: session.scalars(statement, params).first(),
                  _LOCKED if lock else _PLAIN, store_id, keys)


def find_row_by_keys(connection: Connection, store_id: int,
                     keys: Sequence[str | None]) -> Row[Any] | None:
    """`find_by_keys(..., lock=True)` as a plain row of the carts table, for the
    intake hot path (no ORM identity map or unit of work)."""
    return _first(lambda statement, params: connection.execute(statement, params).first(),
                  _ROWS_LOCKED, store_id, keys)


Found = TypeVar("Found")


def _first(run: Callable[[Select[Any], dict[str, object]], Found | None],
           statements: tuple[Select[Any], ...], store_id: int,
           keys: Sequence[str | None]) -> Found | None:
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        return None
    by_key, by_keys, by_checkout = statements
    params: dict[str, object] = {"store_id": store_id}
    found = run(by_key, {**params, "key": wanted[0]})
    if found is None and len(wanted) > 1:
        found = run(by_keys, {**params, "keys": wanted[1:]})
    if found is None:
        found = run(by_checkout, {**params, "keys": wanted})
    return found


def _statements(lock: bool, table: bool = False) -> tuple[Select[Any], ...]:
    """Built once (every webhook asks): by own key, by any own key, by checkout key."""
    base = select(Cart.__table__ if table else Cart).where(
        Cart.store_id == bindparam("store_id")).limit(1)
    if lock:
        base = base.with_for_update()
    keys = bindparam("keys", expanding=True)
    return (base.where(Cart.cart_key == bindparam("key")), base.where(Cart.cart_key.in_(keys)),
            base.where(Cart.checkout_key.in_(keys)))


_PLAIN = _statements(lock=False)
_LOCKED = _statements(lock=True)
_ROWS_LOCKED = _statements(lock=True, table=True)
