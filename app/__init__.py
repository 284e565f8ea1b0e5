"""Cartback: abandoned-cart recovery for Shopify, WooCommerce and custom storefronts.

`create_app` is the one entry point. The factory lives in `app.factory` and is
imported only when called, so importing the pure core (`app.core`) or the
database layer never drags in Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from app.factory import create_app as build

    return build(overrides)
