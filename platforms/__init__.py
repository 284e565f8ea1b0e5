"""Platform adapters, looked up by name: the wire layer, pure.

Each platform is a folder (or, for a small one, a module) whose `adapter`
object keeps the `Adapter` protocol in `platforms.base`. Adding a platform is
its folder, its tests (the contract suite in tests/platforms/test_contract.py
runs over every name here) and one line below. Nothing in `platforms`
imports `app`, Flask or SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module

from platforms.base import Adapter

_MODULES = {
    "shopify": "platforms.shopify.adapter",
    "woocommerce": "platforms.woocommerce.adapter",
    "custom": "platforms.custom",
}


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get_adapter(name: str) -> Adapter:
    """The adapter registered as `name`; KeyError for a name not listed."""
    if name not in _MODULES:
        raise KeyError(f"unknown platform {name!r}")
    adapter: Adapter = import_module(_MODULES[name]).adapter
    return adapter
