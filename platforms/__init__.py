"""Platform adapters: one module per platform behind the protocol in `base`.

The registry maps a platform name to its adapter; adding a platform touches
its module, its tests and one line here.
"""

from __future__ import annotations

from importlib import import_module

from platforms.base import Adapter

_MODULES = {
    "woocommerce": "platforms.woocommerce.adapter",
    "custom": "platforms.custom",
    "shopify": "platforms.shopify.adapter",
}


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get_adapter(name: str) -> Adapter:
    if name not in _MODULES:
        raise KeyError(f"unknown platform {name!r}")
    adapter: Adapter = import_module(_MODULES[name]).adapter
    return adapter
